/**
 * Local stand-ins for the config types of `@tsrec/config` (TorchEasyRec's feature.proto and
 * data.proto, as protobuf-es generates them: camelCase fields, oneofs as `{ case, value }`).
 * They hold only the fields the data package reads, with the same names, so switching to the
 * generated types is an import change. TODO(data): import from @tsrec/config once it lands.
 */

/** IdFeature: categorical ids, hashed, numbered or looked up in a vocabulary. */
export interface IdFeatureConfig {
  featureName: string;
  expression?: string;
  embeddingDim?: number;
  hashBucketSize?: number | bigint;
  numBuckets?: number | bigint;
  vocabList?: string[];
  vocabDict?: Record<string, number | bigint>;
  vocabFile?: string;
  defaultBucketizeValue?: number | bigint;
  pooling?: string;
  defaultValue?: string;
  separator?: string;
  weighted?: boolean;
  embeddingName?: string;
  valueDim?: number;
  fgEncodedDefaultValue?: string;
}

/** RawFeature: numbers (value_dim of them), optionally bucketized by boundaries. */
export interface RawFeatureConfig {
  featureName: string;
  expression?: string;
  embeddingDim?: number;
  boundaries?: number[];
  valueDim?: number;
  normalizer?: string;
  pooling?: string;
  defaultValue?: string;
  separator?: string;
  embeddingName?: string;
  fgEncodedDefaultValue?: string;
}

/** ComboFeature: the cross product of several id inputs, hashed or looked up. */
export interface ComboFeatureConfig {
  featureName: string;
  expression: string[];
  embeddingDim?: number;
  hashBucketSize?: number | bigint;
  vocabList?: string[];
  vocabDict?: Record<string, number | bigint>;
  vocabFile?: string;
  defaultBucketizeValue?: number | bigint;
  pooling?: string;
  defaultValue?: string;
  separator?: string;
  embeddingName?: string;
  fgEncodedDefaultValue?: string;
}

/** LookupFeature: values of a `k1:v1<sep>k2:v2` map at the keys of another input. */
export interface LookupFeatureConfig {
  featureName: string;
  map: string;
  key: string;
  embeddingDim?: number;
  boundaries?: number[];
  hashBucketSize?: number | bigint;
  numBuckets?: number | bigint;
  vocabList?: string[];
  vocabDict?: Record<string, number | bigint>;
  defaultBucketizeValue?: number | bigint;
  pooling?: string;
  combiner?: string;
  defaultValue?: string;
  separator?: string;
  needDiscrete?: boolean;
  needKey?: boolean;
  normalizer?: string;
  valueDim?: number;
  embeddingName?: string;
  fgEncodedDefaultValue?: string;
}

/** ExprFeature: an arithmetic expression over numeric inputs. */
export interface ExprFeatureConfig {
  featureName: string;
  expression: string;
  variables: string[];
  embeddingDim?: number;
  boundaries?: number[];
  pooling?: string;
  defaultValue?: string;
  separator?: string;
  embeddingName?: string;
  fgEncodedDefaultValue?: string;
}

/** SequenceIdFeature: a sequence of ids (one column, elements split by sequence_delim). */
export interface SequenceIdFeatureConfig extends IdFeatureConfig {
  sequenceLength?: number;
  sequenceDelim?: string;
}

/** SequenceRawFeature: a sequence of value_dim-wide numbers. */
export interface SequenceRawFeatureConfig extends RawFeatureConfig {
  sequenceLength?: number;
  sequenceDelim?: string;
}

/** One sub-feature of a grouped SequenceFeature. */
export interface SeqFeatureConfig {
  feature: { case: 'idFeature'; value: IdFeatureConfig } | { case: 'rawFeature'; value: RawFeatureConfig };
}

/** SequenceFeature: several sub-features over one sequence (TorchEasyRec's grouped sequence). */
export interface SequenceFeatureConfig {
  sequenceName: string;
  sequenceLength?: number;
  sequenceDelim?: string;
  sequencePk?: string;
  features: SeqFeatureConfig[];
}

/** One feature config: a oneof, as protobuf-es represents it. */
export interface FeatureConfig {
  feature:
    | { case: 'idFeature'; value: IdFeatureConfig }
    | { case: 'rawFeature'; value: RawFeatureConfig }
    | { case: 'comboFeature'; value: ComboFeatureConfig }
    | { case: 'lookupFeature'; value: LookupFeatureConfig }
    | { case: 'exprFeature'; value: ExprFeatureConfig }
    | { case: 'sequenceIdFeature'; value: SequenceIdFeatureConfig }
    | { case: 'sequenceRawFeature'; value: SequenceRawFeatureConfig }
    | { case: 'sequenceFeature'; value: SequenceFeatureConfig }
    | { case: undefined; value?: undefined };
}

/** TorchEasyRec's FgMode: FG_NONE (inputs already encoded) or the raw modes that run feature generation. */
export type FgMode = 'FG_NONE' | 'FG_NORMAL' | 'FG_DAG';

/** One input field of the data (DataConfig.input_fields). */
export interface InputField {
  inputName: string;
  /** TorchEasyRec FieldType name: INT32, INT64, STRING, FLOAT, DOUBLE, ... (informational here). */
  inputType?: string;
}

/** The part of DataConfig the readers use. */
export interface DataConfig {
  batchSize?: number;
  datasetType?: string;
  fgMode?: FgMode;
  fgEncodedMultivalSep?: string;
  labelFields?: string[];
  sampleWeightFields?: string[];
  inputFields?: InputField[];
  /** CSV: the first line names the columns (default: true when input_fields is empty). */
  withHeader?: boolean;
  delimiter?: string;
  shuffle?: boolean;
  shuffleBufferSize?: number;
  dropRemainder?: boolean;
  numWorkers?: number;
}

/** Accepts a number or bigint config value as a safe integer. */
export function asInt(v: number | bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  return n;
}
