import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertValid,
  editConfig,
  formatProblem,
  InvalidConfigError,
  loadPipelineConfig,
  parsePipelineConfig,
  validate,
  type EditValue,
} from './index';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples');

const BASE = `
train_input_path: "train.csv"
model_dir: "exp"
train_config {
  sparse_optimizer { adagrad_optimizer { lr: 0.01 } }
  dense_optimizer { adam_optimizer { lr: 0.001 } }
  num_steps: 100
}
data_config {
  batch_size: 256
  dataset_type: CsvDataset
  with_header: true
  label_fields: ["clk", "buy"]
}
feature_configs { id_feature { feature_name: "user" hash_bucket_size: 1000 embedding_dim: 8 } }
feature_configs { id_feature { feature_name: "item" num_buckets: 500 embedding_dim: 8 } }
feature_configs { raw_feature { feature_name: "price" } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["user", "item"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["user", "item", "price"] group_type: DEEP }
  feature_groups { group_name: "fm" feature_names: ["user", "item"] }
  deepfm { deep { hidden_units: [16, 8] } }
  metrics { auc {} }
  losses { binary_cross_entropy {} }
}
`;

function problemsAfter(edits: Record<string, EditValue>, text = BASE): string[] {
  const cfg = parsePipelineConfig(text, { fileName: 'p.config' });
  editConfig(cfg, edits);
  return validate(cfg).map(formatProblem);
}

test('the base config is valid', () => {
  expect(problemsAfter({})).toEqual([]);
});

