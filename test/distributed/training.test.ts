/**
 * Synchronous data-parallel train_eval under mpirun (the default example's DeepFM on a small
 * synthetic set, no shuffle buffer so the rows of a step do not depend on the world size), tables
 * table-wise (the planner's default) unless a constraint makes them data-parallel:
 * - np 2 equals the in-process simulation of 2 ranks bit for bit, two np 2 runs write the same
 *   bytes, and table-wise tables give the bits of data-parallel ones;
 * - np 2 at batch B equals one process at batch 2B on the same rows within float tolerance;
 * - a checkpoint written by 2 ranks resumes on 4 and on 1, and evaluates on 1;
 * - a rank killed mid-run ends the job within seconds, naming the step and the last checkpoint,
 *   and the resumed run ends bit-identical to the uninterrupted one;
 * - a rank with fewer rows (malformed rows skipped) neither hangs nor changes the step count.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSafetensors } from '@tsrec/trainer';

import { TSREC_BIN } from '../helpers/cli';
import {
  checkpointTensors,
  differingTensors,
  type ExampleDataPaths,
  generateExampleData,
  syntheticConfigText,
} from '../helpers/synthetic';
import { describeWithMpi, mpirun, worker } from './mpi';

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-dist-'));
let data: ExampleDataPaths;

function config(name: string, o: { batchSize: number; numSteps?: number; epochs?: number; train?: string }): string {
  let t = syntheticConfigText({
    train: o.train ?? data.train,
    eval: data.eval,
    modelDir: path.join(ROOT, `md_${name}`),
    cardinalityScale: 0.001,
    batchSize: o.batchSize,
    numSteps: o.numSteps,
    epochs: o.epochs,
    saveCheckpointsSteps: 6,
    logStepCountSteps: 3,
    keepCheckpointMax: 10,
    numWorkers: 1,
  });
  t = t
    .replace('shuffle: true', 'shuffle: false')
    .replace('data_config {', 'data_config {\n  malformed_row_policy: "skip"');
  const file = path.join(ROOT, `${name}.config`);
  fs.writeFileSync(file, t);
  return file;
}

function train(np: number, cfg: string, modelDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const args = ['node', TSREC_BIN, 'train_eval', '--pipeline_config_path', cfg, '--model_dir', modelDir, ...extra];
  return mpirun(np, args, env, 240);
}

function ok(r: ReturnType<typeof mpirun>): string {
  if (r.code !== 0) throw new Error(`mpirun exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/**
 * The per-step bytes rank 0 reported against `tsrec plan`'s prediction for the same config and
 * world size: the all-to-alls (table-wise) or all-gathers (data-parallel) within 10% (the plan
 * assumes one id per bag), the allreduces within 1% (the plan leaves out the replica checks every
 * log_step_count_steps).
 */
function checkPlan(
  log: string,
  cfg: string,
  np: number,
  extra: string[] = [],
): { allreduce: number; alltoall: number; allgather: number } {
  const m =
    /communication per step \(rank 0 sent, \d+ steps, checkpoints and evaluations left out\): allreduce ([\d.]+) MiB, all-to-all ([\d.]+) MiB, all-gather ([\d.]+) MiB/.exec(
      log,
    );
  if (!m) throw new Error(`no communication line in:\n${log}`);
  const p = spawnSync(
    process.execPath,
    [TSREC_BIN, 'plan', '--pipeline_config_path', cfg, '--world_size', String(np), '--json', ...extra],
    { encoding: 'utf8' },
  );
  if (p.status !== 0) throw new Error(p.stderr);
  const plan = JSON.parse(p.stdout) as { collectives: Array<{ kind: string; bytesPerRank: number }> };
  const sum = (k: string) =>
    plan.collectives.filter((c) => c.kind === k).reduce((a, c) => a + c.bytesPerRank, 0) / 2 ** 20;
  const rel = (measured: number, planned: number) => (planned > 0 ? measured / planned - 1 : 0);
  const err = {
    allreduce: rel(Number(m[1]), sum('allreduce')),
    alltoall: rel(Number(m[2]), sum('alltoall')),
    allgather: rel(Number(m[3]), sum('allgather')),
  };
  // The plan assumes one id per bag (--bag_size); the synthetic rows have empty and multi-id bags.
  expect(Math.abs(err.alltoall)).toBeLessThan(0.1);
  expect(Math.abs(err.allgather)).toBeLessThan(0.1);
  expect(Math.abs(err.allreduce)).toBeLessThan(0.01);
  // What the plan does not predict is (nearly) not sent: the replica checks' 8-byte all-gathers.
  if (sum('alltoall') === 0) expect(Number(m[2])).toBe(0);
  if (sum('allgather') === 0) expect(Number(m[3])).toBeLessThan(0.001);
  return err;
}

