import type { DescMessage } from '@bufbuild/protobuf';
import { CAPABILITIES, capabilityOf } from './capabilities';
import { EasyRecConfigSchema } from './gen/tsrec/protos/pipeline_pb';
import { parsePipelineConfig, validate } from './index';

/** Every field reachable from the root through implemented fields, as "<Message>.<field>". */
function reachable(): { fields: string[]; messages: Set<string> } {
  const fields: string[] = [];
  const messages = new Set<string>();
  const walk = (m: DescMessage) => {
    if (messages.has(m.name)) return;
    messages.add(m.name);
    for (const f of m.fields) {
      fields.push(`${m.name}.${f.name}`);
      if (capabilityOf(m.name, f.name)?.kind !== 'implemented') continue;
      const sub =
        f.fieldKind === 'message'
          ? f.message
          : f.fieldKind === 'list' && f.listKind === 'message'
            ? f.message
            : f.fieldKind === 'map' && f.mapKind === 'message'
              ? f.message
              : undefined;
      if (sub) walk(sub);
    }
  };
  walk(EasyRecConfigSchema);
  return { fields, messages };
}

describe('the capability registry', () => {
  it('classifies every field reachable from EasyRecConfig through implemented fields', () => {
    const unclassified = reachable().fields.filter((k) => {
      const [m, f] = k.split('.');
      return capabilityOf(m, f) === undefined;
    });
    expect(unclassified).toEqual([]);
  });

  it('has no entry for a field or message the schema does not reach', () => {
    const { fields, messages } = reachable();
    const known = new Set(fields);
    const stale: string[] = [];
    for (const [m, byField] of Object.entries(CAPABILITIES)) {
      if (!messages.has(m)) stale.push(m);
      for (const f of Object.keys(byField)) if (!known.has(`${m}.${f}`)) stale.push(`${m}.${f}`);
    }
    expect(stale).toEqual([]);
  });
});

describe('validate() reports what the registry says', () => {
  const base = (extra: { train?: string; data?: string; model?: string; feature?: string }) => `
train_input_path: "t.csv"
eval_input_path: "e.csv"
model_dir: "m"
train_config {
  sparse_optimizer { adagrad_optimizer { lr: 0.01 } constant_learning_rate {} }
  dense_optimizer { adam_optimizer { lr: 0.001 } constant_learning_rate {} }
  num_steps: 10
  ${extra.train ?? ''}
}
data_config { batch_size: 8 dataset_type: CsvDataset with_header: true label_fields: "clk" ${extra.data ?? ''} }
feature_configs { id_feature { feature_name: "u" expression: "user:u" hash_bucket_size: 10 embedding_dim: 4 ${extra.feature ?? ''} } }
model_config {
  feature_groups { group_name: "all" feature_names: "u" group_type: DEEP }
  ${extra.model ?? 'dcn_v2 { cross { cross_num: 1 } final { hidden_units: [2] } }'}
  metrics { auc {} }
  losses { binary_cross_entropy {} }
}`;
  const problems = (text: string) =>
    validate(parsePipelineConfig(text, { fileName: 'p.config' })).map((p) => `${p.severity} ${p.path}: ${p.message}`);

  it('an unsupported model, named with its path, location and the supported ones', () => {
    const text = base({ model: 'pepnet { }' });
    const found = validate(parsePipelineConfig(text, { fileName: 'p.config' }));
    const p = found.find((x) => x.path === 'model_config.pepnet');
    expect(p?.severity).toBe('unsupported');
    expect(p?.message).toMatch(/^model pepnet is not supported yet by tsrec; supported: dlrm, deepfm, multi_tower, /);
    expect(p?.location).toMatchObject({
      file: 'p.config',
      line: text.split('\n').findIndex((l) => l.includes('pepnet')) + 1,
    });
  });

  it('an unsupported scalar only when it differs from its default', () => {
    expect(problems(base({ data: 'sample_mask_prob: 0.0' }))).toEqual([]);
    expect(problems(base({ data: 'sample_mask_prob: 0.5' }))).toEqual([
      'unsupported data_config.sample_mask_prob: sample masking (sample_mask_prob) is not supported yet by tsrec; remove it or leave it at its default',
    ]);
  });

  it('a field without effect is a warning with its reason', () => {
    expect(problems(base({ train: 'cudnn_allow_tf32: false' }))).toEqual([
      'warning train_config.cudnn_allow_tf32: cudnn_allow_tf32 has no effect in tsrec: a CUDA matmul precision knob; tsrec has no cuBLAS path (float32 throughout)',
    ]);
  });

  it('an unsupported message field inside an implemented one', () => {
    expect(problems(base({ feature: 'zch { zch_size: 100 }' }))).toEqual([
      'unsupported feature_configs[0].id_feature.zch: zero-collision hashing (zch) is not supported yet by tsrec; remove it',
    ]);
  });
});
