/**
 * Communicators: how the ranks of a distributed job exchange bytes. One interface, three
 * implementations —
 * - `LocalCommunicator`: world size 1 (every single-process run; collectives are no-ops);
 * - `MpiCommunicator`: the addon's comm thread over Open MPI (native/src/comm/comm_mpi.cc),
 *   when the process was launched by `mpirun`;
 * - `SimWorld`: W ranks inside one process (tests): the same collectives with the same
 *   arithmetic, so a W-rank job can be checked bit for bit against its simulation.
 * Every rank must call the same collectives in the same order with matching sizes (as in MPI).
 */
import { addon } from './addon';
import { invalidParameterError } from './errors';

export type ReduceOp = 'sum' | 'max' | 'min';

/** Bytes this rank sent to other ranks per kind of collective (logical volumes; see `collectiveBytes`). */
export interface CommStats {
  ops: number;
  allreduceBytes: number;
  alltoallBytes: number;
  allgatherBytes: number;
  broadcastBytes: number;
}

/** The collectives tsrec's distributed training uses. */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Rank among the processes of this host, and their count. */
  readonly localRank: number;
  readonly localSize: number;
  /** `local`, `mpi (<library>)` or `sim`. */
  readonly kind: string;
  /**
   * buf = the element-wise reduction over ranks; a sum is taken in rank order (chunks of the
   * buffer are all-to-all'd, summed on their owner from rank 0 up, then all-gathered), so every
   * rank gets the same bits, run after run, whatever the transport.
   */
  allreduce(buf: Float32Array, op?: ReduceOp): Promise<void>;
  /** Integer reduction (exact in any order). */
  allreduceInt(buf: BigInt64Array, op?: ReduceOp): Promise<void>;
  /**
   * send[sendDispls[r], + sendCounts[r]) (bytes) goes to rank r; recv[recvDispls[r], +
   * recvCounts[r]) comes from rank r.
   */
  alltoallv(
    send: Uint8Array,
    sendCounts: readonly number[],
    sendDispls: readonly number[],
    recv: Uint8Array,
    recvCounts: readonly number[],
    recvDispls: readonly number[],
  ): Promise<void>;
  /** recv[displs[r], + counts[r]) = rank r's `send` (counts[rank] bytes). */
  allgatherv(send: Uint8Array, recv: Uint8Array, counts: readonly number[], displs: readonly number[]): Promise<void>;
  /** buf on every rank = buf on `root`. */
  broadcast(buf: Uint8Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  stats(): CommStats;
  /** A collective not done after this many seconds fails (another rank is gone or stuck); 0: never. */
  setTimeoutSeconds(seconds: number): void;
  /** The timeout last set (0: never). */
  timeoutSeconds(): number;
  /** Ends the communicator (MPI_Finalize); idempotent. */
  close(): void;
  /** Ends the whole job now (MPI_Abort with `code`); a no-op for a local communicator. */
  abort(code: number): void;
}

/** The byte views of a typed array (what the byte-moving collectives take). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Chunk c of n elements over w ranks: [chunkBegin(n, w, c), chunkBegin(n, w, c + 1)). */
export function chunkBegin(n: number, w: number, c: number): number {
  return Math.floor((n * c) / w);
}

/**
 * The logical bytes one rank sends for a collective of `bytes` (per rank) at world size `w`:
 * ordered allreduce 2(w−1)/w·bytes (its all-to-all and all-gather halves), all-gather
 * (w−1)·bytes, broadcast from the root (w−1)·bytes. What `stats()` counts.
 */
export function collectiveBytes(kind: 'allreduce' | 'allgather' | 'broadcast', bytes: number, w: number): number {
  if (kind === 'allreduce') return (2 * (w - 1) * bytes) / w;
  return (w - 1) * bytes;
}

function checkOp(op: ReduceOp): ReduceOp {
  if (op !== 'sum' && op !== 'max' && op !== 'min') throw invalidParameterError('op', '"sum", "max" or "min"', op);
  return op;
}

