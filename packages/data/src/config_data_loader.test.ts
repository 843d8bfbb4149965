import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type EasyRecConfig, editConfig, loadPipelineConfig } from '@tsrec/config';
import { hashStringsToBuckets } from '@tsrec/native';
import type { BadDataSummary } from './bad_data';
import type { Batch } from './batch';
import { fromPipelineConfig } from './config_adapter';
import {
  type ConfigDataLoaderOptions,
  createDataLoaderFromConfig,
  dataLoaderOptionsFromConfig,
} from './config_data_loader';
import { FeatureEngine } from './feature_engine';
import { Rng } from './random';

const EXAMPLES = path.resolve(__dirname, '../../../examples');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-config-loader-'));
const h = (s: string, n: number) => hashStringsToBuckets([s], n)[0];
const example = (name: string) => loadPipelineConfig(path.join(EXAMPLES, name));

async function collect(config: EasyRecConfig, o: ConfigDataLoaderOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of createDataLoaderFromConfig(config, { baseDir: dir, ...o })) out.push(b);
  return out;
}

function write(rel: string, text: string): string {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

// Criteo-like headerless TSV as the *_criteo examples read it (FG_NONE: ids already below hash_bucket_size).
function criteoRows(config: EasyRecConfig, n: number, seed: number): string[][] {
  const buckets = config.featureConfigs
    .filter((f) => f.feature.case === 'idFeature')
    .map((f) => Number((f.feature.value as { hashBucketSize: bigint }).hashBucketSize));
  const rng = new Rng(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const dense = Array.from({ length: 13 }, (_, d) =>
      d === 3 && i % 7 === 0 ? '' : String(Math.round(rng.next() * 1000) / 100),
    );
    rows.push([String(i % 3 === 0 ? 1 : 0), ...dense, ...buckets.map((b) => String(rng.int(b)))]);
  }
  return rows;
}

describe('fromPipelineConfig: every example config', () => {
  const names = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.config'));
  it.each(names)('%s builds a feature engine with every configured feature', (name) => {
    const config = example(name);
    const opts = fromPipelineConfig(config);
    const engine = new FeatureEngine(opts);
    let expected = 0;
    for (const fc of config.featureConfigs)
      expected += fc.feature.case === 'sequenceFeature' ? fc.feature.value.features.length : 1;
    expect(engine.features).toHaveLength(expected);
    expect(opts.labelFields).toEqual(config.dataConfig!.labelFields);
    // plain data: what the worker threads receive
    expect(JSON.parse(JSON.stringify(opts, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)))).toBeTruthy();
  });

  it('applies TorchEasyRec defaults to unset fields (separator, default_value, pooling, value_dim, fg_encoded_multival_sep)', () => {
    const config = loadPipelineConfig(
      'data_config { label_fields: "y" }\n' +
        'feature_configs { id_feature { feature_name: "tags" hash_bucket_size: 100 embedding_dim: 4 } }\n' +
        'feature_configs { raw_feature { feature_name: "p" } }\n' +
        'feature_configs { sequence_id_feature { feature_name: "hist" hash_bucket_size: 10 embedding_dim: 4 } }',
    );
    const o = fromPipelineConfig(config);
    expect(o.fgMode).toBe('FG_NONE');
    expect(o.fgEncodedMultivalSep).toBe('\u0003');
    const [tags, p, hist] = o.featureConfigs.map(
      (f) => (f as { feature: { value: Record<string, unknown> } }).feature.value,
    );
    expect(tags).toEqual({
      featureName: 'tags',
      embeddingDim: 4,
      hashBucketSize: 100n,
      pooling: 'sum',
      defaultValue: '',
      separator: '\u001d',
      weighted: false,
    });
    expect(p).toEqual({ featureName: 'p', valueDim: 1, pooling: 'sum', defaultValue: '0', separator: '\u001d' });
    expect(hist).toMatchObject({ sequenceDelim: ';', separator: '\u001d' });
    expect(hist.sequenceLength).toBeUndefined();
    // FG_NONE: multi-values split by \x03, missing raw values are 0
    const e = new FeatureEngine(o);
    const b = e.featurize(
      require('./testing/csv_block').csvBlock('tags,p,hist,y\n1\u00033,,4;5,1\n'),
      new (require('./bad_data').BadDataReport)(),
    );
    expect(b.sparse.toJSON()).toEqual({ tags: [[1, 3]], hist: [[4, 5]] });
    expect(Array.from(b.dense)).toEqual([0]);
  });

  it('the deprecated fg_encoded picks the mode when fg_mode is unset; FG_BUCKETIZE and unsupported features are named', () => {
    expect(fromPipelineConfig(loadPipelineConfig('data_config { fg_encoded: false }')).fgMode).toBe('FG_DAG');
    expect(fromPipelineConfig(loadPipelineConfig('data_config { fg_encoded: false fg_threads: 0 }')).fgMode).toBe(
      'FG_NORMAL',
    );
    // TorchEasyRec's _get_compatible_fg_mode: a set fg_encoded wins over fg_mode
    expect(fromPipelineConfig(loadPipelineConfig('data_config { fg_encoded: false fg_mode: FG_NONE }')).fgMode).toBe(
      'FG_DAG',
    );
    expect(fromPipelineConfig(loadPipelineConfig('data_config { fg_encoded: true fg_mode: FG_NORMAL }')).fgMode).toBe(
      'FG_NONE',
    );
    expect(() => fromPipelineConfig(loadPipelineConfig('data_config { fg_mode: FG_BUCKETIZE }'))).toThrow(
      'Expected FG_NONE, FG_NORMAL or FG_DAG for data_config.fg_mode but received FG_BUCKETIZE (not supported yet)',
    );
    expect(() =>
      fromPipelineConfig(
        loadPipelineConfig(
          'feature_configs { match_feature { feature_name: "m" nested_map: "user:a" pkey: "item:b" skey: "item:c" } }',
        ),
      ),
    ).toThrow('feature "m": match_feature is not supported yet');
    expect(() =>
      fromPipelineConfig(
        loadPipelineConfig(
          'feature_configs { id_feature { feature_name: "z" hash_bucket_size: 10 zch { zch_size: 100 } } }',
        ),
      ),
    ).toThrow('feature "z": zch (zero-collision hashing) is not supported yet (id_feature)');
  });

  it('the FeatureEngine takes @tsrec/config FeatureConfig messages as they are', () => {
    const config = example('deepfm_criteo.config');
    const a = new FeatureEngine({ featureConfigs: config.featureConfigs, fgMode: config.dataConfig!.fgMode });
    expect(a.tables()).toEqual(new FeatureEngine(fromPipelineConfig(config)).tables());
    expect(a.tables()[0]).toEqual({ name: 'C1_emb', rows: 1460, dim: 16, features: ['C1'] });
  });
});

