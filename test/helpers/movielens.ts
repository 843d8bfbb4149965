import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedPath } from './shared_data';

/** The RecBole atomic files of MovieLens-100K, relative to the shared folder (never copied into the repo). */
export const ML100K_FILE = 'data/ml-100k_recbole/ml-100k.inter';
/** Where they live. */
export const ML100K_DIR = path.dirname(sharedPath(ML100K_FILE));

/** Row counts of the three splits and the positive rate of each. */
export interface MovieLensSplits {
  train: string;
  valid: string;
  test: string;
  rows: { train: number; valid: number; test: number };
  positiveRate: { train: number; valid: number; test: number };
  /** min/max of the timestamp (the raw feature is min-max normalized with them, as RecBole's normalize_all). */
  timestamp: { min: number; max: number };
}

/** The CSV columns written (header line first). */
export const ML_COLUMNS = [
  'label',
  'user_id',
  'item_id',
  'age',
  'gender',
  'occupation',
  'release_year',
  'genres',
  'timestamp',
];

/** mulberry32: a small seeded generator (the split must not depend on Math.random). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readAtomic(file: string): { header: string[]; rows: string[][] } {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  // RecBole headers read `name:type`.
  const header = lines[0].split('\t').map((h) => h.split(':')[0]);
  return { header, rows: lines.slice(1).map((l) => l.split('\t')) };
}

/**
 * RecBole's context-aware protocol on ml-100k (ACCURACY.md 1b): label = rating >= 4, every
 * interaction kept, a global random 80/10/10 split (seeded Fisher-Yates), joined with the user
 * features (age, gender, occupation) and item features (release_year, genre tokens joined by
 * `|`). Writes train.csv, valid.csv and test.csv into `dir`.
 */
export function writeMovieLensSplits(dir: string, seed = 2020, dataDir = ML100K_DIR): MovieLensSplits {
  const inter = readAtomic(path.join(dataDir, 'ml-100k.inter'));
  const user = readAtomic(path.join(dataDir, 'ml-100k.user'));
  const item = readAtomic(path.join(dataDir, 'ml-100k.item'));
  const col = (t: { header: string[] }, name: string) => {
    const i = t.header.indexOf(name);
    if (i < 0) throw new Error(`Expected a column '${name}' in the ml-100k files but received ${t.header.join(', ')}`);
    return i;
  };
  const users = new Map<string, string[]>();
  for (const r of user.rows)
    users.set(r[col(user, 'user_id')], [r[col(user, 'age')], r[col(user, 'gender')], r[col(user, 'occupation')]]);
  const items = new Map<string, string[]>();
  for (const r of item.rows) {
    const genres = (r[col(item, 'class')] ?? '').split(' ').filter(Boolean).join('|');
    items.set(r[col(item, 'item_id')], [r[col(item, 'release_year')] ?? '', genres]);
  }
  const [iu, ii, ir, it] = ['user_id', 'item_id', 'rating', 'timestamp'].map((n) => col(inter, n));
  let tsMin = Infinity;
  let tsMax = -Infinity;
  for (const r of inter.rows) {
    const t = Number(r[it]);
    tsMin = Math.min(tsMin, t);
    tsMax = Math.max(tsMax, t);
  }
  const lines = inter.rows.map((r) => {
    const u = users.get(r[iu]);
    const m = items.get(r[ii]);
    if (!u || !m) throw new Error(`Expected user ${r[iu]} and item ${r[ii]} in the ml-100k user and item files`);
    const label = Number(r[ir]) >= 4 ? 1 : 0;
    return [String(label), r[iu], r[ii], ...u, ...m, r[it]].join(',');
  });
  const rand = mulberry32(seed);
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const n = lines.length;
  const nTrain = Math.round(n * 0.8);
  const nValid = Math.round(n * 0.1);
  const parts = {
    train: lines.slice(0, nTrain),
    valid: lines.slice(nTrain, nTrain + nValid),
    test: lines.slice(nTrain + nValid),
  };
  fs.mkdirSync(dir, { recursive: true });
  const out = {} as Record<'train' | 'valid' | 'test', string>;
  const pos = {} as Record<'train' | 'valid' | 'test', number>;
  for (const k of ['train', 'valid', 'test'] as const) {
    out[k] = path.join(dir, `${k}.csv`);
    fs.writeFileSync(out[k], `${[ML_COLUMNS.join(','), ...parts[k]].join('\n')}\n`);
    pos[k] = parts[k].filter((l) => l.startsWith('1,')).length / parts[k].length;
  }
  return {
    ...out,
    rows: { train: parts.train.length, valid: parts.valid.length, test: parts.test.length },
    positiveRate: pos,
    timestamp: { min: tsMin, max: tsMax },
  };
}

