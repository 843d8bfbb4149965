import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashStringsToBuckets } from '@tsrec/native';
import { BadDataReport } from './bad_data';
import type { FeatureSpec } from './feature_spec';
import { FeatureEngine } from './feature_engine';
import type { FeatureEngineOptions } from './feature_spec';
import { ValueBlock } from './raw_block';
import { csvBlock } from './testing/csv_block';

const id = (value: Record<string, unknown>): FeatureSpec => ({ feature: { case: 'idFeature', value: value as never } });
const raw = (value: Record<string, unknown>): FeatureSpec => ({
  feature: { case: 'rawFeature', value: value as never },
});
const h = (s: string, n: number) => hashStringsToBuckets([s], n)[0];

function run(text: string, opts: FeatureEngineOptions, policy: 'fail' | 'skip' = 'fail') {
  const report = new BadDataReport(policy);
  const batch = new FeatureEngine(opts).featurize(csvBlock(text), report);
  return { batch, bad: report.take() };
}

describe('IdFeature (raw mode)', () => {
  it('hash_bucket_size: FarmHash buckets, multi-values, missing -> empty bag or default_value', () => {
    const { batch } = run('u,t\nabc,x\u001dy\n,\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        id({ featureName: 'u', expression: 'user:u', hashBucketSize: 100 }),
        id({ featureName: 't', expression: 'item:t', hashBucketSize: 50, defaultValue: 'none' }),
      ],
    });
    expect(batch.sparse.toJSON()).toEqual({ u: [[h('abc', 100)], []], t: [[h('x', 50), h('y', 50)], [h('none', 50)]] });
  });

  it('num_buckets: integer ids, range-checked (fail and skip policies)', () => {
    const opts: FeatureEngineOptions = {
      fgMode: 'FG_NORMAL',
      featureConfigs: [id({ featureName: 'm', expression: 'user:month', numBuckets: 12 })],
    };
    expect(run('month\n3\n11\n', opts).batch.sparse.toJSON()).toEqual({ m: [[3], [11]] });
    expect(() => run('month\n3\n12\n', opts)).toThrow(
      't.csv:3:1: feature "m": id 12 in column "month" is outside [0, 12) (num_buckets)',
    );
    expect(() => run('month\nx7\n', opts)).toThrow(
      't.csv:2:1: feature "m": expected an integer id in column "month" but found "x7"',
    );
    const s = run('month\n3\n12\n-1\n5\n', opts, 'skip');
    expect(s.batch.sparse.toJSON()).toEqual({ m: [[3], [5]] });
    expect(s.bad.counts).toEqual({ id_out_of_range: 2 });
    expect(s.bad.examples[1]).toBe('t.csv:4:1: feature "m": id -1 in column "month" is outside [0, 12) (num_buckets)');
  });

  it('vocab_list without default_bucketize_value: rows from 2, OOV 1, default 0 (or its own row)', () => {
    const v = (defaultValue?: string) =>
      run('c,z\na,\nzz,\n,\nb,\n', {
        fgMode: 'FG_NORMAL',
        featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabList: ['a', 'b'], defaultValue })],
      });
    expect(v('x').batch.sparse.toJSON()).toEqual({ c: [[2], [1], [0], [3]] });
    expect(v('b').batch.sparse.toJSON()).toEqual({ c: [[2], [1], [3], [3]] });
    expect(v().batch.sparse.toJSON()).toEqual({ c: [[2], [1], [], [3]] });
    expect(
      new FeatureEngine({
        fgMode: 'FG_NORMAL',
        featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabList: ['a', 'b'] })],
      }).features[0].numEmbeddings,
    ).toBe(4);
  });

  it('vocab_list / vocab_dict with default_bucketize_value: used as given, OOV there', () => {
    const { batch } = run('c,d\na,k\nzz,q\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        id({ featureName: 'c', expression: 'item:c', vocabList: ['a', 'b'], defaultBucketizeValue: 2 }),
        id({ featureName: 'd', expression: 'item:d', vocabDict: { k: 0, j: 0 }, defaultBucketizeValue: 1 }),
      ],
    });
    expect(batch.sparse.toJSON()).toEqual({ c: [[0], [2]], d: [[0], [1]] });
  });

  it('vocab_dict without default_bucketize_value: a key equal to default_value gets row 0', () => {
    const { batch } = run('c,z\na,\nb,\n,\nq,\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabDict: { a: 2, b: 3 }, defaultValue: 'b' })],
    });
    expect(batch.sparse.toJSON()).toEqual({ c: [[2], [0], [0], [1]] });
  });

  it('vocab_file (token or token id lines) needs default_bucketize_value', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-vocab-'));
    const f = path.join(dir, 'v.txt');
    fs.writeFileSync(f, 'x\ny\nz\n');
    const { batch } = run('c\ny\nw\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabFile: f, defaultBucketizeValue: 3 })],
    });
    expect(batch.sparse.toJSON()).toEqual({ c: [[1], [3]] });
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_NORMAL',
          featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabFile: f })],
        }),
    ).toThrow(
      'feature "c": vocab_file needs default_bucketize_value (a vocab file reserves no rows for default and OOV values)',
    );
    fs.writeFileSync(f, 'x 0\ny 1 2\n');
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_NORMAL',
          featureConfigs: [id({ featureName: 'c', expression: 'item:c', vocabFile: f, defaultBucketizeValue: 3 })],
        }),
    ).toThrow(`${f}:2:1: expected "token" or "token id" but found "y 1 2"`);
  });

  it('weighted ids id:weight', () => {
    const { batch } = run('tags\na:0.5\u001db:2\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [id({ featureName: 'tags', expression: 'user:tags', hashBucketSize: 10, weighted: true })],
    });
    expect(batch.sparse.toJSON()).toEqual({ tags: [[h('a', 10), h('b', 10)]] });
    expect(Array.from(batch.sparse.weightsOrThrow())).toEqual([0.5, 2]);
    expect(() =>
      run('tags\na:x\n', {
        fgMode: 'FG_NORMAL',
        featureConfigs: [id({ featureName: 'tags', expression: 'user:tags', hashBucketSize: 10, weighted: true })],
      }),
    ).toThrow('t.csv:2:1: feature "tags": expected id:weight in column "tags" but found "a:x"');
  });

  it('config errors name the feature and the field', () => {
    expect(
      () =>
        new FeatureEngine({ fgMode: 'FG_NORMAL', featureConfigs: [id({ featureName: 'a', expression: 'user:a' })] }),
    ).toThrow(
      'feature "a": expected exactly one of hash_bucket_size, num_buckets, vocab_list, vocab_dict, vocab_file but received none',
    );
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_NORMAL',
          featureConfigs: [id({ featureName: 'a', expression: 'user:a', hashBucketSize: 0 })],
        }),
    ).toThrow('Expected an integer in [1, 2147483647] for a.hash_bucket_size but received 0 of type number');
    expect(
      () => new FeatureEngine({ fgMode: 'FG_NORMAL', featureConfigs: [id({ featureName: 'a', hashBucketSize: 5 })] }),
    ).toThrow('feature "a": expression is required when fg_mode is FG_NORMAL (e.g. expression: "user:a")');
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_DAG',
          featureConfigs: [id({ featureName: 'a', expression: 'feature:b', hashBucketSize: 5 })],
        }),
    ).toThrow(
      `feature "a": expression "feature:b" reads another feature's output (FG_DAG); tsrec does not support feature: inputs yet — use the raw column instead`,
    );
    expect(
      () =>
        new FeatureEngine({
          featureConfigs: [id({ featureName: 'a', hashBucketSize: 5 }), id({ featureName: 'a', hashBucketSize: 5 })],
        }),
    ).toThrow('feature "a" is configured twice; feature names must be unique');
  });

  it('tables(): shared embedding_name makes one table', () => {
    const e = new FeatureEngine({
      featureConfigs: [
        id({ featureName: 'a', hashBucketSize: 5, embeddingDim: 8, embeddingName: 'shared' }),
        id({ featureName: 'b', hashBucketSize: 9, embeddingDim: 8, embeddingName: 'shared' }),
        id({ featureName: 'c', numBuckets: 3, embeddingDim: 4 }),
      ],
    });
    expect(e.tables()).toEqual([
      { name: 'shared', rows: 9, dim: 8, features: ['a', 'b'] },
      { name: 'c_emb', rows: 3, dim: 4, features: ['c'] },
    ]);
  });
});

