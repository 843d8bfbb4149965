import { criteoDeepFmText } from '../default_example';

/**
 * The benchmarks' workload: DeepFM on the dlrm26 table shapes (25 tables of 1,000,000 rows and
 * one of 10,000,000, dim 16, plus the 4-wide `wide` tables), 13 dense features, row-wise Adagrad
 * (sparse) and Adam (dense), reading a TSV without shuffling; no checkpoints or TensorBoard.
 */
export function dlrm26DeepFmConfig(o: {
  train: string;
  modelDir: string;
  steps: number;
  batch: number;
  workers: number;
  /** train_config.global_embedding_constraints.sharding_types (default: none, the planner's choice). */
  shardingTypes?: string[];
}): string {
  return `
train_input_path: "${o.train}"
model_dir: "${o.modelDir}"
train_config {
  sparse_optimizer { rowwise_adagrad_optimizer { lr: 0.01 } constant_learning_rate {} }
  dense_optimizer { adam_optimizer { lr: 0.001 } constant_learning_rate {} }
  num_steps: ${o.steps}
  save_checkpoints_steps: 100000
  log_step_count_steps: 10
  use_tensorboard: false${o.shardingTypes ? `\n  global_embedding_constraints { sharding_types: [${o.shardingTypes.map((t) => `"${t}"`).join(', ')}] }` : ''}
}
data_config {
  batch_size: ${o.batch}
  dataset_type: CsvDataset
  delimiter: "\\t"
  with_header: true
  fg_mode: FG_NORMAL
  label_fields: "label"
  num_workers: ${o.workers}
  shuffle: false
}
${criteoDeepFmText((k) => (k === 25 ? 10_000_000 : 1_000_000), '')}`;
}
