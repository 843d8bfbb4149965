import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import { FeatureGroupType } from './gen/tsrec/protos/model_pb';
import { FgMode } from './gen/tsrec/protos/data_pb';
import { effectiveFgMode } from './fg_mode';
import { formatBytes } from './format_bytes';
import type { ProblemSink } from './config_problem';
import { didYouMean } from './did_you_mean';
import { parseInitFn, SUPPORTED_INIT_FNS } from './init_fn';
import { listFeatures, type FeatureInfo } from './feature_catalog';
import { hasIfField, oneofCase } from './proto_access';

const POOLINGS = ['sum', 'mean'];
// TorchEasyRec's lookup combiners (feature.proto), lower-cased as it does.
const COMBINERS = ['sum', 'mean', 'min', 'max'];

/** The most rows a table can have: row ids are int32. */
export const MAX_TABLE_ROWS = 2147483647n;

function checkBoundaries(sink: ProblemSink, path: string, b: number[]): void {
  for (let i = 1; i < b.length; i++) {
    if (!(b[i] > b[i - 1])) {
      sink.error(
        `${path}.boundaries[${i}]`,
        `boundaries must be strictly ascending, but boundaries[${i}] = ${b[i]} follows boundaries[${i - 1}] = ${b[i - 1]}`,
      );
      return;
    }
  }
}

