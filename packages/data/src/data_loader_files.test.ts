import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BadDataSummary } from './bad_data';
import type { Batch } from './batch';
import { DataLoader, type DataLoaderOptions } from './data_loader';
import type { FeatureSpec } from './feature_spec';
import { writeCriteoParquet } from './synthetic/criteo_synthetic';
import { describeWithSharedData, sharedPath } from '../../../test/helpers/shared_data';

const DATA = sharedPath('data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-loader-'));
const write = (name: string, text: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};
const id = (featureName: string, extra: Record<string, unknown> = {}): FeatureSpec => ({
  feature: {
    case: 'idFeature',
    value: { featureName, expression: `user:${featureName}`, hashBucketSize: 100, ...extra } as never,
  },
});
const raw = (featureName: string): FeatureSpec => ({
  feature: { case: 'rawFeature', value: { featureName, expression: `user:${featureName}` } },
});

async function collect(o: DataLoaderOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of new DataLoader(o)) out.push(b);
  return out;
}

describeWithSharedData(
  [
    'data/ml-100k_recbole/ml-100k.inter',
    'data/census_income_mmoe/census-income.test.gz',
    'data/deepctr_samples/avazu_sample.txt',
  ],
  'real data from ../shared/data',
  () => {
    it('MovieLens-100K interactions (TSV with RecBole typed headers): 100,000 rows, 55,375 with rating >= 4', async () => {
      const file = path.join(DATA, 'ml-100k_recbole/ml-100k.inter');
      const batches = await collect({
        inputPath: file,
        delimiter: '\t',
        batchSize: 8192,
        features: {
          fgMode: 'FG_NORMAL',
          featureConfigs: [
            {
              feature: {
                case: 'idFeature',
                value: { featureName: 'user', expression: 'user:user_id:token', hashBucketSize: 2000 },
              },
            },
            {
              feature: {
                case: 'idFeature',
                value: { featureName: 'item', expression: 'item:item_id:token', numBuckets: 1683 },
              },
            },
          ],
          labelFields: ['rating:float'],
        },
      });
      const rows = batches.reduce((s, b) => s + b.batchSize, 0);
      expect(rows).toBe(100000);
      const pos = batches.reduce((s, b) => s + b.labels['rating:float'].filter((r) => r >= 4).length, 0);
      expect(pos).toBe(55375);
      expect(Array.from(batches[0].sparse.bag('item', 0))).toEqual([242]);
    });

    it('census-income (gzip, no header, comma + space): 99,762 rows, 6,186 with income 50000+', async () => {
      const cols =
        'age, class_worker, det_ind_code, det_occ_code, education, wage_per_hour, hs_college, marital_stat, major_ind_code, major_occ_code, race, hisp_origin, sex, union_member, unemp_reason, full_or_part_emp, capital_gains, capital_losses, stock_dividends, tax_filer_stat, region_prev_res, state_prev_res, det_hh_fam_stat, det_hh_summ, instance_weight, mig_chg_msa, mig_chg_reg, mig_move_reg, mig_same, mig_prev_sunbelt, num_emp, fam_under_18, country_father, country_mother, country_self, citizenship, own_or_self, vet_question, vet_benefits, weeks_worked, year, income_50k'.split(
          ', ',
        );
      const seen = { rows: 0, rich: 0, never: 0 };
      for await (const b of new DataLoader({
        inputPath: path.join(DATA, 'census_income_mmoe/census-income.test.gz'),
        inputFields: cols,
        batchSize: 4096,
        features: {
          fgMode: 'FG_NORMAL',
          featureConfigs: [
            raw('age'),
            id('education'),
            id('marital_stat', { vocabList: [' Never married'], hashBucketSize: undefined }),
          ],
          reservedColumns: ['income_50k'],
        },
      })) {
        seen.rows += b.batchSize;
        seen.rich += b.reserved.income_50k.filter((v) => v === ' 50000+.').length;
        for (let r = 0; r < b.batchSize; r++) if (b.sparse.bag('marital_stat', r)[0] === 2) seen.never++;
      }
      expect(seen).toEqual({ rows: 99762, rich: 6186, never: 43143 });
    });

    it('the DeepCTR Avazu sample (100 rows) reads with every column hashed', async () => {
      const file = path.join(DATA, 'deepctr_samples/avazu_sample.txt');
      const header = fs.readFileSync(file, 'utf8').split('\n')[0].split(',');
      const b = await collect({
        inputPath: file,
        batchSize: 1000,
        features: {
          fgMode: 'FG_NORMAL',
          featureConfigs: header.filter((c) => c !== 'click' && c !== 'id').map((c) => id(c)),
          labelFields: ['click'],
        },
      });
      expect(b[0].batchSize).toBe(100);
      expect(b[0].sparse.keys.length).toBe(header.length - 2);
    });
  },
);

