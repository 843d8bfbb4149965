// What tsrec can run, as data: validation, docs and error messages read these tables.
// Everything else in the schema parses (so TorchEasyRec configs load) but is reported by
// validate() as "not supported yet". Remove an entry here when the trainer learns it.

/** Models tsrec trains. */
export const SUPPORTED_MODELS: readonly string[] = [
  'deepfm',
  'wide_and_deep',
  'dlrm',
  'dcn_v1',
  'dcn_v2',
  'multi_tower',
  'mask_net',
  'xdeepfm',
  'simple_multi_task',
  'mmoe',
  'ple',
  'dssm',
];

/** Multi-task models: losses and metrics live in task_towers. */
export const MULTI_TASK_MODELS: readonly string[] = ['simple_multi_task', 'mmoe', 'ple', 'dbmtl', 'dc2vr', 'pepnet'];

/** Retrieval (two-tower) models. */
export const MATCH_MODELS: readonly string[] = ['dssm', 'dssm_v2', 'dat', 'tdm'];

/** Feature types (FeatureConfig oneof members) that tsrec's feature engine handles. */
export const SUPPORTED_FEATURES: readonly string[] = [
  'id_feature',
  'raw_feature',
  'combo_feature',
  'lookup_feature',
  'expr_feature',
  'sequence_feature',
  'sequence_id_feature',
  'sequence_raw_feature',
];

/** Sub-feature types inside a grouped sequence_feature that tsrec handles. */
export const SUPPORTED_SEQUENCE_SUBFEATURES: readonly string[] = ['id_feature', 'raw_feature'];

/** Dataset types tsrec reads. */
export const SUPPORTED_DATASETS: readonly string[] = ['CsvDataset', 'ParquetDataset'];

/** Feature-generation modes tsrec runs (the feature engine does bucketization and generation). */
export const SUPPORTED_FG_MODES: readonly string[] = ['FG_NONE', 'FG_NORMAL', 'FG_DAG'];

/** Sparse (embedding) optimizers with fused native kernels. */
export const SUPPORTED_SPARSE_OPTIMIZERS: readonly string[] = [
  'sgd_optimizer',
  'adagrad_optimizer',
  'adam_optimizer',
  'rowwise_adagrad_optimizer',
];

/** Dense optimizers. */
export const SUPPORTED_DENSE_OPTIMIZERS: readonly string[] = [
  'sgd_optimizer',
  'adagrad_optimizer',
  'adam_optimizer',
  'adamw_optimizer',
];

/** Learning-rate schedules. */
export const SUPPORTED_LR_SCHEDULES: readonly string[] = [
  'constant_learning_rate',
  'exponential_decay_learning_rate',
  'manual_step_learning_rate',
  'cosine_annealing_learning_rate',
  'polynomial_decay_learning_rate',
];

/** Losses with fused native kernels. */
export const SUPPORTED_LOSSES: readonly string[] = [
  'binary_cross_entropy',
  'softmax_cross_entropy',
  'l2_loss',
  'binary_focal_loss',
];

/** Metrics. */
export const SUPPORTED_METRICS: readonly string[] = [
  'auc',
  'grouped_auc',
  'multiclass_auc',
  'recall_at_k',
  'mean_absolute_error',
  'mean_squared_error',
  'accuracy',
  'normalized_entropy',
];

/** Sequence encoders. */
export const SUPPORTED_SEQ_ENCODERS: readonly string[] = ['pooling_encoder'];

/** MLP activations (TorchEasyRec spelling). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = [
  'nn.ReLU',
  'nn.Sigmoid',
  'nn.Tanh',
  'nn.LeakyReLU',
  'nn.GELU',
  'nn.SiLU',
  'nn.ELU',
  '',
];

/**
 * Fields that parse but that tsrec ignores today: validate() reports each one that is set to
 * a value other than its default, wherever the message appears. Keyed by message type name.
 */
export const UNSUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  EasyRecConfig: ['item_input_path'],
  DataConfig: [
    'sample_mask_prob',
    'negative_sample_mask_prob',
    'force_base_data_group',
    'sample_cost_field',
    'batch_cost_size',
    'input_fields_str',
    'min_batch_size',
    'negative_sampler',
    'negative_sampler_v2',
    'hard_negative_sampler',
    'hard_negative_sampler_v2',
    'tdm_sampler',
  ],
  IdFeature: [
    'zch',
    'dynamicemb',
    'use_mask',
    'init_fn',
    'data_type',
    'trainable',
    'stub_type',
    'embedding_constraints',
    'sequence_fields',
    'fg_value_type',
  ],
  RawFeature: [
    'autodis',
    'mlp',
    'use_mask',
    'init_fn',
    'data_type',
    'trainable',
    'stub_type',
    'embedding_constraints',
    'sequence_fields',
  ],
  ComboFeature: [
    'zch',
    'dynamicemb',
    'use_mask',
    'init_fn',
    'data_type',
    'trainable',
    'stub_type',
    'embedding_constraints',
    'sequence_fields',
  ],
  LookupFeature: [
    'zch',
    'dynamicemb',
    'autodis',
    'mlp',
    'use_mask',
    'init_fn',
    'data_type',
    'trainable',
    'stub_type',
    'embedding_constraints',
    'sequence_fields',
    'fg_value_type',
  ],
  ExprFeature: [
    'autodis',
    'mlp',
    'use_mask',
    'init_fn',
    'data_type',
    'trainable',
    'stub_type',
    'embedding_constraints',
    'sequence_fields',
    'fill_missing',
  ],
  FeatureGroupConfig: ['embedding_name_suffix'],
  SeqGroupConfig: ['embedding_name_suffix'],
  ModelConfig: ['train_metrics', 'variational_dropout', 'use_pareto_loss_weight'],
  TaskTower: ['task_space_indicator_label'],
  TrainConfig: [
    'fine_tune_ckpt_param_map',
    'is_profiling',
    'tensorboard_summaries',
    'global_embedding_constraints',
    'mixed_precision',
    'grad_scaler',
  ],
  GradClipping: ['enable_global_grad_clip'],
  ExportConfig: ['mixed_precision'],
};
