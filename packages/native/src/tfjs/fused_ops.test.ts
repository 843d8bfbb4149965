// tsrec's fused-op helpers (fused_ops.ts), Sum gradient override and fused Adam against tfjs on the
// cpu backend. The fused-op kernels: fused_kernels.test.ts.
import * as tf from '@tensorflow/tfjs-core';

import { registerTfjsGradients } from './gradients';
import { registerTsrecBackend, TSREC_BACKEND_NAME } from './backend';
import { fusedAdam } from './fused_adam';
import { borrowFloat32 } from './fused_ops';

registerTsrecBackend();
registerTfjsGradients();

let seed = 777;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function data(n: number, scale = 2): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

afterAll(() => tf.setBackend('cpu'));

describe('Sum gradient override (native broadcast on tsrec)', () => {
  it.each([
    [[4096, 16], [1], true],
    [[3, 4, 5], [0, 2], false],
    [[7, 5], [], false],
    [[6], [0], false],
    [[2, 0, 3], [1], true],
  ] as [number[], number[], boolean][])(
    'matches the cpu gradient for shape %j, axes %j, keepDims %s',
    async (shape, axes, keepDims) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x0 = data(n);
      const grads: Float32Array[] = [];
      for (const backend of [TSREC_BACKEND_NAME, 'cpu']) {
        await tf.setBackend(backend);
        grads.push(
          tf.tidy(() => {
            const x = tf.tensor(x0, shape);
            const f = (t: tf.Tensor) => tf.sum(tf.square(tf.sum(t, axes.length ? axes : undefined, keepDims)));
            return (tf.grad(f)(x).dataSync() as Float32Array).slice();
          }),
        );
      }
      expect(Array.from(grads[0])).toEqual(Array.from(grads[1]));
    },
  );
});

describe('borrowFloat32', () => {
  it('hands out the backing array without marking it escaped, so the pool reuses it', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    const a = tf.tensor1d(data(8192));
    const b = tf.add(a, a); // a native kernel output: pooled once disposed
    const borrowed = borrowFloat32(b);
    expect(Array.from(borrowed.subarray(0, 4))).toEqual(Array.from((b.dataSync() as Float32Array).subarray(0, 4)));
    b.dispose();
    const c = tf.add(a, a);
    // dataSync above marked b's array escaped: c gets a fresh one.
    expect(borrowFloat32(c)).not.toBe(borrowed);
    const d = tf.mul(a, a);
    const kept = borrowFloat32(d);
    d.dispose();
    const e = tf.sub(a, a);
    expect(borrowFloat32(e)).toBe(kept); // borrowing alone does not stop reuse
    await tf.setBackend('cpu');
    const f = tf.tensor1d([1, 2, 3]);
    expect(Array.from(borrowFloat32(f))).toEqual([1, 2, 3]);
    expect(() => borrowFloat32(tf.tensor1d([1], 'int32'))).toThrow(
      'Expected a float32 tensor for borrowFloat32 but received int32',
    );
    tf.dispose([a, c, e, f]);
  });
});

describe('FusedAdamOptimizer', () => {
  it('is bit-identical to tf.train.adam on cpu over several steps (large and small variables)', async () => {
    const shapes = [[429, 256], [256], [64, 1], [1]];
    const inits = shapes.map((s) => data(s.reduce((a, b) => a * b, 1)));
    const grads = [0, 1, 2].map(() =>
      shapes.map((s) =>
        data(
          s.reduce((a, b) => a * b, 1),
          0.5,
        ),
      ),
    );
    const finals: Float32Array[][] = [];
    for (const backend of [TSREC_BACKEND_NAME, 'cpu']) {
      await tf.setBackend(backend);
      const vars = shapes.map((s, i) => tf.variable(tf.tensor(inits[i], s), true, `fused_adam_${backend}_${i}`));
      const opt = backend === 'cpu' ? tf.train.adam(0.01) : fusedAdam(0.01);
      for (const step of grads) {
        tf.tidy(() => {
          opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(step[i], shapes[i]) })));
        });
      }
      finals.push(vars.map((v) => (v.dataSync() as Float32Array).slice()));
      const weights = await opt.getWeights();
      expect(weights.map((w) => w.name)).toEqual([
        'iter',
        ...vars.map((v) => `${v.name}/m`),
        ...vars.map((v) => `${v.name}/v`),
      ]);
      opt.dispose();
      vars.forEach((v) => v.dispose());
    }
    const [ours, cpu] = finals;
    ours.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(cpu[i])));
  });

  it('trains through minimize() and leaks no tensors', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    const w = tf.variable(tf.tensor1d(data(5000)));
    const opt = fusedAdam(0.1);
    const before = tf.memory().numTensors;
    let first = 0;
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const loss = opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, true)!;
      last = loss.dataSync()[0];
      if (i === 0) first = last;
      loss.dispose();
      // The first step creates the two moment variables.
      if (i === 0) expect(tf.memory().numTensors).toBe(before + 2);
    }
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(last).toBeLessThan(first / 2);
    opt.dispose();
    w.dispose();
  });
});
