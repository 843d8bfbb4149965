// The `tsrec` backend against tfjs's cpu backend on random shapes: every native kernel, with
// transposes, batch broadcasting, bias/activation fusion, dtype fallbacks, and gradients.
import * as tf from '@tensorflow/tfjs-core';

import { registerTfjsGradients } from './gradients';
import { registerTsrecBackend, TSREC_BACKEND_NAME } from './backend';
import { selectBackend } from './select_backend';

registerTsrecBackend();
registerTfjsGradients();

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function randInt(lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}
function data(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rand() * 4 - 2);
}

/** Runs fn on both backends with the same inputs; returns [tsrec, cpu] values and shapes. */
async function onBoth(
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<{ shape: number[]; dtype: string; values: number[] }[][]> {
  const out = [];
  for (const b of [TSREC_BACKEND_NAME, 'cpu']) {
    await tf.setBackend(b);
    const r = tf.tidy(fn);
    const list = Array.isArray(r) ? r : [r];
    out.push(
      list.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>) })),
    );
    tf.dispose(list);
  }
  return out;
}

async function expectSame(fn: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  const [ours, cpu] = await onBoth(fn);
  expect(ours.length).toBe(cpu.length);
  ours.forEach((o, i) => {
    expect(o.shape).toEqual(cpu[i].shape);
    expect(o.dtype).toBe(cpu[i].dtype);
    const c = cpu[i].values;
    o.values.forEach((v, j) => {
      if (Number.isNaN(c[j])) expect(v).toBeNaN();
      else if (v !== c[j]) expect(Math.abs(v - c[j])).toBeLessThanOrEqual(tol * (1 + Math.abs(c[j])));
    });
  });
}

describe('tsrec backend BatchMatMul', () => {
  it('matches cpu on random shapes with transposes and batch broadcasting', async () => {
    for (let trial = 0; trial < 24; ++trial) {
      const [m, n, k] = [randInt(1, 9), randInt(1, 9), randInt(1, 9)];
      const ta = trial % 2 === 1;
      const tb = (trial >> 1) % 2 === 1;
      const batch = randInt(2, 3);
      const mode = (trial >> 2) % 3; // 0: both batched, 1: b shared, 2: a shared
      const aBatch = mode === 2 ? [1] : [batch];
      const bBatch = mode === 1 ? [] : [batch];
      const aShape = [...aBatch, ...(ta ? [k, m] : [m, k])];
      const bShape = [...bBatch, ...(tb ? [n, k] : [k, n])];
      const av = data(aShape);
      const bv = data(bShape);
      await expectSame(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb));
    }
  });

  it('keeps int32 matmuls int32 (cpu fallback) and upcasts mixed dtypes like tfjs', async () => {
    await expectSame(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32')),
    );
    await expectSame(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([0.5, 6, 7, 8], [2, 2])));
  });

  it('throws the cpu kernel message when inner dims differ', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner shapes \(3\) and \(4\)/);
  });
});

describe('tsrec backend _FusedMatMul', () => {
  const acts = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu', 'prelu'] as const;
  it.each(acts)('matches cpu with bias and activation %s (transposes, batches)', async (activation) => {
    for (let trial = 0; trial < 6; ++trial) {
      const [m, n, k] = [randInt(1, 7), randInt(1, 7), randInt(1, 7)];
      const ta = trial % 2 === 1;
      const tb = trial >= 3;
      const batched = trial % 3 === 2;
      const aShape = [...(batched ? [2] : []), ...(ta ? [k, m] : [m, k])];
      const bShape = [...(batched ? [2] : []), ...(tb ? [n, k] : [k, n])];
      const [av, bv, biasv, pv] = [data(aShape), data(bShape), data([n]), data([n])];
      const biasShape = trial === 4 ? [1] : [n];
      await expectSame(() =>
        tf.fused.matMul({
          a: tf.tensor(av, aShape),
          b: tf.tensor(bv, bShape),
          transposeA: ta,
          transposeB: tb,
          bias: trial === 5 ? undefined : tf.tensor(biasv.slice(0, biasShape[0]), biasShape),
          activation,
          preluActivationWeights: activation === 'prelu' ? tf.tensor(pv, [n]) : undefined,
          leakyreluAlpha: 0.3,
        }),
      );
    }
  });

  it('falls back for a bias that is not per column ([m, n])', async () => {
    const [av, bv, biasv] = [data([3, 4]), data([4, 5]), data([3, 5])];
    await expectSame(() =>
      tf.fused.matMul({
        a: tf.tensor(av, [3, 4]),
        b: tf.tensor(bv, [4, 5]),
        bias: tf.tensor(biasv, [3, 5]),
        activation: 'relu',
      }),
    );
  });
});