describe('bad data, end to end', () => {
  const features = {
    fgMode: 'FG_NORMAL' as const,
    featureConfigs: [id('u'), raw('p'), id('m', { numBuckets: 5, hashBucketSize: undefined })],
    labelFields: ['y'],
  };
  const text = Buffer.concat([
    Buffer.from('y,u,p,m\n1,a,0.5,1\n0,b,x1,2\n1,c,1\n0,d,2,7\n'),
    Buffer.from([0x31, 0x2c, 0xc3, 0x28, 0x2c, 0x31, 0x2c, 0x31, 0x0a]),
    Buffer.from('1,e,3,4\n'),
  ]);
  const file = write('bad.csv', text);

  it('fail policy: the first bad row stops the run with file:line:column', async () => {
    await expect(collect({ inputPath: file, batchSize: 10, features })).rejects.toThrow(
      `${file}:3:5: feature "p": expected a number in column "p" but found "x1"`,
    );
  });

  it('skip policy: bad rows are dropped, counted per reason and reported at the end of the epoch', async () => {
    const reports: [number, BadDataSummary][] = [];
    const batches = await collect({
      inputPath: file,
      batchSize: 10,
      features,
      badDataPolicy: 'skip',
      numEpochs: 2,
      onEpochEnd: (e, s) => reports.push([e, s]),
    });
    expect(batches.map((b) => b.batchSize)).toEqual([2, 2]);
    expect(reports.map(([e]) => e)).toEqual([0, 1]);
    expect(reports[0][1]).toEqual({
      total: 4,
      counts: { ragged_row: 1, invalid_utf8: 1, bad_number: 1, id_out_of_range: 1 },
      examples: [
        `${file}:4:6: expected 4 fields but found 3`,
        `${file}:6:3: invalid UTF-8 byte 0xc3`,
        `${file}:3:5: feature "p": expected a number in column "p" but found "x1"`,
        `${file}:5:7: feature "m": id 7 in column "m" is outside [0, 5) (num_buckets)`,
      ],
    });
    expect(reports[1][1].total).toBe(4);
  });

  it('skip policy keeps batches at batch_size when rows are dropped mid-epoch', async () => {
    const many = write(
      'many.csv',
      `y,u,p,m\n${Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? '1,a,bad,1' : `1,a,${i},1`)).join('\n')}\n`,
    );
    const b = await collect({ inputPath: many, batchSize: 8, features, badDataPolicy: 'skip' });
    expect(b.map((x) => x.batchSize)).toEqual([8, 8, 8, 8, 2]);
    expect(b.flatMap((x) => Array.from(x.dense))).toEqual(
      Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 7 !== 3),
    );
  });

  it('missing columns, empty files, missing paths and truncated Parquet files have exact messages', async () => {
    const noM = write('nom.csv', 'y,u,p\n1,a,1\n');
    expect(() => new DataLoader({ inputPath: noM, batchSize: 2, features })).toThrow(
      `${noM}: missing column "m" (the input has y, u, p)`,
    );
    const empty = write('empty.csv', '');
    expect(() => new DataLoader({ inputPath: empty, batchSize: 2, features })).toThrow(
      `${empty}:1:1: expected a header line but the file is empty`,
    );
    const emptyData = write('empty_rows.csv', '');
    await expect(
      collect({ inputPath: emptyData, inputFields: ['y', 'u', 'p', 'm'], batchSize: 2, features }),
    ).rejects.toThrow(
      `Expected rows in epoch 0 of ${emptyData} but it gave none: it holds no rows (after the header, if any)`,
    );
    expect(() => new DataLoader({ inputPath: path.join(dir, 'nope.csv'), batchSize: 2, features })).toThrow(
      `input path "${path.join(dir, 'nope.csv')}" does not exist`,
    );
    expect(() => new DataLoader({ inputPath: path.join(dir, '*.nothing'), batchSize: 2, features })).toThrow(
      `input path "${path.join(dir, '*.nothing')}" matches no files`,
    );
    const pq = path.join(dir, 'ok.parquet');
    writeCriteoParquet(pq, { rows: 100, seed: 1, cardinalityScale: 0.01 });
    const cut = write('cut.parquet', fs.readFileSync(pq).subarray(0, 300));
    expect(() => new DataLoader({ inputPath: cut, batchSize: 2, features })).toThrow(
      /^.*cut\.parquet: not a valid Parquet file \(.+\)$/,
    );
    const header2 = write('h2.csv', 'y,u,m,p\n1,a,1,1\n');
    expect(() => new DataLoader({ inputPath: [file, header2], batchSize: 2, features })).toThrow(
      `${header2}:1:1: header [y, u, m, p] differs from ${file}'s [y, u, p, m]`,
    );
    expect(() => new DataLoader({ inputPath: file, batchSize: 0, features })).toThrow(
      'Expected a positive integer for batch_size but received 0',
    );
    expect(() => new DataLoader({ inputPath: file, batchSize: 2, features, rank: 2, worldSize: 2 })).toThrow(
      'Expected 0 <= rank < world_size but received rank 2, world_size 2',
    );
  });

  it('globs and several files, in sorted order', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'glob-'));
    fs.writeFileSync(path.join(sub, 'part-1.csv'), 'y,u,p,m\n1,b,2,1\n');
    fs.writeFileSync(path.join(sub, 'part-0.csv'), 'y,u,p,m\n1,a,1,1\n');
    fs.writeFileSync(path.join(sub, '.hidden.csv'), 'junk');
    const g = await collect({ inputPath: path.join(sub, 'part-*.csv'), batchSize: 10, features });
    expect(Array.from(g[0].dense)).toEqual([1, 2]);
    const d = await collect({ inputPath: `${sub},${path.join(sub, 'part-0.csv')}`, batchSize: 10, features });
    expect(Array.from(d[0].dense)).toEqual([1, 2, 1]);
  });
});

