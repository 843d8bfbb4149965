import type { SparseBatch } from '@tsrec/native';

import type { ModelBatch } from '../models/model_context';
import { SeededRandom } from './seeded_random';

/** A tiny sparse batch type for tests (the shape of @tsrec/data's KeyedJaggedBatch). */
export class TestSparse {
  constructor(
    readonly keys: readonly string[],
    readonly batchSize: number,
    private readonly bags: number[][][],
  ) {}

  toSparseBatch(): SparseBatch {
    const offsets = [0];
    const indices: number[] = [];
    for (let f = 0; f < this.keys.length; f++) {
      for (let b = 0; b < this.batchSize; b++) {
        indices.push(...this.bags[f][b]);
        offsets.push(indices.length);
      }
    }
    return { indices: Int32Array.from(indices), offsets: Int32Array.from(offsets), batchSize: this.batchSize };
  }

  select(keys: readonly string[]): TestSparse {
    return new TestSparse(
      keys,
      this.batchSize,
      keys.map((k) => this.bags[this.keys.indexOf(k)]),
    );
  }
}

/**
 * A small CTR task with a planted model: `sparse` one-id features over `rows` ids and `dense`
 * standard-normal features; logit = Σ_f a_f[id_f] + Σ_j c_j·x_j + Σ_{f<g} <u_f[id_f], u_g[id_g]>
 * (first-order, dense and second-order terms, so FM/DLRM interactions have something to find).
 * With `secondTask`, batches also carry `label2` (a related task for multi-task models):
 * logit2 = 0.6·logit + Σ_f b_f[id_f] − 0.3.
 */
export class SyntheticCtrTask {
  readonly sparseNames: string[];
  readonly denseNames: string[];
  private readonly a: Float64Array[];
  private readonly u: Float64Array[];
  private readonly c: Float64Array;
  private readonly b: Float64Array[] | null;
  private readonly rng: SeededRandom;

  constructor(
    readonly sparse = 6,
    readonly dense = 3,
    readonly rows = 50,
    seed = 1,
    secondTask = false,
  ) {
    this.rng = new SeededRandom(seed);
    const r = this.rng;
    this.sparseNames = Array.from({ length: sparse }, (_, i) => `cat_${i}`);
    this.denseNames = Array.from({ length: dense }, (_, i) => `int_${i}`);
    this.a = this.sparseNames.map(() => Float64Array.from({ length: rows }, () => r.normal()));
    this.u = this.sparseNames.map(() => Float64Array.from({ length: rows * 2 }, () => r.normal() * 0.6));
    this.c = Float64Array.from({ length: dense }, () => r.normal());
    this.b = secondTask
      ? this.sparseNames.map(() => Float64Array.from({ length: rows }, () => r.normal() * 0.7))
      : null;
  }

  /** A batch plus the planted logits (the best possible scores; `planted2` for `label2`). */
  batch(B: number): { batch: ModelBatch; planted: Float32Array; planted2: Float32Array | null } {
    const r = this.rng;
    const ids = this.sparseNames.map(() => Array.from({ length: B }, () => r.int(this.rows)));
    const dense = Float32Array.from({ length: B * this.dense }, () => r.normal());
    const labels = new Float32Array(B);
    const planted = new Float32Array(B);
    const labels2 = this.b ? new Float32Array(B) : null;
    const planted2 = this.b ? new Float32Array(B) : null;
    for (let b = 0; b < B; b++) {
      let z = -0.5;
      for (let f = 0; f < this.sparse; f++) z += 0.7 * this.a[f][ids[f][b]];
      for (let j = 0; j < this.dense; j++) z += this.c[j] * dense[b * this.dense + j];
      for (let f = 0; f < this.sparse; f++) {
        for (let g = f + 1; g < this.sparse; g++) {
          const i = ids[f][b] * 2;
          const k = ids[g][b] * 2;
          z += this.u[f][i] * this.u[g][k] + this.u[f][i + 1] * this.u[g][k + 1];
        }
      }
      planted[b] = z;
      labels[b] = r.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      if (this.b) {
        let z2 = 0.6 * z - 0.3;
        for (let f = 0; f < this.sparse; f++) z2 += this.b[f][ids[f][b]];
        planted2![b] = z2;
        labels2![b] = r.next() < 1 / (1 + Math.exp(-z2)) ? 1 : 0;
      }
    }
    const bags = ids.map((col) => col.map((id) => [id]));
    return {
      batch: {
        batchSize: B,
        sparse: new TestSparse(this.sparseNames, B, bags),
        dense,
        denseKeys: this.denseNames,
        denseDims: this.denseNames.map(() => 1),
        labels: labels2 ? { label: labels, label2: labels2 } : { label: labels },
        sampleWeights: {},
      },
      planted,
      planted2,
    };
  }

  /** A pipeline config (feature_configs, plus `extra` top-level text) describing these features, plus a model_config. */
  configText(modelConfig: string, extra = ''): string {
    const feats = [
      ...this.denseNames.map((n) => `feature_configs { raw_feature { feature_name: "${n}" } }`),
      ...this.sparseNames.map(
        (n) => `feature_configs { id_feature { feature_name: "${n}" num_buckets: ${this.rows} embedding_dim: 8 } }`,
      ),
    ];
    return `${extra}${feats.join('\n')}\nmodel_config {\n${modelConfig}\n}\n`;
  }
}