describe('tsrec backend element-wise, reduction and copy kernels', () => {
  it('binary ops broadcast like cpu, NaN included', async () => {
    const ops = [tf.add, tf.sub, tf.mul, tf.div, tf.maximum, tf.minimum, tf.squaredDifference, tf.prelu] as ((
      a: tf.Tensor,
      b: tf.Tensor,
    ) => tf.Tensor)[];
    const shapes: [number[], number[]][] = [
      [
        [3, 4],
        [3, 4],
      ],
      [[3, 4], [4]],
      [
        [2, 1, 4],
        [3, 1],
      ],
      [[5], []],
      [[], [2, 3]],
      [
        [2, 3, 1, 2],
        [1, 3, 4, 1],
      ],
    ];
    for (const op of ops) {
      for (const [sa, sb] of shapes) {
        const [av, bv] = [data(sa), data(sb)];
        if (av.length > 1) av[1] = NaN;
        await expectSame(() => op(tf.tensor(av, sa), tf.tensor(bv, sb)));
      }
    }
    await expectSame(() => tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')));
  });

  it('unary ops match cpu, NaN and edge values included', async () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 3, 7, NaN, -100, 100];
    const ops = [
      tf.relu,
      tf.relu6,
      tf.sigmoid,
      tf.elu,
      (x: tf.Tensor) => tf.leakyRelu(x, 0.1),
      (x: tf.Tensor) => tf.step(x, 0.3),
      tf.neg,
      tf.square,
      tf.exp,
      tf.log,
      tf.sqrt,
      tf.abs,
      tf.log1p,
      tf.rsqrt,
      tf.tanh,
      tf.reciprocal,
    ];
    for (const op of ops) await expectSame(() => op(tf.tensor1d(xs)), 1e-4);
    await expectSame(() => tf.relu(tf.tensor1d([-2, 3], 'int32')));
  });

  it('Sum over contiguous and scattered axes, keepDims', async () => {
    const shape = [3, 4, 5, 2];
    const v = data(shape);
    for (const axis of [0, 1, 2, 3, [1, 2], [0, 1, 2, 3], [0, 2], -1, undefined] as (number | number[] | undefined)[]) {
      for (const keepDims of [false, true]) await expectSame(() => tf.sum(tf.tensor(v, shape), axis, keepDims));
    }
    await expectSame(() => tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0));
  });

  it('Slice, split and concat match cpu', async () => {
    const shape = [4, 5, 6];
    const v = data(shape);
    await expectSame(() => tf.slice(tf.tensor(v, shape), [1, 2, 1], [2, 3, 4]));
    await expectSame(() => tf.slice(tf.tensor(v, shape), [0, 1, 0], [4, 2, 6]));
    await expectSame(() => tf.split(tf.tensor(v, shape), [1, 3, 2], 2));
    await expectSame(() => tf.split(tf.tensor(v, shape), 5, 1));
    await expectSame(() => tf.concat([tf.tensor(v, shape), tf.slice(tf.tensor(v, shape), [0, 0, 0], [4, 5, 2])], 2));
    await expectSame(() => tf.concat([tf.tensor(v, shape), tf.tensor(v, shape)], 0));
    await expectSame(() => tf.concat([tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3], 'int32')]));
  });
});

