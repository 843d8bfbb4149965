import type { BadDataReport } from './bad_data';
import { type Batch, type SequenceDense, takeRows } from './batch';
import { normalizeEngineOptions } from './config_adapter';
import {
  type FeatureEngineOptions,
  type FeatureSpec,
  type FgModeName,
  type IdFeatureSpec,
  type LabelRule,
  labelRuleViolation,
  type RawFeatureSpec,
} from './feature_spec';
import { ComboFeature } from './features/combo_feature';
import { compileExpression } from './features/expr_evaluator';
import { ExprFeature } from './features/expr_feature';
import { type Feature, type FeatureOutput, FeaturizeContext, inputName } from './features/feature';
import { IdFeature } from './features/id_feature';
import { createIdMapper } from './features/id_mapper';
import { type Combiner, LookupFeature } from './features/lookup_feature';
import { parseNormalizer } from './features/normalizer';
import { RawFeature } from './features/raw_feature';
import { KeyedJaggedBatch } from './keyed_jagged_batch';
import { parseNumber } from './number_parser';
import type { RawBlock } from './raw_block';
import { tokenize, tokenText } from './features/tokens';

/** One embedding table the sparse features need (features sharing embedding_name share it). */
export interface TableInfo {
  name: string;
  rows: number;
  dim: number;
  features: string[];
}

const DEFAULT_SEPARATOR = '\u001d';
const DEFAULT_SEQUENCE_DELIM = ';';

/** Turns raw blocks into batches: every configured feature, labels, sample weights, reserved columns. */
export class FeatureEngine {
  readonly features: Feature[];
  readonly fgMode: FgModeName;
  readonly labelFields: string[];
  readonly sampleWeightFields: string[];
  readonly reservedColumns: string[];

  readonly options: FeatureEngineOptions & { featureConfigs: FeatureSpec[]; fgMode: FgModeName };

  constructor(options: FeatureEngineOptions) {
    options = this.options = normalizeEngineOptions(options);
    this.fgMode = this.options.fgMode;
    this.labelFields = options.labelFields ?? [];
    this.sampleWeightFields = options.sampleWeightFields ?? [];
    this.reservedColumns = options.reservedColumns ?? [];
    this.features = [];
    for (const fc of this.options.featureConfigs) this.features.push(...this.build(fc));
    const seen = new Set<string>();
    for (const f of this.features) {
      if (seen.has(f.name)) throw new Error(`feature "${f.name}" is configured twice; feature names must be unique`);
      seen.add(f.name);
    }
  }

  /** Every input column the engine reads (features, labels, weights, reserved). */
  requiredColumns(): string[] {
    const s = new Set<string>();
    for (const f of this.features) for (const i of f.inputs) s.add(i);
    for (const c of [...this.labelFields, ...this.sampleWeightFields, ...this.reservedColumns]) s.add(c);
    return [...s];
  }

  /** Embedding tables of the sparse features, in first-use order. */
  tables(): TableInfo[] {
    const m = new Map<string, TableInfo>();
    for (const f of this.features) {
      if (f.kind !== 'sparse') continue;
      const t = m.get(f.embeddingName);
      if (!t)
        m.set(f.embeddingName, {
          name: f.embeddingName,
          rows: f.numEmbeddings,
          dim: f.embeddingDim,
          features: [f.name],
        });
      else {
        if (t.dim !== f.embeddingDim)
          throw new Error(
            `features ${t.features.join(', ')} and ${f.name} share embedding "${f.embeddingName}" but have embedding_dim ${t.dim} and ${f.embeddingDim}`,
          );
        t.rows = Math.max(t.rows, f.numEmbeddings);
        t.features.push(f.name);
      }
    }
    return [...m.values()];
  }