// Each invalid config (an edit of BASE) with the exact problem it must produce. Problems on
// fields that came from the source carry its location; edited-in fields have none.
const INVALID: [string, Record<string, EditValue>, string][] = [
  [
    'group names an undefined feature',
    { 'model_config.feature_groups[1].feature_names[2]': 'prise' },
    "model_config.feature_groups[1].feature_names[2]: feature 'prise' in group 'deep' is not defined in feature_configs — did you mean 'price'? (p.config:20:71)",
  ],
  [
    'duplicate feature names',
    { 'feature_configs[1].id_feature.feature_name': 'user' },
    "feature_configs[1].id_feature.feature_name: duplicate feature name 'user' (also defined at feature_configs[0].id_feature) (p.config:16:32)",
  ],
  [
    'both num_steps and num_epochs',
    { 'train_config.num_epochs': 2 },
    'train_config.num_epochs: expected exactly one of num_steps and num_epochs but both are set (p.config:4:1)',
  ],
  [
    'zero embedding_dim',
    { 'feature_configs[0].id_feature.embedding_dim': 0 },
    "feature_configs[0].id_feature.embedding_dim: expected embedding_dim > 0 for feature 'user' but received 0 (p.config:15:76)",
  ],
  [
    'id feature without bucketizer',
    { 'feature_configs[1].id_feature': '{ feature_name: "item" embedding_dim: 8 }' },
    "feature_configs[1].id_feature: id feature 'item' has no bucketizer: set one of hash_bucket_size, num_buckets, vocab_list, vocab_dict or vocab_file (p.config:16:19)",
  ],
  [
    'two bucketizers',
    { 'feature_configs[0].id_feature.num_buckets': 10 },
    "feature_configs[0].id_feature.num_buckets: feature 'user' sets both hash_bucket_size and num_buckets; expected exactly one bucketizer (p.config:15:19)",
  ],
  [
    'unsorted boundaries',
    { 'feature_configs[2].raw_feature.boundaries': '[1, 5, 3]', 'feature_configs[2].raw_feature.embedding_dim': 4 },
    'feature_configs[2].raw_feature.boundaries[2]: boundaries must be strictly ascending, but boundaries[2] = 3 follows boundaries[1] = 5 (p.config:17:19)',
  ],
  [
    'sequence feature in a DEEP group',
    {
      'feature_configs[2]': '{ sequence_id_feature { feature_name: "price" hash_bucket_size: 10 embedding_dim: 8 } }',
      'model_config.feature_groups[0].feature_names': '["user"]',
    },
    "model_config.feature_groups[1].feature_names[2]: sequence feature 'price' in DEEP group 'deep' (sequence models: sequence_groups with encoders, SEQUENCE groups) is not supported yet by tsrec; remove it from the group (p.config:20:71)",
  ],
  [
    'DeepFM without its wide group',
    { 'model_config.feature_groups[0].group_name': 'linear' },
    "model_config.feature_groups: model 'deepfm' needs a WIDE feature group named 'wide' but the config has only 'linear', 'deep', 'fm' (p.config:18:1)",
  ],
  [
    'softmax loss with num_class 1',
    { 'model_config.losses[0]': '{ softmax_cross_entropy {} }' },
    'model_config.losses[0].softmax_cross_entropy: softmax_cross_entropy needs num_class > 1 but num_class is 1; use binary_cross_entropy for binary labels (p.config:24:3)',
  ],
  [
    'binary loss with num_class 3',
    { 'model_config.num_class': 3, 'model_config.metrics': '[]' },
    'model_config.losses[0].binary_cross_entropy: binary_cross_entropy needs num_class = 1 but num_class is 3; use softmax_cross_entropy for multi-class labels (p.config:24:12)',
  ],
  [
    'no label fields',
    { 'data_config.label_fields': '[]' },
    'data_config.label_fields: expected at least one label field (label_fields: "label") but received none (p.config:9:1)',
  ],
  [
    'dense feature in a WIDE group',
    { 'model_config.feature_groups[0].feature_names[1]': 'price' },
    "model_config.feature_groups[0].feature_names[1]: dense feature 'price' cannot be in WIDE group 'wide'; WIDE groups need id features (give a raw feature boundaries to bucketize it) (p.config:19:63)",
  ],
  ['unsupported model', { 'model_config.deepfm': null as unknown as EditValue }, ''],
  [
    'no optimizer',
    { 'train_config.dense_optimizer': '{}' },
    'train_config.dense_optimizer: expected an optimizer (one of sgd_optimizer, adagrad_optimizer, adam_optimizer, adamw_optimizer) in dense_optimizer but received none (p.config:6:3)',
  ],
  [
    'zero learning rate',
    { 'train_config.sparse_optimizer.adagrad_optimizer.lr': 0 },
    'train_config.sparse_optimizer.adagrad_optimizer.lr: expected lr > 0 but received 0 (p.config:5:42)',
  ],
  [
    'manual steps not ascending',
    {
      'train_config.dense_optimizer.manual_step_learning_rate':
        '{ schedule_sizes: [10, 5] learning_rates: [0.1, 0.01] }',
    },
    'train_config.dense_optimizer.manual_step_learning_rate.schedule_sizes[1]: schedule_sizes must be strictly ascending, but schedule_sizes[1] = 5 follows 10 (p.config:6:3)',
  ],
  [
    'shared table with different dims',
    {
      'feature_configs[1].id_feature.embedding_name': 'shared',
      'feature_configs[0].id_feature.embedding_name': 'shared',
      'feature_configs[0].id_feature.embedding_dim': 4,
    },
    "feature_configs[1].id_feature.embedding_dim: feature 'item' shares embedding 'shared' with 'user' but has embedding_dim 8, not 4 (p.config:16:70)",
  ],
  [
    'shared table with different bucket counts',
    {
      'feature_configs[1].id_feature.embedding_name': 'shared',
      'feature_configs[0].id_feature.embedding_name': 'shared',
    },
    "feature_configs[1].id_feature: feature 'item' needs 500 rows but shares embedding 'shared' (1000 rows) with 'user'; shared features need the same bucket count (p.config:16:19)",
  ],
  [
    'headerless CSV without input_fields',
    { 'data_config.with_header': false },
    'data_config.input_fields: a CSV without a header needs input_fields naming its columns in order (or set with_header: true) (p.config:9:1)',
  ],
  [
    'bad pooling',
    { 'feature_configs[0].id_feature.pooling': 'max' },
    "feature_configs[0].id_feature.pooling: expected sum or mean for pooling of feature 'user' but received 'max' (p.config:15:19)",
  ],
  [
    'bad normalizer',
    { 'feature_configs[2].raw_feature.normalizer': 'method=log2' },
    "feature_configs[2].raw_feature.normalizer: expected method=log10, method=zscore, method=minmax or method=expression for normalizer of feature 'price' but received 'method=log2' (p.config:17:19)",
  ],
  [
    'expression normalizer without expr',
    { 'feature_configs[2].raw_feature.normalizer': 'method=expression' },
    "feature_configs[2].raw_feature.normalizer: expected expr=<expression of x> with method=expression for normalizer of feature 'price' but received 'method=expression' (p.config:17:19)",
  ],
  [
    'grouped_auc on an unknown key',
    { 'model_config.metrics[0]': '{ grouped_auc { grouping_key: "usr" } }' },
    "model_config.metrics[0].grouped_auc.grouping_key: grouping_key 'usr' is not a feature — did you mean 'user'? (p.config:23:3)",
  ],
  [
    'a batch too large for memory and int32 offsets',
    { 'data_config.batch_size': 1000000000 },
    "data_config.batch_size: expected batch_size <= 16777216 but received 1000000000 (a batch's ids and activations would not fit in memory, and offsets are int32) (p.config:10:3)",
  ],
  [
    'more rows than int32 ids address',
    { 'feature_configs[0].id_feature.hash_bucket_size': 10000000000 },
    "feature_configs[0].id_feature.hash_bucket_size: expected hash_bucket_size <= 2147483647 (int32 row ids) for feature 'user' but received 10000000000; a table that size would also need 298.0 GiB of memory (p.config:15:53)",
  ],
  [
    'feature generation without an expression',
    { 'data_config.fg_mode': 'FG_NORMAL' },
    `feature_configs[2].raw_feature.expression: expected an expression (e.g. "user:price") for raw_feature 'price' under fg_mode FG_NORMAL but received none (p.config:17:19)`,
  ],
  [
    'MLP without hidden units',
    { 'model_config.deepfm.deep': '{ }' },
    'model_config.deepfm.deep.hidden_units: expected at least one hidden unit but received none (p.config:22:12)',
  ],
];