describe('createDataLoaderFromConfig', () => {
  // The DeepFM example read FG_NONE: ids below hash_bucket_size and dense values used as written.
  const deepfm = example('deepfm_criteo.config');
  editConfig(deepfm, {
    'data_config.batch_size': 256,
    'data_config.eval_batch_size': 100,
    'data_config.fg_mode': 'FG_NONE',
  });
  const train = criteoRows(deepfm, 1000, 1);
  const evalRows = criteoRows(deepfm, 250, 2);
  const header = [
    'label',
    ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`),
    ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`),
  ];
  const tsv = (rows: string[][]) => `${[header, ...rows].map((r) => r.join('\t')).join('\n')}\n`;
  write('data/criteo/train.tsv', tsv(train));
  write('data/criteo/eval.tsv', tsv(evalRows));

  it('reads the options from data_config and the paths relative to baseDir', () => {
    const t = dataLoaderOptionsFromConfig(deepfm, { mode: 'train', baseDir: dir });
    expect(t).toMatchObject({
      inputPath: [path.join(dir, 'data/criteo/train.tsv')],
      datasetType: 'CsvDataset',
      batchSize: 256,
      delimiter: '\t',
      shuffle: true,
      shuffleBufferSize: 65536,
      numWorkers: 2,
      numEpochs: 1,
      dropRemainder: false,
      badDataPolicy: 'fail',
    });
    expect(t.inputFields).toBeUndefined();
    expect(t.withHeader).toBe(true);
    const e = dataLoaderOptionsFromConfig(deepfm, { mode: 'eval', baseDir: dir, rank: 1, worldSize: 2 });
    expect(e).toMatchObject({
      inputPath: [path.join(dir, 'data/criteo/eval.tsv')],
      batchSize: 100,
      shuffle: false,
      rank: 1,
      worldSize: 2,
    });
    const p = dataLoaderOptionsFromConfig(deepfm, {
      mode: 'predict',
      inputPath: 'x.tsv,y.tsv',
      baseDir: '/d',
      reservedColumns: ['label'],
    });
    expect(p.inputPath).toEqual(['/d/x.tsv', '/d/y.tsv']);
    expect(p.features.labelFields).toEqual([]);
    expect(p.features.reservedColumns).toEqual(['label']);
  });

  it('train: shuffled batches of batch_size over every row (Criteo TSV, FG_NONE)', async () => {
    const batches = await collect(deepfm, { mode: 'train', numWorkers: 0, seed: 3 });
    expect(batches.map((b) => b.batchSize)).toEqual([256, 256, 256, 232]);
    const b = batches[0];
    expect(b.denseKeys).toEqual(header.slice(1, 14));
    expect(b.sparse.keys).toEqual(header.slice(14));
    const seen = batches
      .flatMap((x) => Array.from({ length: x.batchSize }, (_, r) => x.sparse.bag('C26', r)[0]))
      .sort((p, q) => p - q);
    expect(seen).toEqual(train.map((r) => Number(r[39])).sort((p, q) => p - q));
    const firstIds = Array.from({ length: 5 }, (_, r) => b.sparse.bag('C26', r)[0]);
    expect(firstIds).not.toEqual(train.slice(0, 5).map((r) => Number(r[39])));
  });

  it('eval: file order, eval_batch_size, values as written (missing dense -> default 0); workers give the same batches', async () => {
    const inline = await collect(deepfm, { mode: 'eval', numWorkers: 0 });
    expect(inline.map((b) => b.batchSize)).toEqual([100, 100, 50]);
    const b = inline[0];
    expect(Array.from(b.labels.label.subarray(0, 4))).toEqual([1, 0, 0, 1]);
    expect(b.dense[3]).toBe(0); // row 0: I4 empty
    expect(b.dense[13 + 1]).toBeCloseTo(Number(evalRows[1][2]), 5);
    for (let c = 0; c < 26; c++) expect(b.sparse.bag(`C${c + 1}`, 7)[0]).toBe(Number(evalRows[7][14 + c]));
    const pooled = await collect(deepfm, { mode: 'eval' }); // num_workers: 2 from the config
    expect(pooled.map((x) => x.sparse.toJSON())).toEqual(inline.map((x) => x.sparse.toJSON()));
  });

  it('rank / world_size split the eval rows', async () => {
    const parts = await Promise.all(
      [0, 1].map((rank) => collect(deepfm, { mode: 'eval', rank, worldSize: 2, numWorkers: 0 })),
    );
    const ids = parts.map((bs) =>
      bs.flatMap((x) => Array.from({ length: x.batchSize }, (_, r) => x.sparse.bag('C26', r)[0])),
    );
    expect(ids[0]).toEqual(evalRows.filter((_, i) => i % 2 === 0).map((r) => Number(r[39])));
    expect(ids[1]).toEqual(evalRows.filter((_, i) => i % 2 === 1).map((r) => Number(r[39])));
  });

  it('Taobao-like Parquet (mmoe example, FG_NORMAL): two labels, hashed, numbered and bucketized features', async () => {
    const config = example('mmoe_taobao.config');
    editConfig(config, { 'data_config.batch_size': 64 });
    const n = 150;
    const rng = new Rng(5);
    const cols: Record<string, unknown[]> = {
      user_id: [],
      age_level: [],
      gender: [],
      city: [],
      item_id: [],
      cate_id: [],
      brand: [],
      pid: [],
      price: [],
      clk: [],
      buy: [],
    };
    for (let i = 0; i < n; i++) {
      cols.user_id.push(`u${rng.int(50)}`);
      cols.age_level.push(BigInt(rng.int(7)));
      cols.gender.push(BigInt(1 + rng.int(2)));
      cols.city.push(`c${rng.int(30)}`);
      cols.item_id.push(BigInt(1000 + rng.int(500)));
      cols.cate_id.push(BigInt(rng.int(100)));
      cols.brand.push(`b${rng.int(90)}`);
      cols.pid.push(BigInt(rng.int(20)));
      cols.price.push(rng.next() * 300);
      cols.clk.push(BigInt(i % 2));
      cols.buy.push(BigInt(i % 5 === 0 ? 1 : 0));
    }
    const types: Record<string, string> = {
      age_level: 'INT64',
      gender: 'INT64',
      item_id: 'INT64',
      cate_id: 'INT64',
      pid: 'INT64',
      price: 'DOUBLE',
      clk: 'INT64',
      buy: 'INT64',
    };
    const { parquetWriteFile } = require('hyparquet-writer');
    fs.mkdirSync(path.join(dir, 'data/taobao/train'), { recursive: true });
    parquetWriteFile({
      filename: path.join(dir, 'data/taobao/train/part-0.parquet'),
      columnData: Object.entries(cols).map(([name, data]) => ({ name, data, type: types[name] ?? 'STRING' })),
      rowGroupSize: 40,
    });
    const batches = await collect(config, { mode: 'train', numWorkers: 0 });
    expect(batches.map((b) => b.batchSize)).toEqual([64, 64, 22, 64, 64, 22]); // train_config.num_epochs: 2
    const b = batches[0];
    expect(Object.keys(b.labels)).toEqual(['clk', 'buy']);
    expect(Array.from(b.labels.clk.subarray(0, 4))).toEqual([0, 1, 0, 1]);
    expect(b.sparse.bag('user_id', 2)[0]).toBe(h(String(cols.user_id[2]), 1000000));
    expect(b.sparse.bag('item_id', 2)[0]).toBe(h(String(cols.item_id[2]), 2000000));
    expect(b.sparse.bag('pid', 3)[0]).toBe(Number(cols.pid[3]));
    const price = cols.price[0] as number;
    const bounds = [1, 5, 10, 20, 50, 100, 200, 500, 1000];
    expect(b.sparse.bag('price', 0)[0]).toBe(bounds.filter((x) => price >= x).length);
  });

  it('feature showcase (CSV with header, FG_NORMAL, every feature type, sample weights, malformed_row_policy skip)', async () => {
    // The example's features plus two sequence features, which the data layer reads (the models
    // take sequence groups with the sequence-model work, so the example itself has none).
    const config = loadPipelineConfig(
      `${fs.readFileSync(path.join(EXAMPLES, 'feature_showcase.config'), 'utf8')}
feature_configs {
  sequence_id_feature {
    feature_name: "recent_cates" expression: "user:recent_cates" hash_bucket_size: 20000 embedding_dim: 8
    sequence_length: 20 sequence_delim: ";"
  }
}
feature_configs {
  sequence_feature {
    sequence_name: "clicks" sequence_length: 50 sequence_delim: ";"
    features { id_feature { feature_name: "item_id" expression: "item:item_id" hash_bucket_size: 500000 embedding_dim: 16 } }
    features { raw_feature { feature_name: "dwell" expression: "item:dwell" boundaries: [1, 5, 30, 120] embedding_dim: 16 } }
  }
}`,
      { fileName: 'feature_showcase.config' },
    );
    const header =
      'label,weight,user_id,hour,os,country,tags,interests,item_id,price,age,ctr_stats,cate_click_count,cate_id,units,recent_cates,clicks__item_id,clicks__dwell';
    const rows = [
      '1,0.5,u1,13,ios,us,a|b,x:0.5|y:2,i9,12.5,33,0.05\u001d0.07\u001d0.03\u001d0.05,c1:4\u001dc2:40,c2,4,3;2;1,i1;i2,3;200',
      '0,1,u2,99,web,fr,,,i8,1,17,,,c3,0,,,', // hour 99 is outside num_buckets 24: skipped
      '0,2,u3,0,tv,cn,c,z:1,i7,100,70,0.05\u001d0.05\u001d0.05\u001d0.05,,c1,1,9,i3,1',
    ];
    write('data/showcase/eval.csv', `${[header, ...rows].join('\n')}\n`);
    let bad: BadDataSummary | null = null;
    const batches = await collect(config, { mode: 'eval', numWorkers: 0, onEpochEnd: (_e, s) => (bad = s) });
    expect(batches).toHaveLength(1);
    const b = batches[0];
    expect(b.batchSize).toBe(2);
    expect(bad!.counts).toEqual({ id_out_of_range: 1 });
    expect(bad!.examples[0]).toMatch(
      /eval\.csv:3:\d+: feature "hour": id 99 in column "hour" is outside \[0, 24\) \(num_buckets\)/,
    );
    expect(Object.fromEntries(Object.entries(b.sampleWeights).map(([k, v]) => [k, Array.from(v)]))).toEqual({
      weight: [0.5, 2],
    });
    const j = b.sparse.toJSON();
    expect(j.os).toEqual([[3], [1]]); // vocab_list: ios -> 2 + 1; unknown -> OOV row 1
    expect(j.country).toEqual([[3], [2]]);
    expect(j.tags).toEqual([[h('a', 50000), h('b', 50000)], [h('c', 50000)]]);
    expect(Array.from(b.sparse.bagWeights('interests', 0))).toEqual([0.5, 2]);
    expect(j.age).toEqual([[3], [7]]);
    expect(j.cate_click_count).toEqual([[5], [1]]); // c2 -> 40 -> bucket 5 of [0, 1, 3, 10, 30, 100]; no map -> default_value 0 -> bucket 1
    expect(j.recent_cates).toEqual([[h('3', 20000), h('2', 20000), h('1', 20000)], [h('9', 20000)]]);
    expect(j.clicks__item_id).toEqual([[h('i1', 500000), h('i2', 500000)], [h('i3', 500000)]]);
    expect(j.clicks__dwell).toEqual([[1, 4], [1]]);
    expect(b.denseKeys).toEqual(['price', 'ctr_stats', 'price_per_unit']);
  });

  it('config errors name the field', () => {
    const bad =
      (text: string, mode: 'train' | 'eval' = 'train') =>
      () =>
        dataLoaderOptionsFromConfig(loadPipelineConfig(text), { mode });
    expect(bad('data_config { dataset_type: OdpsDataset }\ntrain_input_path: "t"')).toThrow(
      'Expected CsvDataset or ParquetDataset for data_config.dataset_type but received OdpsDataset (not supported yet)',
    );
    expect(bad('data_config { malformed_row_policy: "ignore" }\ntrain_input_path: "t"')).toThrow(
      'Expected "fail" or "skip" for data_config.malformed_row_policy but received "ignore"',
    );
    expect(bad('data_config { }', 'eval')).toThrow(
      'Expected an input path in eval_input_path (or the inputPath option) for eval but received none',
    );
    expect(bad('train_input_path: "t"')).toThrow('Expected a data_config in the pipeline config but received none');
  });
});

describe('Parquet decoded in the workers (parquetDecodeInWorkers)', () => {
  it('gives the same batches as decoding in the main thread', async () => {
    const { writeCriteoParquet, criteoFeatureConfigs } = require('./synthetic/criteo_synthetic');
    const file = path.join(dir, 'pq_workers.parquet');
    writeCriteoParquet(file, { rows: 700, seed: 4, cardinalityScale: 0.01 });
    const features = {
      featureConfigs: criteoFeatureConfigs({ hashBucketSize: 1000 }),
      fgMode: 'FG_NORMAL' as const,
      labelFields: ['label'],
    };
    const run = async (parquetDecodeInWorkers: boolean) => {
      const out: Batch[] = [];
      for await (const b of new (require('./data_loader').DataLoader)({
        inputPath: file,
        batchSize: 128,
        features,
        numWorkers: 2,
        parquetDecodeInWorkers,
        shuffle: true,
        seed: 2,
      }))
        out.push(b);
      return out.map((b) => ({ s: b.sparse.toJSON(), d: Array.from(b.dense), l: Array.from(b.labels.label) }));
    };
    expect(await run(true)).toEqual(await run(false));
  }, 60_000); // worker start-up and Parquet decoding take seconds on a busy 2-core machine
});
