import { hashStringsToBuckets } from '@tsrec/native';
import { describeWithSharedData, sharedPath } from '../../../test/helpers/shared_data';
import type { Batch } from './batch';
import { DataLoader } from './data_loader';
import type { FeatureSpec } from './feature_spec';

const CRITEO_SAMPLE = 'data/deepctr_samples/criteo_sample.txt';
const CRITEO = sharedPath(CRITEO_SAMPLE);

function criteoFeatures(): FeatureSpec[] {
  const f: FeatureSpec[] = [];
  for (let i = 1; i <= 13; i++)
    f.push({
      feature: {
        case: 'rawFeature',
        value: {
          featureName: `I${i}`,
          expression: `user:I${i}`,
          normalizer: 'method=log10,threshold=1e-10,default=-10',
        },
      },
    });
  for (let i = 1; i <= 26; i++)
    f.push({
      feature: {
        case: 'idFeature',
        value: { featureName: `C${i}`, expression: `item:C${i}`, hashBucketSize: 1000, embeddingDim: 16 },
      },
    });
  return f;
}

async function collect(l: DataLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of l) out.push(b);
  return out;
}

describeWithSharedData([CRITEO_SAMPLE], 'DataLoader on the DeepCTR Criteo sample (200 rows)', () => {
  const base = () => ({
    inputPath: CRITEO,
    batchSize: 64,
    features: { featureConfigs: criteoFeatures(), fgMode: 'FG_NORMAL' as const, labelFields: ['label'] },
  });

  it('reads every row with the expected counts and values', async () => {
    const batches = await collect(new DataLoader(base()));
    expect(batches.map((b) => b.batchSize)).toEqual([64, 64, 64, 8]);
    const b = batches[0];
    expect(b.denseKeys).toEqual(Array.from({ length: 13 }, (_, i) => `I${i + 1}`));
    expect(b.sparse.keys.length).toBe(26);
    // Row 1: label 0, I2 = 3 -> log10(3); I1 missing -> default 0 -> log10 normalizer default -10.
    expect(b.labels.label[0]).toBe(0);
    expect(b.dense[0]).toBeCloseTo(-10);
    expect(b.dense[1]).toBeCloseTo(Math.log10(3), 6);
    expect(b.dense[2]).toBeCloseTo(Math.log10(260), 6);
    // C1 of row 1 is 05db9164: its FarmHash bucket.
    expect(Array.from(b.sparse.bag('C1', 0))).toEqual([hashStringsToBuckets(['05db9164'], 1000)[0]]);
    // C19 of row 1 is empty -> an empty bag (default_value "").
    expect(b.sparse.bag('C19', 0).length).toBe(0);
    const positives = batches.reduce((s, x) => s + x.labels.label.reduce((a, v) => a + v, 0), 0);
    expect(positives).toBeGreaterThan(0);
    // offsets are exactly the native layout: F*B + 1, feature-major.
    expect(b.sparse.offsets.length).toBe(26 * 64 + 1);
  });

  it('drop_remainder drops the short last batch', async () => {
    const batches = await collect(new DataLoader({ ...base(), dropRemainder: true }));
    expect(batches.map((b) => b.batchSize)).toEqual([64, 64, 64]);
  });

  it('same seed, same shuffled batches; another seed, another order', async () => {
    const run = async (seed: number) =>
      (await collect(new DataLoader({ ...base(), shuffle: true, shuffleBufferSize: 50, seed, numEpochs: 2 }))).map(
        (b) => Array.from(b.sparse.values),
      );
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('partitions by (rank, world_size) cover every row exactly once with equal step counts', async () => {
    const key = (b: Batch) => Array.from({ length: b.batchSize }, (_, r) => `${b.reserved.I5[r]}|${b.reserved.C3[r]}`);
    const opts = { ...base(), batchSize: 16, features: { ...base().features, reservedColumns: ['I5', 'C3'] } };
    const all = (await collect(new DataLoader(opts))).flatMap(key);
    const parts = await Promise.all(
      [0, 1, 2, 3].map((rank) => collect(new DataLoader({ ...opts, rank, worldSize: 4 }))),
    );
    expect(new Set(parts.map((p) => p.length)).size).toBe(1);
    expect(parts.flatMap((p) => p.flatMap(key)).sort()).toEqual(all.slice().sort());
  });
});
