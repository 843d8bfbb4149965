/**
 * `npx nx run native:bench`: TBE forward and forward + fused backward/update per optimizer on
 * the issue's workloads, with (in the same run) a naive single-threaded reference, the machine's
 * random-gather bandwidth for the same lookups, and PyTorch when `import torch` works.
 * TSREC_BENCH_JSON=<path> also writes the results as JSON. TSREC_BENCH_ITERS sets iterations.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmbeddingCollection, type SparseOptimizerType } from '../embedding_collection';
import { alignedFloat32Array, buildInfo } from '../runtime';
import { makeBatch, type Workload, WORKLOADS } from './workloads';

const B = 4096;
const ITERS = Number(process.env.TSREC_BENCH_ITERS ?? 15);
const WARMUP = 3;
// This VM's memory system is shared and sometimes slows random access several-fold for seconds
// at a time; each figure is the best of ROUNDS medians (PyTorch's side does the same).
const ROUNDS = Number(process.env.TSREC_BENCH_ROUNDS ?? 2);
// Distinct batches cycled through (both sides): 1 keeps the batch's rows in cache between
// iterations ("warm"); 16 puts ~100 MB of distinct rows between two visits of a batch, so rows
// come from DRAM as in training ("cold").
const BATCHES = Number(process.env.TSREC_BENCH_BATCHES ?? 1);
const OPS = ['forward', 'sgd', 'adagrad', 'rowwise_adagrad', 'adam'] as const;
type Op = (typeof OPS)[number];

interface Row {
  workload: string;
  op: Op;
  threads: number;
  median_ms: number;
  lookups_per_s: number;
  gb_per_s: number;
  reference_ms: number;
  speedup_vs_reference: number;
  /** Forward time vs an index_select-style gather (copy rows into a contiguous output). */
  gather_share: number | null;
  /** Forward time vs a read-only sweep of the same rows (no stores). */
  read_share: number | null;
  torch_ms?: number;
  speedup_vs_torch?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timeIt(n: number, fn: (i: number) => void, rounds = 1): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      fn(i);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    best = Math.min(best, median(t));
  }
  return best;
}

function uniqueRows(w: Workload, batch: { indices: Int32Array; offsets: Int32Array }): number[] {
  return w.tables.map((_, f) => new Set(batch.indices.subarray(batch.offsets[f * B], batch.offsets[(f + 1) * B])).size);
}

/** Bytes a step must move at least: rows read (+ for updates: unique rows and their state read and written, the gradient read). */
function bytesOf(w: Workload, op: Op, uniq: number[]): number {
  let bytes = 0;
  w.tables.forEach((t, f) => {
    bytes += B * w.bag * t.dim * 4 + B * t.dim * 4; // gather + pooled write
    if (op === 'forward') return;
    const elemStates = op === 'adagrad' ? 1 : op === 'adam' ? 2 : 0;
    bytes += B * t.dim * 4; // gradient read
    bytes += uniq[f] * (2 * t.dim * 4 * (1 + elemStates) + (op === 'rowwise_adagrad' ? 8 : 0));
  });
  return bytes;
}

