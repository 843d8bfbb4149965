// One rank of the collectives check (run by collectives.test.ts under mpirun -np W). Every rank
// builds every rank's inputs from (seed, rank), runs each collective through MPI and the same
// collective through an in-process SimWorld of W ranks, and prints one JSON line: mismatches
// (bits), the byte counters, and how much CPU a 1 s wait for a late peer cost.

const { createCommunicator, SimWorld, bytesOf, chunkBegin, collectiveBytes } = require('@tsrec/native');

const seed = Number(process.env.TSREC_DIST_SEED || 1);

/** xorshift32 floats spanning many magnitudes (so summation order matters). */
function data(r, n, salt) {
  let s = (seed * 2654435761 + r * 97 + salt * 7919 + 1) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * 10 ** ((s % 9) - 4);
  }
  return out;
}

/** Bytes rank `from` sends rank `to` in alltoallv case `k` (0 included). */
function a2aCount(from, to, k) {
  return ((from * 31 + to * 17 + k * 13 + seed) % 5) * ((k % 3) + 1) * 3;
}

function sameBits(a, b) {
  const x = bytesOf(a);
  const y = bytesOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function main() {
  const comm = createCommunicator();
  const w = comm.size;
  const r = comm.rank;
  const sim = new SimWorld(w);
  const failures = [];
  const expect = (ok, what) => {
    if (!ok) failures.push(what);
  };
  const expected = { allreduceBytes: 0, alltoallBytes: 0, allgatherBytes: 0, broadcastBytes: 0 };

  // Ordered allreduce: sizes around the chunking edges, every op.
  const sizes = [0, 1, w - 1, w, w + 1, 7, 1000, (1 << 20) + 3];
  for (const [k, n] of sizes.entries())
    for (const op of ['sum', 'max', 'min']) {
      const mine = data(r, n, k);
      await comm.allreduce(mine, op);
      const all = Array.from({ length: w }, (_, q) => data(q, n, k));
      await Promise.all(all.map((b, q) => sim.ranks[q].allreduce(b, op)));
      expect(sameBits(mine, all[r]), `allreduce ${op} n=${n} differs from the simulation`);
      const own = chunkBegin(n, w, r + 1) - chunkBegin(n, w, r);
      expected.allreduceBytes += (n - own) * 4 + own * 4 * (w - 1);
    }
  // A sum in rank order is not MPI_Allreduce's: check it against a plain loop too.
  {
    const n = 4097;
    const mine = data(r, n, 99);
    await comm.allreduce(mine, 'sum');
    const want = data(0, n, 99);
    for (let q = 1; q < w; q++) {
      const p = data(q, n, 99);
      for (let i = 0; i < n; i++) want[i] = Math.fround(want[i] + p[i]);
    }
    expect(sameBits(mine, want), 'allreduce sum is not the rank-order sum');
    const own = chunkBegin(n, w, r + 1) - chunkBegin(n, w, r);
    expected.allreduceBytes += (n - own) * 4 + own * 4 * (w - 1);
  }

  // Integer allreduce.
  {
    const v = BigInt64Array.from([BigInt(r + 1), BigInt(-r), 1n << 40n]);
    await comm.allreduceInt(v, 'sum');
    const s = BigInt((w * (w + 1)) / 2);
    expect(v[0] === s && v[1] === BigInt(-(w * (w - 1)) / 2) && v[2] === BigInt(w) << 40n, 'allreduceInt sum');
    const m = BigInt64Array.from([BigInt(r)]);
    await comm.allreduceInt(m, 'max');
    expect(m[0] === BigInt(w - 1), 'allreduceInt max');
    expected.allreduceBytes += Math.floor((2 * (w - 1) * 3 * 8) / w) + Math.floor((2 * (w - 1) * 8) / w);
  }

  // alltoallv with uneven counts (zeros included).
  for (let k = 0; k < 6; k++) {
    const sc = Array.from({ length: w }, (_, to) => a2aCount(r, to, k));
    const rc = Array.from({ length: w }, (_, from) => a2aCount(from, r, k));
    const sd = sc.map((_, j) => sc.slice(0, j).reduce((a, b) => a + b, 0));
    const rd = rc.map((_, j) => rc.slice(0, j).reduce((a, b) => a + b, 0));
    const send = new Uint8Array(sc.reduce((a, b) => a + b, 0));
    for (let to = 0; to < w; to++) for (let i = 0; i < sc[to]; i++) send[sd[to] + i] = (r * 50 + to * 7 + i + k) & 255;
    const recv = new Uint8Array(rc.reduce((a, b) => a + b, 0));
    await comm.alltoallv(send, sc, sd, recv, rc, rd);
    let ok = true;
    for (let from = 0; from < w; from++)
      for (let i = 0; i < rc[from]; i++) if (recv[rd[from] + i] !== ((from * 50 + r * 7 + i + k) & 255)) ok = false;
    expect(ok, `alltoallv case ${k}`);
    expected.alltoallBytes += sc.reduce((a, b, j) => a + (j === r ? 0 : b), 0);
  }

  // allgatherv and broadcast.
  {
    const counts = Array.from({ length: w }, (_, q) => q * 3 + 1);
    const displs = counts.map((_, j) => counts.slice(0, j).reduce((a, b) => a + b, 0));
    const send = new Uint8Array(counts[r]).fill(r + 1);
    const recv = new Uint8Array(counts.reduce((a, b) => a + b, 0));
    await comm.allgatherv(send, recv, counts, displs);
    let ok = true;
    for (let q = 0; q < w; q++) for (let i = 0; i < counts[q]; i++) if (recv[displs[q] + i] !== q + 1) ok = false;
    expect(ok, 'allgatherv');
    expected.allgatherBytes += counts[r] * (w - 1);
    const root = w - 1;
    const b = new Uint8Array(1000).fill(r === root ? 42 : 0);
    await comm.broadcast(b, root);
    expect(
      b.every((x) => x === 42),
      'broadcast',
    );
    if (r === root) expected.broadcastBytes += collectiveBytes('broadcast', 1000, w);
  }

  // Waiting for a late peer neither blocks the event loop nor burns a core.
  let ticks = 0;
  let waitCpuS = 0;
  {
    if (r === 0) await new Promise((res) => setTimeout(res, 1000));
    const timer = setInterval(() => ticks++, 10);
    const cpu0 = process.cpuUsage();
    await comm.barrier();
    const cpu = process.cpuUsage(cpu0);
    clearInterval(timer);
    waitCpuS = (cpu.user + cpu.system) / 1e6;
  }

  const stats = comm.stats();
  for (const key of Object.keys(expected))
    expect(stats[key] === expected[key], `${key}: counted ${stats[key]}, formula ${expected[key]}`);
  console.log(
    JSON.stringify({ rank: r, size: w, kind: comm.kind, failures, stats, expected, ticks, waitCpuS, ops: stats.ops }),
  );
  comm.close();
}

main().catch((e) => {
  console.error(`rank failed: ${e?.stack ?? e}`);
  process.exit(1);
});
