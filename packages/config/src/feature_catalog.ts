import type { Message } from '@bufbuild/protobuf';
import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import { FeatureConfigSchema, SeqFeatureConfigSchema } from './gen/tsrec/protos/feature_pb';
import { hasIfField, oneofCase } from './proto_access';

/** The fields common to tsrec's feature messages, read loosely (not every type has each). */
export interface AnyFeatureMessage extends Message {
  featureName?: string;
  embeddingName?: string;
  embeddingDim?: number;
  hashBucketSize?: bigint;
  numBuckets?: bigint;
  vocabList?: string[];
  vocabDict?: Record<string, bigint>;
  vocabFile?: string;
  boundaries?: number[];
  pooling?: string;
  normalizer?: string;
  valueDim?: number;
  defaultBucketizeValue?: bigint;
  initFn?: string;
}

/** One feature as feature groups see it. */
export interface FeatureInfo {
  /** Name used in feature_names; "<sequence_name>__<name>" for sub-features of a sequence_feature. */
  name: string;
  /** FeatureConfig oneof member, e.g. "id_feature", "sequence_raw_feature"; sub-features use their own member name. */
  kind: string;
  /** Field path of the feature message, e.g. "feature_configs[3].id_feature". */
  path: string;
  /** A per-step (sequence) feature: sequence_* kinds and sub-features of a sequence_feature. */
  isSequence: boolean;
  /** The grouped sequence_feature it belongs to. */
  sequenceName?: string;
  /** Has an embedding table (ids), as opposed to dense values. */
  isSparse: boolean;
  /** Embedding width (0 for dense features). */
  embeddingDim: number;
  /** Table name: embedding_name when set, else the feature name. */
  tableName: string;
  /** Rows the feature's ids need (undefined when only known at run time, e.g. vocab_file). */
  numRows?: number;
  /** How a bag of ids is pooled (the feature's `pooling`, TorchEasyRec's default "sum"). */
  pooling: 'sum' | 'mean';
  message: AnyFeatureMessage;
}

const ID_LIKE = new Set(['id_feature', 'combo_feature', 'bool_mask_feature', 'tokenize_feature']);

function caseToName(schema: typeof FeatureConfigSchema | typeof SeqFeatureConfigSchema, localName: string): string {
  return schema.oneofs[0].fields.find((f) => f.localName === localName)!.name;
}

/** Table rows implied by a feature's bucketizer, if known before reading data. */
export function numRowsOf(f: AnyFeatureMessage): number | undefined {
  if (hasIfField(f, 'hash_bucket_size')) return Number(f.hashBucketSize);
  if (hasIfField(f, 'num_buckets')) return Number(f.numBuckets);
  // Vocabularies reserve rows for the default value and out-of-vocabulary ids (TorchEasyRec).
  const reserved = hasIfField(f, 'default_bucketize_value') ? 0 : 2;
  if (f.vocabList && f.vocabList.length > 0) return f.vocabList.length + reserved;
  if (f.vocabDict && Object.keys(f.vocabDict).length > 0) {
    return Math.max(...Object.values(f.vocabDict).map(Number)) + 1;
  }
  if (f.boundaries && f.boundaries.length > 0) return f.boundaries.length + 1;
  return undefined;
}

/** Whether a feature of this kind produces ids (and so needs an embedding table). */
export function isSparseFeature(kind: string, f: AnyFeatureMessage): boolean {
  const base = kind.replace(/^sequence_/, '');
  if (ID_LIKE.has(base)) return true;
  if (f.boundaries && f.boundaries.length > 0) return true;
  if (hasIfField(f, 'hash_bucket_size') || hasIfField(f, 'num_buckets')) return true;
  if ((f.vocabList?.length ?? 0) > 0 || Object.keys(f.vocabDict ?? {}).length > 0 || (f.vocabFile ?? '') !== '')
    return true;
  return false;
}

function info(
  kind: string,
  path: string,
  f: AnyFeatureMessage,
  isSequence: boolean,
  sequenceName?: string,
): FeatureInfo {
  const base = f.featureName ?? '';
  const name = sequenceName !== undefined ? `${sequenceName}__${base}` : base;
  const isSparse = isSparseFeature(kind, f);
  return {
    name,
    kind,
    path,
    isSequence,
    sequenceName,
    isSparse,
    embeddingDim: isSparse ? (f.embeddingDim ?? 0) : 0,
    tableName: f.embeddingName ? f.embeddingName : name,
    numRows: isSparse ? numRowsOf(f) : undefined,
    pooling: (f.pooling ?? '').toLowerCase() === 'mean' ? 'mean' : 'sum',
    message: f,
  };
}

/** Every feature of a config, in order, with grouped sequence sub-features expanded. */
export function listFeatures(config: EasyRecConfig): FeatureInfo[] {
  const out: FeatureInfo[] = [];
  config.featureConfigs.forEach((fc, i) => {
    if (fc.feature.case === undefined) return;
    const kind = caseToName(FeatureConfigSchema, fc.feature.case);
    const path = `feature_configs[${i}].${kind}`;
    if (fc.feature.case === 'sequenceFeature') {
      const seq = fc.feature.value;
      seq.features.forEach((sub, j) => {
        if (sub.feature.case === undefined) return;
        const subKind = caseToName(SeqFeatureConfigSchema, sub.feature.case);
        out.push(
          info(
            subKind,
            `${path}.features[${j}].${subKind}`,
            sub.feature.value as AnyFeatureMessage,
            true,
            seq.sequenceName,
          ),
        );
      });
      return;
    }
    out.push(info(kind, path, fc.feature.value as AnyFeatureMessage, kind.startsWith('sequence_')));
  });
  return out;
}

/** The FeatureConfig oneof member set on each feature_configs entry (undefined when empty). */
export function featureKinds(config: EasyRecConfig): (string | undefined)[] {
  return config.featureConfigs.map((fc) => oneofCase(fc, 'feature'));
}