/**
 * Two checkpoints hold the same tensors, equal to float rounding (|a − b| ≤ 1e-3·|b| + 2e-5): a
 * whole table is compared with its row-wise blocks put together.
 */
function expectCloseCheckpoints(a: string, b: string): void {
  const logical = (dir: string) => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const out = new Map<string, Float32Array>();
    for (const [n, buf] of checkpointTensors(dir))
      if (!n.startsWith('sparse_')) out.set(n, new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    for (const c of m.collections)
      for (const t of c.tables) {
        const shards = t.shards ?? [{ file: t.file ?? c.file, firstRow: 0, rows: t.rows }];
        for (const name of [t.name, ...t.states.map((s: string) => `${t.name}/${s}`)]) {
          const parts = shards.map((s: { file: string }) => {
            const f = openSafetensors(path.join(dir, s.file));
            try {
              return f.read(name) as Float32Array;
            } finally {
              f.close();
            }
          });
          const all = new Float32Array(parts.reduce((x: number, p: Float32Array) => x + p.length, 0));
          let at = 0;
          for (const p of parts) {
            all.set(p, at);
            at += p.length;
          }
          out.set(`${c.key}:${name}`, all);
        }
      }
    return out;
  };
  const [x, y] = [logical(a), logical(b)];
  expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  for (const [n, p] of x) {
    const q = y.get(n)!;
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]) - 1e-3 * Math.abs(q[i]));
    expect({ tensor: n, over: worst > 2e-5 ? worst : 0 }).toEqual({ tensor: n, over: 0 });
  }
}