  /** Featurizes a block; rows with bad data are dropped (skip policy) or thrown (fail policy). */
  featurize(block: RawBlock, report: BadDataReport): Batch {
    const ctx = new FeaturizeContext(block, report);
    for (const c of this.requiredColumns()) {
      if (block.rows > 0 && !block.column(c))
        throw new Error(
          `${block.fileOf(0)}: missing column "${c}" (needed by ${this.neededBy(c)}); the input has no such column`,
        );
    }
    const outputs: FeatureOutput[] = [];
    for (const f of this.features) {
      ctx.feature = f.name;
      outputs.push(f.featurize(ctx));
    }
    const B = block.rows;
    const labels: Record<string, Float32Array> = {};
    for (const l of this.labelFields) {
      labels[l] = this.numbers(block, ctx, l, 'label');
      const rules = this.options.labelRules?.[l];
      if (rules?.length) this.checkLabels(block, ctx, l, labels[l], rules);
    }
    const sampleWeights: Record<string, Float32Array> = {};
    for (const w of this.sampleWeightFields) sampleWeights[w] = this.numbers(block, ctx, w, 'sample weight');
    const reserved: Record<string, string[]> = {};
    for (const c of this.reservedColumns) {
      const t = tokenize(block.column(c), B, '');
      reserved[c] = Array.from({ length: B }, (_, r) =>
        t.rowOffsets[r] === t.rowOffsets[r + 1] ? '' : tokenText(t, t.rowOffsets[r]),
      );
    }
    const batch = this.assemble(B, outputs, labels, sampleWeights, reserved);
    if (ctx.badCount === 0) return batch;
    const keep: number[] = [];
    for (let r = 0; r < B; r++) if (!ctx.bad[r]) keep.push(r);
    return takeRows(batch, keep);
  }

  private neededBy(c: string): string {
    const f = this.features.find((x) => x.inputs.includes(c));
    if (f) return `feature "${f.name}"`;
    if (this.labelFields.includes(c)) return 'label_fields';
    if (this.sampleWeightFields.includes(c)) return 'sample_weight_fields';
    return 'reserved columns';
  }

  /** Labels the model's losses cannot take are data errors (bad_label) at their row and column. */
  private checkLabels(block: RawBlock, ctx: FeaturizeContext, col: string, v: Float32Array, rules: LabelRule[]): void {
    let t: ReturnType<typeof tokenize> | null = null; // for messages only
    for (let r = 0; r < block.rows; r++) {
      if (ctx.bad[r] || Number.isNaN(v[r])) continue;
      for (const rule of rules) {
        const why = labelRuleViolation(rule, v[r]);
        if (why === null) continue;
        t ??= tokenize(block.column(col), block.rows, '');
        const s = t.rowOffsets[r];
        ctx.fail(
          r,
          'bad_label',
          col,
          `label "${col}" is ${JSON.stringify(tokenText(t, s))}, but ${why}`,
          t.fromBytes ? t.starts[s] : undefined,
        );
        break;
      }
    }
  }

  private numbers(block: RawBlock, ctx: FeaturizeContext, col: string, what: string): Float32Array {
    const t = tokenize(block.column(col), block.rows, '');
    const out = new Float32Array(block.rows);
    for (let r = 0; r < block.rows; r++) {
      const s = t.rowOffsets[r];
      if (s === t.rowOffsets[r + 1]) {
        ctx.fail(r, 'missing_value', col, `${what} "${col}" is empty`);
        continue;
      }
      const v = parseNumber(t.bytes, t.starts[s], t.ends[s]);
      if (Number.isNaN(v))
        ctx.fail(
          r,
          'bad_number',
          col,
          `expected a number for ${what} "${col}" but found ${JSON.stringify(tokenText(t, s))}`,
          t.fromBytes ? t.starts[s] : undefined,
        );
      out[r] = v;
    }
    return out;
  }

