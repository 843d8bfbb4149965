import { addon, type NativeEmbeddingCollectionHandle } from './addon';
import { invalidParameterError, nativeError } from './errors';

/** How a feature's bag of rows becomes one vector: sum, mean, or none (keep each row: sequences). */
export type Pooling = 'sum' | 'mean' | 'none';
/** Sparse optimizers fused into the embedding backward. */
export type SparseOptimizerType = 'sgd' | 'adagrad' | 'rowwise_adagrad' | 'adam';
/** Weight decay modes (FBGEMM/TorchRec names). */
export type WeightDecayMode = 'none' | 'l2' | 'decouple';
/** Where the tables live. */
export type DeviceName = 'cpu' | 'cuda';
/** Integer arrays accepted for indices and offsets. */
export type IndexArray = Int32Array | BigInt64Array;

/** One embedding table. */
export interface TableSpec {
  name: string;
  rows: number;
  /** Embedding dimension (any width >= 1 on the CPU; a multiple of 4 on CUDA). */
  dim: number;
  /** Pooling of the feature of the same name when `features` is omitted (default sum). */
  pooling?: Pooling;
  /** Uniform init range; default +-1/sqrt(rows). */
  initMin?: number;
  initMax?: number;
  /** Every weight starts at this value instead (PyTorch's nn.init.constant_ / zeros_ / ones_). */
  initValue?: number;
  /**
   * Name of a host table (same rows) whose rows hold this table's columns: one random access
   * fetches both. Features read the host; each also pools this table's columns, into `output`.
   * Values, state and updates equal those of a separate table read by the same features.
   */
  coLocateWith?: string;
  /** Pooled output (0..7) this table's columns go to (default 0); see `ForwardResult.outputs`. */
  output?: number;
  /**
   * Where the initial values come from, so a process holding part of a model (a shard of a
   * distributed run) starts from the bits of the whole: the uniform stream (default: the table's
   * index in this collection), the first row of the logical table these rows are (default 0), and
   * the logical table's rows, for the default range (default `rows`).
   */
  initStream?: number;
  initFirstRow?: number;
  initRows?: number;
}

/** One feature: the table it reads (by name or index) and its pooling. Several may share a table. */
export interface FeatureSpec {
  name: string;
  table: string | number;
  pooling?: Pooling;
}

/** Sparse optimizer settings (fixed for the collection's life; the learning rate is per step). */
export interface SparseOptimizerSpec {
  type: SparseOptimizerType;
  eps?: number;
  beta1?: number;
  beta2?: number;
  weightDecay?: number;
  weightDecayMode?: WeightDecayMode;
  /** Clamp dL/dpooled element-wise to +-maxGradient before the update (0: off). */
  maxGradient?: number;
  /** Renormalise updated rows to at most this L2 norm (0: off). */
  maxNorm?: number;
  /** Initial accumulator of adagrad / rowwise_adagrad (default 0). */
  initialAccumulatorValue?: number;
}

/** Options of `new EmbeddingCollection(...)`. */
export interface EmbeddingCollectionOptions {
  tables: TableSpec[];
  /** Default: one feature per table, named after it, with the table's pooling. */
  features?: FeatureSpec[];
  optimizer: SparseOptimizerSpec;
  /** Seed of the initialisation (default 0): same seed, same tables, whatever the thread count. */
  seed?: number | bigint;
  device?: DeviceName;
  deviceId?: number;
}

/**
 * One batch of sparse inputs, feature-major (torchrec's KeyedJaggedTensor layout):
 *
 *   offsets  [F*B + 1]   bag (f, b) = indices[offsets[f*B + b] .. offsets[f*B + b + 1])
 *   indices  [nnz]       row ids of each feature's table
 *   weights  [nnz]|null  per-sample weights
 */
export interface SparseBatch {
  indices: IndexArray;
  offsets: IndexArray;
  weights?: Float32Array | null;
  batchSize: number;
}

/** Result of `forward`. */
export interface ForwardResult {
  /** [batchSize, pooledDim], row-major: pooled features side by side in feature order (output 0). */
  pooled: Float32Array;
  /** Every pooled output o: [batchSize, pooledDims[o]]; `outputs[0]` is `pooled`. */
  outputs: Float32Array[];
  /** All NONE-pooled features' rows, feature after feature: [nnz_f, dim] each. */
  sequence: Float32Array;
  /** Per NONE-pooled feature: its block of `sequence` ([nnz_f * dim]). */
  sequences: Record<string, Float32Array>;
}

