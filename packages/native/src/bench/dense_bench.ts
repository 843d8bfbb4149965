/**
 * `npx nx run native:bench-dense`: one DeepFM dense-side train step (batch 4096, 26 fields x dim
 * 16 pooled embeddings + 13 dense -> concat 429 -> MLP 256-128-64-1 with ReLU, FM over the 26
 * embeddings, sigmoid BCE, Adam; dL/d(embeddings) computed as the TBE backward needs it) on the
 * `tsrec` tfjs backend, stock tfjs cpu and tfjs wasm, and the same maths as a plain C++/OpenBLAS
 * loop (native/bench/mlp_step.cc), printing medians and ratios from one run.
 * Env: TSREC_BENCH_JSON=<path> writes {"results":[{"name","median_ms"}]}; TSREC_BENCH_ITERS
 * (tsrec and C++, default 20), TSREC_BENCH_CPU_ITERS (default 3), TSREC_BENCH_WASM_ITERS
 * (default 5), TSREC_BENCH_BACKENDS=tsrec,tfjs_cpu,tfjs_wasm,cpp_openblas narrows the run,
 * TSREC_BENCH_PROFILE=1 prints the tsrec step's kernels by time.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs-core';

import { buildInfo } from '../runtime';
import { registerTfjsGradients, registerTsrecBackend } from '../tfjs';

const B = Number(process.env.TSREC_BENCH_BATCH ?? 4096);
const FIELDS = 26;
const DIM = 16;
const DENSE = 13;
const WIDTHS = [FIELDS * DIM + DENSE, 256, 128, 64, 1];
const WARMUP = 2;

type Name = 'tsrec' | 'tfjs_cpu' | 'tfjs_wasm' | 'cpp_openblas';
const ALL: Name[] = ['tsrec', 'tfjs_cpu', 'tfjs_wasm', 'cpp_openblas'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The DeepFM dense side: parameters, inputs and one train step (returns the loss). */
class DeepFmDense {
  readonly params: tf.Variable[] = [];
  readonly emb: tf.Tensor2D;
  readonly dense: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  readonly optimizer = tf.train.adam(1e-3);

  constructor() {
    for (let l = 0; l < 4; ++l) {
      const [fi, fo] = [WIDTHS[l], WIDTHS[l + 1]];
      this.params.push(tf.variable(tf.randomNormal([fi, fo], 0, Math.sqrt(2 / (fi + fo)), 'float32', 11 + l), true, `w${l}`));
      this.params.push(tf.variable(tf.zeros([fo]), true, `b${l}`));
    }
    this.emb = tf.randomNormal([B, FIELDS * DIM], 0, 0.1, 'float32', 1);
    this.dense = tf.randomNormal([B, DENSE], 0, 1, 'float32', 2);
    this.labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([B, 1], 0, 1, 'float32', 3), 0.5), 'float32')) as tf.Tensor2D;
  }

  private loss(emb: tf.Tensor2D, ...p: tf.Tensor[]): tf.Scalar {
    // Deep: concat -> fused matmul + bias + ReLU per layer (the last linear).
    let h = tf.concat([emb, this.dense], 1) as unknown as tf.Tensor2D;
    for (let l = 0; l < 4; ++l) {
      h = tf.fused.matMul({ a: h, b: p[2 * l] as tf.Tensor2D, bias: p[2 * l + 1], activation: l < 3 ? 'relu' : 'linear' }) as tf.Tensor2D;
    }
    // FM: 0.5 * sum_d((sum_f e)^2 - sum_f e^2).
    const e = tf.reshape(emb, [B, FIELDS, DIM]);
    const fm = tf.mul(0.5, tf.sum(tf.sub(tf.square(tf.sum(e, 1)), tf.sum(tf.square(e), 1)), 1, true));
    return tf.losses.sigmoidCrossEntropy(this.labels, tf.add(h, fm)) as tf.Scalar;
  }

  /** Forward, backward (parameters and embeddings) and Adam; returns the loss. */
  step(): number {
    return tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => this.loss(xs[0] as tf.Tensor2D, ...xs.slice(1)))([this.emb, ...this.params]);
      const named: Record<string, tf.Tensor> = {};
      this.params.forEach((v, i) => (named[v.name] = grads[i + 1]));
      this.optimizer.applyGradients(named as tf.NamedTensorMap as never);
      grads[0].dataSync(); // dL/d(embeddings) is what the TBE backward consumes
      return value.dataSync()[0];
    });
  }

  dispose(): void {
    this.params.forEach((v) => v.dispose());
    this.optimizer.dispose();
    tf.dispose([this.emb, this.dense, this.labels]);
  }
}

