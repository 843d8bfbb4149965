/**
 * @tsrec/data: readers (CSV/TSV, Parquet), the feature engine, keyed jagged batches and the
 * synthetic Criteo-like data set.
 */
export { KeyedJaggedBatch } from './keyed_jagged_batch';
export type { KeyedJaggedBatchMessage } from './keyed_jagged_batch';
export type { Batch, SequenceDense } from './batch';
export { concatBatches, sliceBatch, takeRows, transferList, packBatch, reviveBatch } from './batch';
export { BadDataReport, DataError, formatBadDataSummary } from './bad_data';
export type { BadDataPolicy, BadDataReason, BadDataSummary, DataLocation } from './bad_data';
export type * from './feature_spec';
export {
  fromPipelineConfig,
  featureSpecFromConfig,
  featureSpecsFromConfig,
  fgModeOf,
  fgModeName,
} from './config_adapter';
export { createDataLoaderFromConfig, dataLoaderOptionsFromConfig } from './config_data_loader';
export type { ConfigDataLoaderOptions, LoaderMode } from './config_data_loader';
export { padSparseSequence, padDenseSequence } from './sequence_padding';
export { FeatureEngine } from './feature_engine';
export type { FeatureEngineOptions, TableInfo } from './feature_engine';
export type { Feature } from './features/feature';
export { compileExpression } from './features/expr_evaluator';
export { parseNormalizer, bucketize } from './features/normalizer';
export {
  delimitedFormat,
  frameRows,
  splitFields,
  newRowFrames,
  FieldTable,
  firstInvalidUtf8,
} from './delimited_splitter';
export type { DelimitedFormat, RowFrames, SplitError } from './delimited_splitter';
export { nativeFieldKernels, useNativeFieldKernels } from './native_fields';
export { parseNumber, parseInteger } from './number_parser';
export { DelimitedBlock, ValueBlock } from './raw_block';
export type { RawBlock, RawColumn } from './raw_block';
export { DataLoader, createDataLoader } from './data_loader';
export type { DataLoaderOptions } from './data_loader';
export { expandInputPaths } from './input_files';
export { Rng } from './random';
export { exactAuc } from './auc';
export {
  CriteoSynthetic,
  CRITEO_COLUMNS,
  DEFAULT_CARDINALITIES,
  criteoFeatureConfigs,
  plantedAuc,
  writeCriteoParquet,
  writeCriteoTsv,
} from './synthetic/criteo_synthetic';
export type { CriteoChunk, CriteoSyntheticOptions, SyntheticReport } from './synthetic/criteo_synthetic';