const POOLING: Record<Pooling, number> = { sum: 0, mean: 1, none: 2 };
const OPTIM: Record<SparseOptimizerType, number> = { sgd: 0, adagrad: 1, rowwise_adagrad: 2, adam: 3 };
const DECAY: Record<WeightDecayMode, number> = { none: 0, l2: 1, decouple: 2 };
/** Optimizer state buffers per optimizer, in native order (TorchRec names). */
export const OPTIMIZER_STATES: Record<SparseOptimizerType, { name: string; perRow: boolean }[]> = {
  sgd: [],
  adagrad: [{ name: 'sum', perRow: false }],
  rowwise_adagrad: [{ name: 'sum', perRow: true }],
  adam: [
    { name: 'exp_avg', perRow: false },
    { name: 'exp_avg_sq', perRow: false },
  ],
};

function isIndexArray(v: unknown): v is IndexArray {
  return ArrayBuffer.isView(v) && (v.constructor.name === 'Int32Array' || v.constructor.name === 'BigInt64Array');
}
function isFloat32Array(v: unknown): v is Float32Array {
  return ArrayBuffer.isView(v) && v.constructor.name === 'Float32Array';
}
function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidParameterError(name, `an integer in [${min}, ${max}]`, v);
  }
  return v;
}
function checkNumber(name: string, v: unknown, def: number, ok: (x: number) => boolean, expected: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !ok(v)) throw invalidParameterError(name, expected, v);
  return v;
}
function checkEnum<T extends string>(name: string, v: unknown, table: Record<T, number>, def: T): T {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(v in table))
    throw invalidParameterError(name, `one of ${Object.keys(table).join(', ')}`, v);
  return v as T;
}

/** A table as resolved by the collection. */
export interface ResolvedTable {
  name: string;
  rows: number;
  dim: number;
  /** Index of the host table whose rows hold this one's columns, or -1. */
  host: number;
  /** Pooled output of its columns. */
  output: number;
}
/** One table a feature pools: the table it reads first, then the tables co-located in its rows. */
export interface FeatureMember {
  table: number;
  output: number;
  /** First column in that output. */
  offset: number;
}
/** A feature as resolved by the collection: table index, pooling, and its pooled columns. */
export interface ResolvedFeature {
  name: string;
  table: number;
  pooling: Pooling;
  /** First column of this feature in its table's output (`pooled` unless the table says otherwise), or -1 for NONE pooling. */
  pooledOffset: number;
  /** Its table's columns and those of the tables co-located with it (empty for NONE pooling). */
  members: FeatureMember[];
}

/** options.tables checked, and co-located tables resolved to their hosts. */
function resolveTables(specs: TableSpec[]): { tables: ResolvedTable[]; names: Map<string, number> } {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw invalidParameterError('options.tables', 'a non-empty array of tables', specs);
  }
  const names = new Map<string, number>();
  const tables = specs.map((t, i) => {
    const where = `options.tables[${i}]`;
    if (!t || typeof t.name !== 'string' || t.name === '')
      throw invalidParameterError(`${where}.name`, 'a non-empty string', t?.name);
    if (names.has(t.name)) throw invalidParameterError(`${where}.name`, 'a unique table name', t.name);
    names.set(t.name, i);
    checkInt(`${where}.rows (table '${t.name}')`, t.rows, 1, 2 ** 32 - 1);
    // Any width on the CPU; the CUDA kernels move float4s (checked with the device below).
    checkInt(`${where}.dim (table '${t.name}')`, t.dim, 1, 65536);
    const output = t.output === undefined ? 0 : checkInt(`${where}.output (table '${t.name}')`, t.output, 0, 7);
    if (t.initValue !== undefined && (typeof t.initValue !== 'number' || !Number.isFinite(t.initValue)))
      throw invalidParameterError(`${where}.initValue (table '${t.name}')`, 'a finite number', t.initValue);
    if (t.initStream !== undefined) checkInt(`${where}.initStream (table '${t.name}')`, t.initStream, 0, 2 ** 31 - 1);
    const logical =
      t.initRows === undefined
        ? t.rows
        : checkInt(`${where}.initRows (table '${t.name}')`, t.initRows, t.rows, 2 ** 32 - 1);
    if (t.initFirstRow !== undefined)
      checkInt(`${where}.initFirstRow (table '${t.name}')`, t.initFirstRow, 0, logical - t.rows);
    return { name: t.name, rows: t.rows, dim: t.dim, host: -1, output };
  });
  specs.forEach((t, i) => {
    if (t.coLocateWith === undefined) return;
    const where = `options.tables[${i}].coLocateWith (table '${t.name}')`;
    const h = typeof t.coLocateWith === 'string' ? names.get(t.coLocateWith) : undefined;
    if (h === undefined || h === i)
      throw invalidParameterError(where, 'the name of another table of this collection', t.coLocateWith);
    if (specs[h].coLocateWith !== undefined)
      throw invalidParameterError(
        where,
        `a table with rows of its own ('${t.coLocateWith}' is co-located with '${specs[h].coLocateWith}')`,
        t.coLocateWith,
      );
    if (specs[h].rows !== t.rows)
      throw invalidParameterError(
        `options.tables[${i}].rows (table '${t.name}')`,
        `the rows of its host '${t.coLocateWith}' (${specs[h].rows})`,
        t.rows,
      );
    tables[i].host = h;
  });
  return { tables, names };
}

