import * as tf from '@tensorflow/tfjs-core';

import type { EmbeddingGroup } from '../embedding/embedding_group';

/** Helpers for groups used as [B, N, D] (FM, DLRM): every feature sparse, one embedding dim. */
export const stackedGroup = {
  /** The common embedding dim of a group's features, or an error naming the model and group. */
  dimOf(group: EmbeddingGroup, name: string, model: string): number {
    const feats = group.groupFeatures(name);
    const dims = new Set(feats.map((f) => (f.isSparse ? f.embeddingDim : -1)));
    if (feats.length === 0 || dims.has(-1) || dims.size !== 1) {
      throw new Error(
        `Expected sparse features of one embedding_dim in group '${name}' of model ${model} but received ${feats.map((f) => `${f.name}:${f.isSparse ? f.embeddingDim : 'dense'}`).join(', ')}`,
      );
    }
    return [...dims][0];
  },
  /** The group's [B, N·D] tensor viewed as [B, N, D]. */
  stack(group: EmbeddingGroup, groups: Record<string, tf.Tensor2D>, name: string): tf.Tensor3D {
    const n = group.groupFeatures(name).length;
    const x = groups[name];
    return tf.reshape(x, [x.shape[0], n, x.shape[1] / n]);
  },
};
