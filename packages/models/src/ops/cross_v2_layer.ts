import * as tf from '@tensorflow/tfjs-core';

/**
 * One DCNv2 cross layer (TorchEasyRec's CrossV2, low-rank form):
 *   y = x0 ⊙ ((xl·U)·V + bias) + xl,   U [D, r], V [r, D], bias [D];  x0, xl [B, D]
 * (r = D is a full-rank factorisation). A custom-gradient op
 * whose backward is written out, so each step runs exactly four matmuls (BLAS on the tsrec
 * backend) and the element-wise parts once: dz = dy⊙x0, dx0 = dy⊙z, dbias = Σ_b dz,
 * dV = hᵀ·dz, dh = dz·Vᵀ, dU = xlᵀ·dh, dxl = dy + dh·Uᵀ, with h = xl·U and z = h·V + bias.
 */
export function crossV2Layer(
  x0: tf.Tensor2D,
  xl: tf.Tensor2D,
  u: tf.Tensor2D,
  v: tf.Tensor2D,
  bias: tf.Tensor1D,
): tf.Tensor2D {
  const op = 'cross_v2_layer';
  const [B, D] = x0.shape;
  if (xl.rank !== 2 || xl.shape[0] !== B || xl.shape[1] !== D)
    throw new RangeError(`Expected xl of shape [${B}, ${D}] for ${op} but received [${xl.shape.join(', ')}]`);
  if (u.rank !== 2 || u.shape[0] !== D)
    throw new RangeError(`Expected u of shape [${D}, r] for ${op} but received [${u.shape.join(', ')}]`);
  const r = u.shape[1];
  if (v.rank !== 2 || v.shape[0] !== r || v.shape[1] !== D)
    throw new RangeError(`Expected v of shape [${r}, ${D}] for ${op} but received [${v.shape.join(', ')}]`);
  if (bias.rank !== 1 || bias.shape[0] !== D)
    throw new RangeError(`Expected bias of shape [${D}] for ${op} but received [${bias.shape.join(', ')}]`);
  const run = tf.customGrad(((
    a0: tf.Tensor2D,
    al: tf.Tensor2D,
    U: tf.Tensor2D,
    V: tf.Tensor2D,
    b: tf.Tensor1D,
    save: tf.GradSaveFunc,
  ) => {
    const h = tf.matMul(al, U);
    const z = tf.add(tf.matMul(h, V), b);
    save([a0, al, U, V, h, z]);
    return {
      value: tf.add(tf.mul(a0, z), al),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [s0, sl, sU, sV, sh, sz] = saved as tf.Tensor2D[];
        const dz = tf.mul(dy, s0);
        const dh = tf.matMul(dz, sV, false, true);
        return [
          tf.mul(dy, sz),
          tf.add(dy, tf.matMul(dh, sU, false, true)),
          tf.matMul(sl, dh, true, false),
          tf.matMul(sh, dz, true, false),
          tf.sum(dz, 0),
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return run(x0, xl, u, v, bias);
}
