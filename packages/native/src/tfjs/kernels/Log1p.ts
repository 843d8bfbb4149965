import { Log1p } from '@tensorflow/tfjs-core';

import { UnaryOpCode } from '../kernel_addon';
import { unaryKernel } from './unary_kernel';

/** Log1p for float32 tensors in native code (the cpu backend's formula); other dtypes use the cpu kernel. */
export const log1pConfig = unaryKernel(Log1p, UnaryOpCode.Log1p);
