import * as os from 'node:os';
import * as path from 'node:path';
import { isFieldSet } from '@bufbuild/protobuf';
import { type DataConfig, DataConfigSchema, DatasetType, type EasyRecConfig, TrainConfigSchema } from '@tsrec/config';
import type { BadDataPolicy, BadDataSummary } from './bad_data';
import { fromPipelineConfig } from './config_adapter';
import { DataLoader, type DataLoaderOptions } from './data_loader';
import type { LabelRule } from './feature_spec';

/** What a config-driven loader is for: training (train_input_path, shuffled), evaluation or prediction (eval_input_path unless given). */
export type LoaderMode = 'train' | 'eval' | 'predict';

/** Run settings of `createDataLoaderFromConfig`; everything else comes from the config. */
export interface ConfigDataLoaderOptions {
  mode: LoaderMode;
  /** This process's part of the data (default 0 of 1). */
  rank?: number;
  worldSize?: number;
  /** Overrides train_input_path / eval_input_path (as the CLI flags --train_input_path / --eval_input_path do). */
  inputPath?: string | string[];
  /** Relative input paths resolve against this directory (default: the working directory). */
  baseDir?: string;
  /** Overrides data_config.num_workers (unset there: TorchEasyRec's 8, at most the CPU count). */
  numWorkers?: number;
  /** Overrides batch_size / eval_batch_size. */
  batchSize?: number;
  /** Passes over the data; default: train_config.num_epochs in train mode (unbounded when num_steps is set instead), else 1. */
  numEpochs?: number;
  /** Shuffle seed (default 0). */
  seed?: number;
  /** Columns copied as text into predict batches (`batch.reserved`). */
  reservedColumns?: string[];
  /** What each label must be, from the model's losses (@tsrec/models' `labelRulesOf`). */
  labelRules?: Record<string, LabelRule[]>;
  /** Predict mode reads no labels unless this is true. */
  predictWithLabels?: boolean;
  prefetch?: number;
  onEpochEnd?: (epoch: number, badData: BadDataSummary) => void;
}

/** The DataLoader options a pipeline config asks for in a mode. */
export function dataLoaderOptionsFromConfig(config: EasyRecConfig, o: ConfigDataLoaderOptions): DataLoaderOptions {
  const dc = config.dataConfig;
  if (!dc) throw new Error('Expected a data_config in the pipeline config but received none');
  const mode = o.mode;
  if (mode !== 'train' && mode !== 'eval' && mode !== 'predict')
    throw new TypeError(`Expected train, eval or predict for mode but received ${JSON.stringify(mode)}`);
  const train = mode === 'train';

  let inputPath = o.inputPath ?? (train ? config.trainInputPath : config.evalInputPath);
  const pathField = train ? 'train_input_path' : 'eval_input_path';
  if (!inputPath || (Array.isArray(inputPath) && inputPath.length === 0))
    throw new Error(`Expected an input path in ${pathField} (or the inputPath option) for ${mode} but received none`);
  const base = o.baseDir ?? process.cwd();
  const list = (Array.isArray(inputPath) ? inputPath : inputPath.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '');
  inputPath = list.map((p) => (path.isAbsolute(p) ? p : path.resolve(base, p)));

  const datasetType = datasetTypeOf(dc);
  const policy = dc.malformedRowPolicy;
  if (policy !== 'fail' && policy !== 'skip')
    throw new Error(
      `Expected "fail" or "skip" for data_config.malformed_row_policy but received ${JSON.stringify(policy)}`,
    );

  const batchSize =
    o.batchSize ?? (!train && isFieldSet(dc, DataConfigSchema.field.evalBatchSize) ? dc.evalBatchSize : dc.batchSize);
  const numWorkers =
    o.numWorkers ??
    (isFieldSet(dc, DataConfigSchema.field.numWorkers) ? dc.numWorkers : Math.min(dc.numWorkers, availableCpus()));

  let numEpochs = o.numEpochs;
  if (numEpochs === undefined) {
    const tc = config.trainConfig;
    if (train && tc && isFieldSet(tc, TrainConfigSchema.field.numEpochs)) numEpochs = tc.numEpochs;
    else if (train && tc && isFieldSet(tc, TrainConfigSchema.field.numSteps)) numEpochs = Infinity;
    else numEpochs = 1;
  }

  const inputFields = dc.inputFields.map((f) => f.inputName);
  if (inputFields.length === 0 && dc.inputFieldsStr)
    for (const part of dc.inputFieldsStr.split(';')) if (part.trim()) inputFields.push(part.split(':')[0].trim());

  const labels = mode !== 'predict' || !!o.predictWithLabels;
  return {
    inputPath,
    datasetType,
    features: {
      ...fromPipelineConfig(config, { labels, reservedColumns: o.reservedColumns }),
      labelRules: labels ? o.labelRules : undefined,
    },
    batchSize,
    delimiter: isFieldSet(dc, DataConfigSchema.field.delimiter) ? dc.delimiter : undefined,
    withHeader: isFieldSet(dc, DataConfigSchema.field.withHeader) ? dc.withHeader : undefined,
    inputFields: inputFields.length > 0 ? inputFields : undefined,
    numEpochs,
    shuffle: train && dc.shuffle,
    shuffleBufferSize: dc.shuffleBufferSize,
    seed: o.seed ?? 0,
    dropRemainder: train && dc.dropRemainder,
    rank: o.rank ?? 0,
    worldSize: o.worldSize ?? 1,
    // Training ranks step together; evaluation and prediction ranks cover every row between them.
    equalRankRows: train,
    badDataPolicy: policy as BadDataPolicy,
    numWorkers,
    prefetch: o.prefetch,
    onEpochEnd: o.onEpochEnd,
  };
}

/**
 * A DataLoader configured by a pipeline config (TorchEasyRec's EasyRecConfig): input paths,
 * batch sizes, dataset type, CSV layout, labels and sample weights, shuffling, drop_remainder,
 * workers, fg_mode and the feature configs, and the malformed-row policy.
 */
export function createDataLoaderFromConfig(config: EasyRecConfig, options: ConfigDataLoaderOptions): DataLoader {
  return new DataLoader(dataLoaderOptionsFromConfig(config, options));
}

function datasetTypeOf(dc: DataConfig): 'CsvDataset' | 'ParquetDataset' | undefined {
  // Unset: decided by the first file's extension (.parquet or not).
  if (!isFieldSet(dc, DataConfigSchema.field.datasetType)) return undefined;
  if (dc.datasetType === DatasetType.CsvDataset) return 'CsvDataset';
  if (dc.datasetType === DatasetType.ParquetDataset) return 'ParquetDataset';
  throw new Error(
    `Expected CsvDataset or ParquetDataset for data_config.dataset_type but received ${DatasetType[dc.datasetType] ?? dc.datasetType} (not supported yet)`,
  );
}

function availableCpus(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}
