/**
 * @tsrec/data: readers (CSV/TSV, Parquet), the feature engine, keyed jagged batches and the
 * synthetic Criteo-like data set. This file is the package's public surface (checked by
 * test/api_surface.test.ts against packages/data/api.txt): everything else is internal.
 */

// Batches: what the loaders yield and the models consume.
export { KeyedJaggedBatch } from './keyed_jagged_batch';
export type { KeyedJaggedBatchMessage } from './keyed_jagged_batch';
export type { Batch, SequenceDense } from './batch';

// Reading: a pipeline config's inputs, or files with explicit options.
export { createDataLoaderFromConfig } from './config_data_loader';
export type { ConfigDataLoaderOptions, LoaderMode } from './config_data_loader';
export { DataLoader, createDataLoader } from './data_loader';
export type { DataLoaderOptions } from './data_loader';
export { expandInputPaths } from './input_files';

// Features: the engine that turns rows into batches, built from feature configs.
export { FeatureEngine } from './feature_engine';
export type { TableInfo } from './feature_engine';
export { fromPipelineConfig } from './config_adapter';
export type { FeatureEngineOptions, FeatureSpec, FgModeName, LabelRule } from './feature_spec';

// Bad data: located errors, the skip/fail policy and its summary.
export { DataError, formatBadDataSummary } from './bad_data';
export type { BadDataPolicy, BadDataReason, BadDataSummary, DataLocation } from './bad_data';

// The synthetic Criteo-like set (labels from a planted model).
export {
  CriteoSynthetic,
  DEFAULT_CARDINALITIES,
  criteoFeatureConfigs,
  writeCriteoParquet,
  writeCriteoTsv,
} from './synthetic/criteo_synthetic';
export type { CriteoChunk, CriteoSyntheticOptions, SyntheticReport } from './synthetic/criteo_synthetic';