/**
 * options.features checked (one per table, pooled as the table says, when absent), and the
 * columns of each pooled output laid out: a SUM/MEAN feature writes its table's dims, then those
 * of the tables co-located in its rows.
 */
function resolveFeatures(
  options: EmbeddingCollectionOptions,
  tables: ResolvedTable[],
  names: Map<string, number>,
): { features: ResolvedFeature[]; pooledDims: number[] } {
  const membersOf = (table: number) => [table, ...tables.flatMap((t, i) => (t.host === table ? [i] : []))];
  const featureSpecs: FeatureSpec[] =
    options.features ?? options.tables.map((t) => ({ name: t.name, table: t.name, pooling: t.pooling ?? 'sum' }));
  if (!Array.isArray(featureSpecs) || featureSpecs.length === 0) {
    throw invalidParameterError('options.features', 'a non-empty array of features', featureSpecs);
  }
  const pooledDims: number[] = new Array(Math.max(...tables.map((t) => t.output)) + 1).fill(0);
  const seen = new Set<string>();
  const features = featureSpecs.map((f, i) => {
    const where = `options.features[${i}]`;
    if (!f || typeof f.name !== 'string' || f.name === '')
      throw invalidParameterError(`${where}.name`, 'a non-empty string', f?.name);
    if (seen.has(f.name)) throw invalidParameterError(`${where}.name`, 'a unique feature name', f.name);
    seen.add(f.name);
    const table = typeof f.table === 'string' ? names.get(f.table) : f.table;
    if (table === undefined || !Number.isInteger(table) || table < 0 || table >= tables.length) {
      throw invalidParameterError(
        `${where}.table (feature '${f.name}')`,
        `a table name or index of this collection`,
        f.table,
      );
    }
    const pooling: Pooling = checkEnum<Pooling>(`${where}.pooling (feature '${f.name}')`, f.pooling, POOLING, 'sum');
    const host = tables[table].host;
    if (host >= 0) {
      throw invalidParameterError(
        `${where}.table (feature '${f.name}')`,
        `a table with rows of its own ('${tables[table].name}' is co-located with '${tables[host].name}': read the host, which pools both)`,
        f.table,
      );
    }
    const members: FeatureMember[] = [];
    if (pooling !== 'none') {
      for (const m of membersOf(table)) {
        const o = tables[m].output;
        members.push({ table: m, output: o, offset: pooledDims[o] });
        pooledDims[o] += tables[m].dim;
      }
    } else if (membersOf(table).length > 1) {
      throw invalidParameterError(
        `${where}.pooling (feature '${f.name}')`,
        `sum or mean (table '${tables[table].name}' hosts co-located tables)`,
        f.pooling,
      );
    }
    return { name: f.name, table, pooling, pooledOffset: members.length ? members[0].offset : -1, members };
  });
  return { features, pooledDims };
}

