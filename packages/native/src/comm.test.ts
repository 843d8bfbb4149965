/**
 * Communicators without mpirun: the in-process simulation of W ranks (the reference the MPI runs in
 * test/dist are compared with bit for bit), the single-process communicator, and how a process
 * finds its job. The collectives over real MPI ranks are checked by `npx nx run e2e:dist`.
 */
import {
  bytesOf,
  chunkBegin,
  collectiveBytes,
  createCommunicator,
  LocalCommunicator,
  mpiCompiled,
  mpiEnvironment,
  SimWorld,
} from './index';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);

describe(`SimWorld (seed ${seed})`, () => {
  it.each([1, 2, 3, 4, 7])('allreduce sum at W=%i is the rank-order float32 sum, the same on every rank', async (w) => {
    const world = new SimWorld(w);
    const r = rng(seed + w);
    for (const n of [0, 1, w - 1, w + 1, 1000]) {
      const parts = Array.from({ length: w }, () =>
        Float32Array.from({ length: n }, () => (r() - 0.5) * 10 ** (r() * 8 - 4)),
      );
      const want = Float32Array.from(parts[0]);
      for (let q = 1; q < w; q++) for (let i = 0; i < n; i++) want[i] = Math.fround(want[i] + parts[q][i]);
      const bufs = parts.map((p) => Float32Array.from(p));
      await Promise.all(bufs.map((b, q) => world.ranks[q].allreduce(b)));
      for (const b of bufs) expect(Buffer.from(bytesOf(b)).equals(Buffer.from(bytesOf(want)))).toBe(true);
    }
  });

  it('max and min propagate NaN; the int64 reduction is exact', async () => {
    const world = new SimWorld(2);
    const a = Float32Array.from([1, Number.NaN, 5]);
    const b = Float32Array.from([2, 1, Number.NaN]);
    await Promise.all([world.ranks[0].allreduce(a, 'max'), world.ranks[1].allreduce(b, 'max')]);
    expect(Array.from(a)).toEqual([2, Number.NaN, Number.NaN]);
    const i = [BigInt64Array.from([1n << 62n, -3n]), BigInt64Array.from([1n, 5n])];
    await Promise.all(i.map((x, q) => world.ranks[q].allreduceInt(x, 'sum')));
    expect(Array.from(i[1])).toEqual([(1n << 62n) + 1n, 2n]);
  });

  it('alltoallv delivers every part at its displacement and counts the bytes sent to others', async () => {
    const w = 3;
    const world = new SimWorld(w);
    const count = (from: number, to: number) => (from + 2 * to) % 4;
    const calls = world.ranks.map((c, from) => {
      const sc = Array.from({ length: w }, (_, to) => count(from, to));
      const rc = Array.from({ length: w }, (_, f) => count(f, from));
      const sd = sc.map((_, j) => sc.slice(0, j).reduce((a, b) => a + b, 0));
      const rd = rc.map((_, j) => rc.slice(0, j).reduce((a, b) => a + b, 0));
      const send = new Uint8Array(sc.reduce((a, b) => a + b, 0));
      for (let to = 0; to < w; to++) send.fill(10 * from + to, sd[to], sd[to] + sc[to]);
      const recv = new Uint8Array(rc.reduce((a, b) => a + b, 0));
      return { c, send, sc, sd, recv, rc, rd };
    });
    await Promise.all(calls.map((x) => x.c.alltoallv(x.send, x.sc, x.sd, x.recv, x.rc, x.rd)));
    for (const [to, x] of calls.entries()) {
      for (let from = 0; from < w; from++)
        expect(Array.from(x.recv.subarray(x.rd[from], x.rd[from] + x.rc[from]))).toEqual(
          new Array(count(from, to)).fill(10 * from + to),
        );
      expect(x.c.stats().alltoallBytes).toBe(x.sc.reduce((a, b, j) => a + (j === to ? 0 : b), 0));
    }
  });

  it('a mismatched alltoallv is an error naming both ranks', async () => {
    const world = new SimWorld(2);
    const p0 = world.ranks[0].alltoallv(new Uint8Array(4), [2, 2], [0, 2], new Uint8Array(4), [2, 2], [0, 2]);
    const p1 = world.ranks[1].alltoallv(new Uint8Array(4), [2, 2], [0, 2], new Uint8Array(2), [1, 1], [0, 1]);
    await expect(Promise.all([p0, p1])).rejects.toThrow(/rank 0 sends 2 bytes to rank 1, which expects 1/);
  });

  it('allgatherv, broadcast and byte counters equal the formulas', async () => {
    const w = 4;
    const world = new SimWorld(w);
    const counts = [1, 0, 3, 2];
    const displs = [0, 1, 1, 4];
    const recvs = counts.map(() => new Uint8Array(6));
    await Promise.all(
      world.ranks.map((c, r) => c.allgatherv(new Uint8Array(counts[r]).fill(r + 1), recvs[r], counts, displs)),
    );
    for (const x of recvs) expect(Array.from(x)).toEqual([1, 3, 3, 3, 4, 4]);
    const bufs = world.ranks.map((_, r) => new Uint8Array(100).fill(r === 2 ? 9 : 0));
    await Promise.all(world.ranks.map((c, r) => c.broadcast(bufs[r], 2)));
    for (const b of bufs) expect(b.every((x) => x === 9)).toBe(true);
    expect(world.ranks[2].stats().broadcastBytes).toBe(collectiveBytes('broadcast', 100, w));
    expect(world.ranks[2].stats().allgatherBytes).toBe(collectiveBytes('allgather', 3, w));
    const f = world.ranks.map(() => new Float32Array(8));
    await Promise.all(world.ranks.map((c, r) => c.allreduce(f[r])));
    // Balanced chunks: exactly the ring's 2(W-1)/W of the buffer.
    expect(world.ranks[0].stats().allreduceBytes).toBe(collectiveBytes('allreduce', 32, w));
  });

  it('parts outside their buffers and wrong types are refused before any byte moves', () => {
    const c = new SimWorld(2).ranks[0];
    expect(() => c.alltoallv(new Uint8Array(4), [2, 3], [0, 2], new Uint8Array(4), [2, 2], [0, 2])).toThrow(
      /Expected at most the send buffer's 4 bytes for sendDispls\[1\] \+ sendCounts\[1\] but received 5/,
    );
    expect(() => c.allgatherv(new Uint8Array(2), new Uint8Array(3), [2, 2], [0, 2])).toThrow(
      /Expected at most the recv buffer's 3 bytes for recvDispls\[1\] \+ recvCounts\[1\] but received 4/,
    );
    expect(() => c.allgatherv(new Uint8Array(1), new Uint8Array(4), [2, 2], [0, 2])).toThrow(
      /Expected at most the send buffer's 1 bytes for counts\[0\] but received 2/,
    );
    expect(() => c.alltoallv(new Uint8Array(4), [1], [0], new Uint8Array(4), [1, 1], [0, 1])).toThrow(/sendCounts/);
    expect(() => c.allreduce(new Float64Array(2) as unknown as Float32Array)).toThrow(/a Float32Array/);
  });

  it('chunks tile the buffer', () => {
    for (const w of [1, 2, 3, 8])
      for (const n of [0, 1, 5, 64]) {
        expect(chunkBegin(n, w, 0)).toBe(0);
        expect(chunkBegin(n, w, w)).toBe(n);
      }
  });
});