describe('tsrec backend gradients (tfjs-core gradients over native kernels)', () => {
  it('tf.grads through a fused MLP, concat and FM term match cpu', async () => {
    const [x1, x2, w1, b1, w2] = [data([6, 8]), data([6, 3]), data([11, 5]), data([5]), data([5, 1])];
    await expectSame(() => {
      const f = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor, bias: tf.Tensor, v: tf.Tensor) => {
        const h = tf.fused.matMul({
          a: tf.concat([a, b], 1) as tf.Tensor2D,
          b: w as tf.Tensor2D,
          bias,
          activation: 'relu',
        });
        const e = tf.reshape(a, [6, 4, 2]);
        const fm = tf.sum(tf.sub(tf.square(tf.sum(e, 1)), tf.sum(tf.square(e), 1)), 1, true);
        return tf.mean(tf.sigmoid(tf.add(tf.matMul(h, v as tf.Tensor2D), fm)));
      };
      return tf.grads(f)([
        tf.tensor(x1, [6, 8]),
        tf.tensor(x2, [6, 3]),
        tf.tensor(w1, [11, 5]),
        tf.tensor(b1, [5]),
        tf.tensor(w2, [5, 1]),
      ]);
    });
  });
});

describe('selectBackend', () => {
  const noNode = (id: string) => {
    if (id.startsWith('@tensorflow/tfjs-node')) throw new Error(`Cannot find module '${id}'`);
    return {};
  };
  it('takes the explicit name first, then TSREC_TFJS_BACKEND', async () => {
    expect(await selectBackend({ backend: 'cpu', env: { TSREC_TFJS_BACKEND: 'tsrec' }, requireFn: noNode })).toBe(
      'cpu',
    );
    expect(await selectBackend({ env: { TSREC_TFJS_BACKEND: 'cpu' }, requireFn: noNode })).toBe('cpu');
  });
  it('falls back to tsrec when tfjs-node is not installed', async () => {
    expect(await selectBackend({ env: {}, requireFn: noNode })).toBe('tsrec');
    expect(tf.getBackend()).toBe('tsrec');
  });
  it('explains an unknown backend with the error grammar', async () => {
    await expect(selectBackend({ backend: 'nope', env: {}, requireFn: noNode })).rejects.toThrow(
      `Expected a tfjs backend that loads ('tsrec', 'cpu', 'wasm' or 'tensorflow' with @tensorflow/tfjs-node installed) for backend but received "nope" of type string`,
    );
  });
});

describe('tsrec backend output pool', () => {
  const n = 8192; // above the pool's minimum length
  beforeAll(async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
  });

  it('reuses a freed kernel output for the next output of the same length', () => {
    const a = tf.tensor1d(data([n]));
    const b = tf.tensor1d(data([n]));
    const backend = tf.backend() as unknown as { data: { get(id: object): { values: Float32Array } } };
    const x = tf.add(a, b);
    const first = backend.data.get(x.dataId).values;
    x.dispose();
    const y = tf.mul(a, b);
    expect(backend.data.get(y.dataId).values).toBe(first);
    const expected = a.dataSync().map((v, i) => Math.fround(v * b.dataSync()[i]));
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected));
    tf.dispose([a, b, y]);
  });

  it('keeps an array that a live view (cpu zero-copy slice) still references', () => {
    const a = tf.tensor2d(data([4, n / 4]), [4, n / 4]);
    const x = tf.add(a, 1);
    const s = tf.slice(x, [1, 0], [2, n / 4]); // contiguous rows: the cpu kernel's subarray of x
    const before = Array.from(s.dataSync());
    x.dispose();
    const y = tf.mul(a, 3); // same length as x: must not land in x's buffer
    expect(Array.from(s.dataSync())).toEqual(before);
    tf.dispose([a, s, y]);
  });

  it('never reuses an array handed out by dataSync', () => {
    const a = tf.tensor1d(data([n]));
    const x = tf.neg(a);
    const vals = x.dataSync();
    const copy = Array.from(vals);
    x.dispose();
    const y = tf.exp(a);
    expect(Array.from(vals)).toEqual(copy);
    tf.dispose([a, y]);
  });

  it('gives the same training-step gradients as cpu when outputs are reused across steps', async () => {
    const step = () => {
      const x = tf.tensor2d(data([64, 128]), [64, 128]);
      const w = tf.tensor2d(data([128, 64]), [128, 64]);
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.matMul(xx, ww)))))([x, w]);
      return [...g, tf.sum(tf.mul(g[0], 2), 1)];
    };
    for (let i = 0; i < 3; ++i) {
      seed = 777 + i;
      const s0 = seed;
      await expectSame(() => {
        seed = s0;
        return step();
      }, 1e-3);
    }
  });
});
