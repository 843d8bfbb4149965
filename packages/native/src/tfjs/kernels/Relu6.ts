import { Relu6 } from '@tensorflow/tfjs-core';

import { UnaryOpCode } from '../kernel_addon';
import { unaryKernel } from './unary_kernel';

/** Relu6 for float32 tensors in native code (the cpu backend's formula); other dtypes use the cpu kernel. */
export const relu6Config = unaryKernel(Relu6, UnaryOpCode.Relu6);