describe('FG_NONE (encoded inputs)', () => {
  it('reads the column named after the feature; ids split by \\x03 and range-checked against the table', () => {
    const opts: FeatureEngineOptions = {
      featureConfigs: [
        id({ featureName: 'u', hashBucketSize: 10 }),
        raw({ featureName: 'p' }),
        raw({ featureName: 'b', boundaries: [1, 2] }),
      ],
    };
    const { batch } = run('u,p,b\n3\u00037,0.5,2\n,,0\n', opts);
    expect(batch.sparse.toJSON()).toEqual({ u: [[3, 7], []], b: [[2], [0]] });
    expect(Array.from(batch.dense)).toEqual([0.5, 0]);
    expect(() => run('u,p,b\n10,1,0\n', opts)).toThrow(
      't.csv:2:1: feature "u": id 10 in column "u" is outside [0, 10) (table size)',
    );
    expect(() => run('u,p,b\n1,1,3\n', opts)).toThrow(
      't.csv:2:5: feature "b": bucket id 3 in column "b" is outside [0, 3) (boundaries)',
    );
    expect(
      new FeatureEngine({ featureConfigs: [id({ featureName: 'u', hashBucketSize: 10, fgEncodedDefaultValue: '4' })] })
        .featurize(csvBlock('u,z\n,\n5,\n'), new BadDataReport())
        .sparse.toJSON(),
    ).toEqual({ u: [[4], [5]] });
  });

  it('grouped sequence sub-features read <sequence_name>__<feature_name>', () => {
    const e = new FeatureEngine({
      featureConfigs: [
        {
          feature: {
            case: 'sequenceFeature',
            value: {
              sequenceName: 'click',
              sequenceLength: 2,
              features: [
                { feature: { case: 'idFeature', value: { featureName: 'item', hashBucketSize: 100 } } },
                { feature: { case: 'rawFeature', value: { featureName: 'ts' } } },
              ],
            },
          },
        },
      ],
    });
    expect(e.requiredColumns()).toEqual(['click__item', 'click__ts']);
    const b = e.featurize(csvBlock('click__item,click__ts\n1;2;3,0.5;1.5;9\n,\n'), new BadDataReport());
    expect(b.sparse.toJSON()).toEqual({ click__item: [[1, 2], []] });
    expect(Array.from(b.sequenceDense.click__ts.values)).toEqual([0.5, 1.5]);
    expect(Array.from(b.sequenceDense.click__ts.lengths)).toEqual([2, 0]);
  });
});

