import { Exp } from '@tensorflow/tfjs-core';

import { UnaryOpCode } from '../kernel_addon';
import { unaryKernel } from './unary_kernel';

/** Exp for float32 tensors in native code (the cpu backend's formula); other dtypes use the cpu kernel. */
export const expConfig = unaryKernel(Exp, UnaryOpCode.Exp);
