/**
 * The feature engine's own, plain form of a feature config: the fields of @tsrec/config's
 * generated types (TorchEasyRec's feature.proto) with the same camelCase names and oneof shape,
 * but optional, `undefined` meaning "not set". `fromPipelineConfig` / `featureSpecsFromConfig`
 * (config_adapter.ts) build it from loaded configs; it is plain data, so it can be sent to the
 * worker threads as it is. Users pass @tsrec/config types; these are internal.
 */

import type { FeatureConfig, FgMode } from '@tsrec/config';

/** IdFeature: categorical ids, hashed, numbered or looked up in a vocabulary. */
export interface IdFeatureSpec {
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
export interface RawFeatureSpec {
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
export interface ComboFeatureSpec {
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
export interface LookupFeatureSpec {
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
export interface ExprFeatureSpec {
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
export interface SequenceIdFeatureSpec extends IdFeatureSpec {
  sequenceLength?: number;
  sequenceDelim?: string;
}

/** SequenceRawFeature: a sequence of value_dim-wide numbers. */
export interface SequenceRawFeatureSpec extends RawFeatureSpec {
  sequenceLength?: number;
  sequenceDelim?: string;
}

/** One sub-feature of a grouped SequenceFeature. */
export interface SeqFeatureSpec {
  feature: { case: 'idFeature'; value: IdFeatureSpec } | { case: 'rawFeature'; value: RawFeatureSpec };
}

/** SequenceFeature: several sub-features over one sequence (TorchEasyRec's grouped sequence). */
export interface SequenceFeatureSpec {
  sequenceName: string;
  sequenceLength?: number;
  sequenceDelim?: string;
  sequencePk?: string;
  features: SeqFeatureSpec[];
}

/** One feature config: a oneof, as protobuf-es represents it. */
export interface FeatureSpec {
  feature:
    | { case: 'idFeature'; value: IdFeatureSpec }
    | { case: 'rawFeature'; value: RawFeatureSpec }
    | { case: 'comboFeature'; value: ComboFeatureSpec }
    | { case: 'lookupFeature'; value: LookupFeatureSpec }
    | { case: 'exprFeature'; value: ExprFeatureSpec }
    | { case: 'sequenceIdFeature'; value: SequenceIdFeatureSpec }
    | { case: 'sequenceRawFeature'; value: SequenceRawFeatureSpec }
    | { case: 'sequenceFeature'; value: SequenceFeatureSpec }
    | { case: undefined; value?: undefined };
}

/** TorchEasyRec's FgMode by name: FG_NONE (inputs already encoded) or the raw modes that run feature generation. */
export type FgModeName = 'FG_NONE' | 'FG_NORMAL' | 'FG_DAG';

/** Accepts a number or bigint config value as a safe integer. */
export function asInt(v: number | bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  return n;
}

/** Options of the feature engine (DataConfig fields plus the feature configs). */
export interface FeatureEngineOptions {
  /** @tsrec/config FeatureConfig messages (or their plain specs, feature_spec.ts). */
  featureConfigs: ReadonlyArray<FeatureConfig | FeatureSpec>;
  /** FG_NONE (default): inputs already encoded; FG_NORMAL / FG_DAG: generate from raw columns. */
  fgMode?: FgModeName | FgMode;
  /** Multi-value separator of encoded (FG_NONE) inputs; default "\x03" as TorchEasyRec. */
  fgEncodedMultivalSep?: string;
  labelFields?: string[];
  /**
   * What each label must be, from the model's losses (@tsrec/models' `labelRulesOf`): a value
   * outside is a `bad_label` data error at its file:line:column. Labels without rules only need
   * to be finite numbers.
   */
  labelRules?: Record<string, LabelRule[]>;
  sampleWeightFields?: string[];
  /** Columns copied as text into the batch (predict output). */
  reservedColumns?: string[];
}

/** Label values a loss accepts (the same shape as @tsrec/models' LabelRule). */
export type LabelRule =
  | { kind: 'probability'; loss: string }
  | { kind: 'class'; numClass: number; loss: string }
  | { kind: 'real'; loss: string }
  | { kind: 'none'; loss: string };

/** Why `v` breaks `rule`, or null when it does not. */
export function labelRuleViolation(rule: LabelRule, v: number): string | null {
  switch (rule.kind) {
    case 'probability':
      return v >= 0 && v <= 1 ? null : `${rule.loss} expects labels in [0, 1]`;
    case 'class':
      return Number.isInteger(v) && v >= 0 && v < rule.numClass
        ? null
        : `${rule.loss} expects integer class ids in [0, ${rule.numClass})`;
    default:
      return null;
  }
}
