// @tsrec/config: the pipeline config schema (generated from protos/), its loader with precise
// errors, semantic validation, TorchEasyRec-style edits and text output.

export * from './gen/tsrec/protos/pipeline_pb';
export * from './gen/tsrec/protos/data_pb';
export * from './gen/tsrec/protos/sampler_pb';
export * from './gen/tsrec/protos/feature_pb';
export * from './gen/tsrec/protos/model_pb';
export * from './gen/tsrec/protos/module_pb';
export * from './gen/tsrec/protos/tower_pb';
export * from './gen/tsrec/protos/seq_encoder_pb';
export * from './gen/tsrec/protos/loss_pb';
export * from './gen/tsrec/protos/metric_pb';
export * from './gen/tsrec/protos/simi_pb';
export * from './gen/tsrec/protos/train_pb';
export * from './gen/tsrec/protos/optimizer_pb';
export * from './gen/tsrec/protos/eval_pb';
export * from './gen/tsrec/protos/export_pb';
export * from './gen/tsrec/protos/models/rank_model_pb';
export * from './gen/tsrec/protos/models/multi_task_rank_pb';
export * from './gen/tsrec/protos/models/match_model_pb';
export * from './gen/tsrec/protos/models/general_rank_model_pb';

/** The root config message (TorchEasyRec's EasyRecConfig). */
export type { EasyRecConfig as PipelineConfig } from './gen/tsrec/protos/pipeline_pb';

export { loadPipelineConfig, parsePipelineConfig, type LoadOptions } from './load_pipeline_config';
export { validate, assertValid, InvalidConfigError } from './validate';
export {
  defineModelRules,
  registerModelRules,
  registeredModelRules,
  type ModelRuleContext,
  type ModelRules,
} from './model_rules';
export { formatProblem, type ConfigProblem } from './config_problem';
export { editConfig, type EditValue } from './edit_config';
export { toText, toJsonText, saveConfig } from './to_text';
export { ConfigError, formatIssue, type ConfigIssue } from './config_error';
export { formatLocation, type SourceLocation } from './source_location';
export { formatBytes } from './format_bytes';
export {
  SHARDING_TYPES,
  shardingConstraints,
  shardingProblems,
  type FeatureSharding,
} from './sharding';
export { sourceLocationOf } from './config_locations';
export { listFeatures, type FeatureInfo } from './feature_catalog';
export { parseInitFn, SUPPORTED_INIT_FNS, type EmbeddingInit } from './init_fn';
export { effectiveFgMode } from './fg_mode';
export * as support from './support';
