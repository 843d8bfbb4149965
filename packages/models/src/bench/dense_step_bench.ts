/**
 * `npx nx run models:bench`: one DeepFM dense-side train step — batch 4096, 26 fields × dim 16
 * pooled embeddings + 13 dense → concat 429 → MLP 256-128-64-1 (fused matmul + bias + ReLU, the
 * last linear), FM over the 26 embeddings (`fmInteraction`, summed over dims), fused sigmoid BCE
 * (`sigmoidBceWithLogits`), Adam (`fusedAdam`: tfjs's Adam, one native kernel per variable on
 * tsrec), and dL/d(pooled embeddings) computed and read as the TBE backward consumes it — on the
 * `tsrec` backend, stock tfjs cpu and tfjs wasm (the same model code: on those backends the ops
 * take their TS kernels and the optimizer is stock Adam), and the same maths as a plain
 * C++/OpenBLAS loop (native/bench/mlp_step.cc). Prints medians and ratios from one run.
 *
 * tsrec and C++ run interleaved in TSREC_BENCH_ROUNDS rounds (default 5) of TSREC_BENCH_ITERS
 * steps (default 20) after warm-up; each reports the best round's median and the spread of the
 * round medians (this VM is shared: other processes inflate single rounds), plus the process CPU
 * time per step (`cpu ms`), which other processes disturb far less when TSREC_BENCH_THREADS=1. tfjs_cpu (seconds
 * per step) runs TSREC_BENCH_CPU_ITERS steps (default 3), tfjs_wasm TSREC_BENCH_WASM_ITERS
 * (default 5), one round each.
 * Env: TSREC_BENCH_JSON=<path> writes {"results":[{"name","median_ms"}]};
 * TSREC_BENCH_BACKENDS=tsrec,tfjs_cpu,tfjs_wasm,cpp_openblas narrows the run;
 * TSREC_BENCH_PROFILE=1 prints the tsrec step's kernels by time (tf.profile);
 * TSREC_BENCH_THREADS=n runs tsrec and the C++ loop with n BLAS and n pool threads (default: the
 * machine's cores, as both would run).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import {
  borrowFloat32,
  buildInfo,
  fusedAdam,
  registerTfjsGradients,
  registerTsrecBackend,
  setBlasThreads,
  setNumThreads,
} from '@tsrec/native';

import { sigmoidBceWithLogits } from '../losses/sigmoid_bce_with_logits';
import { fmInteraction } from '../ops/fm_interaction';
import { fusedDense } from '../ops/fused_dense';

const B = Number(process.env.TSREC_BENCH_BATCH ?? 4096);
const FIELDS = 26;
const DIM = 16;
const DENSE = 13;
const WIDTHS = [FIELDS * DIM + DENSE, 256, 128, 64, 1];
const WARMUP = 3;
/** TSREC_BENCH_MLP=tfjs: the MLP through tf.fused.matMul (unfused while training) instead of `fusedDense`. */
const STOCK_MLP = process.env.TSREC_BENCH_MLP === 'tfjs';