/**
 * The layout a collection of these tables and features would have (resolved tables, features with
 * their pooled columns, columns per output), checked as the constructor checks it, without
 * allocating a table: what a sharded collection shows a model while its rows live elsewhere.
 */
export function collectionLayout(options: Pick<EmbeddingCollectionOptions, 'tables' | 'features'>): {
  tables: ResolvedTable[];
  features: ResolvedFeature[];
  pooledDims: number[];
} {
  if (!options || typeof options !== 'object') throw invalidParameterError('options', 'an object', options);
  const { tables, names } = resolveTables(options.tables);
  const { features, pooledDims } = resolveFeatures({ ...options, optimizer: { type: 'sgd' } }, tables, names);
  return { tables, features, pooledDims };
}

/** options.optimizer checked, with its defaults filled in. */
function resolveOptimizer(o: SparseOptimizerSpec | undefined): Required<SparseOptimizerSpec> {
  if (!o || typeof o !== 'object') throw invalidParameterError('options.optimizer', 'an object', o);
  const type = checkEnum<SparseOptimizerType>('options.optimizer.type', o.type, OPTIM, 'sgd');
  const positive = (x: number) => Number.isFinite(x) && x > 0;
  const nonNeg = (x: number) => Number.isFinite(x) && x >= 0;
  const unit = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;
  return {
    type,
    eps: checkNumber('options.optimizer.eps', o.eps, 1e-8, positive, 'a positive number'),
    beta1: checkNumber('options.optimizer.beta1', o.beta1, 0.9, unit, 'a number in [0, 1)'),
    beta2: checkNumber('options.optimizer.beta2', o.beta2, 0.999, unit, 'a number in [0, 1)'),
    weightDecay: checkNumber('options.optimizer.weightDecay', o.weightDecay, 0, nonNeg, 'a number >= 0'),
    weightDecayMode: checkEnum<WeightDecayMode>('options.optimizer.weightDecayMode', o.weightDecayMode, DECAY, 'none'),
    maxGradient: checkNumber('options.optimizer.maxGradient', o.maxGradient, 0, nonNeg, 'a number >= 0'),
    maxNorm: checkNumber('options.optimizer.maxNorm', o.maxNorm, 0, nonNeg, 'a number >= 0'),
    initialAccumulatorValue: checkNumber(
      'options.optimizer.initialAccumulatorValue',
      o.initialAccumulatorValue,
      0,
      nonNeg,
      'a number >= 0',
    ),
  };
}

/**
 * Embedding tables plus their sparse optimizer state, in native memory (host, or GPU for
 * device 'cuda'); JS holds a handle. `forward` pools a batch; `backwardAndUpdate` applies the
 * fused backward + optimizer in place (no gradient tensor is materialised).
 */
export class EmbeddingCollection {
  readonly tables: readonly ResolvedTable[];
  readonly features: readonly ResolvedFeature[];
  readonly optimizer: Readonly<Required<SparseOptimizerSpec>>;
  readonly device: DeviceName;
  /** Columns of `pooled` (output 0): the sum of dims of the SUM/MEAN features' tables of output 0. */
  readonly pooledDim: number;
  /** Columns of each pooled output. */
  readonly pooledDims: readonly number[];
  private handle: NativeEmbeddingCollectionHandle | null;

  constructor(options: EmbeddingCollectionOptions) {
    if (!options || typeof options !== 'object') throw invalidParameterError('options', 'an object', options);
    const { tables, names } = resolveTables(options.tables);
    this.tables = tables;
    const { features, pooledDims } = resolveFeatures(options, tables, names);
    this.features = features;
    this.pooledDims = pooledDims;
    this.pooledDim = pooledDims[0];
    this.optimizer = resolveOptimizer(options.optimizer);
    this.device = checkEnum<DeviceName>('options.device', options.device, { cpu: 0, cuda: 1 }, 'cpu');
    if (this.device === 'cuda')
      tables.forEach((t, i) => {
        if (t.dim % 4 !== 0)
          throw invalidParameterError(
            `options.tables[${i}].dim (table '${t.name}')`,
            "a multiple of 4 on device 'cuda' (other dims run on device 'cpu')",
            t.dim,
          );
      });
    this.handle = this.createNative(options);
    options.tables.forEach((t, i) => {
      if (t.initValue !== undefined) this.fillWeights(i, t.initValue);
    });
  }

