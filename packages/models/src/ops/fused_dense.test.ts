import * as tf from '@tensorflow/tfjs-core';

import { setUpTfjs } from '../tfjs_setup';
import { SeededRandom } from '../testing/seeded_random';
import { fusedDense, type FusedDenseActivation } from './index';

// fusedDense on the `tsrec` backend (one native kernel each way) against tf.fused.matMul on the
// `cpu` backend: values and the gradients for x, kernel and bias.

const rng = new SeededRandom(37);

async function run(
  backend: string,
  M: number,
  K: number,
  N: number,
  act: FusedDenseActivation,
  withBias: boolean,
  data: Float32Array[],
): Promise<Float32Array[]> {
  await setUpTfjs(backend);
  return tf.tidy(() => {
    const [x0, w0, b0, r0] = data;
    const x = tf.tensor2d(x0, [M, K]);
    const w = tf.tensor2d(w0, [K, N]);
    const b = tf.tensor1d(b0);
    const r = tf.tensor2d(r0, [M, N]);
    const f = (xs: tf.Tensor[]) =>
      backend === 'cpu'
        ? (tf.fused.matMul({
            a: xs[0] as tf.Tensor2D,
            b: xs[1] as tf.Tensor2D,
            bias: withBias ? xs[2] : undefined,
            activation: act,
          }) as tf.Tensor2D)
        : fusedDense(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D, withBias ? (xs[2] as tf.Tensor1D) : null, act);
    const inputs = withBias ? [x, w, b] : [x, w];
    const y = (f(inputs).dataSync() as Float32Array).slice();
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), r)))(inputs);
    return [y, ...grads.map((g) => (g.dataSync() as Float32Array).slice())];
  });
}

afterAll(() => setUpTfjs('cpu'));

describe('fusedDense', () => {
  it.each([
    [64, 429, 256, 'relu', true],
    [300, 17, 5, 'linear', true],
    [33, 8, 1, 'relu', false],
    [20, 6, 3, 'sigmoid', true], // falls back to tf.fused.matMul on tsrec too
  ] as [number, number, number, FusedDenseActivation, boolean][])(
    'matches tf.fused.matMul on cpu [%i x %i]·[%i], %s, bias %s',
    async (M, K, N, act, withBias) => {
      const data = [
        rng.array(M * K, () => rng.normal()),
        rng.array(K * N, () => rng.normal()),
        rng.array(N, () => rng.normal()),
        rng.array(M * N, () => rng.normal()),
      ];
      const cpu = await run('cpu', M, K, N, act, withBias, data);
      const native = await run('tsrec', M, K, N, act, withBias, data);
      expect(native.length).toBe(cpu.length);
      native.forEach((a, i) => {
        let worst = 0;
        for (let j = 0; j < a.length; j++)
          worst = Math.max(worst, Math.abs(a[j] - cpu[i][j]) / Math.max(1, Math.abs(cpu[i][j])));
        expect(worst).toBeLessThan(1e-4);
      });
    },
  );
});

describe('fusedDense over column blocks', () => {
  // The input as blocks [M, K_i] against the same layer on their concatenation on the cpu backend:
  // values, the gradient of every block, the kernel and the bias. A fresh seed per run.
  const seed = Date.now() % 100000;
  const r = new SeededRandom(seed);
  async function runBlocks(
    backend: string,
    M: number,
    ks: number[],
    N: number,
    act: FusedDenseActivation,
    withBias: boolean,
    data: Float32Array[],
  ): Promise<Float32Array[]> {
    await setUpTfjs(backend);
    const K = ks.reduce((a, b) => a + b, 0);
    return tf.tidy(() => {
      const blocks = ks.map((k, i) => tf.tensor2d(data[i], [M, k]));
      const w = tf.tensor2d(data[ks.length], [K, N]);
      const b = tf.tensor1d(data[ks.length + 1]);
      const weight = tf.tensor2d(data[ks.length + 2], [M, N]);
      const n = ks.length;
      const f = (xs: tf.Tensor[]) => {
        const bs = xs.slice(0, n) as tf.Tensor2D[];
        const bias = withBias ? (xs[n + 1] as tf.Tensor1D) : null;
        return backend === 'cpu'
          ? (tf.fused.matMul({
              a: tf.concat(bs, 1) as tf.Tensor2D,
              b: xs[n] as tf.Tensor2D,
              bias: bias ?? undefined,
              activation: act,
            }) as tf.Tensor2D)
          : fusedDense(bs, xs[n] as tf.Tensor2D, bias, act);
      };
      const inputs = withBias ? [...blocks, w, b] : [...blocks, w];
      const y = (f(inputs).dataSync() as Float32Array).slice();
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), weight)))(inputs);
      return [y, ...grads.map((g) => (g.dataSync() as Float32Array).slice())];
    });
  }
  it.each([
    [64, [13, 416], 32, 'relu', true],
    [50, [3, 7, 5], 9, 'linear', true],
    [17, [4, 4], 1, 'relu', false],
    [8, [1, 2], 3, 'sigmoid', true], // not native: concatenated, then tf.fused.matMul
  ] as [number, number[], number, FusedDenseActivation, boolean][])(
    'matches the concatenated input [%i rows, blocks %j]·[%i], %s, bias %s',
    async (M, ks, N, act, withBias) => {
      const K = ks.reduce((a, b) => a + b, 0);
      const data = [
        ...ks.map((k) => r.array(M * k, () => r.normal())),
        r.array(K * N, () => r.normal()),
        r.array(N, () => r.normal()),
        r.array(M * N, () => r.normal()),
      ];
      const cpu = await runBlocks('cpu', M, ks, N, act, withBias, data);
      const native = await runBlocks('tsrec', M, ks, N, act, withBias, data);
      expect(native.length).toBe(cpu.length);
      native.forEach((a, i) => {
        expect(a.length).toBe(cpu[i].length);
        let worst = 0;
        for (let j = 0; j < a.length; j++)
          worst = Math.max(worst, Math.abs(a[j] - cpu[i][j]) / Math.max(1, Math.abs(cpu[i][j])));
        if (!(worst < 1e-4)) throw new Error(`output ${i} differs by ${worst} (seed ${seed})`);
      });
    },
  );
});