function reduce(out: Float32Array, p: Float32Array, op: ReduceOp): void {
  // Math.fround of a double sum of two float32 values is their float32 sum (the native arithmetic).
  if (op === 'sum') for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] + p[i]);
  // As native/src/comm/comm_reduce.cc: NaN wins, else the later rank's value when strictly beyond.
  else if (op === 'max')
    for (let i = 0; i < out.length; i++) out[i] = p[i] > out[i] || Number.isNaN(p[i]) ? p[i] : out[i];
  else for (let i = 0; i < out.length; i++) out[i] = p[i] < out[i] || Number.isNaN(p[i]) ? p[i] : out[i];
}

/** Every part [displs[r], + counts[r]) lies inside a buffer of `length` bytes (else MPI would write past it). */
function checkParts(
  name: string,
  length: number,
  counts: readonly number[],
  displs: readonly number[],
  size: number,
): void {
  for (const [what, a] of [
    [`${name}Counts`, counts],
    [`${name}Displs`, displs],
  ] as const)
    if (a.length !== size || !a.every((v) => Number.isSafeInteger(v) && v >= 0))
      throw invalidParameterError(what, `${size} non-negative integers (bytes)`, a);
  for (let r = 0; r < size; r++)
    if (displs[r] + counts[r] > length)
      throw invalidParameterError(
        `${name}Displs[${r}] + ${name}Counts[${r}]`,
        `at most the ${name} buffer's ${length} bytes`,
        displs[r] + counts[r],
      );
}

function checkBytes(name: string, v: unknown): void {
  if (!(v instanceof Uint8Array) && Object.prototype.toString.call(v) !== '[object Uint8Array]')
    throw invalidParameterError(name, 'a Uint8Array', v);
}

/** The checks every communicator makes before moving bytes. */
function checkAlltoallv(
  size: number,
  send: Uint8Array,
  sendCounts: readonly number[],
  sendDispls: readonly number[],
  recv: Uint8Array,
  recvCounts: readonly number[],
  recvDispls: readonly number[],
): void {
  checkBytes('send', send);
  checkBytes('recv', recv);
  checkParts('send', send.length, sendCounts, sendDispls, size);
  checkParts('recv', recv.length, recvCounts, recvDispls, size);
}

function checkAllgatherv(
  size: number,
  rank: number,
  send: Uint8Array,
  recv: Uint8Array,
  counts: readonly number[],
  displs: readonly number[],
): void {
  checkBytes('send', send);
  checkBytes('recv', recv);
  checkParts('recv', recv.length, counts, displs, size);
  if (counts[rank] > send.length)
    throw invalidParameterError(`counts[${rank}]`, `at most the send buffer's ${send.length} bytes`, counts[rank]);
}

function checkFloats(buf: unknown): void {
  if (Object.prototype.toString.call(buf) !== '[object Float32Array]')
    throw invalidParameterError('buf', 'a Float32Array', buf);
}

function zeroStats(): CommStats {
  return { ops: 0, allreduceBytes: 0, alltoallBytes: 0, allgatherBytes: 0, broadcastBytes: 0 };
}

/** World size 1: every collective is the identity. */
export class LocalCommunicator implements Communicator {
  readonly rank = 0;
  readonly size = 1;
  readonly localRank = 0;
  readonly localSize = 1;
  readonly kind = 'local';
  private readonly counters = zeroStats();

  async allreduce(_buf: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    checkOp(op);
    this.counters.ops++;
  }
  async allreduceInt(_buf: BigInt64Array, op: ReduceOp = 'sum'): Promise<void> {
    checkOp(op);
    this.counters.ops++;
  }
  async alltoallv(
    send: Uint8Array,
    sendCounts: readonly number[],
    sendDispls: readonly number[],
    recv: Uint8Array,
    _recvCounts: readonly number[],
    recvDispls: readonly number[],
  ): Promise<void> {
    recv.set(send.subarray(sendDispls[0], sendDispls[0] + sendCounts[0]), recvDispls[0]);
    this.counters.ops++;
  }
  async allgatherv(send: Uint8Array, recv: Uint8Array, counts: readonly number[], displs: readonly number[]) {
    recv.set(send.subarray(0, counts[0]), displs[0]);
    this.counters.ops++;
  }
  async broadcast(_buf: Uint8Array, root: number): Promise<void> {
    if (root !== 0) throw invalidParameterError('root', 'a rank (0)', root);
    this.counters.ops++;
  }
  async barrier(): Promise<void> {
    this.counters.ops++;
  }
  stats(): CommStats {
    return { ...this.counters };
  }
  setTimeoutSeconds(): void {}
  timeoutSeconds(): number {
    return 0;
  }
  close(): void {}
  abort(): void {}
}

