/**
 * @tsrec/trainer: the train/eval loop, checkpoints, export, the predictor and the `tsrec` CLI.
 */
export { trainAndEvaluate, formatMetrics } from './train_eval';
export type { TrainEvalOptions, TrainSummary } from './train_eval';
export { evaluate, groupingKeysOf, groupsOf } from './evaluate';
export type { EvalResult, EvaluateOptions } from './evaluate';
export { evaluateCheckpoint } from './eval_checkpoint';
export { buildModel, modelFeatures } from './model_setup';
export type { ModelSetup, CollectionEntry, BuildModelOptions } from './model_setup';
export {
  DenseOptimizer,
  denseGroupsFromConfig,
  denseGroupFromConfig,
  clipGradients,
  clipSettingsFromConfig,
} from './dense_optimizer';
export type { DenseRule, DenseGroup, ClipSettings } from './dense_optimizer';
export { sparseOptimizerFromConfig } from './sparse_optimizer';
export type { SparseOptimizerSettings } from './sparse_optimizer';
export {
  saveCheckpoint,
  restoreCheckpoint,
  listCheckpoints,
  latestCheckpoint,
  resolveCheckpoint,
  readManifest,
  pruneCheckpoints,
  removeIncompleteCheckpoints,
  CHECKPOINT_PREFIX,
} from './checkpoint';
export type { CheckpointManifest, CheckpointRef, TrainingPosition, RestoreOptions } from './checkpoint';
export { EarlyStopper } from './early_stop';
export type { BestCheckpoint } from './early_stop';
export { exportModel, loadExportConfig } from './export';
export type { ExportInfo, ExportOptions } from './export';
export { Predictor } from './predictor';
export type { PredictionArrays } from './predictor';
export { main as cliMain, parseArgs, usage } from './cli';
export { UsageError } from './usage_error';
export { createLearningRateSchedule } from './lr_schedule';
export type { LearningRateSchedule } from './lr_schedule';
export { SummaryWriter, readEventFile } from './tensorboard';
export { writeSafetensors, readSafetensors, openSafetensors } from './safetensors';
export { ProgressReporter } from './progress';
