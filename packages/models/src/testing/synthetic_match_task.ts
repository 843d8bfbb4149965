import type { ModelBatch } from '../models/model_context';
import { SeededRandom } from './seeded_random';
import { TestSparse } from './synthetic_task';

/**
 * A small user–item retrieval task with a planted affinity: `users` and `items` ids, each in
 * one of `clusters` taste clusters; a batch row is a user and the item it interacted with,
 * drawn from the user's cluster with probability `affinity`, else uniformly. Features: sparse
 * `user_id`, `item_id`, and a dense `user_noise` (irrelevant, so towers mix dense and sparse
 * columns). Labels `label` are all 1 (retrieval models use the in-batch diagonal).
 */
export class SyntheticMatchTask {
  readonly userCluster: Int32Array;
  readonly itemCluster: Int32Array;
  private readonly byCluster: number[][];
  private readonly rng: SeededRandom;

  constructor(
    readonly users = 200,
    readonly items = 400,
    readonly clusters = 20,
    readonly affinity = 0.9,
    seed = 5,
  ) {
    this.rng = new SeededRandom(seed);
    this.userCluster = Int32Array.from({ length: users }, () => this.rng.int(clusters));
    this.itemCluster = Int32Array.from({ length: items }, (_, i) => i % clusters);
    this.byCluster = Array.from({ length: clusters }, () => [] as number[]);
    this.itemCluster.forEach((c, i) => this.byCluster[c].push(i));
  }

  /** A batch of B (user, interacted item) rows. */
  batch(B: number): ModelBatch {
    const r = this.rng;
    const users = Array.from({ length: B }, () => r.int(this.users));
    const items = users.map((u) => {
      if (r.next() >= this.affinity) return r.int(this.items);
      const list = this.byCluster[this.userCluster[u]];
      return list[r.int(list.length)];
    });
    return {
      batchSize: B,
      sparse: new TestSparse(['user_id', 'item_id'], B, [users.map((u) => [u]), items.map((i) => [i])]),
      dense: Float32Array.from({ length: B }, () => r.normal()),
      denseKeys: ['user_noise'],
      denseDims: [1],
      labels: { label: new Float32Array(B).fill(1) },
      sampleWeights: {},
    };
  }

  /** A pipeline config with these features (embedding_dim `dim`), groups `user` and `item`, and `modelConfig`. */
  configText(modelConfig: string, dim = 16): string {
    return [
      'feature_configs { raw_feature { feature_name: "user_noise" } }',
      `feature_configs { id_feature { feature_name: "user_id" num_buckets: ${this.users} embedding_dim: ${dim} } }`,
      `feature_configs { id_feature { feature_name: "item_id" num_buckets: ${this.items} embedding_dim: ${dim} } }`,
      'model_config {',
      'feature_groups { group_name: "user" feature_names: "user_id" feature_names: "user_noise" group_type: DEEP }',
      'feature_groups { group_name: "item" feature_names: "item_id" group_type: DEEP }',
      modelConfig,
      '}',
      '',
    ].join('\n');
  }
}