describe('RawFeature', () => {
  it('value_dim, separators, defaults and normalizers', () => {
    const { batch } = run('v,x,y,z\n1|2,100,5,3\n,0,,\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        raw({ featureName: 'v', expression: 'item:v', valueDim: 2, separator: '|', defaultValue: '7|8' }),
        raw({ featureName: 'x', expression: 'item:x', normalizer: 'method=log10,threshold=1e-10,default=-10' }),
        raw({ featureName: 'y', expression: 'item:y', normalizer: 'method=zscore,mean=1,standard_deviation=2' }),
        raw({ featureName: 'z', expression: 'item:z', normalizer: 'method=minmax,min=1,max=5' }),
      ],
    });
    expect(batch.denseKeys).toEqual(['v', 'x', 'y', 'z']);
    expect(batch.denseDims).toEqual([2, 1, 1, 1]);
    expect(Array.from(batch.dense)).toEqual([1, 2, 2, 2, 0.5, 7, 8, -10, -0.5, -0.25]);
  });

  it('boundaries bucketize (x == boundary goes up, as TensorFlow Bucketize)', () => {
    const { batch } = run('p\n-1\n0.1\n0.5\n9\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [raw({ featureName: 'p', expression: 'item:p', boundaries: [0.1, 0.5, 1] })],
    });
    expect(batch.sparse.toJSON()).toEqual({ p: [[0], [1], [2], [3]] });
  });

  it('bad numbers and value counts fail their row', () => {
    const opts: FeatureEngineOptions = {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        raw({ featureName: 'a', expression: 'user:a' }),
        raw({ featureName: 'v', expression: 'user:v', valueDim: 2, separator: '|' }),
      ],
    };
    expect(() => run('a,v\n1.5x,1|2\n', opts)).toThrow(
      't.csv:2:1: feature "a": expected a number in column "a" but found "1.5x"',
    );
    expect(() => run('a,v\n1,1|2|3\n', opts)).toThrow(
      't.csv:2:3: feature "v": expected 2 values (value_dim) in column "v" but found 3',
    );
    const s = run('a,v\n1,1|2\nx,1|2\n2,3|4\n', opts, 'skip');
    expect(s.batch.batchSize).toBe(2);
    expect(Array.from(s.batch.dense)).toEqual([1, 1, 2, 2, 3, 4]);
    expect(s.bad).toEqual({
      total: 1,
      counts: { bad_number: 1 },
      examples: ['t.csv:3:1: feature "a": expected a number in column "a" but found "x"'],
    });
  });

  it('log10 equals Math.log10 on the integer table path and off it (fractions, large, negative with a low threshold)', () => {
    const xs = [0, 1, 2, 3, 7, 10, 99, 1000, 12345, 65535, 65536, 65537, 1e9, 0.5, 2.25, 1e-12, -3, -0.5];
    const { batch } = run(`x\n${xs.join('\n')}\n`, {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        raw({ featureName: 'x', expression: 'item:x', normalizer: 'method=log10,threshold=-5,default=-10' }),
      ],
    });
    const expected = xs.map((x) => Math.fround(x > -5 ? Math.log10(x) : -10));
    expect(Array.from(batch.dense)).toEqual(expected);
  });

  it('normalizer config errors', () => {
    const mk = (normalizer: string) =>
      new FeatureEngine({
        fgMode: 'FG_NORMAL',
        featureConfigs: [raw({ featureName: 'a', expression: 'user:a', normalizer })],
      });
    expect(() => mk('method=sqrt')).toThrow(
      'feature "a": expected normalizer method log10, zscore, minmax or expression but received "sqrt"',
    );
    expect(() => mk('method=minmax,min=1')).toThrow('feature "a": normalizer "method=minmax,min=1" needs max=<number>');
    expect(() => mk('method=zscore,standard_deviation=0')).toThrow(
      'feature "a": zscore standard_deviation must not be 0',
    );
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_NORMAL',
          featureConfigs: [raw({ featureName: 'a', expression: 'user:a', boundaries: [1, 1] })],
        }),
    ).toThrow('feature "a": boundaries must be strictly increasing but boundaries[1] = 1 <= 1');
  });
});