function results(modelDir: string): Array<Record<string, number>> {
  return fs
    .readFileSync(path.join(modelDir, 'train_eval_result.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describeWithMpi('distributed train_eval (table-wise and data-parallel tables)', () => {
  beforeAll(async () => {
    data = await generateExampleData(path.join(ROOT, 'data'), {
      trainRows: 8000,
      evalRows: 2000,
      seed: 3,
      cardinalityScale: 0.001,
    });
  });
  afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

  const md = (n: string) => path.join(ROOT, `md_${n}`);

  it('np 2 equals its in-process simulation bit for bit; two np 2 runs write the same bytes; table-wise = data-parallel', () => {
    const cfg = config('w2', { batchSize: 256, numSteps: 12 });
    const log = ok(train(2, cfg, md('a')));
    expect(log).toMatch(
      /distributed: 2 ranks \(mpi \(Open MPI v4\.1\.\d+\); 2 on this host, 1 thread each\), synchronous data-parallel training; batch_size 256 per rank, 512 per step/,
    );
    // The plan, printed by rank 0: the 26 deep tables and their co-located wide columns, table-wise.
    expect(log).toMatch(/^sharding: 52 table-wise, 0 row-wise and 0 data-parallel tables over 2 ranks$/m);
    expect(log).toMatch(/^ {2}rank 1: 26 tables, .* table-wise: C\d+/m);
    // Rank 0 alone reports: one progress stream, one result line per checkpoint.
    expect(log.match(/^done: step 12/gm)).toHaveLength(1);
    const err = checkPlan(log, cfg, 2);
    process.stderr.write(
      `np 2 (table-wise): measured vs tsrec plan: allreduce ${(err.allreduce * 100).toFixed(2)}%, all-to-all ${(err.alltoall * 100).toFixed(2)}%\n`,
    );
    expect(results(md('a')).map((r) => r.global_step)).toEqual([6, 12]);
    // Every rank wrote its tables into the one checkpoint; the manifest names each table's file and the plan.
    const manifest = JSON.parse(fs.readFileSync(path.join(md('a'), 'model.ckpt-12', 'manifest.json'), 'utf8'));
    expect(fs.readdirSync(path.join(md('a'), 'model.ckpt-12')).filter((f) => f.startsWith('sparse_'))).toEqual([
      'sparse_deep.rank1.safetensors',
      'sparse_deep.safetensors',
    ]);
    expect(manifest.collections[0].tables.filter((t: { file?: string }) => t.file).length).toBe(26);
    expect(manifest.extra.sharding).toHaveLength(52);
    // The second run allreduces the dense gradients in 0.1 MiB buckets (6 of them): same bits.
    ok(train(2, cfg, md('b'), [], { TSREC_DIST_BUCKET_MB: '0.1' }));
    const sim = spawnSync(process.execPath, [worker('sim_train.js'), cfg, md('sim'), '2'], { encoding: 'utf8' });
    if (sim.status !== 0) throw new Error(sim.stderr);
    // Every table on every rank (data_parallel by constraint): the same bits as table-wise.
    const dp = [
      '--edit_config_json',
      '{"train_config.global_embedding_constraints.sharding_types": ["data_parallel"]}',
    ];
    const dpLog = ok(train(2, cfg, md('dp'), dp));
    expect(dpLog).toMatch(/^sharding: 0 table-wise, 0 row-wise and 52 data-parallel tables over 2 ranks$/m);
    const dpErr = checkPlan(dpLog, cfg, 2, dp);
    process.stderr.write(
      `np 2 (data-parallel): measured vs tsrec plan: allreduce ${(dpErr.allreduce * 100).toFixed(2)}%, all-gather ${(dpErr.allgather * 100).toFixed(2)}%\n`,
    );
    for (const other of ['b', 'sim', 'dp']) {
      expect(differingTensors(path.join(md('a'), 'model.ckpt-12'), path.join(md(other), 'model.ckpt-12'))).toEqual([]);
      expect(results(md(other))).toEqual(results(md('a')));
    }
    // Every table in blocks of rows over the ranks (row_wise by constraint): the same training up to
    // float rounding (a bag's sum is taken in pieces), the checkpoint's tables in blocks.
    const rw = ['--edit_config_json', '{"train_config.global_embedding_constraints.sharding_types": ["row_wise"]}'];
    const rwLog = ok(train(2, cfg, md('rw2'), rw));
    expect(rwLog).toMatch(/^sharding: 0 table-wise, 52 row-wise and 0 data-parallel tables over 2 ranks$/m);
    const rwErr = checkPlan(rwLog, cfg, 2, rw);
    process.stderr.write(
      `np 2 (row-wise): measured vs tsrec plan: allreduce ${(rwErr.allreduce * 100).toFixed(2)}%, all-to-all ${(rwErr.alltoall * 100).toFixed(2)}%\n`,
    );
    const rwManifest = JSON.parse(fs.readFileSync(path.join(md('rw2'), 'model.ckpt-12', 'manifest.json'), 'utf8'));
    expect(rwManifest.collections[0].tables.every((t: { shards?: unknown[] }) => t.shards?.length === 2)).toBe(true);
    expectCloseCheckpoints(path.join(md('rw2'), 'model.ckpt-12'), path.join(md('a'), 'model.ckpt-12'));
    const [x, y] = [results(md('rw2')), results(md('a'))];
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i].auc - y[i].auc)).toBeLessThan(1e-4);
  });

  it('np 2 at batch B equals one process at batch 2B on the same rows, within float tolerance', () => {
    const single = spawnSync(
      process.execPath,
      [TSREC_BIN, 'train_eval', '--pipeline_config_path', config('w1', { batchSize: 512, numSteps: 12 })],
      { encoding: 'utf8', env: { ...process.env, TSREC_NUM_THREADS: '1' } },
    );
    if (single.status !== 0) throw new Error(single.stderr);
    const [a, b] = [results(md('a')), results(md('w1'))];
    expect(a.map((r) => r.global_step)).toEqual(b.map((r) => r.global_step));
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i].auc - b[i].auc)).toBeLessThan(1e-4);
      expect(Math.abs(a[i].binary_cross_entropy - b[i].binary_cross_entropy)).toBeLessThan(1e-4);
    }
    // Same rows per step, summed in another order: weights and tables agree to float rounding
    // (the sharded checkpoint's tables compared by name, whichever rank's file holds them).
    expectCloseCheckpoints(path.join(md('a'), 'model.ckpt-12'), path.join(md('w1'), 'model.ckpt-12'));
  });

  it('a checkpoint of 2 ranks resumes on 4 ranks and on 1, and evaluates on 1', () => {
    fs.cpSync(md('a'), md('c'), { recursive: true });
    const on4 = ok(train(4, config('w2_16', { batchSize: 256, numSteps: 16 }), md('c'), ['--continue_train']));
    expect(on4).toMatch(
      /model\.ckpt-12 was written by 2 ranks; each of the 4 ranks skips 6 of the 24 batches consumed/,
    );
    expect(on4).toMatch(/^done: step 16/m);
    const err = checkPlan(on4, config('w2_16', { batchSize: 256, numSteps: 16 }), 4);
    process.stderr.write(
      `np 4 (table-wise): measured vs tsrec plan: allreduce ${(err.allreduce * 100).toFixed(2)}%, all-to-all ${(err.alltoall * 100).toFixed(2)}%\n`,
    );
    const on1 = spawnSync(
      process.execPath,
      [TSREC_BIN, 'train_eval', '--pipeline_config_path', config('w2_18', { batchSize: 256, numSteps: 18 })].concat([
        '--model_dir',
        md('c'),
        '--continue_train',
      ]),
      { encoding: 'utf8' },
    );
    expect(on1.stderr).toMatch(
      /model\.ckpt-16 was written by 4 ranks; each of the 1 ranks skips 40 of the 40 batches consumed/,
    );
    expect(on1.status).toBe(0);
    const ev = spawnSync(process.execPath, [
      TSREC_BIN,
      'eval',
      '--pipeline_config_path',
      path.join(md('c'), 'pipeline.config'),
      '--checkpoint_path',
      path.join(md('c'), 'model.ckpt-16'),
    ]);
    expect(ev.status).toBe(0);
    expect(String(ev.stdout)).toMatch(/eval of .*model\.ckpt-16 \(step 16\): auc 0\.\d+/);
    // The 4 ranks evaluated step 16 each on their quarter of the eval rows, merging the metrics'
    // states: the same AUC as one process over all rows (the loss mean sums in another order).
    const byOne = /auc ([\d.]+)\s+binary_cross_entropy ([\d.]+)/.exec(String(ev.stdout))!;
    const four = results(md('c')).find((r) => r.global_step === 16)!;
    expect(four.auc).toBeCloseTo(Number(byOne[1]), 6);
    expect(four.binary_cross_entropy).toBeCloseTo(Number(byOne[2]), 5);
    // `tsrec eval` under mpirun: the same evaluation spread over 2 ranks, one line from rank 0.
    const ev2 = mpirun(2, [
      'node',
      TSREC_BIN,
      'eval',
      '--pipeline_config_path',
      path.join(md('c'), 'pipeline.config'),
      '--checkpoint_path',
      path.join(md('c'), 'model.ckpt-16'),
      '--eval_result_filename',
      'eval2.txt',
    ]);
    expect(ok(ev2).match(/^eval of /gm)).toHaveLength(1);
    const two = JSON.parse(fs.readFileSync(path.join(md('c'), 'eval2.txt'), 'utf8'));
    expect(two.global_step).toBe(16);
    expect(two.auc).toBeCloseTo(Number(byOne[1]), 6);
    // export reads the tables from the ranks' files of the 4-rank checkpoint, unchanged.
    const exported = spawnSync(process.execPath, [
      TSREC_BIN,
      'export',
      '--pipeline_config_path',
      path.join(md('c'), 'pipeline.config'),
      '--checkpoint_path',
      path.join(md('c'), 'model.ckpt-16'),
      '--export_dir',
      path.join(ROOT, 'export_c'),
    ]);
    expect(exported.status).toBe(0);
    const logical = checkpointTensors(path.join(md('c'), 'model.ckpt-16'));
    const sub = fs.readdirSync(path.join(ROOT, 'export_c')).find((n) => n.startsWith('model.ckpt-'))!;
    const out = checkpointTensors(path.join(ROOT, 'export_c', sub));
    const table = [...logical.keys()].find((k) => k.startsWith('sparse_deep.safetensors:C1'))!;
    // Every tensor of the export is the checkpoint's, by name (the tables whole in one file).
    for (const [k, v] of out)
      expect({ k, same: v.equals(logical.get(k) ?? Buffer.alloc(0)) }).toEqual({ k, same: true });
    expect(out.has(table)).toBe(true);
  });

  it('a killed rank ends the job within seconds naming the step and the last checkpoint; the resume is bit-identical', () => {
    const cfg = config('w2', { batchSize: 256, numSteps: 12 });
    const killed = train(2, cfg, md('k'), [], { TSREC_FAULT_KILL_RANK: '1:8' });
    expect(killed.code).not.toBe(0);
    expect(killed.seconds).toBeLessThan(30);
    const text = killed.stdout + killed.stderr;
    expect(text).toMatch(/rank 1 .*(exited on signal 9|killed)/is);
    expect(text).toMatch(
      /tsrec train_eval \(rank 0 of 2\): stopped by SIGTERM at step 7 \(another rank failed, or the job was stopped\); last complete checkpoint: .*model\.ckpt-6/,
    );
    expect(fs.readdirSync(md('k')).filter((n) => n.startsWith('model.ckpt-'))).toEqual(['model.ckpt-6']);
    ok(train(2, cfg, md('k'), ['--continue_train']));
    expect(differingTensors(path.join(md('a'), 'model.ckpt-12'), path.join(md('k'), 'model.ckpt-12'))).toEqual([]);
  });

  it('a hung rank ends the job after the collective timeout, naming the step and the last checkpoint', () => {
    const cfg = config('w2', { batchSize: 256, numSteps: 12 });
    const r = train(2, cfg, md('h'), [], { TSREC_FAULT_HANG_RANK: '1:8', TSREC_COLLECTIVE_TIMEOUT_S: '2' });
    expect(r.code).not.toBe(0);
    expect(r.seconds).toBeLessThan(30); // the hung rank would block for 600 s
    expect(r.stderr).toMatch(
      /tsrec train_eval \(rank 0 of 2\): \w+ did not complete within 2 s \(collective timeout\): another rank is gone or stuck \(at step 8; last complete checkpoint: .*model\.ckpt-6\)/,
    );
    expect(fs.readdirSync(md('h')).filter((n) => n.startsWith('model.ckpt-'))).toEqual(['model.ckpt-6']);
  });

  it('sharding constraints tsrec cannot meet (table_row_wise only) stop every rank, naming the field and its place', () => {
    const cfg = config('w2', { batchSize: 256, numSteps: 12 });
    const r = train(2, cfg, md('rw'), [
      '--edit_config_json',
      '{"train_config.global_embedding_constraints.sharding_types": ["table_row_wise"]}',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /tsrec train_eval \(rank [01] of 2\): train_config\.global_embedding_constraints\.sharding_types: sharding_types \[table_row_wise\] for \d+ features .*: at 2 ranks tsrec places a table on one rank \(table_wise\), in blocks of rows over every rank \(row_wise\) or on every rank \(data_parallel\); table_row_wise is not supported yet by tsrec .*\(.*w2\.config:\d+:\d+\)/,
    );
  });

  it('ranks launched with different configs refuse to start, naming the ranks', () => {
    const cfg = config('w2', { batchSize: 256, numSteps: 12 });
    const cmd = ['node', TSREC_BIN, 'train_eval', '--pipeline_config_path', cfg, '--model_dir', md('mismatch')];
    const r = mpirun(1, [...cmd, ':', '-np', '1', ...cmd, '--edit_config_json', '{"data_config.batch_size": 128}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /tsrec train_eval \(rank [01] of 2\): Expected every rank to run tsrec [\d.]+ on the same pipeline config .* but the ranks differ \(rank 0: [0-9a-f]+; rank 1: [0-9a-f]+\)/,
    );
    expect(fs.readdirSync(md('mismatch')).filter((n) => n.startsWith('model.ckpt'))).toEqual([]);
  });

  it('a rank with fewer rows (malformed ones skipped) neither hangs nor changes the step count', () => {
    // Rows 1, 3, 5, … go to rank 1: break 600 of them, so rank 1 runs dry ~2 batches before rank 0.
    const dir = path.join(ROOT, 'uneven');
    fs.mkdirSync(dir, { recursive: true });
    const files = fs.readdirSync(data.train).sort();
    const lines = files.flatMap((f) =>
      fs.readFileSync(path.join(data.train, f), 'utf8').trimEnd().split('\n').slice(1),
    );
    const header = fs.readFileSync(path.join(data.train, files[0]), 'utf8').split('\n')[0];
    const broken = lines.map((l, i) => (i % 2 === 1 && i < 1200 ? `x${l}` : l));
    fs.writeFileSync(path.join(dir, 'train.tsv'), `${header}\n${broken.join('\n')}\n`);
    // Without TSREC_NUM_THREADS the two ranks share this host's cores instead of each taking all.
    const r = train(2, config('uneven', { batchSize: 256, epochs: 1, train: dir }), md('u'), [], {
      TSREC_NUM_THREADS: '',
    });
    const log = ok(r);
    const each = Math.max(1, Math.floor(os.availableParallelism() / 2));
    expect(log).toMatch(new RegExp(`2 on this host, ${each} threads? each`));
    const rank1Rows = lines.length / 2 - 600;
    expect(log).toMatch(/tsrec train_eval \(rank 1 of 2\): epoch 0: .*600/);
    // Rank 1's last batch is partial; then every rank stops, saying so.
    const steps = Math.ceil(rank1Rows / 256);
    expect(log).toMatch(new RegExp(`^done: step ${steps},`, 'm'));
    expect(log).toMatch(
      new RegExp(
        `a rank ran out of training data after step ${steps}: every rank stops here \\(TorchEasyRec's rule\\)`,
      ),
    );
  });
});