  private assemble(
    B: number,
    outputs: FeatureOutput[],
    labels: Record<string, Float32Array>,
    sampleWeights: Record<string, Float32Array>,
    reserved: Record<string, string[]>,
  ): Batch {
    const keys: string[] = [];
    const parts: { values: Int32Array; lengths: Int32Array; weights: Float32Array | null }[] = [];
    const denseKeys: string[] = [];
    const denseDims: number[] = [];
    const denseParts: Float32Array[] = [];
    const sequenceDense: Record<string, SequenceDense> = {};
    this.features.forEach((f, i) => {
      const o = outputs[i];
      if (o.kind === 'sparse') {
        keys.push(f.name);
        parts.push(o);
      } else if (o.kind === 'dense') {
        denseKeys.push(f.name);
        denseDims.push(f.dim);
        denseParts.push(o.values);
      } else sequenceDense[f.name] = { dim: f.dim, values: o.values, lengths: o.lengths };
    });
    const nnz = parts.reduce((s, p) => s + p.values.length, 0);
    const anyWeighted = parts.some((p) => p.weights);
    const values = new Int32Array(nnz);
    const weights = anyWeighted ? new Float32Array(nnz).fill(1) : null;
    const lengths = new Int32Array(keys.length * B);
    let at = 0;
    parts.forEach((p, f) => {
      values.set(p.values, at);
      if (weights && p.weights) weights.set(p.weights, at);
      lengths.set(p.lengths, f * B);
      at += p.values.length;
    });
    const width = denseDims.reduce((s, d) => s + d, 0);
    const dense = new Float32Array(B * width);
    let col = 0;
    denseParts.forEach((v, k) => {
      const d = denseDims[k];
      for (let r = 0; r < B; r++) for (let j = 0; j < d; j++) dense[r * width + col + j] = v[r * d + j];
      col += d;
    });
    return {
      batchSize: B,
      sparse: KeyedJaggedBatch.fromLengths({ keys, batchSize: B, values, lengths, weights }),
      dense,
      denseKeys,
      denseDims,
      sequenceDense,
      labels,
      sampleWeights,
      reserved,
    };
  }