/** What the binding's NativeComm object offers (native/binding/comm_binding.cc). */
interface NativeCommHandle {
  info(): { rank: number; size: number; localRank: number; localSize: number; library: string };
  stats(): CommStats;
  setTimeoutSeconds(s: number): void;
  allreduceOrdered(buf: Float32Array, op: ReduceOp): Promise<void>;
  allreduceInt64(buf: BigInt64Array, op: ReduceOp): Promise<void>;
  alltoallv(
    send: Uint8Array,
    sc: Float64Array,
    sd: Float64Array,
    recv: Uint8Array,
    rc: Float64Array,
    rd: Float64Array,
  ): Promise<void>;
  allgatherv(send: Uint8Array, recv: Uint8Array, counts: Float64Array, displs: Float64Array): Promise<void>;
  broadcast(buf: Uint8Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  close(): void;
  abort(code: number): void;
  abandon(): void;
}

/** The MPI job this process belongs to, from the launcher's environment (Open MPI, PMIx, MPICH). */
export function mpiEnvironment(env: NodeJS.ProcessEnv = process.env): { rank: number; size: number } | null {
  const size = Number(env.OMPI_COMM_WORLD_SIZE ?? env.PMI_SIZE ?? env.PMIX_SIZE ?? NaN);
  const rank = Number(env.OMPI_COMM_WORLD_RANK ?? env.PMI_RANK ?? env.PMIX_RANK ?? NaN);
  return Number.isInteger(size) && size >= 1 && Number.isInteger(rank) ? { rank, size } : null;
}

/** Whether this addon was built with Open MPI. */
export function mpiCompiled(): boolean {
  return (addon() as unknown as { commCompiled(): boolean }).commCompiled();
}

/** The addon's communicator over MPI; one per process. */
export class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly localSize: number;
  readonly kind: string;
  private readonly h: NativeCommHandle;
  private closed = false;
  private timeout = 0;

  constructor() {
    const Ctor = (addon() as unknown as { NativeComm: new () => NativeCommHandle }).NativeComm;
    this.h = new Ctor();
    const i = this.h.info();
    this.rank = i.rank;
    this.size = i.size;
    this.localRank = i.localRank;
    this.localSize = i.localSize;
    this.kind = `mpi (${i.library})`;
    // At exit: MPI_Finalize after success (mpirun takes a rank that exits without it for a failed
    // one). After a failure neither finalize (it would wait for ranks still inside a collective)
    // nor MPI_Abort (it may wait for a launcher that is already ending the job): the comm thread
    // is abandoned and mpirun, seeing a rank exit without finalizing, stops the others.
    process.once('exit', (code) => {
      if (code !== 0 && this.size > 1) this.h.abandon();
      this.close();
    });
  }