describe('validate: semantic problems', () => {
  test.each(INVALID.filter((c) => c[2] !== ''))('%s', (_name, edits, expected) => {
    expect(problemsAfter(edits)).toContain(expected);
  });

  test('a model that parses but tsrec cannot run is "not supported yet"', () => {
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      'dc2vr { task_towers { tower_name: "ctr" label_name: "clk" low_rank_dim: 4 } }',
    );
    const p = validate(parsePipelineConfig(text, { fileName: 'p.config' }));
    expect(p.map(formatProblem)).toContain(
      'model_config.dc2vr: model dc2vr is not supported yet by tsrec; supported: dlrm, deepfm, multi_tower, mask_net, wide_and_deep, dcn_v1, dcn_v2, xdeepfm, simple_multi_task, mmoe, dbmtl, ple, dssm (p.config:22:3)',
    );
    expect(p.find((x) => x.path === 'model_config.dc2vr')?.severity).toBe('unsupported');
  });

  test('unsupported fields and feature types are reported, never ignored', () => {
    const text = BASE.replace('data_config {', 'data_config {\n  sample_mask_prob: 0.1').replace(
      'feature_configs { raw_feature',
      'feature_configs { overlap_feature { feature_name: "ov" query: "user:q" title: "item:t" method: "is_equal" } }\nfeature_configs { raw_feature',
    );
    const p = validate(parsePipelineConfig(text, { fileName: 'p.config' })).filter((x) => x.severity === 'unsupported');
    expect(p.map(formatProblem)).toEqual([
      'data_config.sample_mask_prob: sample masking (sample_mask_prob) is not supported yet by tsrec; remove it or leave it at its default (p.config:10:3)',
      'feature_configs[2].overlap_feature: overlap_feature is not supported yet by tsrec; supported: id_feature, raw_feature, combo_feature, lookup_feature, sequence_feature, expr_feature, sequence_id_feature, sequence_raw_feature (p.config:18:19)',
    ]);
  });

  test('multi-task towers naming unknown labels', () => {
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      'mmoe { expert_mlp { hidden_units: [8] } num_expert: 2 task_towers { tower_name: "ctr" label_name: "click" losses { binary_cross_entropy {} } } task_towers { tower_name: "cvr" label_name: "buy" } }',
    );
    expect(validate(parsePipelineConfig(text, { fileName: 'p.config' })).map(formatProblem)).toEqual(
      expect.arrayContaining([
        "model_config.mmoe.task_towers[0].label_name: task tower 'ctr' names label 'click' that is not in data_config.label_fields [clk, buy] (p.config:22:89)",
        'model_config.mmoe.task_towers[1].losses: expected at least one loss (e.g. losses { binary_cross_entropy {} }) but received none (p.config:22:146)',
        "model_config.losses: model 'mmoe' ignores model_config.losses; set losses in each task tower (p.config:18:1)",
      ]),
    );
  });

  test("DBMTL's relation towers must come earlier; what has no effect in TorchEasyRec is a warning", () => {
    const tower = (name: string, label: string, extra = '') =>
      `task_towers { tower_name: "${name}" label_name: "${label}" ${extra} losses { binary_cross_entropy {} } }`;
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      `dbmtl { gate_mlp { hidden_units: [4] } ${tower('ctr', 'clk', 'relation_tower_names: "cvr" relation_mlp { hidden_units: [4] }')} ${tower('cvr', 'buy', 'relation_tower_names: "ctr"')} ${tower('pay', 'buy', 'relation_tower_names: ["ctr", "pay"] relation_mlp { hidden_units: [4] }')} }`,
    );
    const p = validate(parsePipelineConfig(text, { fileName: 'p.config' }));
    const messages = p.map((x) => `${x.severity} ${x.path}: ${x.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        "error model_config.dbmtl.task_towers[0].relation_tower_names[0]: task tower 'ctr' names 'cvr', which is not an earlier task tower (none before it): TorchEasyRec computes the towers in order",
        "error model_config.dbmtl.task_towers[2].relation_tower_names[1]: task tower 'pay' names 'pay', which is not an earlier task tower (ctr, cvr): TorchEasyRec computes the towers in order",
        "warning model_config.dbmtl.task_towers[1].relation_tower_names: relation_tower_names of task tower 'cvr' have no effect without a relation_mlp (as in TorchEasyRec)",
        'warning model_config.dbmtl.gate_mlp: gate_mlp has no effect without expert_mlp (as in TorchEasyRec)',
      ]),
    );
    const ok = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      `dbmtl { bottom_mlp { hidden_units: [8] } ${tower('ctr', 'clk')} ${tower('cvr', 'buy', 'relation_tower_names: "ctr" relation_mlp { hidden_units: [4] }')} }`,
    );
    expect(validate(parsePipelineConfig(ok, { fileName: 'p.config' })).filter((x) => x.severity === 'error')).toEqual(
      [],
    );
  });

  test('jrc_loss: two classes, a sparse session feature, no sample weights; AUC of two classes is allowed', () => {
    const tower = (extra: string, loss: string) =>
      `task_towers { tower_name: "ctr" label_name: "clk" ${extra} metrics { auc {} } losses { jrc_loss { ${loss} } } }`;
    const run = (model: string) =>
      validate(
        parsePipelineConfig(BASE.replace('deepfm { deep { hidden_units: [16, 8] } }', model), { fileName: 'p.config' }),
      )
        .filter((x) => x.severity !== 'warning')
        .map((x) => `${x.path}: ${x.message}`);
    expect(run(`dbmtl { ${tower('num_class: 2', 'session_name: "user"')} }`)).toEqual([]);
    expect(run(`dbmtl { ${tower('', 'session_name: "nope" alpha: 2')} }`)).toEqual([
      "model_config.dbmtl.task_towers[0].losses[0].jrc_loss: jrc_loss needs num_class = 2 (TorchEasyRec's rule) but num_class is 1",
      "model_config.dbmtl.task_towers[0].losses[0].jrc_loss.session_name: session_name 'nope' must name a sparse feature (its first id is the session) but no feature has that name",
      'model_config.dbmtl.task_towers[0].losses[0].jrc_loss.alpha: expected alpha in [0, 1] but received 2',
    ]);
    expect(run(`mmoe { expert_mlp { hidden_units: [4] } ${tower('num_class: 3', 'session_name: "user"')} }`)).toEqual(
      expect.arrayContaining([
        'model_config.mmoe.task_towers[0].metrics[0].auc: auc needs num_class = 1 or 2 but num_class is 3; use multiclass_auc',
      ]),
    );
  });

  test('a task space names a label field, with weights >= 0', () => {
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      'simple_multi_task { task_towers { tower_name: "cvr" label_name: "buy" task_space_indicator_label: "click" out_task_space_weight: -1 losses { binary_cross_entropy {} } } }',
    );
    expect(validate(parsePipelineConfig(text, { fileName: 'p.config' })).map(formatProblem)).toEqual(
      expect.arrayContaining([
        "model_config.simple_multi_task.task_towers[0].task_space_indicator_label: task tower 'cvr' names label 'click' that is not in data_config.label_fields [clk, buy] (p.config:22:73)",
        'model_config.simple_multi_task.task_towers[0].out_task_space_weight: expected out_task_space_weight >= 0 but received -1 (p.config:22:109)',
      ]),
    );
  });

  test('DLRM needs equal sparse dims and a matching dense_mlp', () => {
    const text = BASE.replace(
      'group_name: "wide" feature_names: ["user", "item"] group_type: WIDE',
      'group_name: "sparse" feature_names: ["user", "item"]',
    )
      .replace(
        'group_name: "deep" feature_names: ["user", "item", "price"]',
        'group_name: "dense" feature_names: ["price"]',
      )
      .replace(
        'deepfm { deep { hidden_units: [16, 8] } }',
        'dlrm { dense_mlp { hidden_units: [16, 4] } final { hidden_units: [8] } }',
      );
    expect(validate(parsePipelineConfig(text, { fileName: 'p.config' })).map(formatProblem)).toEqual([
      'model_config.dlrm.dense_mlp.hidden_units: the last dense_mlp hidden unit must equal the sparse embedding_dim 8 but is 4 (p.config:22:10)',
    ]);
  });

  test('all problems are returned at once, and assertValid throws them', () => {
    const cfg = parsePipelineConfig(BASE, { fileName: 'p.config' });
    editConfig(cfg, {
      'train_config.num_epochs': 1,
      'data_config.batch_size': 0,
      'train_config.log_step_count_steps': 0,
    });
    expect(validate(cfg)).toHaveLength(3);
    expect(() => assertValid(cfg)).toThrow(InvalidConfigError);
    expect(() => assertValid(cfg)).toThrow(
      /^invalid pipeline config \(3 problems\):\n {2}data_config.batch_size: expected batch_size > 0 but received 0/,
    );
  });

  test('loadPipelineConfig({ validate: true }) throws on errors', () => {
    expect(() => parsePipelineConfig(BASE.replace('num_steps: 100', ''), { validate: true })).toThrow(
      'invalid pipeline config (1 problem):\n  train_config: expected exactly one of num_steps and num_epochs but neither is set (<text>:4:1)',
    );
  });
});

describe('examples/', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.config'));

  test('there is an example per supported model', () => {
    const models = files.map((f) => loadPipelineConfig(join(EXAMPLES, f)).modelConfig?.model.case);
    for (const m of [
      'deepfm',
      'wideAndDeep',
      'dlrm',
      'dcnV1',
      'dcnV2',
      'multiTower',
      'maskNet',
      'xdeepfm',
      'simpleMultiTask',
      'mmoe',
      'ple',
      'dssm',
    ]) {
      expect(models).toContain(m);
    }
  });

  test.each(files)('%s loads and validates with no problems', (f) => {
    const cfg = loadPipelineConfig(join(EXAMPLES, f));
    expect(validate(cfg).map(formatProblem)).toEqual([]);
  });
});

// Settings where the validator once disagreed with the runtime or with TorchEasyRec.
describe('validate agrees with the runtime and with TorchEasyRec', () => {
  const only = (edits: Record<string, EditValue>, text = BASE) =>
    problemsAfter(edits, text).filter((p) => !p.startsWith('model_config.feature_groups[2]:'));
  it.each([
    [
      'lookup combiner count (TorchEasyRec: sum, mean, min, max)',
      {
        'feature_configs[2]':
          '{ lookup_feature { feature_name: "price" map: "user:m" key: "item:k" combiner: "count" boundaries: [1, 2] embedding_dim: 8 } }',
      },
      "feature_configs[2].lookup_feature.combiner: expected one of sum, mean, min, max for combiner of feature 'price' but received 'count'",
    ],
    [
      'a SEQUENCE group',
      { 'model_config.feature_groups[2].group_type': 'SEQUENCE' },
      'model_config.feature_groups[2].group_type: group_type SEQUENCE (sequence models) is not supported yet by tsrec; use DEEP or WIDE groups',
    ],
    [
      'a normalizer under FG_NONE',
      { 'feature_configs[2].raw_feature.normalizer': 'method=log10' },
      'feature_configs[2].raw_feature.normalizer: normalizer has no effect with data_config.fg_mode FG_NONE (the inputs are generated features already; normalizing belongs to feature generation, as in TorchEasyRec); set fg_mode: FG_NORMAL to normalize raw values',
    ],
    [
      'an init function tsrec lacks',
      { 'feature_configs[0].id_feature.init_fn': 'nn.init.normal_,std=0.01' },
      "feature_configs[0].id_feature.init_fn: init function 'nn.init.normal_' is not supported yet by tsrec; supported: nn.init.uniform_, nn.init.constant_, nn.init.zeros_, nn.init.ones_",
    ],
    [
      'a malformed wide_init_fn',
      { 'model_config.deepfm.wide_init_fn': 'nn.init.uniform_,a=1,b=0' },
      "model_config.deepfm.wide_init_fn: expected a <= b for nn.init.uniform_ but received a=1, b=0 in 'nn.init.uniform_,a=1,b=0'",
    ],
  ] as [string, Record<string, EditValue>, string][])('%s', (_, edits, expected) => {
    expect(only(edits).map((p) => p.replace(/ \(p\.config:\d+:\d+\)$/, ''))).toContain(expected);
  });

  it('nn.GELU, nn.SiLU, nn.ReLU6, nn.Identity and nn.PReLU validate (the MLP builds them)', () => {
    for (const a of ['nn.GELU', 'nn.SiLU', 'nn.ReLU6', 'nn.Identity', 'nn.PReLU'])
      expect(problemsAfter({ 'model_config.deepfm.deep.activation': a })).toEqual([]);
  });

  it('a retrieval model computes recall_at_k only (TorchEasyRec match models)', () => {
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      'dssm { user_tower { input: "wide" mlp { hidden_units: [8] } } item_tower { input: "deep" mlp { hidden_units: [8] } } output_dim: 8 in_batch_negative: true }',
    )
      .replace('losses { binary_cross_entropy {} }', 'losses { softmax_cross_entropy {} }')
      .replace('metrics { auc {} }', 'metrics { auc {} } metrics { recall_at_k { top_k: 5 } }');
    expect(problemsAfter({}, text).filter((p) => p.includes('metrics['))).toEqual([
      "model_config.metrics[0].auc: retrieval model 'dssm' supports the metric recall_at_k but received auc (p.config:23:13)",
    ]);
  });

  it('mmoe reads its first feature group, as TorchEasyRec, and says the others go unused', () => {
    const text = BASE.replace(
      'deepfm { deep { hidden_units: [16, 8] } }',
      'mmoe { expert_mlp { hidden_units: [8] } num_expert: 2 task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } } }',
    );
    expect(problemsAfter({}, text)).toContain(
      "model_config.feature_groups: model 'mmoe' reads only its first feature group 'wide' (as TorchEasyRec); 'deep', 'fm' go unused (p.config:18:1)",
    );
  });
});