  // Config -> features, with TorchEasyRec's defaults.
  private build(fc: FeatureSpec): Feature[] {
    const encoded = this.fgMode === 'FG_NONE';
    const msep = this.options.fgEncodedMultivalSep ?? '\u0003';
    const f = fc.feature;
    switch (f.case) {
      case 'idFeature':
      case 'sequenceIdFeature':
        return [
          this.idFeature(
            f.value,
            f.value.featureName,
            encoded ? f.value.featureName : this.input(f.value.expression, f.value.featureName),
            encoded,
            msep,
            f.case === 'sequenceIdFeature' ? seqOf(f.value) : undefined,
          ),
        ];
      case 'rawFeature':
      case 'sequenceRawFeature':
        return [
          this.rawFeature(
            f.value,
            f.value.featureName,
            encoded ? f.value.featureName : this.input(f.value.expression, f.value.featureName),
            encoded,
            msep,
            f.case === 'sequenceRawFeature' ? seqOf(f.value) : undefined,
          ),
        ];
      case 'sequenceFeature': {
        const s = f.value;
        const seq = { delim: s.sequenceDelim ?? DEFAULT_SEQUENCE_DELIM, length: s.sequenceLength ?? 0 };
        return s.features.map((sub) => {
          const v = sub.feature.value;
          const name = `${s.sequenceName}__${v.featureName}`;
          // TorchEasyRec: a sub-feature's sequence column is `<sequence_name>__<input_name>` (FG_NONE: `<sequence_name>__<feature_name>`).
          const input = encoded ? name : `${s.sequenceName}__${this.input(v.expression, name)}`;
          return sub.feature.case === 'idFeature'
            ? this.idFeature(v, name, input, encoded, msep, seq)
            : this.rawFeature(v, name, input, encoded, msep, seq);
        });
      }
      case 'comboFeature': {
        const c = f.value;
        if (encoded) return [this.idFeature({ ...c, expression: undefined }, c.featureName, c.featureName, true, msep)];
        if (!c.expression || c.expression.length < 2)
          throw new Error(
            `feature "${c.featureName}": combo_feature needs at least 2 expressions but received ${c.expression?.length ?? 0}`,
          );
        return [
          new ComboFeature(
            c.featureName,
            c.expression.map((e) => inputName(e, c.featureName)),
            c.separator ?? DEFAULT_SEPARATOR,
            createIdMapper(c, false),
            embeddingName(c),
            c.embeddingDim ?? 0,
            pooling(c.pooling, c.featureName),
          ),
        ];
      }
      case 'lookupFeature': {
        const c = f.value;
        const discrete = !!(c.needDiscrete || c.needKey);
        if (encoded) {
          if (discrete || c.boundaries?.length)
            return [
              this.idFeature(
                c.boundaries?.length ? { featureName: c.featureName, numBuckets: c.boundaries.length + 1 } : c,
                c.featureName,
                c.featureName,
                true,
                msep,
              ),
            ];
          return [
            this.rawFeature(
              { featureName: c.featureName, valueDim: c.valueDim, defaultValue: c.defaultValue },
              c.featureName,
              c.featureName,
              true,
              msep,
            ),
          ];
        }
        const combiner = (c.combiner ?? 'sum').toLowerCase() as Combiner;
        if (!['sum', 'mean', 'min', 'max'].includes(combiner))
          throw new Error(
            `feature "${c.featureName}": expected combiner sum, mean, min or max but received ${JSON.stringify(c.combiner)}`,
          );
        return [
          new LookupFeature(
            c.featureName,
            inputName(c.map, c.featureName),
            inputName(c.key, c.featureName),
            {
              separator: c.separator ?? DEFAULT_SEPARATOR,
              discrete,
              needKey: !!c.needKey,
              mapper: discrete ? createIdMapper(c, false) : null,
              combiner,
              missing: numberOr(c.defaultValue, 0, c.featureName),
              normalizer: parseNormalizer(c.normalizer, c.featureName),
              boundaries: c.boundaries?.length ? Float64Array.from(c.boundaries) : null,
            },
            embeddingName(c),
            c.embeddingDim ?? 0,
            pooling(c.pooling, c.featureName),
          ),
        ];
      }
      case 'exprFeature': {
        const c = f.value;
        if (encoded)
          return this.build({
            feature: {
              case: 'rawFeature',
              value: {
                featureName: c.featureName,
                boundaries: c.boundaries,
                embeddingDim: c.embeddingDim,
                embeddingName: c.embeddingName,
                defaultValue: c.defaultValue,
              },
            },
          });
        const vars = (c.variables ?? []).map((v) => inputName(v, c.featureName));
        const fn = compileExpression(c.expression, vars, c.featureName);
        return [
          new ExprFeature(
            c.featureName,
            vars,
            fn,
            numberOr(c.defaultValue, 0, c.featureName),
            c.boundaries?.length ? Float64Array.from(c.boundaries) : null,
            embeddingName(c),
            c.embeddingDim ?? 0,
            pooling(c.pooling, c.featureName),
          ),
        ];
      }
      default:
        throw new Error(
          `a feature config has no feature set (expected one of id_feature, raw_feature, combo_feature, lookup_feature, expr_feature, sequence_id_feature, sequence_raw_feature, sequence_feature)`,
        );
    }
  }

  private input(expression: string | undefined, name: string): string {
    if (!expression)
      throw new Error(
        `feature "${name}": expression is required when fg_mode is ${this.fgMode} (e.g. expression: "user:${name}")`,
      );
    return inputName(expression, name);
  }