type Name = 'tsrec' | 'tfjs_cpu' | 'tfjs_wasm' | 'cpp_openblas';
const ALL: Name[] = ['tsrec', 'tfjs_cpu', 'tfjs_wasm', 'cpp_openblas'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The DeepFM dense side: parameters, inputs and one train step. */
class DeepFmDense {
  readonly params: tf.Variable[] = [];
  readonly emb: tf.Tensor2D;
  readonly dense: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  readonly optimizer = fusedAdam(1e-3);
  /** A value read from dL/d(embeddings) each step (what the TBE backward would consume). */
  gradProbe = 0;
  /** The loss of the last step. */
  lastLoss = NaN;

  constructor() {
    for (let l = 0; l < 4; ++l) {
      const [fi, fo] = [WIDTHS[l], WIDTHS[l + 1]];
      this.params.push(
        tf.variable(tf.randomNormal([fi, fo], 0, Math.sqrt(2 / (fi + fo)), 'float32', 11 + l), true, `w${l}`),
      );
      this.params.push(tf.variable(tf.zeros([fo]), true, `b${l}`));
    }
    this.emb = tf.randomNormal([B, FIELDS * DIM], 0, 0.1, 'float32', 1);
    this.dense = tf.randomNormal([B, DENSE], 0, 1, 'float32', 2);
    this.labels = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([B, 1], 0, 1, 'float32', 3), 0.5), 'float32'),
    ) as tf.Tensor2D;
  }

  private loss(emb: tf.Tensor2D, p: tf.Tensor[]): tf.Scalar {
    // Deep: concat → fused matmul + bias + ReLU per layer (the last linear).
    let h = tf.concat([emb, this.dense], 1) as tf.Tensor2D;
    for (let l = 0; l < 4; ++l) {
      const [w, b, act] = [p[2 * l] as tf.Tensor2D, p[2 * l + 1] as tf.Tensor1D, l < 3 ? 'relu' : 'linear'] as const;
      h = STOCK_MLP
        ? (tf.fused.matMul({ a: h, b: w, bias: b, activation: act }) as tf.Tensor2D)
        : fusedDense(h, w, b, act);
    }
    // FM over the 26 embeddings, summed over dims (DeepFM's y = FM + deep).
    const fm = tf.sum(fmInteraction(tf.reshape(emb, [B, FIELDS, DIM])), 1, true);
    return sigmoidBceWithLogits(tf.add(h, fm), this.labels);
  }

  /** Forward, backward (parameters and embeddings) and Adam; returns the loss. */
  step(): number {
    return tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => this.loss(xs[0] as tf.Tensor2D, xs.slice(1)))([
        this.emb,
        ...this.params,
      ]);
      this.optimizer.applyGradients(this.params.map((v, i) => ({ name: v.name, tensor: grads[i + 1] })));
      // dL/d(embeddings) is what the TBE backward consumes, synchronously.
      const g = borrowFloat32(grads[0]);
      this.gradProbe = g[0] + g[g.length - 1];
      this.lastLoss = value.dataSync()[0];
      return this.lastLoss;
    });
  }

  dispose(): void {
    this.params.forEach((v) => v.dispose());
    this.optimizer.dispose();
    tf.dispose([this.emb, this.dense, this.labels]);
  }
}

/** Median wall and process-CPU milliseconds per step. */
function timeSteps(model: DeepFmDense, iters: number): { ms: number; cpuMs: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; ++i) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    model.step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  return { ms: median(times), cpuMs: median(cpu) };
}

async function useBackend(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`Expected tfjs backend ${backend} to initialise but it did not`);
  const b = tf.backend() as unknown as { firstUse?: boolean };
  if (b.firstUse) b.firstUse = false; // the cpu backend's "install tfjs-node" banner
}

async function profile(model: DeepFmDense): Promise<void> {
  const info = await tf.profile(() => void model.step());
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`profile (tsrec, one step, ${info.kernels.length} kernel calls):`);
  for (const [name, ms] of rows) console.log(`  ${name.padEnd(24)} ${ms.toFixed(2)} ms`);
}

function cppExe(): string {
  const nativeDir = path.dirname(require.resolve('@tsrec/native/package.json'));
  const exe = path.join(nativeDir, 'build', 'native', 'mlp_step');
  if (!fs.existsSync(exe))
    throw new Error(`Expected the C++ benchmark at ${exe}; build it with npx nx run native:build-addon`);
  return exe;
}

function timeCpp(iters: number): { ms: number; cpuMs: number; loss: number } {
  const r = spawnSync(cppExe(), [String(iters), String(B)], { encoding: 'utf8', env: process.env });
  const m = /median_ms ([\d.]+)/.exec(r.stdout ?? '');
  const c = /median_cpu_ms ([\d.]+)/.exec(r.stdout ?? '');
  const l = /loss ([\d.]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m)
    throw new Error(
      `Expected mlp_step to succeed but it exited ${r.status ?? r.signal}: ${r.error?.message ?? r.stderr}`,
    );
  return { ms: Number(m[1]), cpuMs: c ? Number(c[1]) : NaN, loss: l ? Number(l[1]) : NaN };
}

