/**
 * `npx nx run trainer:bench-dist`: distributed training throughput on the dlrm26 DeepFM workload
 * (bench/dlrm26_config.ts, batch 4096 per rank): `mpirun -np 1` with one thread against
 * `mpirun -np 2` with one thread per rank — tables table-wise (the planner's default) and, for
 * comparison, all data-parallel (every rank holds and updates every table) — all reading the same
 * TSV (one data worker each). Prints global samples/s, the weak-scaling efficiency
 * E = samples/s(np 2) / (2 · samples/s(np 1)), each run's step split (ms per step by phase, rank 0
 * and the slowest rank), and the bytes rank 0 sent per step per kind of collective against
 * `tsrec plan`'s prediction for the same config. Not a timed test.
 *
 * Environment: TSREC_BENCH_ROWS (default 250,000), TSREC_BENCH_STEPS (measured steps, default 20),
 * TSREC_BENCH_WARMUP (default 5), TSREC_BENCH_NP (world sizes, default "1,2"), TSREC_BENCH_BIND
 * (mpirun --bind-to: `core`, the default, gives each rank one core of its own — np 1 then runs on
 * one core too, the fair base for weak scaling; `none` lets ranks and their data workers roam),
 * TSREC_BENCH_PLACEMENTS (placements of the np > 1 runs, default "table_wise,data_parallel"),
 * TSREC_BENCH_JSON=<path> (also write {"results": [...]}). Needs mpirun and an addon built with Open MPI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipelineConfig } from '@tsrec/config';
import { writeCriteoTsv } from '@tsrec/data';
import { setUpTfjs } from '@tsrec/models';
import { createCommunicator, mpiCompiled, selectBackend, setBlasThreads, setNumThreads } from '@tsrec/native';

import { planDistributed } from '../plan';
import { trainAndEvaluate } from '../train_eval';
import { dlrm26DeepFmConfig } from './dlrm26_config';

const ROWS = Number(process.env.TSREC_BENCH_ROWS || 250_000);
const STEPS = Number(process.env.TSREC_BENCH_STEPS || 20);
const WARMUP = Number(process.env.TSREC_BENCH_WARMUP || 5);
const NPS = (process.env.TSREC_BENCH_NP || '1,2').split(',').map(Number);
const BATCH = 4096;
/** mpirun --bind-to: `core` gives every rank exactly one core (equal per-rank cores), `none` lets them share all. */
const BIND = process.env.TSREC_BENCH_BIND || 'core';
const PLACEMENTS = (process.env.TSREC_BENCH_PLACEMENTS || 'table_wise,data_parallel').split(',');

/** What each rank reports (one JSON file per rank). */
interface RankReport {
  rank: number;
  size: number;
  steps: number;
  seconds: number;
  globalSamplesPerS: number;
  phasesMsPerStep: Record<string, number>;
  bytesPerStep: { allreduce: number; allgather: number; alltoall: number; broadcast: number };
  denseParameters: number;
  peakRssMb: number;
}