describe('ComboFeature, LookupFeature, ExprFeature, sequences', () => {
  it('combo: cross product joined with _ then hashed', () => {
    const { batch } = run('age,cate\n3,7\u001d9\n,1\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        {
          feature: {
            case: 'comboFeature',
            value: { featureName: 'ac', expression: ['user:age', 'item:cate'], hashBucketSize: 1000 },
          },
        },
      ],
    });
    expect(batch.sparse.toJSON()).toEqual({ ac: [[h('3_7', 1000), h('3_9', 1000)], []] });
  });

  it('lookup: combined numbers, bucketized; discrete values as ids', () => {
    const kv = 'a:1\u001db:3';
    const { batch } = run(`m,k\n${kv},a\u001db\n${kv},zz\n`, {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        {
          feature: {
            case: 'lookupFeature',
            value: { featureName: 'sum', map: 'user:m', key: 'item:k', combiner: 'mean' },
          },
        },
        {
          feature: {
            case: 'lookupFeature',
            value: { featureName: 'bkt', map: 'user:m', key: 'item:k', boundaries: [2] },
          },
        },
        {
          feature: {
            case: 'lookupFeature',
            value: { featureName: 'ids', map: 'user:m', key: 'item:k', needDiscrete: true, numBuckets: 10 },
          },
        },
      ],
    });
    expect(Array.from(batch.dense)).toEqual([2, 0]);
    expect(batch.sparse.toJSON()).toEqual({ bkt: [[1], [0]], ids: [[1, 3], []] });
  });

  it('expr: a safe evaluator over variables', () => {
    const { batch } = run('u_age,i_age\n20,20\n30,18\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        {
          feature: {
            case: 'exprFeature',
            value: {
              featureName: 'same',
              variables: ['user:u_age', 'item:i_age'],
              expression: 'u_age == i_age ? 1 : 0',
            },
          },
        },
        {
          feature: {
            case: 'exprFeature',
            value: {
              featureName: 'diff',
              variables: ['user:u_age', 'item:i_age'],
              expression: 'abs(u_age - i_age) ^ 2 / 4',
              boundaries: [0.5],
            },
          },
        },
      ],
    });
    expect(Array.from(batch.dense)).toEqual([1, 0]);
    expect(batch.sparse.toJSON()).toEqual({ diff: [[0], [1]] });
  });

  it('sequence_id_feature and sequence_raw_feature: delimiter, truncation to sequence_length', () => {
    const { batch } = run('hist,w\na;b;c,1|2;3|4\n,\n', {
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        {
          feature: {
            case: 'sequenceIdFeature',
            value: { featureName: 'hist', expression: 'user:hist', hashBucketSize: 100, sequenceLength: 2 },
          },
        },
        {
          feature: {
            case: 'sequenceRawFeature',
            value: { featureName: 'w', expression: 'user:w', valueDim: 2, separator: '|' },
          },
        },
      ],
    });
    expect(batch.sparse.toJSON()).toEqual({ hist: [[h('a', 100), h('b', 100)], []] });
    expect(Array.from(batch.sequenceDense.w.values)).toEqual([1, 2, 3, 4]);
    expect(Array.from(batch.sequenceDense.w.lengths)).toEqual([2, 0]);
  });
});

