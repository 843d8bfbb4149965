import { Prelu } from '@tensorflow/tfjs-core';

import { BinaryOpCode } from '../kernel_addon';
import { binaryKernel } from './binary_kernel';

/** Prelu with broadcasting for float32 tensors in native code; other dtypes use the cpu kernel. */
export const preluConfig = binaryKernel(Prelu, BinaryOpCode.Prelu, ['x', 'alpha']);
