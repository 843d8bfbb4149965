import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

import { binaryFocalLoss, l2Loss, sigmoidBceWithLogits, softmaxCrossEntropy } from '../../losses';
import { SeededRandom } from '../../testing/seeded_random';
import { setUpTfjs } from '../../tfjs_setup';
import { dotInteraction, fmInteraction, fusedDense } from '../index';

// The TS reference kernels are registered for every backend selectBackend can pick; on `wasm` they
// read and write through the backend's own storage and compose its kernels. Values and gradients
// of every fused op against the cpu backend, and no data left behind. On cpu, tfjs's per-kernel
// leak check is on for the interaction and dense ops too (not on wasm, whose clone of a customGrad's
// saved tensors is a copy that the check counts; nor for the losses, whose d_logits kept for the
// backward it counts the same way).

const rng = new SeededRandom(53);
const [B, N, D] = [6, 4, 5];
const x0 = rng.array(B * N * D, () => rng.normal());
const w0 = rng.array(D * 3, () => rng.normal());
const b0 = rng.array(3, () => rng.normal());
const y01 = Array.from({ length: B * N }, (_, i) => i % 2);
const cls = Array.from({ length: B * N }, (_, i) => i % D);

function everything(checkKernels: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(x0), [B, N, D]);
    const x2 = tf.reshape(x, [B * N, D]) as tf.Tensor2D;
    const w = tf.tensor2d(Float32Array.from(w0), [D, 3]);
    const bias = tf.tensor1d(Float32Array.from(b0));
    const logits = tf.reshape(tf.slice(x2, [0, 0], [B * N, 1]), [B * N]);
    tf.env().set('IS_TEST', checkKernels);
    const out: tf.Tensor[] = [
      fmInteraction(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(fmInteraction(t))))(x),
      dotInteraction(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(dotInteraction(t))))(x),
    ];
    for (const act of ['relu', 'linear'] as const) {
      const dense = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(fusedDense(a as tf.Tensor2D, k as tf.Tensor2D, c as tf.Tensor1D, act)));
      out.push(...tf.grads(dense)([x2, w, bias]));
      const blocks = (a: tf.Tensor, k: tf.Tensor) =>
        tf.sum(
          tf.square(
            fusedDense(
              [tf.slice(a, [0, 0], [B * N, 2]) as tf.Tensor2D, tf.slice(a, [0, 2], [B * N, 3]) as tf.Tensor2D],
              k as tf.Tensor2D,
              bias,
              act,
            ),
          ),
        );
      out.push(...tf.grads(blocks)([x2, w]));
    }
    tf.env().set('IS_TEST', false);
    const losses: ((t: tf.Tensor) => tf.Scalar)[] = [
      (t) => sigmoidBceWithLogits(t, y01, { labelSmoothing: 0.1 }),
      (t) => l2Loss(t, y01),
      (t) => binaryFocalLoss(t, y01, { detachWeight: false }),
    ];
    for (const f of losses) {
      const { value, grad } = tf.valueAndGrad(f)(logits);
      out.push(value, grad);
    }
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => softmaxCrossEntropy(t, cls))(x2);
    out.push(value, grad);
    return out.map((t) => (t.dataSync() as Float32Array).slice());
  });
}

afterAll(() => setUpTfjs('cpu'));

it('every fused op runs on the wasm backend with the cpu values and gradients (to float32 rounding)', async () => {
  const results: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    await setUpTfjs(backend);
    const before = [tf.memory().numTensors, tf.backend().numDataIds()];
    try {
      results.push(everything(backend === 'cpu'));
    } finally {
      tf.env().set('IS_TEST', false);
    }
    expect([tf.memory().numTensors, tf.backend().numDataIds()]).toEqual(before);
  }
  const [cpu, wasm] = results;
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((a, i) => {
    expect(wasm[i]?.length).toBe(a.length);
    let worst = 0;
    for (let j = 0; j < a.length; j++)
      worst = Math.max(worst, Math.abs(a[j] - (wasm[i]?.[j] ?? Number.NaN)) / Math.max(1, Math.abs(a[j])));
    if (!(worst < 1e-5)) throw new Error(`output ${i} differs on wasm by ${worst}`);
  });
});