function checkNormalizer(sink: ProblemSink, path: string, feature: string, normalizer: string): void {
  const params = new Map<string, string>();
  for (const part of normalizer.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const method = params.get('method');
  const need: Record<string, string[]> = { log10: [], zscore: ['mean', 'standard_deviation'], minmax: ['min', 'max'] };
  if (method === 'expression') {
    if (!params.get('expr'))
      sink.error(
        `${path}.normalizer`,
        `expected expr=<expression of x> with method=expression for normalizer of feature '${feature}' but received '${normalizer}'`,
      );
    return;
  }
  if (method === undefined || !(method in need)) {
    const hint = method ? didYouMean(method, Object.keys(need)) : undefined;
    sink.error(
      `${path}.normalizer`,
      `expected method=log10, method=zscore, method=minmax or method=expression for normalizer of feature '${feature}' but received '${normalizer}'${hint ? ` — did you mean '${hint}'?` : ''}`,
    );
    return;
  }
  for (const p of need[method]) {
    const v = params.get(p);
    if (v === undefined || Number.isNaN(Number(v))) {
      sink.error(
        `${path}.normalizer`,
        `expected a number for ${p} in normalizer '${normalizer}' of feature '${feature}' but received ${v === undefined ? 'nothing' : `'${v}'`}`,
      );
    }
  }
}

const BUCKETIZERS = ['hash_bucket_size', 'num_buckets', 'vocab_list', 'vocab_dict', 'vocab_file'] as const;

function setBucketizers(f: FeatureInfo): string[] {
  return BUCKETIZERS.filter((b) => {
    const m = f.message;
    if (b === 'vocab_list') return (m.vocabList?.length ?? 0) > 0;
    if (b === 'vocab_dict') return Object.keys(m.vocabDict ?? {}).length > 0;
    if (b === 'vocab_file') return (m.vocabFile ?? '') !== '';
    return hasIfField(m, b);
  });
}

/** Checks feature_configs; returns the features by name for the group checks. */
export function validateFeatures(config: EasyRecConfig, sink: ProblemSink): Map<string, FeatureInfo> {
  const byName = new Map<string, FeatureInfo>();
  config.featureConfigs.forEach((fc, i) => {
    const kind = oneofCase(fc, 'feature');
    if (kind === undefined)
      sink.error(
        `feature_configs[${i}]`,
        'expected one feature type (id_feature, raw_feature, ...) but received an empty feature config',
      );
    // An unsupported feature type is reported by the capability walk (validate.ts).
    if (fc.feature.case === 'sequenceFeature') {
      const seq = fc.feature.value;
      const path = `feature_configs[${i}].sequence_feature`;
      if (!seq.sequenceName)
        sink.error(`${path}.sequence_name`, 'expected a sequence_name for sequence_feature but received none');
      if (seq.features.length === 0)
        sink.error(
          `${path}.features`,
          `expected at least one sub-feature in sequence_feature '${seq.sequenceName}' but received none`,
        );
      seq.features.forEach((sub, j) => {
        const subKind = oneofCase(sub, 'feature');
        if (subKind === undefined)
          sink.error(`${path}.features[${j}]`, 'expected one feature type but received an empty sub-feature');
        // An unsupported sub-feature type is reported by the capability walk (validate.ts).
      });
    }
  });

  const features = listFeatures(config);
  const tables = new Map<string, FeatureInfo>();
  const fgNone = effectiveFgMode(config.dataConfig) === FgMode.FG_NONE;
  for (const f of features) {
    const m = f.message;
    const base = f.kind.replace(/^sequence_/, '');
    if (!m.featureName) {
      sink.error(`${f.path}.feature_name`, `expected a feature_name for ${f.kind} but received none`);
      continue;
    }
    const prev = byName.get(f.name);
    if (prev) sink.error(`${f.path}.feature_name`, `duplicate feature name '${f.name}' (also defined at ${prev.path})`);
    else byName.set(f.name, f);

    if (f.isSparse) {
      if (!(f.embeddingDim > 0))
        sink.error(
          `${f.path}.embedding_dim`,
          `expected embedding_dim > 0 for feature '${f.name}' but received ${f.embeddingDim}`,
        );
    }
    if (base === 'id_feature' || base === 'combo_feature') {
      const set = setBucketizers(f);
      if (set.length === 0) {
        sink.error(
          f.path,
          `id feature '${f.name}' has no bucketizer: set one of hash_bucket_size, num_buckets, vocab_list, vocab_dict or vocab_file`,
        );
      } else if (set.length > 1) {
        sink.error(
          `${f.path}.${set[1]}`,
          `feature '${f.name}' sets both ${set[0]} and ${set[1]}; expected exactly one bucketizer`,
        );
      }
      if (hasIfField(m, 'hash_bucket_size') && m.hashBucketSize === 0n)
        sink.error(
          `${f.path}.hash_bucket_size`,
          `expected hash_bucket_size > 0 for feature '${f.name}' but received 0`,
        );
      if (hasIfField(m, 'num_buckets') && m.numBuckets === 0n)
        sink.error(`${f.path}.num_buckets`, `expected num_buckets > 0 for feature '${f.name}' but received 0`);
      // Row ids are int32 in tsrec's tables (TorchRec's default too): more rows cannot be addressed.
      for (const [field, v] of [
        ['hash_bucket_size', m.hashBucketSize],
        ['num_buckets', m.numBuckets],
      ] as const)
        if (typeof v === 'bigint' && v > MAX_TABLE_ROWS)
          sink.error(
            `${f.path}.${field}`,
            `expected ${field} <= ${MAX_TABLE_ROWS} (int32 row ids) for feature '${f.name}' but received ${v}; a table that size would also need ${formatBytes(Number(v) * 4 * f.embeddingDim)} of memory`,
          );
      const seen = new Set<string>();
      (m.vocabList ?? []).forEach((v, k) => {
        if (seen.has(v))
          sink.error(`${f.path}.vocab_list[${k}]`, `duplicate vocabulary entry '${v}' in feature '${f.name}'`);
        seen.add(v);
      });
    }
    if (base === 'combo_feature') {
      const expr = (m as unknown as { expression: string[] }).expression;
      if (expr.length > 0 && expr.length < 2)
        sink.error(
          `${f.path}.expression`,
          `expected at least 2 inputs for combo feature '${f.name}' but received ${expr.length}`,
        );
    }
    if (base === 'lookup_feature') {
      const lk = m as unknown as { map: string; key: string; combiner: string; needDiscrete: boolean };
      if (!lk.map) sink.error(`${f.path}.map`, `expected a map input for lookup feature '${f.name}' but received none`);
      if (!lk.key) sink.error(`${f.path}.key`, `expected a key input for lookup feature '${f.name}' but received none`);
      if (!COMBINERS.includes(lk.combiner.toLowerCase()))
        sink.error(
          `${f.path}.combiner`,
          `expected one of ${COMBINERS.join(', ')} for combiner of feature '${f.name}' but received '${lk.combiner}'`,
        );
    }
    if (base === 'expr_feature') {
      const ex = m as unknown as { expression: string; variables: string[] };
      if (!ex.expression)
        sink.error(`${f.path}.expression`, `expected an expression for expr feature '${f.name}' but received none`);
      if (ex.variables.length === 0)
        sink.error(
          `${f.path}.variables`,
          `expected at least one variable for expr feature '${f.name}' but received none`,
        );
    }
    // With feature generation (FG_NORMAL/FG_DAG) a feature reads the input its expression names;
    // only FG_NONE reads the column named like the feature (TorchEasyRec's `expression` is required).
    if (!fgNone) {
      const ex = (m as unknown as { expression?: unknown }).expression;
      if ((typeof ex === 'string' && ex === '') || (Array.isArray(ex) && ex.length === 0))
        sink.error(
          `${f.path}.expression`,
          `expected an expression (e.g. "user:${f.name}") for ${f.kind} '${f.name}' under fg_mode ${FgMode[effectiveFgMode(config.dataConfig)]} but received none`,
        );
    }
    if (base === 'raw_feature') {
      if (hasIfField(m, 'value_dim') && m.valueDim === 0)
        sink.error(`${f.path}.value_dim`, `expected value_dim > 0 for raw feature '${f.name}' but received 0`);
    }
    if (m.boundaries && m.boundaries.length > 0) checkBoundaries(sink, f.path, m.boundaries);
    if (m.initFn) checkInitFn(sink, `${f.path}.init_fn`, m.initFn);
    if (m.normalizer) {
      checkNormalizer(sink, f.path, f.name, m.normalizer);
      // FG_NONE inputs are generated features already: as in TorchEasyRec, normalizing belongs to
      // feature generation, so the setting changes nothing there.
      if (effectiveFgMode(config.dataConfig) === FgMode.FG_NONE)
        sink.warning(
          `${f.path}.normalizer`,
          `normalizer has no effect with data_config.fg_mode FG_NONE (the inputs are generated features already; normalizing belongs to feature generation, as in TorchEasyRec); set fg_mode: FG_NORMAL to normalize raw values`,
        );
    }
    // TorchEasyRec upper-cases it: "mean", "MEAN" and "Mean" are the same pooling.
    if (m.pooling !== undefined && !POOLINGS.includes(m.pooling.toLowerCase())) {
      sink.error(
        `${f.path}.pooling`,
        `expected sum or mean for pooling of feature '${f.name}' but received '${m.pooling}'`,
      );
    }

    // Features sharing a table must agree on its shape.
    if (f.isSparse && f.embeddingDim > 0) {
      const owner = tables.get(f.tableName);
      if (!owner) tables.set(f.tableName, f);
      else {
        if (owner.embeddingDim !== f.embeddingDim) {
          sink.error(
            `${f.path}.embedding_dim`,
            `feature '${f.name}' shares embedding '${f.tableName}' with '${owner.name}' but has embedding_dim ${f.embeddingDim}, not ${owner.embeddingDim}`,
          );
        }
        if (owner.numRows !== undefined && f.numRows !== undefined && owner.numRows !== f.numRows) {
          sink.error(
            f.path,
            `feature '${f.name}' needs ${f.numRows} rows but shares embedding '${f.tableName}' (${owner.numRows} rows) with '${owner.name}'; shared features need the same bucket count`,
          );
        }
      }
    }
  }
  return byName;
}

/** Checks model_config.feature_groups against the features. */
export function validateGroups(config: EasyRecConfig, features: Map<string, FeatureInfo>, sink: ProblemSink): void {
  const groups = config.modelConfig?.featureGroups ?? [];
  const names = new Set<string>();
  const used = new Set<string>();
  const allNames = [...features.keys()];
  groups.forEach((g, i) => {
    const path = `model_config.feature_groups[${i}]`;
    if (!g.groupName) sink.error(`${path}.group_name`, 'expected a group_name but received none');
    else if (names.has(g.groupName)) sink.error(`${path}.group_name`, `duplicate feature group name '${g.groupName}'`);
    names.add(g.groupName);
    if (g.groupType === FeatureGroupType.JAGGED_SEQUENCE || g.groupType === FeatureGroupType.SEQUENCE)
      sink.unsupported(
        `${path}.group_type`,
        `group_type ${FeatureGroupType[g.groupType]} (sequence models)`,
        'use DEEP or WIDE groups',
      );
    if (g.featureNames.length === 0 && g.sequenceGroups.length === 0)
      sink.error(`${path}.feature_names`, `feature group '${g.groupName}' has no features`);
    g.featureNames.forEach((name, j) => {
      const fpath = `${path}.feature_names[${j}]`;
      const f = features.get(name);
      used.add(name);
      if (!f) {
        const s = didYouMean(name, allNames);
        sink.error(
          fpath,
          `feature '${name}' in group '${g.groupName}' is not defined in feature_configs${s ? ` — did you mean '${s}'?` : ''}`,
        );
        return;
      }
      // TorchEasyRec reads sequence features through sequence_groups + encoders or SEQUENCE
      // groups, neither of which tsrec runs yet.
      if (f.isSequence && g.groupType !== FeatureGroupType.SEQUENCE) {
        sink.unsupported(
          fpath,
          `sequence feature '${name}' in ${FeatureGroupType[g.groupType]} group '${g.groupName}' (sequence models: sequence_groups with encoders, SEQUENCE groups)`,
          'remove it from the group',
        );
      }
      if (g.groupType === FeatureGroupType.WIDE && !f.isSparse) {
        sink.error(
          fpath,
          `dense feature '${name}' cannot be in WIDE group '${g.groupName}'; WIDE groups need id features (give a raw feature boundaries to bucketize it)`,
        );
      }
    });
    const seqGroupNames = new Set<string>();
    g.sequenceGroups.forEach((sg, k) => {
      const sgPath = `${path}.sequence_groups[${k}]`;
      if (!sg.groupName)
        sink.error(`${sgPath}.group_name`, 'expected a group_name for the sequence group but received none');
      seqGroupNames.add(sg.groupName);
      sg.featureNames.forEach((name, j) => {
        used.add(name);
        const f = features.get(name);
        if (!f) {
          const s = didYouMean(name, allNames);
          sink.error(
            `${sgPath}.feature_names[${j}]`,
            `feature '${name}' in sequence group '${sg.groupName}' is not defined in feature_configs${s ? ` — did you mean '${s}'?` : ''}`,
          );
        }
      });
    });
    g.sequenceEncoders.forEach((enc, k) => {
      const encPath = `${path}.sequence_encoders[${k}]`;
      const kind = oneofCase(enc, 'seq_module');
      if (kind === undefined) {
        sink.error(encPath, 'expected an encoder (pooling_encoder, din_encoder, ...) but received none');
        return;
      }
      const input = (enc.seqModule.value as { input: string }).input;
      if (!seqGroupNames.has(input)) {
        const s = didYouMean(input, [...seqGroupNames]);
        sink.error(
          `${encPath}.${kind}.input`,
          `encoder input '${input}' is not a sequence group of '${g.groupName}'${s ? ` — did you mean '${s}'?` : ''}`,
        );
      }
      if (enc.seqModule.case === 'poolingEncoder' && !POOLINGS.includes(enc.seqModule.value.poolingType)) {
        sink.error(
          `${encPath}.pooling_encoder.pooling_type`,
          `expected sum or mean for pooling_type but received '${enc.seqModule.value.poolingType}'`,
        );
      }
    });
  });
  for (const f of features.values()) {
    if (!used.has(f.name)) sink.warning(f.path, `feature '${f.name}' is not used by any feature group`);
  }
}

/** An init_fn / wide_init_fn expression tsrec can run (init_fn.ts), or the problem with it. */
export function checkInitFn(sink: ProblemSink, path: string, expr: string): void {
  const init = parseInitFn(expr);
  if (!('error' in init)) return;
  if (
    !SUPPORTED_INIT_FNS.includes(
      expr
        .split(',')[0]
        .trim()
        .replace(/^torch\./, ''),
    )
  )
    sink.unsupported(path, `init function '${expr.split(',')[0]}'`, `supported: ${SUPPORTED_INIT_FNS.join(', ')}`);
  else sink.error(path, `${init.error} in '${expr}'`);
}