interface Row {
  name: Name;
  median_ms: number;
  rounds: number[];
  /** Best round's median process CPU ms per step (tsrec and C++). */
  cpu_ms?: number;
  loss?: number;
  note?: string;
}

async function main(): Promise<void> {
  const threads = Number(process.env.TSREC_BENCH_THREADS ?? 0);
  if (threads > 0) {
    // The C++ child inherits these; the addon's BLAS and pool are set explicitly below.
    process.env.OPENBLAS_NUM_THREADS = String(threads);
    process.env.TSREC_NUM_THREADS = String(threads);
    setBlasThreads(threads);
    setNumThreads(threads);
  }
  registerTsrecBackend();
  registerTfjsGradients();
  const wanted = (process.env.TSREC_BENCH_BACKENDS ?? ALL.join(',')).split(',') as Name[];
  for (const w of wanted)
    if (!ALL.includes(w))
      throw new Error(`Expected one of ${ALL.join(', ')} in TSREC_BENCH_BACKENDS but received "${w}"`);
  const iters = Number(process.env.TSREC_BENCH_ITERS ?? 20);
  const rounds = Math.max(1, Number(process.env.TSREC_BENCH_ROUNDS ?? 5));
  console.log(
    `DeepFM dense train step: batch ${B}, ${FIELDS}x${DIM} pooled + ${DENSE} dense, MLP ${WIDTHS.join('-')} ReLU, FM, fused sigmoid BCE, Adam;` +
      ` dL/d(pooled) read each step`,
  );
  console.log(
    `BLAS: ${buildInfo().blas}; tsrec pool threads ${buildInfo().threads}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}`,
  );
  const rows: Row[] = [];

  // tsrec and C++ interleaved, round by round, so both see the same machine load.
  const interleaved = wanted.filter((n) => n === 'tsrec' || n === 'cpp_openblas');
  if (interleaved.length) {
    let model: DeepFmDense | null = null;
    if (interleaved.includes('tsrec')) {
      await useBackend('tsrec');
      model = new DeepFmDense();
      for (let i = 0; i < WARMUP; ++i) model.step();
    }
    const per: Record<string, number[]> = { tsrec: [], cpp_openblas: [] };
    const perCpu: Record<string, number[]> = { tsrec: [], cpp_openblas: [] };
    let cppLoss = NaN;
    for (let r = 0; r < rounds; ++r) {
      if (model) {
        const t = timeSteps(model, iters);
        per.tsrec.push(t.ms);
        perCpu.tsrec.push(t.cpuMs);
      }
      if (interleaved.includes('cpp_openblas')) {
        const c = timeCpp(iters);
        per.cpp_openblas.push(c.ms);
        perCpu.cpp_openblas.push(c.cpuMs);
        cppLoss = c.loss;
      }
    }
    if (model) {
      if (process.env.TSREC_BENCH_PROFILE === '1') await profile(model);
      rows.push({
        name: 'tsrec',
        median_ms: Math.min(...per.tsrec),
        rounds: per.tsrec,
        cpu_ms: Math.min(...perCpu.tsrec),
        loss: model.lastLoss,
      });
      model.dispose();
    }
    if (per.cpp_openblas.length) {
      rows.push({
        name: 'cpp_openblas',
        median_ms: Math.min(...per.cpp_openblas),
        rounds: per.cpp_openblas,
        cpu_ms: Math.min(...perCpu.cpp_openblas),
        loss: cppLoss,
      });
    }
  }
  for (const name of wanted) {
    if (name !== 'tfjs_cpu' && name !== 'tfjs_wasm') continue;
    const n =
      name === 'tfjs_cpu'
        ? Number(process.env.TSREC_BENCH_CPU_ITERS ?? 3)
        : Number(process.env.TSREC_BENCH_WASM_ITERS ?? 5);
    try {
      if (name === 'tfjs_wasm') {
        require('@tensorflow/tfjs-backend-wasm');
      }
      await useBackend(name === 'tfjs_cpu' ? 'cpu' : 'wasm');
      const model = new DeepFmDense();
      model.step(); // warm-up (wasm compiles, cpu allocates)
      const t = timeSteps(model, n);
      rows.push({ name, median_ms: t.ms, rounds: [t.ms], cpu_ms: t.cpuMs, loss: model.lastLoss });
      model.dispose();
    } catch (e) {
      const msg = e instanceof Error ? e.message || e.name : String(e);
      rows.push({ name, median_ms: NaN, rounds: [], note: `unavailable: ${msg.split('\n')[0]}` });
      if (process.env.TSREC_BENCH_DEBUG === '1') console.error(e);
    }
  }

  const order = (n: Name) => ALL.indexOf(n);
  rows.sort((a, b) => order(a.name) - order(b.name));
  const get = (n: Name) => rows.find((r) => r.name === n && Number.isFinite(r.median_ms))?.median_ms;
  const ts = get('tsrec');
  const cpp = get('cpp_openblas');
  console.log('');
  console.log('backend        ms/step    samples/s   round medians (ms)              x tsrec   cpu ms   loss');
  for (const r of rows) {
    if (!Number.isFinite(r.median_ms)) {
      console.log(`${r.name.padEnd(13)} ${'-'.padStart(8)}  ${r.note ?? ''}`);
      continue;
    }
    const spread = r.rounds.length > 1 ? `${r.rounds.map((x) => x.toFixed(1)).join(' ')}` : '-';
    const rel = ts ? `${(r.median_ms / ts).toFixed(2)}` : '-';
    const cpuMs = r.cpu_ms !== undefined && Number.isFinite(r.cpu_ms) ? r.cpu_ms.toFixed(1) : '-';
    console.log(
      `${r.name.padEnd(13)} ${r.median_ms.toFixed(2).padStart(8)} ${((B / r.median_ms) * 1000).toFixed(0).padStart(11)}   ${spread.padEnd(31)} ${rel.padStart(7)} ${cpuMs.padStart(8)}   ${r.loss !== undefined && Number.isFinite(r.loss) ? r.loss.toFixed(5) : '-'}`,
    );
  }
  console.log('');
  if (ts) {
    const cpu = get('tfjs_cpu');
    const wasm = get('tfjs_wasm');
    if (cpu)
      console.log(
        `tsrec is ${(cpu / ts).toFixed(1)}x faster than tfjs_cpu (target >= 20x): ${cpu / ts >= 20 ? 'met' : 'NOT met'}`,
      );
    if (wasm) console.log(`tsrec is ${(wasm / ts).toFixed(1)}x faster than tfjs_wasm`);
    if (cpp)
      console.log(
        `tsrec / cpp_openblas = ${(ts / cpp).toFixed(2)} (target <= 1.5): ${ts / cpp <= 1.5 ? 'met' : 'NOT met'} (best rounds)`,
      );
    const tc = rows.find((r) => r.name === 'tsrec')?.cpu_ms;
    const cc = rows.find((r) => r.name === 'cpp_openblas')?.cpu_ms;
    if (tc && cc && Number.isFinite(cc)) {
      console.log(
        `  CPU time per step: tsrec / cpp_openblas = ${(tc / cc).toFixed(2)} (load-robust with TSREC_BENCH_THREADS=1; with more threads spinning BLAS workers count too)`,
      );
    }
    const tr = rows.find((r) => r.name === 'tsrec')?.rounds ?? [];
    const cr = rows.find((r) => r.name === 'cpp_openblas')?.rounds ?? [];
    if (tr.length > 1 && tr.length === cr.length) {
      console.log(`  per-round ratios: ${tr.map((t, i) => (t / cr[i]).toFixed(2)).join(' ')}`);
    }
  }
  if (process.env.TSREC_BENCH_JSON) {
    const results = rows.map(({ name, median_ms }) => ({
      name,
      median_ms: Number.isFinite(median_ms) ? Number(median_ms.toFixed(3)) : null,
    }));
    fs.writeFileSync(process.env.TSREC_BENCH_JSON, `${JSON.stringify({ results }, null, 2)}\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