  /** Sets every weight of table t to `value`, a block of rows at a time. */
  private fillWeights(t: number, value: number): void {
    const { rows, dim } = this.tables[t];
    const block = Math.max(1, Math.min(rows, Math.floor((1 << 20) / dim)));
    const values = new Float32Array(block * dim).fill(value);
    for (let r = 0; r < rows; r += block) {
      const n = Math.min(block, rows - r);
      this.writeRows(t, r, n === block ? values : values.subarray(0, n * dim));
    }
  }

  /** The native collection: tables allocated and initialised on the device, optimizer state zeroed. */
  private createNative(options: EmbeddingCollectionOptions): NativeEmbeddingCollectionHandle {
    const seed = options.seed ?? 0;
    if (
      !(
        (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) ||
        (typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n)
      )
    ) {
      throw invalidParameterError('options.seed', 'a non-negative integer or bigint below 2^64', seed);
    }
    const deviceId = options.deviceId === undefined ? 0 : checkInt('options.deviceId', options.deviceId, 0, 1024);
    const stack = new Error();
    try {
      return new (addon().NativeEmbeddingCollection)({
        tables: options.tables.map((t, i) => ({
          name: t.name,
          rows: t.rows,
          dim: t.dim,
          initMin: t.initMin ?? 0,
          initMax: t.initMax ?? 0,
          host: this.tables[i].host,
          output: this.tables[i].output,
          initStream: t.initStream,
          initFirstRow: t.initFirstRow,
          initRows: t.initRows,
        })),
        features: this.features.map((f) => ({ name: f.name, table: f.table, pooling: POOLING[f.pooling] })),
        optimizer: {
          ...this.optimizer,
          type: OPTIM[this.optimizer.type],
          weightDecayMode: DECAY[this.optimizer.weightDecayMode],
        },
        seed: BigInt(seed),
        device: this.device === 'cuda' ? 1 : 0,
        deviceId,
      });
    } catch (e) {
      throw nativeError(e, stack);
    }
  }

  /** Names of the optimizer state buffers of each table, in order. */
  get stateNames(): string[] {
    return OPTIMIZER_STATES[this.optimizer.type].map((s) => s.name);
  }

  /** Optimizer steps taken (Adam's bias correction depends on it); saved in checkpoints. */
  get step(): number {
    return this.live().getStep();
  }
  set step(s: number) {
    this.live().setStep(checkInt('step', s, 0));
  }

  /**
   * Pools one batch. Outputs are fresh arrays unless `out` supplies ones of the right size
   * (`pooled` for output 0, or `outputs`, one per pooled output).
   */
  forward(
    batch: SparseBatch,
    out?: { pooled?: Float32Array; outputs?: Float32Array[]; sequence?: Float32Array },
  ): ForwardResult {
    const h = this.live();
    const b = this.checkBatch(batch);
    if (out?.outputs !== undefined && (!Array.isArray(out.outputs) || out.outputs.length !== this.pooledDims.length)) {
      throw invalidParameterError(
        'out.outputs',
        `an array of ${this.pooledDims.length} Float32Arrays (one per pooled output)`,
        out.outputs,
      );
    }
    const outputs = this.pooledDims.map((d, o) =>
      this.outArray(`out.outputs[${o}]`, out?.outputs?.[o] ?? (o === 0 ? out?.pooled : undefined), b.batchSize * d),
    );
    const { size: seqSize, blocks } = this.sequenceLayout(b);
    const sequence = this.outArray('out.sequence', out?.sequence, seqSize);
    const stack = new Error();
    try {
      h.forward(b.indices, b.offsets, b.weights, b.batchSize, outputs.length === 1 ? outputs[0] : outputs, sequence);
    } catch (e) {
      throw nativeError(e, stack);
    }
    const sequences: Record<string, Float32Array> = {};
    for (const [name, start, len] of blocks) sequences[name] = sequence.subarray(start, start + len);
    return { pooled: outputs[0], outputs, sequence, sequences };
  }