it('runs one native TsrecDenseBlocks kernel (no concat) for blocks on the tsrec backend', async () => {
  await setUpTfjs('tsrec');
  const xs = [tf.ones([4, 2]) as tf.Tensor2D, tf.ones([4, 3]) as tf.Tensor2D];
  const w = tf.ones([5, 2]) as tf.Tensor2D;
  const info = await tf.profile(() => fusedDense(xs, w, null, 'relu'));
  // (customGrad's own unnamed wrapper aside)
  const names = info.kernels.map((k) => k.name).filter(Boolean);
  expect(names).toEqual(['TsrecDenseBlocks']);
  tf.dispose([...xs, w]);
  (info.result as tf.Tensor).dispose();
});

it('checks its blocks, so the tsrec kernel (which checks them again) only gets consistent ones', async () => {
  await setUpTfjs('tsrec');
  tf.tidy(() => {
    const a = tf.ones([4, 2]) as tf.Tensor2D;
    const w = tf.ones([5, 2]) as tf.Tensor2D;
    expect(() => fusedDense([], w)).toThrow('Expected at least one input block for fusedDense but received none');
    // Widths that do not add up to the kernel's rows: concatenated, and tf.fused.matMul explains.
    expect(() => fusedDense([a, a], w, null, 'relu')).toThrow(/inner shapes \(4\) and \(5\)/);
    // Rows that differ: never the TsrecDenseBlocks kernel (whose own message would name it).
    expect(() => fusedDense([a, tf.ones([3, 3]) as tf.Tensor2D], w, null, 'relu')).toThrow(
      'Expected source 1 of assembleColumns to be [4, W] but received [3, 3]',
    );
  });
});

describe('fusedDense on the cpu backend (the reference kernels)', () => {
  // The reference kernels compose the cpu backend's own kernels as tfjs differentiates
  // tf.fused.matMul: the same floats, bit for bit, values and every gradient.
  async function both(M: number, ks: number[], N: number, act: FusedDenseActivation, withBias: boolean) {
    await setUpTfjs('cpu');
    const K = ks.reduce((a, b) => a + b, 0);
    const r = new SeededRandom(M * 31 + N);
    const data = [
      ...ks.map((k) => r.array(M * k, () => r.normal())),
      r.array(K * N, () => r.normal()),
      r.array(N, () => r.normal()),
      r.array(M * N, () => r.normal()),
    ];
    const n = ks.length;
    const results = [true, false].map((ours) =>
      tf.tidy(() => {
        const blocks = ks.map((k, i) => tf.tensor2d(data[i], [M, k]));
        const w = tf.tensor2d(data[n], [K, N]);
        const b = tf.tensor1d(data[n + 1]);
        const weight = tf.tensor2d(data[n + 2], [M, N]);
        const f = (xs: tf.Tensor[]) => {
          const bs = xs.slice(0, n) as tf.Tensor2D[];
          const bias = withBias ? (xs[n + 1] as tf.Tensor1D) : null;
          return ours
            ? fusedDense(bs.length === 1 ? bs[0] : bs, xs[n] as tf.Tensor2D, bias, act)
            : (tf.fused.matMul({
                a: (bs.length === 1 ? bs[0] : tf.concat(bs, 1)) as tf.Tensor2D,
                b: xs[n] as tf.Tensor2D,
                bias: bias ?? undefined,
                activation: act,
              }) as tf.Tensor2D);
        };
        const inputs = withBias ? [...blocks, w, b] : [...blocks, w];
        const y = (f(inputs).dataSync() as Float32Array).slice();
        const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), weight)))(inputs);
        return [y, ...grads.map((g) => (g.dataSync() as Float32Array).slice())];
      }),
    );
    return results;
  }
  it.each([
    [64, [429], 33, 'relu', true],
    [30, [17], 5, 'linear', true],
    [33, [8], 1, 'relu', false],
    [12, [5], 4, 'linear', false],
    [40, [13, 29], 16, 'relu', true],
    [21, [3, 7, 5], 9, 'linear', true],
    [17, [4, 4], 1, 'relu', false],
  ] as [number, number[], number, FusedDenseActivation, boolean][])(
    'equals tf.fused.matMul exactly [%i rows, blocks %j]·[%i], %s, bias %s',
    async (M, ks, N, act, withBias) => {
      const [ours, tfjs] = await both(M, ks, N, act, withBias);
      expect(ours.length).toBe(tfjs.length);
      ours.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(tfjs[i])));
    },
  );

  it('runs TsrecDense and TsrecDenseGrad / TsrecDenseBlocks and TsrecDenseBlocksGrad', async () => {
    await setUpTfjs('cpu');
    const w = tf.ones([5, 2]) as tf.Tensor2D;
    const names = async (f: () => tf.Tensor) => {
      const info = await tf.profile(f);
      (info.result as tf.Tensor).dispose();
      return info.kernels.map((k) => k.name).filter(Boolean);
    };
    const single = await names(() =>
      tf.grad((x: tf.Tensor) => tf.sum(fusedDense(x as tf.Tensor2D, w, null, 'relu')))(tf.ones([4, 5])),
    );
    expect(single).toEqual(expect.arrayContaining(['TsrecDense', 'TsrecDenseGrad']));
    const blocks = await names(() =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(fusedDense([x as tf.Tensor2D, tf.ones([4, 3]) as tf.Tensor2D], w, null, 'relu')),
      )(tf.ones([4, 2])),
    );
    expect(blocks).toEqual(expect.arrayContaining(['TsrecDenseBlocks', 'TsrecDenseBlocksGrad']));
    w.dispose();
  });
});

