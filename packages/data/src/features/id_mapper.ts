import * as fs from 'node:fs';
import { checkNumBuckets, hashBuckets, hashStringsToBuckets } from '@tsrec/native';
import { asInt } from '../feature_spec';
import { parseInteger } from '../number_parser';
import type { FeaturizeContext } from './feature';
import { type Tokens, tokenText } from './tokens';

/**
 * How id tokens become embedding rows, with TorchEasyRec's rules:
 * - hash_bucket_size: FarmHash Fingerprint64(token) % size (TensorFlow's to_hash_bucket_fast);
 * - num_buckets: the token is an integer id, checked to lie in [0, num_buckets);
 * - vocab_list / vocab_dict / vocab_file: a lookup. Without default_bucketize_value, row 0 is the
 *   default value's and row 1 the out-of-vocabulary one, so a vocab_list entry i gets row i + 2
 *   (a vocab_dict is used as given, and a key equal to default_value gets row 0). With
 *   default_bucketize_value the vocabulary is used as given and OOV goes to that row.
 *   A vocab_file needs default_bucketize_value (its lines: `token` or `token id`);
 * - encoded (fg_mode FG_NONE): the token already is the row, checked against the table size.
 */
export interface IdMapper {
  readonly numEmbeddings: number;
  /** Writes the row of every token into out; bad tokens fail their row. */
  map(tok: Tokens, ctx: FeaturizeContext, input: string, out: Int32Array): void;
  /** The row of a missing value (from default_value), or null for an empty bag. */
  readonly defaultId: number | null;
}

/** The bucketizing settings an id-like feature config can carry. */
export interface IdMapperConfig {
  featureName: string;
  hashBucketSize?: number | bigint;
  numBuckets?: number | bigint;
  vocabList?: string[];
  vocabDict?: Record<string, number | bigint>;
  vocabFile?: string;
  defaultBucketizeValue?: number | bigint;
  defaultValue?: string;
}

/** Builds the mapper a feature config asks for; exactly one bucketizing option must be set. */
export function createIdMapper(c: IdMapperConfig, encoded: boolean): IdMapper {
  const name = c.featureName;
  const set = [
    c.hashBucketSize !== undefined && 'hash_bucket_size',
    c.numBuckets !== undefined && 'num_buckets',
    (c.vocabList?.length ?? 0) > 0 && 'vocab_list',
    Object.keys(c.vocabDict ?? {}).length > 0 && 'vocab_dict',
    !!c.vocabFile && 'vocab_file',
  ].filter(Boolean);
  if (set.length !== 1) {
    throw new Error(
      `feature "${name}": expected exactly one of hash_bucket_size, num_buckets, vocab_list, vocab_dict, vocab_file but received ${set.length === 0 ? 'none' : set.join(', ')}`,
    );
  }
  const defaultValue = c.defaultValue ?? '';
  let mapper: IdMapper;
  // Encoded (FG_NONE) ids are rows already: only the table size matters, not the vocabulary or hash.
  if (c.hashBucketSize !== undefined)
    mapper = new HashMapper(checkNumBuckets(asInt(c.hashBucketSize), `${name}.hash_bucket_size`), defaultValue);
  else if (c.numBuckets !== undefined)
    mapper = new RangeMapper(
      checkNumBuckets(asInt(c.numBuckets), `${name}.num_buckets`),
      'num_buckets',
      defaultValue,
      name,
    );
  else mapper = VocabMapper.from(c, defaultValue);
  return encoded ? new RangeMapper(mapper.numEmbeddings, 'table size', defaultValue, name) : mapper;
}

/** hash_bucket_size: Fingerprint64(token) % numEmbeddings. */
export class HashMapper implements IdMapper {
  readonly defaultId: number | null;
  constructor(
    readonly numEmbeddings: number,
    defaultValue: string,
  ) {
    this.defaultId = defaultValue === '' ? null : hashStringsToBuckets([defaultValue], numEmbeddings)[0];
  }
  map(tok: Tokens, _ctx: FeaturizeContext, _input: string, out: Int32Array): void {
    if (tok.starts.length > 0) hashBuckets(tok.bytes, tok.starts, tok.ends, this.numEmbeddings, out);
  }
}