describe('LocalCommunicator and the environment', () => {
  it('is the identity for a single process', async () => {
    const c = new LocalCommunicator();
    const f = Float32Array.from([1, 2]);
    await c.allreduce(f);
    expect(Array.from(f)).toEqual([1, 2]);
    const recv = new Uint8Array(3);
    await c.alltoallv(Uint8Array.from([7, 8, 9]), [3], [0], recv, [3], [0]);
    expect(Array.from(recv)).toEqual([7, 8, 9]);
    await expect(c.broadcast(new Uint8Array(1), 1)).rejects.toThrow(/root/);
    await expect(c.allreduce(f, 'avg' as never)).rejects.toThrow(/"sum", "max" or "min"/);
  });

  it('finds the job from the launcher environment', () => {
    expect(mpiEnvironment({})).toBeNull();
    expect(mpiEnvironment({ OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_RANK: '2' })).toEqual({ rank: 2, size: 4 });
    expect(mpiEnvironment({ PMI_SIZE: '2', PMI_RANK: '0' })).toEqual({ rank: 0, size: 2 });
    expect(createCommunicator({}).kind).toBe('local');
  });

  it('a several-rank job on an addon without MPI names the packages to install', () => {
    if (mpiCompiled()) return; // this addon has MPI: the refusal is the other build's (CI builds both)
    expect(() => createCommunicator({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '0' })).toThrow(
      /built without it: install it \(Debian: apt-get install openmpi-bin libopenmpi-dev\)/,
    );
  });
});