  /**
   * Fused backward + sparse optimizer for the batch last passed to `forward` (or any batch):
   * `gradPooled` is dL/dpooled [B, pooledDim] (an array of one per output when there are
   * several); `gradSequence` dL/dsequence for NONE features. Updates tables and optimizer state
   * in place; rows absent from the batch are untouched.
   */
  backwardAndUpdate(
    batch: SparseBatch,
    gradPooled: Float32Array | readonly Float32Array[],
    lr: number,
    gradSequence?: Float32Array | null,
  ): void {
    const h = this.live();
    const b = this.checkBatch(batch);
    const grads = isFloat32Array(gradPooled) ? [gradPooled] : gradPooled;
    if (!Array.isArray(grads) || grads.length !== this.pooledDims.length) {
      throw invalidParameterError(
        'gradPooled',
        this.pooledDims.length === 1
          ? `a Float32Array of length batchSize*pooledDim = ${b.batchSize * this.pooledDim}`
          : `an array of ${this.pooledDims.length} Float32Arrays (one per pooled output)`,
        gradPooled,
      );
    }
    grads.forEach((g, o) => {
      const n = b.batchSize * this.pooledDims[o];
      if (!isFloat32Array(g) || g.length !== n) {
        throw invalidParameterError(
          this.pooledDims.length === 1 ? 'gradPooled' : `gradPooled[${o}]`,
          this.pooledDims.length === 1
            ? `a Float32Array of length batchSize*pooledDim = ${n}`
            : `a Float32Array of length batchSize*pooledDims[${o}] = ${n}`,
          g,
        );
      }
    });
    const { size: seqSize } = this.sequenceLayout(b);
    if (seqSize > 0 && (!isFloat32Array(gradSequence) || gradSequence.length !== seqSize)) {
      throw invalidParameterError(
        'gradSequence',
        `a Float32Array of length ${seqSize} (the sequence output's size)`,
        gradSequence,
      );
    }
    if (typeof lr !== 'number' || !Number.isFinite(lr)) throw invalidParameterError('lr', 'a finite number', lr);
    const stack = new Error();
    try {
      h.backwardAndUpdate(
        b.indices,
        b.offsets,
        b.weights,
        b.batchSize,
        grads.length === 1 ? grads[0] : [...grads],
        seqSize > 0 ? gradSequence! : null,
        lr,
      );
    } catch (e) {
      throw nativeError(e, stack);
    }
  }

  /** Copies rows [start, start+count) of a table's weights (or of optimizer state `state`). */
  readRows(table: string | number, start: number, count: number, state?: string): Float32Array {
    const { t, which, width } = this.locate(table, state);
    const rows = this.tables[t].rows;
    checkInt('start', start, 0, rows);
    checkInt('count', count, 0, rows - start);
    const out = new Float32Array(count * width);
    this.call((h) => h.readRows(t, which, start, count, out));
    return out;
  }

  /** Overwrites rows [start, start + values.length/width) of a table's weights or state. */
  writeRows(table: string | number, start: number, values: Float32Array, state?: string): void {
    const { t, which, width } = this.locate(table, state);
    const rows = this.tables[t].rows;
    if (!isFloat32Array(values) || values.length % width !== 0) {
      throw invalidParameterError('values', `a Float32Array whose length is a multiple of ${width}`, values);
    }
    const count = values.length / width;
    checkInt('start', start, 0, rows - count);
    this.call((h) => h.writeRows(t, which, start, count, values));
  }

  /**
   * Zero-copy view of a table's weights (or state) in native memory (device 'cpu' only). The
   * memory stays valid while the view is referenced, even after dispose(). Not for the weights
   * of co-located tables (see `viewable`): their rows interleave; use readRows.
   */
  view(table: string | number, state?: string): Float32Array {
    const { t, which } = this.locate(table, state);
    if (this.device !== 'cpu')
      throw new Error(`view() needs device 'cpu' (this collection is on '${this.device}'); use readRows`);
    return this.call((h) => h.view(t, which));
  }

  /** Whether `view(table, state)` works: device 'cpu', and not the weights of a table sharing rows with co-located ones. */
  viewable(table: string | number, state?: string): boolean {
    const { t, which } = this.locate(table, state);
    if (this.device !== 'cpu') return false;
    return which >= 0 || (this.tables[t].host < 0 && !this.tables.some((x) => x.host === t));
  }

  /** Bytes of weights + optimizer state of one table, or of all tables. */
  memoryBytes(table?: string | number): number {
    const h = this.live();
    if (table === undefined) return this.tables.reduce((s, _t, i) => s + h.tableBytes(i), 0);
    return h.tableBytes(this.tableIndex(table));
  }