/** One rank of a measured run (under mpirun): trains, then writes its report. */
async function rankRun(file: string, out: string, placement: string): Promise<void> {
  setNumThreads(1);
  setBlasThreads(1);
  await setUpTfjs(await selectBackend({}));
  const comm = createCommunicator();
  // One model_dir for the job, as in real runs (the ranks check that their configs agree).
  const modelDir = `${out}-model`;
  const config = loadPipelineConfig(
    dlrm26DeepFmConfig({
      train: file,
      modelDir,
      steps: WARMUP + STEPS,
      batch: BATCH,
      workers: 1,
      shardingTypes: placement === 'default' ? undefined : [placement],
    }),
    { validate: true },
  );
  const times: number[] = [];
  let statsAtWarmup = comm.stats();
  let phasesAtWarmup: Record<string, number> = {};
  let dense = 0;
  const s = await trainAndEvaluate({
    config,
    comm,
    evaluate: false,
    saveCheckpoints: false,
    stream: process.stderr,
    onSetup: (setup) => {
      dense = setup.model.denseParameterCount;
    },
    onStep: (step, _loss, phases) => {
      times.push(performance.now());
      if (step !== WARMUP) return;
      // The warmup's share of the counters (phases are cumulative) is subtracted below.
      statsAtWarmup = comm.stats();
      phasesAtWarmup = { ...phases };
    },
  });
  if (comm.rank === 0) fs.rmSync(modelDir, { recursive: true, force: true });
  const measured = times.length - WARMUP;
  const seconds = (times[times.length - 1] - times[WARMUP - 1]) / 1000;
  const st = comm.stats();
  const per = (k: 'allreduceBytes' | 'allgatherBytes' | 'alltoallBytes' | 'broadcastBytes') =>
    (st[k] - statsAtWarmup[k]) / measured;
  const phasesMsPerStep: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.phases))
    phasesMsPerStep[k] = ((v - (phasesAtWarmup[k] ?? 0)) * 1000) / measured;
  const report: RankReport = {
    rank: comm.rank,
    size: comm.size,
    steps: measured,
    seconds,
    globalSamplesPerS: (measured * BATCH * comm.size) / seconds,
    phasesMsPerStep,
    bytesPerStep: {
      allreduce: per('allreduceBytes'),
      allgather: per('allgatherBytes'),
      alltoall: per('alltoallBytes'),
      broadcast: per('broadcastBytes'),
    },
    denseParameters: dense,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  fs.writeFileSync(`${out}-${comm.rank}.json`, JSON.stringify(report));
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const mib = (x: number) => `${(x / 2 ** 20).toFixed(2)} MiB`;

function main(): void {
  if (!mpiCompiled()) throw new Error('the addon was built without Open MPI (apt-get install libopenmpi-dev, rebuild)');
  const dir = path.join(os.tmpdir(), 'tsrec-bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `criteo_e2e_${ROWS}.tsv`);
  if (!fs.existsSync(file)) {
    writeCriteoTsv(`${file}.tmp`, { rows: ROWS, seed: 7 });
    fs.renameSync(`${file}.tmp`, file);
  }
  const need = (WARMUP + STEPS) * BATCH * Math.max(...NPS);
  if (ROWS < need)
    throw new Error(`Expected TSREC_BENCH_ROWS >= ${need} (warmup + steps batches per rank) but received ${ROWS}`);
  const results: Array<Record<string, unknown>> = [];
  let base = 0;
  console.log(
    `tsrec distributed DeepFM (dlrm26, batch ${BATCH} per rank, 1 thread per rank, mpirun --bind-to ${BIND}, ${STEPS} steps after ${WARMUP} warmup)`,
  );
  const runs = NPS.flatMap((np) =>
    np === 1 ? [{ np, placement: 'default' }] : PLACEMENTS.map((placement) => ({ np, placement })),
  );
  for (const { np, placement } of runs) {
    const out = path.join(dir, `dist-${process.pid}-${np}-${placement}`);
    const r = spawnSync(
      'mpirun',
      [
        '--allow-run-as-root',
        '--oversubscribe',
        '--bind-to',
        BIND,
        '--mca',
        'btl',
        'self,vader',
        '--mca',
        'oob_tcp_if_include',
        'lo',
        '-np',
        String(np),
        process.execPath,
        __filename,
        '--rank-run',
        file,
        out,
        placement,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } },
    );
    if (r.status !== 0) throw new Error(`mpirun -np ${np} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
    const reports = Array.from(
      { length: np },
      (_, k) => JSON.parse(fs.readFileSync(`${out}-${k}.json`, 'utf8')) as RankReport,
    );
    for (let k = 0; k < np; k++) fs.rmSync(`${out}-${k}.json`);
    const r0 = reports[0];
    const sps = Math.min(...reports.map((x) => x.globalSamplesPerS));
    if (np === 1) base = sps;
    const eff = base > 0 ? sps / (np * base) : Number.NaN;
    const what =
      np === 1 ? 'one process' : placement === 'data_parallel' ? 'tables data-parallel' : 'tables table-wise';
    console.log(
      `  np ${np} (${what}): ${fmt(sps)} global samples/s${np > 1 && base ? `; weak-scaling efficiency ${eff.toFixed(2)} (goal ≥ 0.8)` : ''}; peak RSS ${fmt(Math.max(...reports.map((x) => x.peakRssMb)))} MB per rank`,
    );
    const phases = Object.keys(r0.phasesMsPerStep);
    console.log(
      `    ms per step (rank 0 | slowest rank): ${phases
        .map(
          (p) =>
            `${p} ${r0.phasesMsPerStep[p].toFixed(1)}|${Math.max(...reports.map((x) => x.phasesMsPerStep[p] ?? 0)).toFixed(1)}`,
        )
        .join(', ')}`,
    );
    let predicted: Record<string, number> = {};
    if (np > 1) {
      const config = loadPipelineConfig(
        dlrm26DeepFmConfig({
          train: file,
          modelDir: path.join(dir, 'plan'),
          steps: 1,
          batch: BATCH,
          workers: 1,
          shardingTypes: placement === 'default' ? undefined : [placement],
        }),
        { validate: true },
      );
      const plan = planDistributed(config, { worldSize: np, batchSize: BATCH });
      predicted = Object.fromEntries(
        (['allreduce', 'alltoall', 'allgather', 'broadcast'] as const).map((k) => [
          k,
          plan.collectives.filter((c) => c.kind === k).reduce((a, c) => a + c.bytesPerRank, 0),
        ]),
      );
      console.log(
        `    bytes rank 0 sent per step, measured (tsrec plan): ${(
          ['allreduce', 'alltoall', 'allgather', 'broadcast'] as const
        )
          .map(
            (k) =>
              `${k} ${mib(r0.bytesPerStep[k])} (${mib(predicted[k])}${predicted[k] > 0 ? `, ${((r0.bytesPerStep[k] / predicted[k] - 1) * 100).toFixed(1)}%` : ''})`,
          )
          .join(', ')}`,
      );
    }
    results.push({
      name: np === 1 ? 'deepfm_dist_np1' : `deepfm_dist_np${np}_${placement}`,
      world_size: np,
      placement: np === 1 ? 'one_process' : placement,
      threads_per_rank: 1,
      samples_per_s: sps,
      weak_scaling_efficiency: np > 1 ? eff : 1,
      phases_ms_per_step: r0.phasesMsPerStep,
      bytes_per_step: r0.bytesPerStep,
      bytes_per_step_planned: predicted,
    });
  }
  if (process.env.TSREC_BENCH_JSON)
    fs.writeFileSync(process.env.TSREC_BENCH_JSON, `${JSON.stringify({ results }, null, 2)}\n`);
}

if (process.argv[2] === '--rank-run') {
  rankRun(process.argv[3], process.argv[4], process.argv[5] ?? 'default').catch((e) => {
    console.error(`trainer:bench-dist (rank): ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
} else {
  try {
    main();
  } catch (e) {
    console.error(`trainer:bench-dist: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