it('skips the input gradient of blocks marked as input data, with the same other gradients bit for bit', async () => {
  await setUpTfjs('tsrec');
  const { markInputData } = await import('@tsrec/native');
  const r = new SeededRandom(Date.now() % 100000);
  const M = 40,
    ks = [3, 11],
    N = 6;
  const data = [
    ...ks.map((k) => r.array(M * k, () => r.normal())),
    r.array(14 * N, () => r.normal()),
    r.array(N, () => r.normal()),
    r.array(M * N, () => r.normal()),
  ];
  // Gradients for the kernel, the bias and block 1, with block 0 plain or marked (blocks) and for
  // the kernel and the bias with a plain or marked single input (one-block layer).
  const grads = (mark: boolean) =>
    tf.tidy(() => {
      const [b0, b1] = ks.map((k, i) => tf.tensor2d(data[i], [M, k]));
      const single = tf.tensor2d(data[0], [M, 3]);
      if (mark) {
        markInputData(b0);
        markInputData(single);
      }
      const w = tf.variable(tf.tensor2d(data[2], [14, N]));
      const w1 = tf.variable(tf.tensor2d(data[2].subarray(0, 3 * N), [3, N]));
      const bias = tf.variable(tf.tensor1d(data[3]));
      const weight = tf.tensor2d(data[4], [M, N]);
      const x1 = tf.variable(b1); // block 1 is trained: its gradient is computed either way
      const { grads: g } = tf.variableGrads(
        () =>
          tf.add(
            tf.sum(tf.mul(fusedDense([b0, x1], w, bias, 'relu'), weight)),
            tf.sum(fusedDense(single, w1, bias, 'relu')),
          ) as tf.Scalar,
        [w, w1, bias, x1],
      );
      const out = [w, w1, bias, x1].map((v) => (g[v.name].dataSync() as Float32Array).slice());
      tf.dispose([w, w1, bias, x1]);
      return out;
    });
  const plain = grads(false);
  const marked = grads(true);
  marked.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(plain[i])));
  // The first layer's backward (TsrecDenseBlocksGrad) skips the marked block's dz·wᵀ: a scalar 0
  // instead of [M, 3]; differentiating with respect to a marked tensor therefore fails loudly.
  tf.tidy(() => {
    const x = markInputData(tf.tensor2d(data[0], [M, 3]));
    const w = tf.tensor2d(data[2].subarray(0, 3 * N), [3, N]);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(fusedDense(t as tf.Tensor2D, w, null, 'relu')))(x)).toThrow(/shape/);
    const b1 = tf.tensor2d(data[1], [M, 11]);
    const wb = tf.tensor2d(data[2], [14, N]);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(fusedDense([t as tf.Tensor2D, b1], wb, null, 'relu')))(x)).toThrow(
      /shape/,
    );
    expect(tf.grad((t: tf.Tensor) => tf.sum(fusedDense([x, t as tf.Tensor2D], wb, null, 'relu')))(b1).shape).toEqual([
      M,
      11,
    ]);
  });
});