describe('inputs that used to lose rows, spin or pass garbage (issue 22)', () => {
  const features = {
    fgMode: 'FG_NORMAL' as const,
    featureConfigs: [id('u'), raw('p')],
    labelFields: ['y'],
  };

  it('a stray quote inside a TSV field is an ordinary character; one opening a field costs its line only', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `${i % 2}\tu${i}\t${i}`);
    rows[100] = '1\tab"c\t100'; // inside a field: part of the value
    rows[700] = '1\t"open\t700'; // opening a field, never closed
    const file = write('stray_quote.tsv', `y\tu\tp\n${rows.join('\n')}\n`);
    const reports: BadDataSummary[] = [];
    const b = await collect({
      inputPath: file,
      delimiter: '\t',
      batchSize: 256,
      features,
      badDataPolicy: 'skip',
      onEpochEnd: (_e, bad) => reports.push(bad),
    });
    expect(b.reduce((n, x) => n + x.batchSize, 0)).toBe(1999);
    expect(reports[0]!.total).toBe(1);
    expect(reports[0]!.examples[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:702:3: `));
    await expect(collect({ inputPath: file, delimiter: '\t', batchSize: 256, features })).rejects.toThrow(
      `${file}:702:3: a quoted field opened here is not closed on its line (a value cannot span lines)`,
    );
  });

  it.each(['Infinity', '-Infinity', '1e400', '1e39'])(
    '%s in a dense column is a data error at file:line:column',
    async (v) => {
      const file = write(`inf_${v}.csv`, `y,u,p\n1,a,1\n0,b,${v}\n`);
      await expect(collect({ inputPath: file, batchSize: 8, features })).rejects.toThrow(
        `${file}:3:5: feature "p": expected a number in column "p" but found "${v}" (not finite as a 32-bit float)`,
      );
    },
  );

  it('an epoch without rows is an error naming the input, not an endless loop', async () => {
    const headerOnly = write('header_only.csv', 'y,u,p\n');
    // numEpochs Infinity is what train_config.num_steps asks for: this loop used to spin forever
    await expect(collect({ inputPath: headerOnly, batchSize: 8, features, numEpochs: Infinity })).rejects.toThrow(
      `Expected rows in epoch 0 of ${headerOnly} but it gave none: it holds no rows (after the header, if any)`,
    );
    const allBad = write('all_bad.csv', 'y,u,p\n1,a,x\n0,b,y\n');
    await expect(
      collect({ inputPath: allBad, batchSize: 8, features, numEpochs: Infinity, badDataPolicy: 'skip' }),
    ).rejects.toThrow(
      `Expected rows in epoch 0 of ${allBad} but it gave none: every row was malformed (malformed_row_policy "skip"): skipped 2 bad rows (bad_number: 2)`,
    );
    const short = write('short.csv', 'y,u,p\n1,a,1\n');
    await expect(
      collect({ inputPath: short, batchSize: 8, features, numEpochs: Infinity, dropRemainder: true }),
    ).rejects.toThrow(
      `Expected rows in epoch 0 of ${short} but it gave none: it holds no rows (after the header), or fewer than batch_size 8 and drop_remainder drops them`,
    );
  });

  it('a truncated .gz input is an error naming the file', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `${i % 2},u${(i * 7919) % 1000},${i}`).join('\n');
    const full = require('node:zlib').gzipSync(Buffer.from(`y,u,p\n${rows}\n`)) as Buffer;
    const gz = write('cut.csv.gz', full.subarray(0, full.length >> 1));
    const open = () => new DataLoader({ inputPath: gz, batchSize: 8, features });
    expect(open).toThrow(
      new RegExp(
        `^${gz.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a complete gzip file \\(.+\\); was it truncated\\?$`,
      ),
    );
  });

  it('a UTF-8 byte order mark before the header or the first row is skipped', async () => {
    const withHeader = write('bom_header.csv', '\ufeffy,u,p\n1,a,2\n');
    const h = await collect({ inputPath: withHeader, batchSize: 8, features });
    expect(Array.from(h[0]!.labels.y!)).toEqual([1]);
    const noHeader = write('bom_rows.csv', '\ufeff1,a,2\n0,b,3\n');
    const r = await collect({ inputPath: noHeader, inputFields: ['y', 'u', 'p'], batchSize: 8, features });
    expect(Array.from(r[0]!.labels.y!)).toEqual([1, 0]);
    expect(Array.from(r[0]!.dense)).toEqual([2, 3]);
  });

  it("labels the model's losses cannot take are data errors at file:line:column", async () => {
    const file = write('labels.csv', 'y,u,p\n1,a,1\n0.5,b,2\n2,c,3\n-1,d,4\n1e30,e,5\n');
    const bce = { y: [{ kind: 'probability' as const, loss: 'binary_cross_entropy' }] };
    await expect(
      collect({ inputPath: file, batchSize: 8, features: { ...features, labelRules: bce } }),
    ).rejects.toThrow(`${file}:4:1: label "y" is "2", but binary_cross_entropy expects labels in [0, 1]`);
    const reports: BadDataSummary[] = [];
    const b = await collect({
      inputPath: file,
      batchSize: 8,
      features: { ...features, labelRules: bce },
      badDataPolicy: 'skip',
      onEpochEnd: (_e, bad) => reports.push(bad),
    });
    expect(Array.from(b[0]!.labels.y!)).toEqual([1, 0.5]); // soft labels in [0, 1] are BCE labels
    expect(reports[0]!.counts).toEqual({ bad_label: 3 });
    const softmax = { y: [{ kind: 'class' as const, numClass: 3, loss: 'softmax_cross_entropy' }] };
    await expect(
      collect({ inputPath: file, batchSize: 8, features: { ...features, labelRules: softmax } }),
    ).rejects.toThrow(`${file}:3:1: label "y" is "0.5", but softmax_cross_entropy expects integer class ids in [0, 3)`);
    const l2 = { y: [{ kind: 'real' as const, loss: 'l2_loss' }] };
    const r = await collect({ inputPath: file, batchSize: 8, features: { ...features, labelRules: l2 } });
    expect(r[0]!.batchSize).toBe(5);
  });
});
