import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DatasetType, formatProblem, loadPipelineConfig, parsePipelineConfig, validate } from './index';

function errorOf(text: string, format?: 'text' | 'json'): string {
  try {
    parsePipelineConfig(text, { fileName: 'pipeline.config', format });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

// Each malformed config with the exact message (and so location) it must produce.
const MALFORMED_TEXT: [string, string, string][] = [
  [
    'misspelt field',
    'data_config {\n  batch_sise: 12\n}',
    "unknown field 'batch_sise' in data_config at pipeline.config:2:3 — did you mean 'batch_size'?",
  ],
  [
    'misspelt top-level field',
    'model_confg {}',
    "unknown field 'model_confg' in the pipeline config at pipeline.config:1:1 — did you mean 'model_config'?",
  ],
  [
    'unknown field, nothing close',
    'data_config { colour: 1 }',
    "unknown field 'colour' in data_config at pipeline.config:1:15",
  ],
  [
    'misspelt enum',
    'data_config { dataset_type: CsvDatset }',
    "expected one of OdpsDataset, ParquetDataset, CsvDataset, OdpsDatasetV1, KafkaDataset for dataset_type but received 'CsvDatset' in data_config at pipeline.config:1:29 — did you mean 'CsvDataset'?",
  ],
  [
    'enum in wrong case',
    'model_config { feature_groups { group_type: deep } }',
    "expected one of DEEP, WIDE, SEQUENCE, JAGGED_SEQUENCE for group_type but received 'deep' in model_config.feature_groups[0] at pipeline.config:1:45 — did you mean 'DEEP'?",
  ],
  [
    'string for an integer',
    'data_config { batch_size: "big" }',
    'expected an unsigned 32-bit integer for batch_size but received "big" in data_config at pipeline.config:1:27',
  ],
  [
    'negative unsigned',
    'data_config { batch_size: -1 }',
    'expected an unsigned 32-bit integer for batch_size but received -1 in data_config at pipeline.config:1:27',
  ],
  [
    'fraction for an integer',
    'train_config { num_steps: 1.5 }',
    'expected an unsigned 32-bit integer for num_steps but received 1.5 in train_config at pipeline.config:1:27',
  ],
  [
    'integer overflow',
    'data_config { batch_size: 4294967296 }',
    'expected an unsigned 32-bit integer for batch_size but received 4294967296 in data_config at pipeline.config:1:27',
  ],
  [
    'word for a bool',
    'data_config { shuffle: yes }',
    "expected true or false for shuffle but received 'yes' in data_config at pipeline.config:1:24",
  ],
  [
    'number for a string',
    'model_dir: 42',
    'expected a quoted string for model_dir but received 42 in the pipeline config at pipeline.config:1:12',
  ],
  [
    'unquoted string',
    'model_dir: experiments',
    "expected a quoted string for model_dir but received 'experiments' in the pipeline config at pipeline.config:1:12",
  ],
  [
    'word for a float',
    'train_config { sparse_optimizer { sgd_optimizer { lr: fast } } }',
    "expected a number for lr but received 'fast' in train_config.sparse_optimizer.sgd_optimizer at pipeline.config:1:55",
  ],
  [
    'float out of range',
    'train_config { sparse_optimizer { sgd_optimizer { lr: 1e39 } } }',
    'expected a number within the 32-bit float range for lr but received 1e39 in train_config.sparse_optimizer.sgd_optimizer at pipeline.config:1:55',
  ],
  [
    'scalar for a message',
    'train_config: 5',
    'expected a message { ... } for train_config but received 5 in the pipeline config at pipeline.config:1:15',
  ],
  [
    'message for a scalar',
    'data_config { batch_size { } }',
    'expected an unsigned 32-bit integer for batch_size but received a message in data_config at pipeline.config:1:26',
  ],
  [
    'list for a singular field',
    'data_config { batch_size: [1, 2] }',
    'expected an unsigned 32-bit integer for batch_size but received a list in data_config at pipeline.config:1:27',
  ],
  [
    'wrong type in a list',
    'model_config { deepfm { deep { hidden_units: [512, "x"] } } }',
    'expected an unsigned 32-bit integer for hidden_units but received "x" in model_config.deepfm.deep at pipeline.config:1:52',
  ],
  [
    'bad map entry',
    'feature_configs { id_feature { vocab_dict { kye: "a" value: 1 } } }',
    "unknown field 'kye' in a map entry in feature_configs[0].id_feature.vocab_dict at pipeline.config:1:45 — did you mean 'key'?",
  ],
  [
    'EasyRec group field',
    'model_config { feature_groups { wide_deep: DEEP } }',
    "unknown field 'wide_deep' in model_config.feature_groups[0] at pipeline.config:1:33 — did you mean 'group_type'?",
  ],
  [
    'a TorchEasyRec model newer than the pinned schema',
    'model_config { generative_qwen { } }',
    "unknown field 'generative_qwen' in model_config at pipeline.config:1:16 — TorchEasyRec's generative_qwen model is not supported yet by tsrec",
  ],
  [
    'old DLRM field name',
    'model_config { dlrm { bot_mlp { } } }',
    "unknown field 'bot_mlp' in model_config.dlrm at pipeline.config:1:23 — did you mean 'dense_mlp'?",
  ],
  [
    'missing colon',
    'model_dir "x"',
    "expected ':' or '{' after field name 'model_dir' but found '\"x\"' in model_dir at pipeline.config:1:11",
  ],
  [
    'unclosed brace',
    'data_config {\n  batch_size: 1\n',
    "missing '}' to close 'data_config' opened at line 1, column 13 in data_config at pipeline.config:3:1",
  ],
  [
    'stray closing brace',
    'model_dir: "x"\n}',
    "unexpected '}' with no open '{' in the pipeline config at pipeline.config:2:1",
  ],
  [
    'mismatched bracket',
    'data_config { batch_size: 1 >',
    "expected '}' but found '>' in data_config at pipeline.config:1:29",
  ],
  ['unterminated string', 'model_dir: "experiments\n', 'unterminated string in model_dir at pipeline.config:1:12'],
  ['bad character', 'model_dir: @x', "unexpected character '@' in model_dir at pipeline.config:1:12"],
  [
    'missing value',
    'data_config { batch_size: }',
    "expected a value for 'batch_size' but found '}' in data_config.batch_size at pipeline.config:1:27",
  ],
  [
    'unclosed list',
    'data_config { label_fields: ["a", "b" }',
    "expected ',' or ']' in the list for 'label_fields' but found '}' in data_config.label_fields at pipeline.config:1:39",
  ],
  [
    'map entry without key',
    'feature_configs { id_feature { vocab_dict { value: 1 } } }',
    'map entry of vocab_dict has no key in feature_configs[0].id_feature at pipeline.config:1:43',
  ],
  ['bad escape', 'model_dir: "a\\qb"', "invalid escape '\\q' in string in model_dir at pipeline.config:1:14"],
  [
    'extension syntax',
    '[tsrec.ext] { }',
    'extension and Any fields ([...]) are not supported in tsrec configs in the pipeline config at pipeline.config:1:1',
  ],
  [
    'number glued to a word',
    'data_config { batch_size: 12ab }',
    "invalid number '12ab' in data_config.batch_size at pipeline.config:1:27",
  ],
];

const MALFORMED_JSON: [string, string, string][] = [
  [
    'misspelt key',
    '{\n  "data_config": {\n    "batch_sise": 1\n  }\n}',
    "unknown field 'batch_sise' in data_config at pipeline.config:3:5 — did you mean 'batch_size'?",
  ],
  [
    'string for an integer',
    '{"data_config": {"batch_size": "x"}}',
    'expected an unsigned 32-bit integer for batch_size but received "x" in data_config at pipeline.config:1:32',
  ],
  [
    'scalar for a repeated field',
    '{"data_config": {"label_fields": "clk"}}',
    'expected a list for label_fields but received "clk" in data_config at pipeline.config:1:34',
  ],
  [
    'missing comma',
    '{"model_dir": "x" "data_config": {}}',
    "invalid JSON: expected ',' or '}' after the value of \"model_dir\" but found '\"' in the pipeline config at pipeline.config:1:19",
  ],
  [
    'trailing garbage',
    '{"model_dir": "x"} x',
    "invalid JSON: expected the end of the JSON document but found 'x' in the pipeline config at pipeline.config:1:20",
  ],
  [
    'array at top level',
    '[1]',
    'invalid JSON: expected a JSON object at the top level but found an array in the pipeline config at pipeline.config:1:1',
  ],
  [
    'unknown enum name',
    '{"data_config": {"dataset_type": "Csv"}}',
    'expected one of OdpsDataset, ParquetDataset, CsvDataset, OdpsDatasetV1, KafkaDataset for dataset_type but received "Csv" in data_config at pipeline.config:1:34',
  ],
];

describe('loadPipelineConfig: malformed text format', () => {
  test.each(MALFORMED_TEXT)('%s', (_name, text, message) => {
    expect(errorOf(text)).toBe(message);
  });
});

describe('loadPipelineConfig: malformed JSON', () => {
  test.each(MALFORMED_JSON)('%s', (_name, text, message) => {
    expect(errorOf(text, 'json')).toBe(message);
  });
});

describe('loadPipelineConfig', () => {
  test('skips a UTF-8 byte order mark at the start of text and JSON configs', () => {
    expect(parsePipelineConfig('\ufeffmodel_dir: "m"\n').modelDir).toBe('m');
    expect(parsePipelineConfig('\ufeff{"model_dir": "m"}').modelDir).toBe('m');
  });

  test('reports every schema error at once', () => {
    const e = errorOf('data_config {\n  batch_sise: 1\n  shufle: true\n}\nmodel_dir: 3\n');
    expect(e.split('\n')).toEqual([
      "unknown field 'batch_sise' in data_config at pipeline.config:2:3 — did you mean 'batch_size'?",
      "unknown field 'shufle' in data_config at pipeline.config:3:3 — did you mean 'shuffle'?",
      'expected a quoted string for model_dir but received 3 in the pipeline config at pipeline.config:5:12',
    ]);
  });

  test('accepts the text-format variants: <> bodies, ; and , separators, lists, comments, concatenated strings', () => {
    const cfg = parsePipelineConfig(
      [
        '# a comment',
        'model_dir: "exp" \'eriments\'  # trailing comment',
        'data_config <',
        '  batch_size: 0x100;',
        '  label_fields: ["a", \'b\'],',
        '  dataset_type: 3',
        '  shuffle: t',
        '>',
        'feature_configs: { raw_feature: { feature_name: "x" boundaries: [-1.5, .5, 2e1, 3f] } }',
      ].join('\n'),
    );
    expect(cfg.modelDir).toBe('experiments');
    expect(cfg.dataConfig?.batchSize).toBe(256);
    expect(cfg.dataConfig?.labelFields).toEqual(['a', 'b']);
    expect(cfg.dataConfig?.datasetType).toBe(DatasetType.CsvDataset);
    expect(cfg.dataConfig?.shuffle).toBe(true);
    const f = cfg.featureConfigs[0].feature;
    expect(f.case === 'rawFeature' && f.value.boundaries).toEqual([-1.5, 0.5, 20, 3]);
  });

  test('JSON accepts proto names, json names and null', () => {
    const cfg = parsePipelineConfig(
      '{"model_dir": "m", "dataConfig": {"batchSize": "64", "label_fields": ["y"], "eval_batch_size": null}}',
    );
    expect(cfg.modelDir).toBe('m');
    expect(cfg.dataConfig?.batchSize).toBe(64);
    expect(cfg.dataConfig?.labelFields).toEqual(['y']);
  });

  test('loads files by extension and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrec-config-'));
    writeFileSync(join(dir, 'p.config'), 'model_dir: "a"\n');
    writeFileSync(join(dir, 'p.json'), '{"model_dir": "b"}');
    writeFileSync(join(dir, 'bad.config'), '\n\n  model_dri: "a"\n');
    expect(loadPipelineConfig(join(dir, 'p.config')).modelDir).toBe('a');
    expect(loadPipelineConfig(join(dir, 'p.json')).modelDir).toBe('b');
    expect(() => loadPipelineConfig(join(dir, 'bad.config'))).toThrow(
      `unknown field 'model_dri' in the pipeline config at ${join(dir, 'bad.config')}:3:3 — did you mean 'model_dir'?`,
    );
    expect(() => loadPipelineConfig(join(dir, 'missing.config'))).toThrow(
      `cannot read pipeline config '${join(dir, 'missing.config')}': no such file`,
    );
  });

  test('a TorchEasyRec DeepFM-on-Criteo config parses as written', () => {
    // Shaped like TorchEasyRec's examples/deepfm_criteo.config: ODPS paths, fg_mode FG_NONE,
    // raw features without expression, adagrad + adam, three groups.
    const lines = [
      'train_input_path: "odps://project/tables/criteo_train"',
      'eval_input_path: "odps://project/tables/criteo_eval"',
      'model_dir: "experiments/deepfm_criteo"',
      'train_config {',
      '    sparse_optimizer {\n        adagrad_optimizer {\n            lr: 0.001\n        }\n        constant_learning_rate {\n        }\n    }',
      '    dense_optimizer {\n        adam_optimizer {\n            lr: 0.001\n        }\n        constant_learning_rate {\n        }\n    }',
      '    num_epochs: 1',
      '}',
      'eval_config {\n    num_steps: 100\n}',
      'data_config {\n    batch_size: 8192\n    dataset_type: OdpsDataset\n    fg_mode: FG_NONE\n    label_fields: "label"\n    num_workers: 8\n}',
    ];
    for (let i = 0; i < 13; i++)
      lines.push(`feature_configs {\n    raw_feature {\n        feature_name: "int_${i}"\n    }\n}`);
    for (let i = 0; i < 26; i++)
      lines.push(
        `feature_configs {\n    id_feature {\n        feature_name: "cat_${i}"\n        num_buckets: ${1000 + i}\n        embedding_dim: 16\n    }\n}`,
      );
    const cats = Array.from({ length: 26 }, (_, i) => `        feature_names: "cat_${i}"`).join('\n');
    const ints = Array.from({ length: 13 }, (_, i) => `        feature_names: "int_${i}"`).join('\n');
    lines.push(
      'model_config {',
      `    feature_groups {\n        group_name: "wide"\n${cats}\n        group_type: WIDE\n    }`,
      `    feature_groups {\n        group_name: "fm"\n${cats}\n        group_type: DEEP\n    }`,
      `    feature_groups {\n        group_name: "deep"\n${ints}\n${cats}\n        group_type: DEEP\n    }`,
      '    deepfm {\n        deep {\n            hidden_units: [512, 256, 128]\n        }\n        final {\n            hidden_units: [64]\n        }\n    }',
      '    metrics {\n        auc {}\n    }',
      '    losses {\n        binary_cross_entropy {}\n    }',
      '}',
    );
    const cfg = parsePipelineConfig(lines.join('\n'));
    expect(cfg.featureConfigs).toHaveLength(39);
    expect(cfg.modelConfig?.model.case).toBe('deepfm');
    expect(cfg.dataConfig?.datasetType).toBe(DatasetType.OdpsDataset);
  });

  test('a 500-feature config loads in well under a second', () => {
    const parts: string[] = [
      'data_config { batch_size: 1024 dataset_type: CsvDataset label_fields: "label" with_header: true }',
    ];
    const names: string[] = [];
    for (let i = 0; i < 500; i++) {
      names.push(`f${i}`);
      parts.push(
        `feature_configs {\n  id_feature {\n    feature_name: "f${i}"\n    expression: "user:f${i}"\n    hash_bucket_size: 100000\n    embedding_dim: 16\n  }\n}`,
      );
    }
    parts.push(
      `model_config {\n  feature_groups {\n    group_name: "all"\n${names.map((n) => `    feature_names: "${n}"`).join('\n')}\n  }\n  dcn_v2 { cross {} final { hidden_units: [64] } }\n  losses { binary_cross_entropy {} }\n}`,
    );
    const text = parts.join('\n');
    parsePipelineConfig(text); // warm up the JIT
    const t0 = performance.now();
    const cfg = parsePipelineConfig(text);
    const ms = performance.now() - t0;
    expect(cfg.featureConfigs).toHaveLength(500);
    expect(ms).toBeLessThan(500);
  });
});

