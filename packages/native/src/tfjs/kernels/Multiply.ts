import { Multiply } from '@tensorflow/tfjs-core';

import { BinaryOpCode } from '../kernel_addon';
import { binaryKernel } from './binary_kernel';

/** Multiply with broadcasting for float32 tensors in native code; other dtypes use the cpu kernel. */
export const multiplyConfig = binaryKernel(Multiply, BinaryOpCode.Mul);
