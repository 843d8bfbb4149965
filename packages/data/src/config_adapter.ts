import { type DescMessage, isFieldSet, type Message } from '@bufbuild/protobuf';
import {
  ComboFeatureSchema,
  type DataConfig,
  type EasyRecConfig,
  ExprFeatureSchema,
  type FeatureConfig,
  effectiveFgMode,
  FgMode,
  IdFeatureSchema,
  LookupFeatureSchema,
  RawFeatureSchema,
  SequenceFeatureSchema,
} from '@tsrec/config';
import type { FeatureEngineOptions, FeatureSpec, FgModeName, SeqFeatureSpec } from './feature_spec';

/**
 * @tsrec/config -> the data package: feature configs become the engine's plain feature specs
 * (feature_spec.ts), with TorchEasyRec's defaults wherever a field is not set
 * (config_data_loader.ts does the same for data_config and the input paths).
 *
 * protobuf-es gives proto2 fields their declared defaults (separator "\x1d", pooling "sum",
 * RawFeature default_value "0", value_dim 1, ...) and zero values otherwise (hash_bucket_size 0n,
 * expression ""), so presence is read with `isFieldSet`: a field that is set is copied, an unset
 * field with a declared default gets that default, any other unset field stays `undefined`
 * ("not set") in the spec.
 */

/** FeatureConfig oneof cases the engine runs, with the spec fields each reads. */
const ID_FIELDS = [
  'featureName',
  'expression',
  'embeddingName',
  'embeddingDim',
  'hashBucketSize',
  'numBuckets',
  'vocabList',
  'vocabDict',
  'vocabFile',
  'valueDim',
  'pooling',
  'defaultValue',
  'separator',
  'weighted',
  'fgEncodedDefaultValue',
  'defaultBucketizeValue',
];
const RAW_FIELDS = [
  'featureName',
  'expression',
  'embeddingName',
  'embeddingDim',
  'boundaries',
  'valueDim',
  'normalizer',
  'pooling',
  'defaultValue',
  'separator',
  'fgEncodedDefaultValue',
];
const SEQ_FIELDS = ['sequenceLength', 'sequenceDelim'];
const COMBO_FIELDS = [
  'featureName',
  'expression',
  'embeddingName',
  'embeddingDim',
  'hashBucketSize',
  'vocabList',
  'vocabDict',
  'vocabFile',
  'pooling',
  'defaultValue',
  'separator',
  'fgEncodedDefaultValue',
  'defaultBucketizeValue',
];
const LOOKUP_FIELDS = [
  'featureName',
  'map',
  'key',
  'embeddingName',
  'embeddingDim',
  'boundaries',
  'hashBucketSize',
  'numBuckets',
  'vocabList',
  'vocabDict',
  'pooling',
  'combiner',
  'defaultValue',
  'separator',
  'needDiscrete',
  'needKey',
  'normalizer',
  'valueDim',
  'fgEncodedDefaultValue',
  'defaultBucketizeValue',
];
const EXPR_FIELDS = [
  'featureName',
  'expression',
  'variables',
  'embeddingName',
  'embeddingDim',
  'boundaries',
  'separator',
  'pooling',
  'defaultValue',
  'fgEncodedDefaultValue',
];

/** Set-only fields that change which ids a feature produces; the engine cannot honour them yet. */
const UNSUPPORTED_FIELDS: Record<string, string> = { zch: 'zch (zero-collision hashing)', dynamicemb: 'dynamicemb' };

/** snake_case of a oneof case name, as users write it in configs. */
function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// Copies the named fields of a message: set -> value, unset with a declared default -> default.
function pick(msg: Message, schema: DescMessage, names: readonly string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const m = msg as unknown as Record<string, unknown>;
  for (const n of names) {
    const f = schema.field[n];
    if (!f) throw new Error(`@tsrec/data: ${schema.typeName} has no field ${n}`);
    if (f.fieldKind === 'list') {
      const v = m[n] as unknown[];
      if (v.length > 0) out[n] = Array.from(v);
    } else if (f.fieldKind === 'map') {
      const v = m[n] as Record<string, unknown>;
      if (Object.keys(v).length > 0) out[n] = { ...v };
    } else if (isFieldSet(msg, f)) {
      out[n] = m[n];
    } else {
      const d = f.fieldKind === 'scalar' || f.fieldKind === 'enum' ? f.getDefaultValue() : undefined;
      if (d !== undefined) out[n] = d;
    }
  }
  for (const [n, label] of Object.entries(UNSUPPORTED_FIELDS)) {
    const f = schema.field[n];
    if (f && isFieldSet(msg, f))
      throw new Error(`feature "${String(m.featureName ?? m.sequenceName)}": ${label} is not supported yet (${what})`);
  }
  return out;
}