  /** Whether the OS was asked to back each table with huge pages (large CPU tables). */
  hugePages(): boolean[] {
    return this.live().info().hugePages;
  }

  /** Frees the native tables now (views taken earlier stay valid). Later calls throw. */
  dispose(): void {
    this.handle?.dispose();
    this.handle = null;
  }

  /** The raw native handle, for the benchmark and kernel tests (forwardReference, gatherProbe). */
  nativeHandle(): NativeEmbeddingCollectionHandle {
    return this.live();
  }

  /** Validates a batch's types and lengths (ranges and monotonicity are checked natively). */
  checkBatch(batch: SparseBatch): Required<SparseBatch> {
    if (!batch || typeof batch !== 'object') throw invalidParameterError('batch', 'an object', batch);
    const { indices, offsets, batchSize } = batch;
    const weights = batch.weights ?? null;
    if (!isIndexArray(indices)) throw invalidParameterError('batch.indices', 'an Int32Array or BigInt64Array', indices);
    if (!isIndexArray(offsets)) throw invalidParameterError('batch.offsets', 'an Int32Array or BigInt64Array', offsets);
    checkInt('batch.batchSize', batchSize, 0, 2 ** 31 - 1);
    const F = this.features.length;
    if (offsets.length !== F * batchSize + 1) {
      throw invalidParameterError(
        'batch.offsets',
        `length F*B+1 = ${F * batchSize + 1} (F=${F} features, B=${batchSize})`,
        offsets,
      );
    }
    if (weights !== null && (!isFloat32Array(weights) || weights.length !== indices.length)) {
      throw invalidParameterError(
        'batch.weights',
        `null or a Float32Array of length ${indices.length} (one per index)`,
        weights,
      );
    }
    return { indices, offsets, weights, batchSize };
  }

  private sequenceLayout(b: Required<SparseBatch>): { size: number; blocks: [string, number, number][] } {
    const blocks: [string, number, number][] = [];
    let size = 0;
    const B = b.batchSize;
    for (let f = 0; f < this.features.length; f++) {
      const feat = this.features[f];
      if (feat.pooling !== 'none') continue;
      const n = Number(b.offsets[(f + 1) * B]) - Number(b.offsets[f * B]);
      const len = Math.max(0, n) * this.tables[feat.table].dim;
      blocks.push([feat.name, size, len]);
      size += len;
    }
    return { size, blocks };
  }

  private outArray(name: string, given: Float32Array | undefined, n: number): Float32Array {
    if (given === undefined) return new Float32Array(n);
    if (!isFloat32Array(given) || given.length !== n)
      throw invalidParameterError(name, `a Float32Array of length ${n}`, given);
    return given;
  }

  private tableIndex(table: string | number): number {
    const t = typeof table === 'string' ? this.tables.findIndex((x) => x.name === table) : table;
    if (!Number.isInteger(t) || t < 0 || t >= this.tables.length) {
      throw invalidParameterError(
        'table',
        `a table name or index of this collection (${this.tables.map((x) => x.name).join(', ')})`,
        table,
      );
    }
    return t;
  }

  private locate(table: string | number, state?: string): { t: number; which: number; width: number } {
    const t = this.tableIndex(table);
    if (state === undefined || state === 'weights') return { t, which: -1, width: this.tables[t].dim };
    const states = OPTIMIZER_STATES[this.optimizer.type];
    const which = states.findIndex((s) => s.name === state);
    if (which < 0) {
      throw invalidParameterError(
        'state',
        `one of weights${states.map((s) => `, ${s.name}`).join('')} (optimizer ${this.optimizer.type})`,
        state,
      );
    }
    return { t, which, width: states[which].perRow ? 1 : this.tables[t].dim };
  }

  private call<T>(fn: (h: NativeEmbeddingCollectionHandle) => T): T {
    const h = this.live();
    const stack = new Error();
    try {
      return fn(h);
    } catch (e) {
      throw nativeError(e, stack);
    }
  }

  private live(): NativeEmbeddingCollectionHandle {
    if (!this.handle) throw new Error('this EmbeddingCollection was disposed');
    return this.handle;
  }
}