function runTorch(): Record<string, Record<string, number>> | null {
  const script = path.join(__dirname, '..', '..', '..', '..', 'tools', 'bench_torch_tbe.py');
  for (const py of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    console.log(`PyTorch ${probe.stdout.trim()} found (${py}); running the same workloads there…`);
    const r = spawnSync(
      py,
      [
        script,
        '--batch',
        String(B),
        '--iters',
        String(ITERS),
        '--threads',
        String(buildInfo().threads),
        '--rounds',
        String(ROUNDS),
        '--batches',
        String(BATCHES),
        ...(process.env.TSREC_BENCH_WORKLOADS ? ['--workloads', process.env.TSREC_BENCH_WORKLOADS] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) {
      console.log(`PyTorch comparison failed (exit ${r.status}); continuing without it`);
      return null;
    }
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }
  console.log('PyTorch not importable (apt-get install python3-torch to compare); skipping the PyTorch column');
  return null;
}

function main(): void {
  const info = buildInfo();
  console.log(
    `tsrec TBE benchmark: batch ${B}, ${BATCHES} distinct batch${BATCHES === 1 ? ' (rows stay in cache: TSREC_BENCH_BATCHES=16 for rows from DRAM)' : 'es cycled'}, best of ${ROUNDS} medians of ${ITERS} iterations, ${info.threads} threads, BLAS ${info.blas}`,
  );
  const only = process.env.TSREC_BENCH_WORKLOADS?.split(',');
  const rows: Row[] = [];
  for (const w of WORKLOADS.filter((x) => !only || only.includes(x.name))) {
    const batches = Array.from({ length: BATCHES }, (_, s) => makeBatch(w, B, 1000 + s));
    const uniq = uniqueRows(w, batches[0]);
    const lookups = B * w.bag * w.tables.length;
    for (const op of OPS) {
      const type: SparseOptimizerType = op === 'forward' ? 'sgd' : op;
      const coll = new EmbeddingCollection({
        tables: w.tables.map((t, i) => ({ name: `t${i}`, rows: t.rows, dim: t.dim, pooling: w.pooling })),
        optimizer: { type },
        seed: 1,
      });
      const h = coll.nativeHandle();
      // Natively allocated, 64-byte aligned: the forward streams pooled rows out (as a trainer would).
      const pooled = alignedFloat32Array(B * coll.pooledDim);
      // dL/dpooled as the trainer hands it over: a tsrec-backend output (native huge-page memory).
      const grad = alignedFloat32Array(B * coll.pooledDim);
      for (let i = 0; i < grad.length; i++) grad[i] = ((i * 2654435761) % 1000) / 1e5 - 0.005;
      const step = (i: number, reference: boolean) => {
        const b = batches[i % batches.length];
        if (reference) h.forwardReference(b.indices, b.offsets, null, B, pooled, null);
        else h.forward(b.indices, b.offsets, null, B, pooled, null);
        if (op === 'forward') return;
        if (reference) h.backwardReference(b.indices, b.offsets, null, B, grad, null, 1e-3);
        else h.backwardAndUpdate(b.indices, b.offsets, null, B, grad, null, 1e-3);
      };
      timeIt(WARMUP, (i) => step(i, false));
      const ms = timeIt(ITERS, (i) => step(i, false), ROUNDS);
      const refMs = timeIt(op === 'forward' ? 5 : 3, (i) => step(i, true));
      let share: number | null = null;
      let readShare: number | null = null;
      if (op === 'forward') {
        // Same ids (cycling the same batches), same rows, plain loops without prefetch: the share is a time ratio.
        const probe = (mode: 0 | 1) => {
          const run = (i: number) => {
            const b = batches[i % batches.length];
            return h.gatherProbe(b.indices, b.offsets, null, B, mode) * 1e3;
          };
          for (let i = 0; i < WARMUP; i++) run(i);
          let best = Infinity;
          for (let r = 0; r < ROUNDS; r++)
            best = Math.min(best, median(Array.from({ length: ITERS }, (_, i) => run(i))));
          return best;
        };
        share = probe(0) / ms;
        readShare = probe(1) / ms;
      }
      const bytes = bytesOf(w, op, uniq);
      rows.push({
        workload: w.name,
        op,
        threads: info.threads,
        median_ms: ms,
        lookups_per_s: lookups / (ms / 1e3),
        gb_per_s: bytes / (ms / 1e3) / 1e9,
        reference_ms: refMs,
        speedup_vs_reference: refMs / ms,
        gather_share: share,
        read_share: readShare,
      });
      const last = rows[rows.length - 1];
      console.log(
        `  ${w.name.padEnd(10)} ${op.padEnd(16)} ${ms.toFixed(2).padStart(8)} ms  ${(last.lookups_per_s / 1e6).toFixed(1).padStart(6)} M lookups/s  ${last.gb_per_s.toFixed(2).padStart(6)} GB/s  ` +
          `x${last.speedup_vs_reference.toFixed(1)} vs naive` +
          (share !== null
            ? `  ${(share * 100).toFixed(0)}% of index_select gather, ${(readShare! * 100).toFixed(0)}% of read-only sweep`
            : '') +
          (info.threads > 0 ? '' : ''),
      );
      coll.dispose();
    }
  }
  const torch = process.env.TSREC_BENCH_TORCH === '0' ? null : runTorch();
  if (torch) {
    for (const r of rows) {
      const t = torch[r.workload]?.[r.op];
      if (t !== undefined) {
        r.torch_ms = t;
        r.speedup_vs_torch = t / r.median_ms;
      }
    }
  }
  console.log('\nworkload   op                 tsrec ms   naive ms  x naive   gather%    read%   torch ms  x torch');
  for (const r of rows) {
    console.log(
      `${r.workload.padEnd(10)} ${r.op.padEnd(16)} ${r.median_ms.toFixed(2).padStart(9)} ${r.reference_ms.toFixed(2).padStart(10)} ${r.speedup_vs_reference.toFixed(1).padStart(8)} ` +
        `${r.gather_share === null ? '       -' : `${(r.gather_share * 100).toFixed(0).padStart(7)}%`} ${r.read_share === null ? '       -' : `${(r.read_share * 100).toFixed(0).padStart(7)}%`} ${r.torch_ms === undefined ? '         -' : r.torch_ms.toFixed(2).padStart(10)} ${r.speedup_vs_torch === undefined ? '       -' : r.speedup_vs_torch.toFixed(1).padStart(8)}`,
    );
  }
  const json = process.env.TSREC_BENCH_JSON;
  if (json) {
    fs.writeFileSync(
      json,
      JSON.stringify({ machine: { threads: info.threads, blas: info.blas, batch: B }, results: rows }, null, 2),
    );
    console.log(`\nwrote ${json}`);
  }
}

main();
