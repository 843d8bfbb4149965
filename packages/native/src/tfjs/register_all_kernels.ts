import type { KernelConfig } from '@tensorflow/tfjs-core';

import { absConfig } from './kernels/Abs';
import { addConfig } from './kernels/Add';
import { batchMatMulConfig } from './kernels/BatchMatMul';
import { concatConfig } from './kernels/Concat';
import { eluConfig } from './kernels/Elu';
import { expConfig } from './kernels/Exp';
import { leakyReluConfig } from './kernels/LeakyRelu';
import { logConfig } from './kernels/Log';
import { log1pConfig } from './kernels/Log1p';
import { maximumConfig } from './kernels/Maximum';
import { minimumConfig } from './kernels/Minimum';
import { multiplyConfig } from './kernels/Multiply';
import { negConfig } from './kernels/Neg';
import { preluConfig } from './kernels/Prelu';
import { realDivConfig } from './kernels/RealDiv';
import { reciprocalConfig } from './kernels/Reciprocal';
import { reluConfig } from './kernels/Relu';
import { relu6Config } from './kernels/Relu6';
import { rsqrtConfig } from './kernels/Rsqrt';
import { sigmoidConfig } from './kernels/Sigmoid';
import { sliceConfig } from './kernels/Slice';
import { splitVConfig } from './kernels/SplitV';
import { sqrtConfig } from './kernels/Sqrt';
import { squareConfig } from './kernels/Square';
import { squaredDifferenceConfig } from './kernels/SquaredDifference';
import { stepConfig } from './kernels/Step';
import { subConfig } from './kernels/Sub';
import { sumConfig } from './kernels/Sum';
import { tanhConfig } from './kernels/Tanh';
import { broadcastToConfig } from './kernels/TsrecBroadcastTo';
import { denseConfig } from './kernels/TsrecDense';
import { denseBlocksConfig, denseBlocksGradConfig } from './kernels/TsrecDenseBlocks';
import { denseGradConfig } from './kernels/TsrecDenseGrad';
import { fmInteractionConfig, fmInteractionGradConfig } from './kernels/TsrecFmInteraction';
import { sigmoidBceConfig } from './kernels/TsrecSigmoidBce';
import { fusedMatMulConfig } from './kernels/_FusedMatMul';

/**
 * Every kernel the `tsrec` backend computes natively (the rest are the cpu backend's, copied).
 * Adding a kernel: write kernels/<KernelName>.ts exporting a KernelConfig, then list it here.
 */
export const TSREC_KERNEL_CONFIGS: readonly KernelConfig[] = [
  absConfig,
  addConfig,
  batchMatMulConfig,
  concatConfig,
  eluConfig,
  expConfig,
  leakyReluConfig,
  logConfig,
  log1pConfig,
  maximumConfig,
  minimumConfig,
  multiplyConfig,
  negConfig,
  preluConfig,
  realDivConfig,
  reciprocalConfig,
  reluConfig,
  relu6Config,
  rsqrtConfig,
  sigmoidConfig,
  sliceConfig,
  splitVConfig,
  sqrtConfig,
  squareConfig,
  squaredDifferenceConfig,
  stepConfig,
  subConfig,
  sumConfig,
  tanhConfig,
  fusedMatMulConfig,
  // tsrec's fused-op kernels (kernel_names.ts; @tsrec/models registers the TS reference kernels
  // under these names for the other backends, and for tsrec where a name has no native kernel)
  fmInteractionConfig,
  fmInteractionGradConfig,
  denseConfig,
  denseGradConfig,
  denseBlocksConfig,
  denseBlocksGradConfig,
  sigmoidBceConfig,
  // internal: the Sum gradient's broadcast (gradient_overrides.ts)
  broadcastToConfig,
];