describe('labels, sample weights, reserved columns and missing columns', () => {
  const opts: FeatureEngineOptions = {
    featureConfigs: [id({ featureName: 'u', hashBucketSize: 10 })],
    labelFields: ['y'],
    sampleWeightFields: ['w'],
    reservedColumns: ['rid'],
  };
  it('reads them', () => {
    const { batch } = run('u,y,w,rid\n1,1,0.5,r1\n2,0,2,r2\n', opts);
    expect(Array.from(batch.labels.y)).toEqual([1, 0]);
    expect(Array.from(batch.sampleWeights.w)).toEqual([0.5, 2]);
    expect(batch.reserved.rid).toEqual(['r1', 'r2']);
  });
  it('empty or bad labels are bad rows; a missing column is a clear error', () => {
    expect(() => run('u,y,w,rid\n1,,1,r\n', opts)).toThrow('t.csv:2:3: label "y" is empty');
    expect(() => run('u,y,w,rid\n1,yes,1,r\n', opts)).toThrow(
      't.csv:2:3: expected a number for label "y" but found "yes"',
    );
    expect(() => run('u,y,w\n1,1,1\n', opts)).toThrow(
      't.csv: missing column "rid" (needed by reserved columns); the input has no such column',
    );
  });
  it('decoded (Parquet) columns featurize the same as CSV bytes', () => {
    const e = new FeatureEngine({
      featureConfigs: [id({ featureName: 'u', hashBucketSize: 10 }), raw({ featureName: 'p', valueDim: 2 })],
      labelFields: ['y'],
    });
    const b = e.featurize(
      new ValueBlock(2, 'x.parquet', { u: [3, null], p: [[1, 2], '3\u00034'], y: [1, 0] }),
      new BadDataReport(),
    );
    expect(b.sparse.toJSON()).toEqual({ u: [[3], []] });
    expect(Array.from(b.dense)).toEqual([1, 2, 3, 4]);
  });
});

