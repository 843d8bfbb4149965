import * as tf from '@tensorflow/tfjs-core';
import { TSREC_KERNEL_CONFIGS } from '@tsrec/native';

import { LOSS_REFERENCE_KERNELS } from '../../losses/kernels/register_all_kernels';
import { OPS_REFERENCE_KERNELS } from './register_all_kernels';
import { REFERENCE_KERNEL_BACKENDS, registerReferenceKernels } from './reference_kernel';

const ALL = [...OPS_REFERENCE_KERNELS, ...LOSS_REFERENCE_KERNELS];

describe('the TS reference kernels in the registry', () => {
  it('are registered for every backend selectBackend can pick, except where tsrec has a native kernel', () => {
    expect(REFERENCE_KERNEL_BACKENDS).toEqual(['cpu', 'tsrec', 'wasm', 'tensorflow']);
    const native = new Map(TSREC_KERNEL_CONFIGS.map((c) => [c.kernelName, c.kernelFunc]));
    for (const { kernelName, kernelFunc } of ALL) {
      for (const backend of REFERENCE_KERNEL_BACKENDS) {
        const expected = backend === 'tsrec' && native.has(kernelName) ? native.get(kernelName) : kernelFunc;
        expect([kernelName, backend, tf.getKernel(kernelName, backend)?.kernelFunc]).toEqual([
          kernelName,
          backend,
          expected,
        ]);
      }
    }
    // Each name once: one reference kernel per fused-op kernel.
    expect(new Set(ALL.map((k) => k.kernelName)).size).toBe(ALL.length);
  });

  it('registers nothing twice and never replaces a registered kernel', () => {
    const before = ALL.flatMap((k) => REFERENCE_KERNEL_BACKENDS.map((b) => tf.getKernel(k.kernelName, b)));
    registerReferenceKernels(ALL.map((k) => ({ kernelName: k.kernelName, kernelFunc: () => [] })));
    const after = ALL.flatMap((k) => REFERENCE_KERNEL_BACKENDS.map((b) => tf.getKernel(k.kernelName, b)));
    after.forEach((config, i) => expect(config).toBe(before[i]));
  });
});
