import { ConfigError, editConfig, parsePipelineConfig, toText, WeightDecayMode } from './index';

const BASE = `
data_config { batch_size: 256 label_fields: "clk" }
train_config { sparse_optimizer { adagrad_optimizer { lr: 0.01 } } num_steps: 10 }
feature_configs { id_feature { feature_name: "a" hash_bucket_size: 10 embedding_dim: 4 } }
feature_configs { id_feature { feature_name: "b" hash_bucket_size: 20 embedding_dim: 4 } }
feature_configs { raw_feature { feature_name: "c" } }
model_config { deepfm { deep { hidden_units: [8, 4] } } }
`;

function editErrors(edits: Record<string, unknown> | string): string {
  try {
    editConfig(parsePipelineConfig(BASE), edits as Record<string, never>);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('editConfig', () => {
  test('TorchEasyRec dotted paths with [i], converting to the field type', () => {
    const cfg = editConfig(parsePipelineConfig(BASE), {
      'data_config.batch_size': 4096,
      'feature_configs[0].id_feature.embedding_dim': '8',
      'data_config.shuffle': 'true',
      'data_config.dataset_type': 'ParquetDataset',
      model_dir: 'exp/1',
    });
    expect(cfg.dataConfig?.batchSize).toBe(4096);
    expect(cfg.dataConfig?.shuffle).toBe(true);
    expect(cfg.modelDir).toBe('exp/1');
    const f = cfg.featureConfigs[0].feature;
    expect(f.case === 'idFeature' && f.value.embeddingDim).toBe(8);
    expect(toText(cfg)).toContain('dataset_type: ParquetDataset');
  });

  test('repeated values, elements, slices and conditions', () => {
    const cfg = editConfig(parsePipelineConfig(BASE), {
      'model_config.deepfm.deep.hidden_units': '[64, 32, 16]',
      'model_config.deepfm.deep.dropout_ratio': [0.1, 0.2, 0.0],
      'data_config.label_fields[0]': 'click',
      'feature_configs[0:2].id_feature.hash_bucket_size': 1000,
      'feature_configs[id_feature.feature_name=b].id_feature.embedding_dim': 16,
      'feature_configs[id_feature.embedding_dim>=16].id_feature.pooling': 'mean',
    });
    const deep = cfg.modelConfig?.model.case === 'deepfm' ? cfg.modelConfig.model.value.deep : undefined;
    expect(deep?.hiddenUnits).toEqual([64, 32, 16]);
    expect(deep?.dropoutRatio.map((x) => Math.round(x * 10) / 10)).toEqual([0.1, 0.2, 0]);
    expect(cfg.dataConfig?.labelFields).toEqual(['click']);
    const ids = cfg.featureConfigs.map((fc) => (fc.feature.case === 'idFeature' ? fc.feature.value : undefined));
    expect(ids.map((f) => f?.hashBucketSize)).toEqual([1000n, 1000n, undefined]);
    expect(ids[1]?.embeddingDim).toBe(16);
    expect(ids[1]?.pooling).toBe('mean');
    expect(ids[0]?.pooling).toBe('sum');
  });

  test('whole messages from text or JSON, creating unset parents; ";"-joined keys', () => {
    const cfg = editConfig(parsePipelineConfig(BASE), {
      'train_config.sparse_optimizer': '{ rowwise_adagrad_optimizer { lr: 0.1 weight_decay_mode: L2 } }',
      eval_config: { num_steps: 5 },
      'export_config.exporter_type;export_config.best_exporter_metric': 'best;auc',
    });
    const opt = cfg.trainConfig?.sparseOptimizer?.optimizer;
    expect(opt?.case === 'rowwiseAdagradOptimizer' && opt.value.weightDecayMode).toBe(WeightDecayMode.L2);
    expect(cfg.evalConfig?.numSteps).toBe(5);
    expect(cfg.exportConfig?.exporterType).toBe('best');
  });

  test.each([
    [
      'unknown field',
      { 'data_config.batch_sise': 1 },
      "unknown field 'batch_sise' (--edit_config_json) in data_config — did you mean 'batch_size'?",
    ],
    [
      'wrong type',
      { 'data_config.batch_size': 'big' },
      'expected an unsigned 32-bit integer for batch_size but received "big" (--edit_config_json) in data_config.batch_size',
    ],
    [
      'unknown enum',
      { 'data_config.dataset_type': 'Parquet' },
      'expected one of OdpsDataset, ParquetDataset, CsvDataset, OdpsDatasetV1, KafkaDataset for dataset_type but received "Parquet" (--edit_config_json) in data_config.dataset_type',
    ],
    [
      'index out of range',
      { 'feature_configs[7].id_feature.embedding_dim': 8 },
      'index 7 is out of range for feature_configs, which has 3 elements (--edit_config_json) in feature_configs',
    ],
    [
      'repeated without index',
      { 'feature_configs.id_feature.embedding_dim': 8 },
      "'feature_configs' is repeated: pick elements with [i], [a:b], [:] or [name=value] (--edit_config_json) in the pipeline config",
    ],
    [
      'other oneof member',
      { 'model_config.dlrm.final.hidden_units': '[1]' },
      "cannot edit 'dlrm': oneof 'model' is set to 'deepfm' (--edit_config_json) in model_config.dlrm",
    ],
    [
      'bad message text',
      { eval_config: '{ num_stepz: 1 }' },
      "unknown field 'num_stepz' (--edit_config_json) in eval_config — did you mean 'num_steps'?",
    ],
    ['bad JSON', '{"data_config.batch_size": }', expect.stringMatching(/^invalid JSON in --edit_config_json: /)],
  ])('%s', (_name, edits, message) => {
    expect(editErrors(edits)).toEqual(message);
  });
});
