/**
 * @tsrec/trainer: the train/eval loop, checkpoints, export, the predictor and the `tsrec` CLI.
 * This file is the package's public surface (checked by test/api_surface.test.ts against
 * packages/trainer/api.txt): the programmatic form of each CLI command, what a model_dir and an
 * export hold, and the default example. Everything else is internal.
 */

// The commands: train_eval, eval, export, predict, and the CLI itself.
export { trainAndEvaluate, formatMetrics } from './train_eval';
export type { TrainEvalOptions, TrainSummary } from './train_eval';
export { evaluateCheckpoint } from './eval_checkpoint';
export type { EvalCheckpointOptions } from './eval_checkpoint';
export type { EvalResult } from './evaluate';
export { exportModel } from './export';
export type { ExportInfo, ExportOptions } from './export';
export { Predictor } from './predictor';
export { formatPlan, planDistributed } from './plan';
export type { DistributedPlan, PlanOptions, PlannedCollective } from './plan';
export type { Placement, ShardingPlan, TablePlacement } from './sharding_plan';
export type { PredictionArrays } from './predictor';
export { main as cliMain } from './cli';

// Reading what training wrote: checkpoints, safetensors files, TensorBoard events.
export { listCheckpoints, latestCheckpoint, readManifest } from './checkpoint';
export type { CheckpointManifest, CheckpointRef, TrainingPosition } from './checkpoint';
export { openSafetensors, readSafetensors } from './safetensors';
export { readEventFile } from './tensorboard';

// The embedded default example (`npx nx run trainer:train`).
export { exampleConfigText, prepareExampleData, runDefaultExample } from './default_example';
export type { ExampleData } from './default_example';
