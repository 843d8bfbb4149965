import * as tf from '@tensorflow/tfjs-core';
import { TSREC_DENSE_BLOCKS, TSREC_DENSE_BLOCKS_GRAD } from '@tsrec/native';

import { denseGradParts, zeroGrad } from './dense_grad_parts';
import { type ReferenceKernel, runBackendKernel } from './reference_kernel';
import { denseForward } from './TsrecDense';

type Args = { inputs: Record<string, tf.TensorInfo>; attrs: tf.NamedAttrMap; backend: tf.KernelBackend };

function blocksOf(args: Args): tf.TensorInfo[] {
  const n = args.attrs.numBlocks as number;
  return Array.from({ length: n }, (_, i) => args.inputs[`x${i}`] as tf.TensorInfo);
}

/** The blocks side by side ([M, ΣK_i]): the block itself when there is one, else a new tensor. */
function concatBlocks(backend: tf.KernelBackend, xs: tf.TensorInfo[]): tf.TensorInfo {
  if (xs.length === 1) return xs[0] as tf.TensorInfo;
  return runBackendKernel(tf.Concat, xs as unknown as tf.NamedTensorInfoMap, backend, { axis: 1 }) as tf.TensorInfo;
}

function denseBlocks(args: Args): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const xs = blocksOf(args);
  const x = concatBlocks(backend, xs);
  const y = denseForward(backend, x, inputs.w as tf.TensorInfo, inputs.bias, attrs.activation as string);
  if (x !== xs[0]) backend.disposeData(x.dataId);
  return y;
}

function denseBlocksGrad(args: Args): tf.TensorInfo[] {
  const { inputs, attrs, backend } = args;
  const xs = blocksOf(args);
  const skip = new Set((attrs.noGradBlocks as number[] | undefined) ?? []);
  const x = concatBlocks(backend, xs);
  const { dx, dw, db } = denseGradParts(
    backend,
    x,
    inputs.w as tf.TensorInfo,
    inputs.y,
    inputs.dy as tf.TensorInfo,
    attrs.activation === 'relu',
    attrs.hasBias === true,
    xs.some((_, i) => !skip.has(i)),
  );
  if (x !== xs[0]) backend.disposeData(x.dataId);
  let pieces: tf.TensorInfo[] = [];
  if (dx && xs.length === 1) pieces = [dx];
  else if (dx) {
    pieces = runBackendKernel(tf.SplitV, { x: dx }, backend, {
      numOrSizeSplits: xs.map((t) => t.shape[1] as number),
      axis: 1,
    }) as tf.TensorInfo[];
    backend.disposeData(dx.dataId);
  }
  const out = xs.map((_, i) => {
    const piece = pieces[i];
    if (piece && !skip.has(i)) return piece;
    if (piece) backend.disposeData(piece.dataId);
    return zeroGrad(backend);
  });
  out.push(dw);
  if (db) out.push(db);
  return out;
}

/**
 * The reference kernels of TsrecDenseBlocks and its backward (contract: @tsrec/native
 * kernel_names.ts): the blocks concatenated, then the dense forward of TsrecDense.ts and the
 * dense backward of dense_grad_parts.ts, dx split back into blocks — the same floats as the
 * layer on the concatenated input.
 */
export const denseBlocksReferenceKernels: ReferenceKernel[] = [
  { kernelName: TSREC_DENSE_BLOCKS, kernelFunc: denseBlocks as unknown as tf.KernelFunc },
  { kernelName: TSREC_DENSE_BLOCKS_GRAD, kernelFunc: denseBlocksGrad as unknown as tf.KernelFunc },
];