  private idFeature(
    c: IdFeatureSpec,
    name: string,
    input: string,
    encoded: boolean,
    msep: string,
    sequence?: { delim: string; length: number },
  ): IdFeature {
    const mapper = createIdMapper(
      { ...c, featureName: name, defaultValue: encoded ? (c.fgEncodedDefaultValue ?? '') : c.defaultValue },
      encoded,
    );
    // Sequences: value_dim defaults to 1 (one id per element), as in TorchEasyRec; 0 would need ids jagged twice.
    if (sequence && c.valueDim !== undefined && c.valueDim !== 1) {
      throw new Error(
        `feature "${name}": expected value_dim 1 for a sequence id feature but received ${c.valueDim} (multi-value sequence elements are not supported yet)`,
      );
    }
    if (sequence && c.weighted)
      throw new Error(`feature "${name}": weighted sequence id features are not supported yet`);
    // FG_NONE weighted ids: TorchEasyRec's `<name>__values` / `<name>__weights` columns.
    const weightColumns = encoded && !!c.weighted;
    return new IdFeature({
      name,
      input: weightColumns ? `${input}__values` : input,
      weightsInput: weightColumns ? `${input}__weights` : undefined,
      mapper,
      separator: encoded ? msep : (c.separator ?? DEFAULT_SEPARATOR),
      weighted: !!c.weighted,
      maxValues: c.valueDim === 1 ? 1 : 0,
      embeddingName: embeddingName({ ...c, featureName: name }),
      embeddingDim: c.embeddingDim ?? 0,
      pooling: pooling(c.pooling, name),
      sequence,
    });
  }

  private rawFeature(
    c: RawFeatureSpec,
    name: string,
    input: string,
    encoded: boolean,
    msep: string,
    sequence?: { delim: string; length: number },
  ): RawFeature {
    const valueDim = c.valueDim ?? 1;
    if (!Number.isInteger(valueDim) || valueDim < 1)
      throw new Error(`feature "${name}": expected a positive integer for value_dim but received ${valueDim}`);
    const separator = encoded ? msep : (c.separator ?? DEFAULT_SEPARATOR);
    const defText = encoded ? (c.fgEncodedDefaultValue ?? c.defaultValue ?? '0') : (c.defaultValue ?? '0');
    const defaults = (defText === '' ? '0' : defText).split(separator).map((s) => numberOr(s, NaN, name));
    if (defaults.some(Number.isNaN) || (defaults.length !== 1 && defaults.length !== valueDim)) {
      throw new Error(
        `feature "${name}": expected 1 or ${valueDim} numbers for default_value but received ${JSON.stringify(defText)}`,
      );
    }
    const b = c.boundaries ?? [];
    for (let i = 1; i < b.length; i++)
      if (!(b[i] > b[i - 1]))
        throw new Error(
          `feature "${name}": boundaries must be strictly increasing but boundaries[${i}] = ${b[i]} <= ${b[i - 1]}`,
        );
    return new RawFeature({
      name,
      input,
      valueDim,
      separator,
      defaults,
      normalizer: encoded ? null : parseNormalizer(c.normalizer, name),
      boundaries: b.length ? Float64Array.from(b) : null,
      encodedBuckets: encoded && b.length > 0,
      embeddingName: embeddingName({ ...c, featureName: name }),
      embeddingDim: c.embeddingDim ?? 0,
      pooling: pooling(c.pooling, name),
      sequence,
    });
  }
}

function seqOf(c: { sequenceDelim?: string; sequenceLength?: number }): { delim: string; length: number } {
  return { delim: c.sequenceDelim ?? DEFAULT_SEQUENCE_DELIM, length: c.sequenceLength ?? 0 };
}

function embeddingName(c: { featureName: string; embeddingName?: string }): string {
  return c.embeddingName || `${c.featureName}_emb`;
}

function pooling(p: string | undefined, name: string): 'sum' | 'mean' {
  const v = (p ?? 'sum').toLowerCase();
  if (v !== 'sum' && v !== 'mean')
    throw new Error(`feature "${name}": expected pooling sum or mean but received ${JSON.stringify(p)}`);
  return v;
}

function numberOr(s: string | undefined, def: number, name: string): number {
  if (s === undefined || s === '') return def;
  const v = Number(s);
  if (Number.isNaN(v))
    throw new Error(`feature "${name}": expected a number for default_value but received ${JSON.stringify(s)}`);
  return v;
}