/** One @tsrec/config FeatureConfig as the engine's feature spec (throws for feature types tsrec cannot run yet). */
export function featureSpecFromConfig(fc: FeatureConfig): FeatureSpec {
  const f = fc.feature;
  switch (f.case) {
    case 'idFeature':
      return {
        feature: { case: 'idFeature', value: pick(f.value, IdFeatureSchema, ID_FIELDS, 'id_feature') as never },
      };
    case 'sequenceIdFeature':
      return {
        feature: {
          case: 'sequenceIdFeature',
          value: pick(f.value, IdFeatureSchema, [...ID_FIELDS, ...SEQ_FIELDS], 'sequence_id_feature') as never,
        },
      };
    case 'rawFeature':
      return {
        feature: { case: 'rawFeature', value: pick(f.value, RawFeatureSchema, RAW_FIELDS, 'raw_feature') as never },
      };
    case 'sequenceRawFeature':
      return {
        feature: {
          case: 'sequenceRawFeature',
          value: pick(f.value, RawFeatureSchema, [...RAW_FIELDS, ...SEQ_FIELDS], 'sequence_raw_feature') as never,
        },
      };
    case 'comboFeature':
      return {
        feature: {
          case: 'comboFeature',
          value: pick(f.value, ComboFeatureSchema, COMBO_FIELDS, 'combo_feature') as never,
        },
      };
    case 'lookupFeature':
      return {
        feature: {
          case: 'lookupFeature',
          value: pick(f.value, LookupFeatureSchema, LOOKUP_FIELDS, 'lookup_feature') as never,
        },
      };
    case 'exprFeature':
      return {
        feature: { case: 'exprFeature', value: pick(f.value, ExprFeatureSchema, EXPR_FIELDS, 'expr_feature') as never },
      };
    case 'sequenceFeature': {
      const s = f.value;
      const head = pick(
        s,
        SequenceFeatureSchema,
        ['sequenceName', 'sequenceLength', 'sequenceDelim', 'sequencePk'],
        'sequence_feature',
      );
      const features: SeqFeatureSpec[] = s.features.map((sub) => {
        const v = sub.feature;
        if (v.case === 'idFeature')
          return {
            feature: {
              case: 'idFeature',
              value: pick(v.value, IdFeatureSchema, ID_FIELDS, 'sequence_feature id_feature') as never,
            },
          };
        if (v.case === 'rawFeature')
          return {
            feature: {
              case: 'rawFeature',
              value: pick(v.value, RawFeatureSchema, RAW_FIELDS, 'sequence_feature raw_feature') as never,
            },
          };
        const sub_name = (v.value as { featureName?: string } | undefined)?.featureName ?? '';
        throw new Error(
          `feature "${s.sequenceName}__${sub_name}": ${v.case ? snake(v.case) : 'an empty sub-feature'} in a sequence_feature is not supported yet (tsrec runs id_feature and raw_feature sub-features)`,
        );
      });
      return { feature: { case: 'sequenceFeature', value: { ...head, features } as never } };
    }
    case undefined:
      throw new Error(
        'Expected one of id_feature, raw_feature, combo_feature, lookup_feature, expr_feature, sequence_id_feature, sequence_raw_feature, sequence_feature for a feature_configs entry but received an empty feature config',
      );
    default: {
      const name = (f.value as { featureName?: string }).featureName ?? '';
      throw new Error(
        `feature "${name}": ${snake(f.case)} is not supported yet (tsrec runs id_feature, raw_feature, combo_feature, lookup_feature, expr_feature, sequence_id_feature, sequence_raw_feature and sequence_feature)`,
      );
    }
  }
}

/** Every FeatureConfig of a list as feature specs. */
export function featureSpecsFromConfig(featureConfigs: readonly FeatureConfig[]): FeatureSpec[] {
  return featureConfigs.map(featureSpecFromConfig);
}

/** True for a message of @tsrec/config (protobuf-es) rather than a plain feature spec. */
export function isConfigMessage(v: unknown): v is Message {
  return typeof v === 'object' && v !== null && typeof (v as { $typeName?: unknown }).$typeName === 'string';
}

/**
 * data_config.fg_mode by name. The deprecated `fg_encoded` still counts when fg_mode is not set,
 * as in TorchEasyRec: fg_encoded true -> FG_NONE, false -> FG_DAG (fg_threads > 0) or FG_NORMAL.
 */
export function fgModeOf(dc: DataConfig | undefined): FgModeName {
  return fgModeName(effectiveFgMode(dc));
}

/** An FgMode enum value (or name) as the engine's name; FG_BUCKETIZE is not supported yet. */
export function fgModeName(mode: FgMode | FgModeName | undefined): FgModeName {
  if (mode === undefined) return 'FG_NONE';
  const name = typeof mode === 'number' ? FgMode[mode] : mode;
  if (name === 'FG_NONE' || name === 'FG_NORMAL' || name === 'FG_DAG') return name;
  if (name === 'FG_BUCKETIZE')
    throw new Error(
      'Expected FG_NONE, FG_NORMAL or FG_DAG for data_config.fg_mode but received FG_BUCKETIZE (not supported yet)',
    );
  throw new Error(`Expected FG_NONE, FG_NORMAL or FG_DAG for data_config.fg_mode but received ${JSON.stringify(mode)}`);
}

/** Feature engine options from a pipeline config: its feature_configs and data_config (fg_mode, multi-value separator, labels, sample weights). */
export function fromPipelineConfig(
  config: EasyRecConfig,
  options: { reservedColumns?: string[]; labels?: boolean } = {},
): FeatureEngineOptions {
  const dc = config.dataConfig;
  const withLabels = options.labels ?? true;
  return {
    featureConfigs: featureSpecsFromConfig(config.featureConfigs),
    fgMode: fgModeOf(dc),
    // proto default "\x03", TorchEasyRec's too
    fgEncodedMultivalSep: dc ? dc.fgEncodedMultivalSep : '\u0003',
    labelFields: withLabels && dc ? [...dc.labelFields] : [],
    sampleWeightFields: withLabels && dc ? [...dc.sampleWeightFields] : [],
    reservedColumns: options.reservedColumns ?? [],
  };
}

/** Engine options with any @tsrec/config messages turned into specs and fg_mode into its name (plain data, safe to send to workers). */
export function normalizeEngineOptions(
  o: FeatureEngineOptions,
): FeatureEngineOptions & { featureConfigs: FeatureSpec[]; fgMode: FgModeName } {
  return {
    ...o,
    featureConfigs: o.featureConfigs.map((f) =>
      isConfigMessage(f) ? featureSpecFromConfig(f as FeatureConfig) : (f as FeatureSpec),
    ),
    fgMode: fgModeName(o.fgMode),
  };
}
