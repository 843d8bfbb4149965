// tsrec's fused-op kernels (kernel_names.ts) run by name on the `tsrec` backend, against tfjs
// formulas on the cpu backend; their GradConfigs; the checks of the kernels that trust shapes.
import * as tf from '@tensorflow/tfjs-core';

import { registerTsrecBackend, TSREC_BACKEND_NAME } from './backend';
import { registerTfjsGradients } from './gradients';
import { kernelAddon } from './kernel_addon';
import {
  TSREC_DENSE_BLOCKS,
  TSREC_DOT_INTERACTION,
  TSREC_FM_INTERACTION,
  TSREC_FM_INTERACTION_GRAD,
  TSREC_SIGMOID_BCE,
} from './kernel_names';
import { registerTsrecGradients, TSREC_GRAD_CONFIGS } from './register_all_gradients';

registerTsrecBackend();
registerTfjsGradients();

let seed = 4242;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function data(n: number, scale = 2): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

afterAll(() => tf.setBackend('cpu'));

describe('TsrecFmInteraction', () => {
  it('matches the tfjs formula on cpu (values, and gradients through its GradConfig)', async () => {
    const [B, N, D] = [16, 26, 16];
    const x0 = data(B * N * D);
    const r0 = data(B * D);
    const results: Float32Array[][] = [];
    for (const backend of [TSREC_BACKEND_NAME, 'cpu']) {
      await tf.setBackend(backend);
      const op =
        backend === 'cpu'
          ? (t: tf.Tensor) => tf.mul(0.5, tf.sub(tf.square(tf.sum(t, 1)), tf.sum(tf.square(t), 1)))
          : (t: tf.Tensor) => tf.engine().runKernel(TSREC_FM_INTERACTION, { x: t }) as tf.Tensor;
      results.push(
        tf.tidy(() => {
          const x = tf.tensor3d(x0, [B, N, D]);
          const r = tf.tensor2d(r0, [B, D]);
          const out = (op(x).dataSync() as Float32Array).slice();
          const grad = (
            tf
              .grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), r)))(x)
              .dataSync() as Float32Array
          ).slice();
          return [out, grad];
        }),
      );
    }
    const [[out, grad], [refOut, refGrad]] = results;
    for (let i = 0; i < out.length; i++)
      expect(Math.abs(out[i] - refOut[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(refOut[i])));
    for (let i = 0; i < grad.length; i++)
      expect(Math.abs(grad[i] - refGrad[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(refGrad[i])));
  });

  it('differentiates through the backward kernel registered for the active backend', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    const x = tf.tensor3d(data(2 * 3 * 4), [2, 3, 4]);
    const info = await tf.profile(() =>
      tf.grad((t: tf.Tensor) => tf.engine().runKernel(TSREC_FM_INTERACTION, { x: t }) as tf.Tensor)(x),
    );
    expect(info.kernels.map((k) => k.name)).toContain(TSREC_FM_INTERACTION_GRAD);
    tf.dispose([x, info.result as tf.Tensor]);
  });
});

describe('tsrec GradConfigs', () => {
  it('are registered for the interaction kernels, once', () => {
    expect(TSREC_GRAD_CONFIGS.map((c) => c.kernelName)).toEqual([TSREC_FM_INTERACTION, TSREC_DOT_INTERACTION]);
    registerTsrecGradients();
    for (const config of TSREC_GRAD_CONFIGS) expect(tf.getGradient(config.kernelName)).toBe(config);
  });
});

describe('TsrecSigmoidBce', () => {
  it('computes the weighted mean loss and d_logits, and names a non-finite logit', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    // The binding: the loss in double precision.
    const d64 = new Float32Array(3);
    const loss64 = kernelAddon().tfjsSigmoidBce(
      Float32Array.from([0, 2, -1e4]),
      Float32Array.from([1, 0, 0]),
      Float32Array.from([1, 3, 0]),
      0,
      d64,
    );
    expect(loss64).toBeCloseTo((Math.log(2) + 3 * (2 + Math.log1p(Math.exp(-2)))) / 4, 12);
    // The kernel: the same loss as a float32 scalar and the same d_logits.
    const [loss, d] = tf.engine().runKernel(TSREC_SIGMOID_BCE, { logits: tf.tensor1d([0, 2, -1e4]) }, {
      labels: [1, 0, 0],
      weights: [1, 3, 0],
      labelSmoothing: 0,
    } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBe(Math.fround(loss64));
    const dv = d.dataSync();
    expect(Array.from(dv)).toEqual(Array.from(d64));
    expect(dv[0]).toBeCloseTo((sig(0) - 1) / 4, 7);
    expect(dv[1]).toBeCloseTo((3 * sig(2)) / 4, 7);
    expect(dv[2]).toBe(0);
    expect(() =>
      tf.engine().runKernel(TSREC_SIGMOID_BCE, { logits: tf.tensor1d([0, Infinity]) }, {
        labels: [1, 0],
        weights: null,
        labelSmoothing: 0,
      } as unknown as tf.NamedAttrMap),
    ).toThrow('Expected finite logits for sigmoid_bce_with_logits but received Infinity at index 1 (sample 1)');
    tf.dispose([loss, d]);
  });
});

describe('TsrecDenseBlocks', () => {
  it('checks the blocks, the kernel and the bias (the native kernel trusts the shapes)', async () => {
    await tf.setBackend(TSREC_BACKEND_NAME);
    tf.tidy(() => {
      const a = tf.ones([4, 2]);
      const b = tf.ones([3, 3]);
      const w = tf.ones([5, 2]);
      const run = (blocks: tf.Tensor[], bias?: tf.Tensor) => {
        const inputs: Record<string, tf.Tensor> = { w };
        blocks.forEach((x, i) => {
          inputs[`x${i}`] = x;
        });
        if (bias) inputs.bias = bias;
        return tf.engine().runKernel(TSREC_DENSE_BLOCKS, inputs, {
          activation: 'relu',
          numBlocks: blocks.length,
        });
      };
      expect(() => run([])).toThrow('Expected at least one input block for TsrecDenseBlocks but received none');
      expect(() => run([a, b])).toThrow(
        'Expected block 1 of TsrecDenseBlocks to be float32 [4, K_1] but received float32 [3, 3]',
      );
      expect(() => run([a, a])).toThrow(
        "Expected the blocks' widths to sum to the kernel's 5 rows in TsrecDenseBlocks but received 4",
      );
      expect(() => run([a, tf.ones([4, 3])], tf.ones([3]))).toThrow(
        'Expected a float32 [2] bias for TsrecDenseBlocks but received float32 [3]',
      );
      expect(() => run([a, tf.ones([4, 3], 'int32')])).toThrow(
        'Expected block 1 of TsrecDenseBlocks to be float32 [4, K_1] but received int32 [4, 3]',
      );
      expect((run([a, tf.ones([4, 3])], tf.ones([2])) as tf.Tensor).shape).toEqual([4, 2]);
    });
  });
});