  allreduce(buf: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    checkFloats(buf);
    return this.h.allreduceOrdered(buf, checkOp(op));
  }
  allreduceInt(buf: BigInt64Array, op: ReduceOp = 'sum'): Promise<void> {
    return this.h.allreduceInt64(buf, checkOp(op));
  }
  alltoallv(
    send: Uint8Array,
    sendCounts: readonly number[],
    sendDispls: readonly number[],
    recv: Uint8Array,
    recvCounts: readonly number[],
    recvDispls: readonly number[],
  ): Promise<void> {
    checkAlltoallv(this.size, send, sendCounts, sendDispls, recv, recvCounts, recvDispls);
    const f = (a: readonly number[]) => Float64Array.from(a);
    return this.h.alltoallv(send, f(sendCounts), f(sendDispls), recv, f(recvCounts), f(recvDispls));
  }
  allgatherv(send: Uint8Array, recv: Uint8Array, counts: readonly number[], displs: readonly number[]) {
    checkAllgatherv(this.size, this.rank, send, recv, counts, displs);
    return this.h.allgatherv(send, recv, Float64Array.from(counts), Float64Array.from(displs));
  }
  broadcast(buf: Uint8Array, root: number): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.size)
      throw invalidParameterError('root', `a rank in [0, ${this.size})`, root);
    return this.h.broadcast(buf, root);
  }
  barrier(): Promise<void> {
    return this.h.barrier();
  }
  stats(): CommStats {
    return this.h.stats();
  }
  setTimeoutSeconds(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw invalidParameterError('seconds', 'a number >= 0', seconds);
    this.timeout = seconds;
    this.h.setTimeoutSeconds(seconds);
  }
  timeoutSeconds(): number {
    return this.timeout;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.h.close();
  }
  abort(code: number): void {
    this.h.abort(code);
  }
}

/**
 * The communicator of this process: MPI when launched by mpirun (a world of size 1 under
 * mpirun too), local otherwise. A job of several ranks on an addon built without MPI is an
 * error naming what to install.
 */
export function createCommunicator(env: NodeJS.ProcessEnv = process.env): Communicator {
  const job = mpiEnvironment(env);
  if (!job) return new LocalCommunicator();
  if (!mpiCompiled()) {
    if (job.size === 1) return new LocalCommunicator();
    throw new Error(
      `Expected an addon built with Open MPI for a job of ${job.size} ranks (launched by mpirun), but this one was built without it: install it (Debian: apt-get install openmpi-bin libopenmpi-dev) and rebuild (npx nx run native:build)`,
    );
  }
  return new MpiCommunicator();
}

/**
 * W ranks in one process (tests and the "W ranks equal their simulation" check): `rank(r)` is
 * rank r's communicator. Each collective completes when every rank has called it, with the
 * arithmetic of the MPI communicator.
 */
export class SimWorld {
  readonly ranks: Communicator[];
  private readonly pending = new Map<number, { calls: unknown[]; resolve: (() => void)[]; count: number }>();
  private readonly seq: number[];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw invalidParameterError('size', 'an integer >= 1', size);
    this.seq = new Array(size).fill(0);
    this.ranks = Array.from({ length: size }, (_, r) => new SimCommunicator(this, r));
  }

  /** Rank r's part of collective number seq[r]; `run` does the exchange once all have arrived. */
  arrive(r: number, call: unknown, run: (calls: unknown[]) => void): Promise<void> {
    const k = this.seq[r]++;
    let p = this.pending.get(k);
    if (!p) {
      p = { calls: new Array(this.size), resolve: [], count: 0 };
      this.pending.set(k, p);
    }
    p.calls[r] = call;
    p.count++;
    const entry = p;
    return new Promise<void>((resolve, reject) => {
      entry.resolve.push(resolve);
      if (entry.count === this.size) {
        this.pending.delete(k);
        try {
          run(entry.calls);
        } catch (e) {
          reject(e);
          return;
        }
        for (const f of entry.resolve) f();
      }
    });
  }
}

class SimCommunicator implements Communicator {
  readonly localRank: number;
  readonly localSize: number;
  readonly size: number;
  readonly kind = 'sim';
  private readonly counters = zeroStats();
  private timeout = 0;

  constructor(
    private readonly world: SimWorld,
    readonly rank: number,
  ) {
    this.size = world.size;
    this.localRank = rank;
    this.localSize = world.size;
  }