/** Settings of the MovieLens DeepFM config the e2e test trains. */
export interface MovieLensModelOptions {
  embeddingDim?: number;
  epochs?: number;
  batchSize?: number;
  sparseLr?: number;
  denseLr?: number;
  hiddenUnits?: number[];
  /** Feed the min-max normalized timestamp to the deep tower (RecBole loads it as a float field). */
  useTimestamp?: boolean;
  numWorkers?: number;
}

/** A DeepFM pipeline config for the splits of `writeMovieLensSplits`. */
export function movieLensConfigText(s: MovieLensSplits, modelDir: string, o: MovieLensModelOptions = {}): string {
  const dim = o.embeddingDim ?? 16;
  const ids: [string, string][] = [
    ['user_id', 'num_buckets: 944'],
    ['item_id', 'num_buckets: 1683'],
    ['age', 'num_buckets: 100'],
    ['gender', 'vocab_list: ["M", "F"]'],
    ['occupation', 'hash_bucket_size: 64'],
    ['release_year', 'hash_bucket_size: 200'],
    ['genres', 'hash_bucket_size: 64 separator: "|" pooling: "mean"'],
  ];
  const useTs = o.useTimestamp ?? true;
  const feats = ids.map(
    ([n, bucketing]) =>
      `feature_configs { id_feature { feature_name: "${n}" expression: "item:${n}" ${bucketing} embedding_dim: ${dim} } }`,
  );
  if (useTs)
    feats.push(
      `feature_configs { raw_feature { feature_name: "timestamp" expression: "item:timestamp" normalizer: "method=minmax,min=${s.timestamp.min},max=${s.timestamp.max}" } }`,
    );
  const names = ids.map(([n]) => `feature_names: "${n}"`).join(' ');
  return `
train_input_path: "${s.train}"
eval_input_path: "${s.valid}"
model_dir: "${modelDir}"
train_config {
  sparse_optimizer { rowwise_adagrad_optimizer { lr: ${o.sparseLr ?? 0.05} } constant_learning_rate {} }
  dense_optimizer { adam_optimizer { lr: ${o.denseLr ?? 0.001} } constant_learning_rate {} }
  num_epochs: ${o.epochs ?? 3}
  save_checkpoints_steps: ${Math.ceil(s.rows.train / (o.batchSize ?? 1024))}
  log_step_count_steps: 50
  keep_checkpoint_max: 0
}
eval_config {}
data_config {
  batch_size: ${o.batchSize ?? 1024}
  dataset_type: CsvDataset
  delimiter: ","
  with_header: true
  fg_mode: FG_NORMAL
  label_fields: "label"
  num_workers: ${o.numWorkers ?? 1}
  shuffle: true
  shuffle_buffer_size: 100000
}
${feats.join('\n')}
model_config {
  feature_groups { group_name: "wide" ${names} group_type: WIDE }
  feature_groups { group_name: "fm" ${names} group_type: DEEP }
  feature_groups { group_name: "deep" ${names}${useTs ? ' feature_names: "timestamp"' : ''} group_type: DEEP }
  deepfm { deep { hidden_units: [${(o.hiddenUnits ?? [128, 64]).join(', ')}] } wide_embedding_dim: 4 }
  metrics { auc {} }
  losses { binary_cross_entropy {} }
}
`;
}
