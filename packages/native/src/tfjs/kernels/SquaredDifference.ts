import { SquaredDifference } from '@tensorflow/tfjs-core';

import { BinaryOpCode } from '../kernel_addon';
import { binaryKernel } from './binary_kernel';

/** SquaredDifference with broadcasting for float32 tensors in native code; other dtypes use the cpu kernel. */
export const squaredDifferenceConfig = binaryKernel(SquaredDifference, BinaryOpCode.SquaredDiff);