class RangeMapper implements IdMapper {
  readonly defaultId: number | null;
  constructor(
    readonly numEmbeddings: number,
    private readonly what: string,
    defaultValue: string,
    name: string,
  ) {
    if (defaultValue === '') this.defaultId = null;
    else {
      const v = Number(defaultValue);
      if (!Number.isInteger(v) || v < 0 || v >= numEmbeddings) {
        throw new Error(
          `feature "${name}": expected an integer in [0, ${numEmbeddings}) for default_value but received ${JSON.stringify(defaultValue)}`,
        );
      }
      this.defaultId = v;
    }
  }
  map(tok: Tokens, ctx: FeaturizeContext, input: string, out: Int32Array): void {
    const n = this.numEmbeddings;
    const ro = tok.rowOffsets;
    const rows = ro.length - 1;
    for (let r = 0; r < rows; r++) {
      for (let t = ro[r]; t < ro[r + 1]; t++) {
        const v = parseInteger(tok.bytes, tok.starts[t], tok.ends[t]);
        if (v >= 0 && v < n) {
          out[t] = v;
          continue;
        }
        out[t] = 0;
        const text = tokenText(tok, t);
        const pos = tok.fromBytes ? tok.starts[t] : undefined;
        if (Number.isNaN(v))
          ctx.fail(
            r,
            'bad_number',
            input,
            `feature "${ctx.feature}": expected an integer id in column "${input}" but found ${JSON.stringify(text)}`,
            pos,
          );
        else
          ctx.fail(
            r,
            'id_out_of_range',
            input,
            `feature "${ctx.feature}": id ${text} in column "${input}" is outside [0, ${n}) (${this.what})`,
            pos,
          );
      }
    }
  }
}

class VocabMapper implements IdMapper {
  constructor(
    readonly numEmbeddings: number,
    private readonly vocab: Map<string, number>,
    private readonly oov: number,
    readonly defaultId: number | null,
  ) {}

  static from(c: IdMapperConfig, defaultValue: string): VocabMapper {
    const name = c.featureName;
    const dbv = asInt(c.defaultBucketizeValue);
    if (dbv !== undefined && (!Number.isInteger(dbv) || dbv < 0))
      throw new Error(
        `feature "${name}": expected a non-negative integer for default_bucketize_value but received ${dbv}`,
      );
    const vocab = new Map<string, number>();
    let reserved = dbv === undefined;
    if (c.vocabList && c.vocabList.length > 0) {
      c.vocabList.forEach((w, i) => {
        if (!vocab.has(w)) vocab.set(w, reserved ? i + 2 : i);
      });
    } else if (c.vocabDict && Object.keys(c.vocabDict).length > 0) {
      for (const [k, v] of Object.entries(c.vocabDict)) vocab.set(k, asInt(v)!);
      if (reserved && vocab.has(defaultValue)) vocab.set(defaultValue, 0);
    } else {
      if (dbv === undefined)
        throw new Error(
          `feature "${name}": vocab_file needs default_bucketize_value (a vocab file reserves no rows for default and OOV values)`,
        );
      reserved = false;
      const text = fs.readFileSync(c.vocabFile!, 'utf8');
      text.split(/\r?\n/).forEach((line, i) => {
        if (line.trim() === '') return;
        const parts = line.trim().split(/\s+/);
        if (parts.length === 1) vocab.set(parts[0], vocab.size);
        else if (parts.length === 2 && /^\d+$/.test(parts[1])) vocab.set(parts[0], Number(parts[1]));
        else
          throw new Error(
            `${c.vocabFile}:${i + 1}:1: expected "token" or "token id" but found ${JSON.stringify(line)}`,
          );
      });
    }
    let max = reserved ? 1 : (dbv ?? 0);
    for (const v of vocab.values()) max = Math.max(max, v);
    const oov = reserved ? 1 : dbv!;
    let defaultId: number | null = null;
    if (defaultValue !== '') defaultId = vocab.get(defaultValue) ?? (reserved ? 0 : oov);
    return new VocabMapper(max + 1, vocab, oov, defaultId);
  }

  map(tok: Tokens, _ctx: FeaturizeContext, _input: string, out: Int32Array): void {
    for (let t = 0; t < tok.starts.length; t++) out[t] = this.vocab.get(tokenText(tok, t)) ?? this.oov;
  }
}
