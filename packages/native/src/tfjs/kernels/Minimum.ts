import { Minimum } from '@tensorflow/tfjs-core';

import { BinaryOpCode } from '../kernel_addon';
import { binaryKernel } from './binary_kernel';

/** Minimum with broadcasting for float32 tensors in native code; other dtypes use the cpu kernel. */
export const minimumConfig = binaryKernel(Minimum, BinaryOpCode.Min);