  allreduce(buf: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    checkFloats(buf);
    checkOp(op);
    const w = this.size;
    const n = buf.length;
    const mine = chunkBegin(n, w, this.rank + 1) - chunkBegin(n, w, this.rank);
    this.counters.ops++;
    this.counters.allreduceBytes += (n - mine) * 4 + mine * 4 * (w - 1);
    return this.world.arrive(this.rank, buf, (calls) => {
      const bufs = calls as Float32Array[];
      for (let c = 0; c < w; c++) {
        const b = chunkBegin(n, w, c);
        const e = chunkBegin(n, w, c + 1);
        const out = Float32Array.from(bufs[0].subarray(b, e));
        for (let r = 1; r < w; r++) reduce(out, bufs[r].subarray(b, e), op);
        for (const x of bufs) x.set(out, b);
      }
    });
  }

  allreduceInt(buf: BigInt64Array, op: ReduceOp = 'sum'): Promise<void> {
    checkOp(op);
    this.counters.ops++;
    this.counters.allreduceBytes += Math.floor((2 * (this.size - 1) * buf.length * 8) / this.size);
    return this.world.arrive(this.rank, buf, (calls) => {
      const bufs = calls as BigInt64Array[];
      for (let i = 0; i < buf.length; i++) {
        let v = bufs[0][i];
        for (let r = 1; r < bufs.length; r++) {
          const x = bufs[r][i];
          // biome-ignore lint/complexity/useMathMinMax: bigint operands (Math.max takes numbers)
          v = op === 'sum' ? v + x : op === 'max' ? (x > v ? x : v) : x < v ? x : v;
        }
        for (const b of bufs) b[i] = v;
      }
    });
  }

  alltoallv(
    send: Uint8Array,
    sendCounts: readonly number[],
    sendDispls: readonly number[],
    recv: Uint8Array,
    recvCounts: readonly number[],
    recvDispls: readonly number[],
  ): Promise<void> {
    checkAlltoallv(this.size, send, sendCounts, sendDispls, recv, recvCounts, recvDispls);
    this.counters.ops++;
    for (let j = 0; j < this.size; j++) if (j !== this.rank) this.counters.alltoallBytes += sendCounts[j];
    const call = { send: send.slice(), sendCounts, sendDispls, recv, recvCounts, recvDispls };
    return this.world.arrive(this.rank, call, (calls) => {
      const cs = calls as (typeof call)[];
      for (let to = 0; to < cs.length; to++)
        for (let from = 0; from < cs.length; from++) {
          const s = cs[from];
          const n = s.sendCounts[to];
          if (n !== cs[to].recvCounts[from])
            throw new Error(
              `alltoallv: rank ${from} sends ${n} bytes to rank ${to}, which expects ${cs[to].recvCounts[from]}`,
            );
          cs[to].recv.set(s.send.subarray(s.sendDispls[to], s.sendDispls[to] + n), cs[to].recvDispls[from]);
        }
    });
  }

  allgatherv(send: Uint8Array, recv: Uint8Array, counts: readonly number[], displs: readonly number[]): Promise<void> {
    checkAllgatherv(this.size, this.rank, send, recv, counts, displs);
    this.counters.ops++;
    this.counters.allgatherBytes += counts[this.rank] * (this.size - 1);
    const call = { send: send.slice(0, counts[this.rank]), recv, displs };
    return this.world.arrive(this.rank, call, (calls) => {
      const cs = calls as (typeof call)[];
      for (const to of cs) for (let from = 0; from < cs.length; from++) to.recv.set(cs[from].send, to.displs[from]);
    });
  }

  broadcast(buf: Uint8Array, root: number): Promise<void> {
    this.counters.ops++;
    if (this.rank === root) this.counters.broadcastBytes += buf.length * (this.size - 1);
    return this.world.arrive(this.rank, buf, (calls) => {
      const bufs = calls as Uint8Array[];
      for (const b of bufs) if (b !== bufs[root]) b.set(bufs[root]);
    });
  }

  barrier(): Promise<void> {
    this.counters.ops++;
    return this.world.arrive(this.rank, null, () => {});
  }

  stats(): CommStats {
    return { ...this.counters };
  }
  setTimeoutSeconds(seconds: number): void {
    this.timeout = seconds;
  }
  timeoutSeconds(): number {
    return this.timeout;
  }
  close(): void {}
  abort(): void {}
}