async function timeBackend(backend: string, iters: number): Promise<{ ms: number; loss: number }> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
  const model = new DeepFmDense();
  let loss = 0;
  for (let i = 0; i < WARMUP; ++i) loss = model.step();
  const times: number[] = [];
  for (let i = 0; i < iters; ++i) {
    const t0 = process.hrtime.bigint();
    loss = model.step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (process.env.TSREC_BENCH_PROFILE === '1' && backend === 'tsrec') await profile(model);
  model.dispose();
  return { ms: median(times), loss };
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
  for (const [name, ms] of rows) console.log(`  ${name.padEnd(20)} ${ms.toFixed(2)} ms`);
}

function timeCpp(iters: number): number {
  const exe = path.join(__dirname, '..', '..', 'build', 'native', 'mlp_step');
  if (!fs.existsSync(exe)) throw new Error(`Expected the C++ benchmark at ${exe}; build it with npx nx run native:build-addon`);
  const r = spawnSync(exe, [String(iters), String(B)], { encoding: 'utf8', env: process.env });
  const m = /median_ms ([\d.]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error(`mlp_step failed (status ${r.status}): ${r.stderr}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  registerTsrecBackend();
  registerTfjsGradients();
  const wanted = (process.env.TSREC_BENCH_BACKENDS ?? ALL.join(',')).split(',') as Name[];
  const iters = Number(process.env.TSREC_BENCH_ITERS ?? 20);
  const results: { name: Name; median_ms: number; loss?: number }[] = [];
  console.log(`DeepFM dense train step, batch ${B}, MLP ${WIDTHS.join('-')}, FM ${FIELDS}x${DIM}, BCE, Adam; BLAS: ${buildInfo().blas}`);
  for (const name of wanted) {
    let r: { ms: number; loss?: number };
    if (name === 'tsrec') r = await timeBackend('tsrec', iters);
    else if (name === 'tfjs_cpu') r = await timeBackend('cpu', Number(process.env.TSREC_BENCH_CPU_ITERS ?? 3));
    else if (name === 'tfjs_wasm') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-wasm');
      r = await timeBackend('wasm', Number(process.env.TSREC_BENCH_WASM_ITERS ?? 5));
    } else if (name === 'cpp_openblas') r = { ms: timeCpp(iters) };
    else throw new Error(`Expected one of ${ALL.join(', ')} in TSREC_BENCH_BACKENDS but received "${name}"`);
    results.push({ name, median_ms: Number(r.ms.toFixed(3)), ...(r.loss !== undefined ? { loss: r.loss } : {}) });
    console.log(`  ${name.padEnd(13)} ${r.ms.toFixed(2).padStart(9)} ms/step  ${((B / r.ms) * 1000).toFixed(0).padStart(8)} samples/s${r.loss !== undefined ? `  loss ${r.loss.toFixed(5)}` : ''}`);
  }
  const get = (n: Name) => results.find((r) => r.name === n)?.median_ms;
  const ts = get('tsrec');
  if (ts) {
    for (const other of ['tfjs_cpu', 'tfjs_wasm'] as Name[]) {
      const o = get(other);
      if (o) console.log(`  tsrec is ${(o / ts).toFixed(1)}x faster than ${other}${other === 'tfjs_cpu' ? ' (target >= 20x)' : ''}`);
    }
    const c = get('cpp_openblas');
    if (c) console.log(`  tsrec / cpp_openblas = ${(ts / c).toFixed(2)} (target <= 1.5)`);
  }
  if (process.env.TSREC_BENCH_JSON) {
    fs.writeFileSync(process.env.TSREC_BENCH_JSON, JSON.stringify({ results: results.map(({ name, median_ms }) => ({ name, median_ms })) }, null, 2));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