describe('TorchEasyRec column conventions, sequence options and FG_DAG inputs', () => {
  it('FG_NONE weighted ids read <name>__values and <name>__weights (equal counts, missing -> default)', () => {
    const opts: FeatureEngineOptions = {
      featureConfigs: [id({ featureName: 'tags', hashBucketSize: 10, weighted: true, fgEncodedDefaultValue: '0' })],
    };
    const e = new FeatureEngine(opts);
    expect(e.requiredColumns()).toEqual(['tags__values', 'tags__weights']);
    const { batch } = run('tags__values,tags__weights\n1\u00033,0.5\u00032\n,\n', opts);
    expect(batch.sparse.toJSON()).toEqual({ tags: [[1, 3], [0]] });
    expect(Array.from(batch.sparse.weights!)).toEqual([0.5, 2, 1]);
    expect(() => run('tags__values,tags__weights\n1\u00033,0.5\n', opts)).toThrow(
      't.csv:2:5: feature "tags": expected 2 weights in column "tags__weights" (one per id in "tags__values") but found 1',
    );
    const s = run('tags__values,tags__weights\n1,x\n2,4\n', opts, 'skip');
    expect(s.batch.sparse.toJSON()).toEqual({ tags: [[2]] });
    expect(s.bad.examples).toEqual([
      't.csv:2:3: feature "tags": expected a number in column "tags__weights" but found "x"',
    ]);
  });

  it('grouped sequence sub-features read <sequence_name>__<input_name> in the raw modes; elements keep one id (value_dim 1) and the first sequence_length', () => {
    const e = new FeatureEngine({
      fgMode: 'FG_NORMAL',
      featureConfigs: [
        {
          feature: {
            case: 'sequenceFeature',
            value: {
              sequenceName: 'click',
              sequenceLength: 2,
              sequenceDelim: ';',
              features: [
                {
                  feature: {
                    case: 'idFeature',
                    value: { featureName: 'item', expression: 'item:iid', hashBucketSize: 100, separator: '|' },
                  },
                },
              ],
            },
          },
        },
      ],
    });
    expect(e.requiredColumns()).toEqual(['click__iid']);
    const b = e.featurize(csvBlock('click__iid\na|x;b;c\n'), new BadDataReport());
    expect(b.sparse.toJSON()).toEqual({ click__item: [[h('a', 100), h('b', 100)]] });
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_NORMAL',
          featureConfigs: [
            {
              feature: {
                case: 'sequenceIdFeature',
                value: { featureName: 's', expression: 'user:s', hashBucketSize: 10, valueDim: 0 },
              },
            },
          ],
        }),
    ).toThrow(
      'feature "s": expected value_dim 1 for a sequence id feature but received 0 (multi-value sequence elements are not supported yet)',
    );
  });

  it('feature: inputs (FG_DAG chaining) are refused by name', () => {
    expect(
      () =>
        new FeatureEngine({
          fgMode: 'FG_DAG',
          featureConfigs: [id({ featureName: 'lk', expression: 'feature:age_bin', numBuckets: 10 })],
        }),
    ).toThrow(
      `feature "lk": expression "feature:age_bin" reads another feature's output (FG_DAG); tsrec does not support feature: inputs yet — use the raw column instead`,
    );
  });
});
