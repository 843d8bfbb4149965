import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Batch } from '../batch';
import { DataLoader } from '../data_loader';
import { CriteoSynthetic, criteoFeatureConfigs, writeCriteoParquet, writeCriteoTsv } from './criteo_synthetic';

describe('synthetic Criteo-like data', () => {
  it('is deterministic by seed and independent of chunking', () => {
    const a = new CriteoSynthetic({ rows: 0, seed: 3, cardinalityScale: 0.01 });
    const whole = a.chunk(0, 300);
    const parts = [new CriteoSynthetic({ rows: 0, seed: 3, cardinalityScale: 0.01 }).chunk(0, 100), a.chunk(100, 200)];
    expect(Array.from(parts[0].labels).concat(Array.from(parts[1].labels))).toEqual(Array.from(whole.labels));
    expect(parts[1].categorical[5].slice(0, 50)).toEqual(whole.categorical[5].slice(100, 150));
    const other = new CriteoSynthetic({ rows: 0, seed: 4, cardinalityScale: 0.01 }).chunk(0, 300);
    expect(Array.from(other.labels)).not.toEqual(Array.from(whole.labels));
  });

  it('has Criteo-like shape: 8-hex ids, Zipf-skewed, some missing; labels drawn from a planted probability', () => {
    const g = new CriteoSynthetic({ rows: 0, seed: 1 });
    const c = g.chunk(0, 20000);
    const col = c.categorical[2];
    expect(col.find((v) => v !== null)).toMatch(/^[0-9a-f]{8}$/);
    const counts = new Map<string, number>();
    for (const v of col) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    const top = Math.max(...counts.values());
    expect(top / col.length).toBeGreaterThan(0.01); // the head id is frequent
    expect(col.filter((v) => v === null).length / col.length).toBeCloseTo(0.05, 1);
    const positiveRate = c.labels.reduce((s, v) => s + v, 0) / c.labels.length;
    expect(positiveRate).toBeGreaterThan(0.1);
    expect(positiveRate).toBeLessThan(0.35);
    // The best achievable AUC (of the planted probability) is checked beside the AUC it needs:
    // packages/trainer/src/planted_auc.test.ts.
  });

  it('TSV and Parquet files hold the same rows and read into the same batches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-syn-'));
    const opts = { rows: 1000, seed: 5, cardinalityScale: 0.01 };
    const r1 = writeCriteoTsv(path.join(dir, 'a.tsv'), opts);
    const r2 = writeCriteoParquet(path.join(dir, 'a.parquet'), opts);
    expect(r1).toEqual(r2);
    const features = {
      featureConfigs: criteoFeatureConfigs({ hashBucketSize: 1000 }),
      fgMode: 'FG_NORMAL' as const,
      labelFields: ['label'],
    };
    const read = async (f: string) => {
      const out: Batch[] = [];
      for await (const b of new DataLoader({ inputPath: path.join(dir, f), batchSize: 256, features })) out.push(b);
      return out;
    };
    const [t, p] = [await read('a.tsv'), await read('a.parquet')];
    expect(t.map((b) => b.batchSize)).toEqual([256, 256, 256, 232]);
    for (let i = 0; i < t.length; i++) {
      expect(Array.from(p[i].sparse.values)).toEqual(Array.from(t[i].sparse.values));
      expect(Array.from(p[i].sparse.offsets)).toEqual(Array.from(t[i].sparse.offsets));
      expect(Array.from(p[i].dense)).toEqual(Array.from(t[i].dense));
      expect(Array.from(p[i].labels.label)).toEqual(Array.from(t[i].labels.label));
    }
  });
});
