import { formatProblem, parsePipelineConfig, shardingConstraints, shardingProblems, validate } from './index';

// TorchEasyRec's embedding_constraints / global_embedding_constraints: accepted where tsrec can
// honour them (tables whole in one process; table-wise or replicated across ranks), refused with
// the place where they cannot be.
function config(user: string, global: string): string {
  return `
train_input_path: "t" model_dir: "m"
train_config {
  sparse_optimizer { adagrad_optimizer { lr: 0.01 } }
  dense_optimizer { adam_optimizer { lr: 0.001 } }
  num_steps: 1
  ${global}
}
data_config { batch_size: 8 dataset_type: CsvDataset with_header: true label_fields: "clk" }
feature_configs { id_feature { feature_name: "user" hash_bucket_size: 10 embedding_dim: 8 ${user} } }
feature_configs { id_feature { feature_name: "item" num_buckets: 5 embedding_dim: 8 } }
model_config {
  feature_groups { group_name: "wide" feature_names: ["user", "item"] group_type: WIDE }
  feature_groups { group_name: "deep" feature_names: ["user", "item"] group_type: DEEP }
  deepfm { deep { hidden_units: [4] } }
  losses { binary_cross_entropy {} }
}`;
}

const problems = (user: string, global = '') =>
  validate(parsePipelineConfig(config(user, global), { fileName: 'p.config' })).map(formatProblem);

test('constraints that keep tables whole validate; compute_kernels has no effect here', () => {
  expect(problems('embedding_constraints { sharding_types: ["table_wise", "row_wise"] }')).toEqual([]);
  expect(problems('', 'global_embedding_constraints { sharding_types: "data_parallel" }')).toEqual([]);
  expect(problems('embedding_constraints { compute_kernels: "fused_uvm_caching" }')).toEqual([
    "feature_configs[0].id_feature.embedding_constraints.compute_kernels: compute_kernels has no effect in tsrec: TorchRec's embedding kernels (GPU and UVM memory placement); tsrec runs its fused CPU kernel (p.config:10:91)",
  ]);
});

test('unknown and column-wise sharding types are reported with their place', () => {
  expect(problems('embedding_constraints { sharding_types: ["tabel_wise"] }')).toEqual([
    "feature_configs[0].id_feature.embedding_constraints.sharding_types[0]: expected a sharding type (data_parallel, table_wise, column_wise, row_wise, table_row_wise, table_column_wise, grid_shard) but received 'tabel_wise' — did you mean 'table_wise'? (p.config:10:132)",
  ]);
  expect(problems('', 'global_embedding_constraints { sharding_types: ["column_wise", "grid_shard"] }')).toEqual([
    'train_config.global_embedding_constraints.sharding_types: column-wise sharding (column_wise, grid_shard) is not supported yet by tsrec; allow data_parallel, table_wise or row_wise (tsrec keeps each table whole) (p.config:7:3)',
  ]);
});

test("a feature's own constraint wins over the global one; several ranks need table_wise, row_wise or data_parallel", () => {
  const cfg = parsePipelineConfig(
    config(
      'embedding_constraints { sharding_types: "data_parallel" }',
      'global_embedding_constraints { sharding_types: ["table_row_wise"] }',
    ),
    { fileName: 'p.config' },
  );
  expect(shardingConstraints(cfg).map((c) => [c.feature, c.types.join(',')])).toEqual([
    ['user', 'data_parallel'],
    ['item', 'table_row_wise'],
  ]);
  expect(shardingProblems(cfg, 1)).toEqual([]);
  const rowWise = parsePipelineConfig(config('', 'global_embedding_constraints { sharding_types: "row_wise" }'));
  expect(shardingProblems(rowWise, 4)).toEqual([]);
  expect(shardingProblems(cfg, 2)).toEqual([
    {
      path: 'train_config.global_embedding_constraints.sharding_types',
      message:
        "sharding_types [table_row_wise] for feature 'item': at 2 ranks tsrec places a table on one rank (table_wise), in blocks of rows over every rank (row_wise) or on every rank (data_parallel); table_row_wise is not supported yet by tsrec — add one of those to the list or run one process",
    },
  ]);
});