// TorchEasyRec loads configs with text_format.Merge, which keeps the last value of a field set
// twice, merges a message set twice and lets a later oneof member replace an earlier one; tsrec
// does the same (its shipped mind_mock.config sets a field twice) and validate() says so.
describe('a non-repeated field set twice (text_format.Merge)', () => {
  const warnings = (text: string) =>
    validate(parsePipelineConfig(text, { fileName: 'pipeline.config' }))
      .filter((p) => p.message.includes('as TorchEasyRec'))
      .map(formatProblem);

  it('a scalar keeps the last value', () => {
    const text = 'data_config {\n  batch_size: 1\n  batch_size: 2\n}';
    expect(parsePipelineConfig(text).dataConfig!.batchSize).toBe(2);
    expect(warnings(text)).toEqual([
      "data_config: field 'batch_size' is set twice (first at line 2, column 3); the last value is used, as TorchEasyRec's parser does (pipeline.config:3:3)",
    ]);
  });

  it('a message is merged', () => {
    const text = 'data_config { batch_size: 1 }\ndata_config { label_fields: "clk" }';
    const c = parsePipelineConfig(text);
    expect([c.dataConfig!.batchSize, c.dataConfig!.labelFields]).toEqual([1, ['clk']]);
    expect(warnings(text)).toEqual([
      "pipeline config: field 'data_config' is set twice (first at line 1, column 1); the two are merged, as TorchEasyRec's parser does (pipeline.config:2:1)",
    ]);
  });

  it('a later oneof member replaces an earlier one', () => {
    const text = 'model_config {\n  deepfm {}\n  dlrm {}\n}';
    expect(parsePipelineConfig(text).modelConfig!.model.case).toBe('dlrm');
    expect(warnings(text)).toEqual([
      "model_config: 'dlrm' and 'deepfm' are both set in oneof 'model' ('deepfm' at line 2, column 3); the last one is used, as TorchEasyRec's parser does (pipeline.config:3:3)",
    ]);
  });
});
