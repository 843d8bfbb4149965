import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { isFieldSet } from '@bufbuild/protobuf';
import { saveConfig, toText, type TrainConfig, TrainConfigSchema, type EasyRecConfig } from '@tsrec/config';
import { createDataLoaderFromConfig, formatBadDataSummary, type Batch } from '@tsrec/data';
import { labelRulesOf, setRandomPosition } from '@tsrec/models';
import {
  buildInfo,
  type Communicator,
  type EmbeddingCollection,
  fingerprint64,
  LocalCommunicator,
} from '@tsrec/native';
import { Writable } from 'node:stream';

import {
  latestCheckpoint,
  pruneCheckpoints,
  removeIncompleteCheckpoints,
  resolveCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type CheckpointRef,
  type TrainingPosition,
} from './checkpoint';
import {
  type ClipSettings,
  clipGradients,
  clipSettingsFromConfig,
  DenseOptimizer,
  denseGroupsFromConfig,
} from './dense_optimizer';
import {
  allreduceGradients,
  broadcastVariables,
  checkReplicas,
  disagreement,
  type ReplicatedCollection,
  replicaFingerprint,
  withoutTimeout,
} from './distributed';
import { rankPart, saveDistributedCheckpoint } from './distributed_checkpoint';
import { EarlyStopper, type BestCheckpoint } from './early_stop';
import { evaluate, type EvalResult } from './evaluate';
import type { ModelSetup } from './model_setup';
import { ProgressReporter } from './progress';
import { type SparseOptimizerSettings, sparseOptimizerFromConfig } from './sparse_optimizer';
import { buildDistributedModel } from './distributed_setup';
import { type ShardedCollection, sparseBatchOf, type TablePlace } from './sharded_collection';
import { formatShardingPlan, type ShardingPlan, tablePlace } from './sharding_plan';
import { SummaryWriter } from './tensorboard';
import { ioError } from './io_errors';
import { lockModelDir } from './model_dir_lock';
import { UsageError } from './usage_error';

/** Options of `trainAndEvaluate` (the CLI's train_eval flags). */
export interface TrainEvalOptions {
  /** The effective pipeline config (already loaded and edited). */
  config: EasyRecConfig;
  /** --model_dir (default: the config's model_dir). */
  modelDir?: string;
  trainInputPath?: string;
  evalInputPath?: string;
  continueTrain?: boolean;
  fineTuneCheckpoint?: string;
  /** Seed of initialisation and shuffling (default 0). */
  seed?: number;
  /** Progress output (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Evaluate after each checkpoint (default true when an eval input exists). */
  evaluate?: boolean;
  /** Stop after this many steps in this process (tests: simulate a crash point). */
  maxStepsThisRun?: number;
  /** Write checkpoints (default true; benchmarks turn it off). */
  saveCheckpoints?: boolean;
  /** Called once the model and its tables are built (tools: memory accounting). */
  onSetup?: (setup: ModelSetup) => void;
  /** Called after each optimizer step (tests, tools) with the loss and the phases so far (`TrainSummary.phases`). */
  onStep?: (step: number, loss: number, phases: Readonly<Record<string, number>>) => void;
  /**
   * The job's communicator (default: a single process). With several ranks every rank trains a
   * replica on its part of the input and the ranks synchronize each step; rank 0 alone writes
   * model_dir (checkpoints, evaluation, events, logs).
   */
  comm?: Communicator;
  /** Seconds after which a training collective counts as hung (default 600; 0: never). */
  collectiveTimeoutS?: number;
}

/** What a training run did. */
export interface TrainSummary {
  modelDir: string;
  step: number;
  samples: number;
  /** Training samples per second of this process (data loading included). */
  samplesPerSecond: number;
  seconds: number;
  lastLoss: number;
  lastEval: (EvalResult & { step: number }) | null;
  best: BestCheckpoint | null;
  stoppedEarly: boolean;
  checkpoint: string | null;
  /**
   * Seconds of this process's training loop by phase: `data` (waiting for batches), `step`
   * (forward, losses, backward), `optimizer` (clipping, dense update); with several ranks also
   * `agree` (the per-step control allreduce), `sparse_gather` (all-gathering the batches and
   * dL/dpooled, waits for the other ranks included), `sparse_merge` (the global batch),
   * `sparse_update` (the fused update of the global batch), `dense_allreduce`, `broadcast`. Checkpoints and evaluations are not included.
   */
  phases: Record<string, number>;
}

const RESULT_FILE = 'train_eval_result.txt';

/**
 * TorchEasyRec's train_and_evaluate: trains the config's model on train_input_path for
 * num_steps or num_epochs, saving a checkpoint every save_checkpoints_steps (and at the end),
 * evaluating each on eval_input_path (a JSON line in model_dir/train_eval_result.txt,
 * TensorBoard scalars in model_dir/eval_val), logging loss and learning rates every
 * log_step_count_steps (model_dir/train). `continueTrain` resumes the newest complete checkpoint
 * bit for bit: weights, both optimizers' state, the step and the data position.
 */
export async function trainAndEvaluate(o: TrainEvalOptions): Promise<TrainSummary> {
  const settings = runSettings(o);
  const comm = o.comm ?? new LocalCommunicator();
  const chief = comm.rank === 0;
  // One owner per model_dir: nothing below touches it before the lock is held (rank 0 owns it for the job).
  const lock = chief ? lockModelDir(settings.modelDir, 'train_eval') : null;
  try {
    const existing = latestCheckpoint(settings.modelDir);
    if (existing && o.continueTrain !== true)
      throw new UsageError(
        `model_dir '${settings.modelDir}' already holds checkpoints (newest: ${path.basename(existing.path)}); pass --continue_train to resume it, or choose another --model_dir`,
      );
    // Leftovers of killed runs (their writers are gone: we hold the lock).
    const removed = chief ? removeIncompleteCheckpoints(settings.modelDir) : [];
    const run = new TrainingRun(o, settings, comm);
    try {
      if (removed.length > 0) run.log(`removed incomplete checkpoint writes: ${removed.join(', ')}`);
      run.restore(existing);
      // Only once the restore worked: a failed --continue_train leaves the model_dir's config as it was.
      if (chief)
        try {
          saveConfig(o.config, path.join(settings.modelDir, 'pipeline.config'));
        } catch (e) {
          throw ioError(e, `write '${path.join(settings.modelDir, 'pipeline.config')}'`);
        }
      run.describeModel();
      await run.checkStart();
      if (existing && o.continueTrain) await run.evaluateIfMissing(existing);
      if (run.stopped) return run.summary(0);
      if (run.pos.step >= settings.numSteps) {
        run.log(`nothing to do: step ${run.pos.step} >= num_steps ${settings.numSteps}`);
        return run.summary(0);
      }
      const seconds = await run.train();
      run.closeWriters(); // a failed last write of the events is an error of the run
      return run.summary(seconds);
    } finally {
      run.dispose();
    }
  } finally {
    lock?.release();
  }
}

/** train_config's loop settings, checked, with the run's model_dir and eval input. */
interface RunSettings {
  modelDir: string;
  numSteps: number;
  accumulate: number;
  saveEverySteps: number;
  saveEveryEpochs: number;
  logEvery: number;
  seed: number;
  evalInput: string | undefined;
  doEval: boolean;
}

function runSettings(o: TrainEvalOptions): RunSettings {
  const tc = o.config.trainConfig;
  if (!tc) throw new UsageError('Expected a train_config in the pipeline config but received none');
  const modelDir = o.modelDir || o.config.modelDir;
  if (!modelDir) throw new UsageError('Expected --model_dir or model_dir in the pipeline config but received none');
  const hasSteps = isFieldSet(tc, TrainConfigSchema.field.numSteps) && tc.numSteps > 0;
  const hasEpochs = isFieldSet(tc, TrainConfigSchema.field.numEpochs) && tc.numEpochs > 0;
  if (!hasSteps && !hasEpochs)
    throw new UsageError('Expected train_config.num_steps or train_config.num_epochs (> 0) but received neither');
  const evalInput = o.evalInputPath ?? o.config.evalInputPath;
  return {
    modelDir,
    numSteps: hasSteps ? tc.numSteps : Infinity,
    accumulate: Math.max(1, tc.gradientAccumulationSteps || 1),
    // TorchEasyRec's rule: save_checkpoints_epochs, when set, replaces the step cadence (whose
    // default, 1000, would otherwise still fire); 0 means no periodic saves (the final one stays).
    saveEverySteps: tc.saveCheckpointsEpochs > 0 ? 0 : tc.saveCheckpointsSteps,
    saveEveryEpochs: tc.saveCheckpointsEpochs,
    logEvery: Math.max(1, tc.logStepCountSteps || 100),
    seed: o.seed ?? 0,
    evalInput,
    doEval: (o.evaluate ?? true) && !!evalInput,
  };
}

/** One train_eval run's model, optimizers, outputs and position, and the steps of its loop. */
class TrainingRun {
  readonly setup: ModelSetup;
  pos: TrainingPosition = { step: 0, epoch: 0, consumedBatches: 0, samples: 0 };
  private readonly config: EasyRecConfig;
  private readonly tc: TrainConfig;
  private readonly sparse: SparseOptimizerSettings;
  private readonly clip: ClipSettings;
  private readonly denseOpt: DenseOptimizer;
  private readonly stableName: Map<string, string>;
  private readonly writers: { train: SummaryWriter | null; eval: SummaryWriter | null };
  private readonly progress: ProgressReporter;
  private readonly stopper: EarlyStopper;
  // State of the loop (this process).
  private epoch = 0;
  private samplesThisRun = 0;
  private stepsThisRun = 0;
  private lastLoss = NaN;
  private lastEval: TrainSummary['lastEval'] = null;
  private lastSaved = -1;
  private stoppedEarly = false;
  private start = Date.now();
  // Distributed: the table placement, the collections that synchronize each step (replicated or
  // sharded), and the variables rank 0 broadcasts after each step.
  readonly plan: ShardingPlan | null;
  private readonly synced: (ReplicatedCollection | ShardedCollection)[];
  private readonly sharded: ShardedCollection[];
  private readonly nonTrainable: tf.Variable[];
  private readonly timeoutS: number;
  private readonly phases: Record<string, number> = {};
  // Bytes of the collectives of checkpoints and evaluations (left out of the per-step figures).
  private readonly commOutsideSteps = { allreduceBytes: 0, alltoallBytes: 0, allgatherBytes: 0, broadcastBytes: 0 };

  constructor(
    private readonly o: TrainEvalOptions,
    private readonly s: RunSettings,
    private readonly comm: Communicator,
  ) {
    this.config = o.config;
    this.tc = o.config.trainConfig!;
    this.sparse = sparseOptimizerFromConfig(this.tc.sparseOptimizer);
    this.clip = clipSettingsFromConfig(this.tc.gradClipping);
    this.timeoutS = o.collectiveTimeoutS ?? 600;
    comm.setTimeoutSeconds(this.timeoutS);
    // Several ranks: each table is placed (table-wise on one rank, or on every rank), and each
    // collection gets a wrapper that moves its data between the ranks.
    const built = buildDistributedModel(this.config, comm, { sparseOptimizer: this.sparse.spec, seed: s.seed });
    this.setup = built.setup;
    this.plan = built.plan;
    this.synced = built.synced;
    this.sharded = built.sharded;
    this.nonTrainable = this.setup
      .namedVariables()
      .filter(([, v]) => !v.trainable)
      .map(([, v]) => v);
    // The optimizer sees the trainable variables (batch-norm statistics are variables too, not trained).
    const named = this.setup.namedVariables().filter(([, v]) => v.trainable);
    this.denseOpt = new DenseOptimizer(denseGroupsFromConfig(this.tc.denseOptimizer), named, s.accumulate);
    this.stableName = new Map(named.map(([n, v]) => [v.name, n]));
    o.onSetup?.(this.setup);
    const tensorboard = this.tc.useTensorboard !== false && comm.rank === 0;
    this.writers = {
      train: tensorboard ? new SummaryWriter(path.join(s.modelDir, 'train')) : null,
      eval: tensorboard ? new SummaryWriter(path.join(s.modelDir, 'eval_val')) : null,
    };
    this.progress = new ProgressReporter({
      total: Number.isFinite(s.numSteps) ? s.numSteps : undefined,
      // Rank 0 reports for the job; the other ranks' progress would repeat it.
      stream: comm.rank === 0 ? (o.stream ?? process.stderr) : discard(),
      everySteps: s.logEvery,
    });
    this.stopper = new EarlyStopper(this.config, s.modelDir);
  }

  /** Early stopping decided to stop. */
  get stopped(): boolean {
    return this.stoppedEarly;
  }

  log(line: string): void {
    this.progress.log(line);
  }

  /** As in TorchEasyRec, a checkpoint in model_dir wins over fine_tune_checkpoint when continuing. */
  restore(existing: CheckpointRef | null): void {
    const o = this.o;
    if (o.continueTrain && existing) {
      const r = restoreCheckpoint(existing.path, this.setup, { optimizerState: true, denseOptimizer: this.denseOpt });
      const m = r.manifest;
      this.pos = { step: m.step, epoch: m.epoch, consumedBatches: m.consumedBatches, samples: m.samples };
      this.resumeAtWorldSize(
        typeof m.extra.worldSize === 'number' ? m.extra.worldSize : 1,
        path.basename(existing.path),
      );
      const was = m.extra.batchSize;
      const now = this.config.dataConfig?.batchSize;
      if (typeof was === 'number' && now !== undefined && was !== now)
        this.log(
          `warning: batch_size was ${was} when ${path.basename(existing.path)} was saved and is ${now} now; the data position (${m.consumedBatches} batches consumed) is counted in batches, so the resumed run skips ${m.consumedBatches} batches of ${now} rows (not the ${m.samples.toLocaleString('en-US')} samples seen) and is not what an uninterrupted run would have done`,
        );
      this.stopper.restore();
      this.log(
        `continue_train: restored ${path.basename(existing.path)} (step ${m.step}, epoch ${m.epoch}, ${m.consumedBatches} batches consumed)`,
      );
    } else if (o.fineTuneCheckpoint || this.tc.fineTuneCheckpoint) {
      const ref = resolveCheckpoint(o.fineTuneCheckpoint || this.tc.fineTuneCheckpoint!);
      const r = restoreCheckpoint(ref.path, this.setup, { optimizerState: false, partial: true });
      this.log(
        `fine_tune_checkpoint: loaded ${r.restored.length} variables/tables from ${ref.path}${r.skipped.length ? `; skipped ${r.skipped.length}: ${r.skipped.slice(0, 8).join(', ')}${r.skipped.length > 8 ? ', …' : ''}` : ''}`,
      );
    }
    this.epoch = this.pos.epoch;
  }

  /**
   * A checkpoint written by W ranks resumed by W' ranks: each rank consumed `consumedBatches` of its
   * part, so W·consumedBatches batches of the whole input are done; each of W' ranks skips its
   * share of them (a whole number of batches, or the resume is refused: the data position cannot be
   * kept). Without a shuffle buffer the rows after the resume are those of an uninterrupted run.
   */
  private resumeAtWorldSize(was: number, name: string): void {
    const now = this.comm.size;
    if (was === now) return;
    const global = this.pos.consumedBatches * was;
    if (global % now !== 0)
      throw new UsageError(
        `${name} was written by ${was} ranks after ${this.pos.consumedBatches} batches each (${global} in all), which ${now} ranks cannot split evenly; resume it with a world size dividing ${global}`,
      );
    this.log(
      `continue_train: ${name} was written by ${was} rank${was > 1 ? 's' : ''}; each of the ${now} ranks skips ${global / now} of the ${global} batches consumed`,
    );
    this.pos.consumedBatches = global / now;
  }

  /**
   * Several ranks: every replica must start from the same weights (same config, seed or
   * checkpoint) — checked, then the job starts together.
   */
  async checkStart(): Promise<void> {
    if (this.comm.size === 1) return;
    this.log(
      `distributed: ${this.comm.size} ranks (${this.comm.kind}; ${this.comm.localSize} on this host, ${buildInfo().threads} thread${buildInfo().threads === 1 ? '' : 's'} each), synchronous data-parallel training; batch_size ${this.config.dataConfig?.batchSize} per rank, ${this.comm.size * (this.config.dataConfig?.batchSize ?? 0)} per step`,
    );
    if (this.plan) for (const line of formatShardingPlan(this.plan)) this.log(line);
    // Every rank must run the same program on the same settings: one tsrec, one effective
    // config (a different batch_size or model would make the collectives mismatch or hang).
    const version = (require('../package.json') as { version: string }).version;
    const setup = fingerprint64(`${version}\n${toText(this.config)}`);
    // The plan depends on each host's memory (TSREC_SHARD_MEMORY_GB): every rank must have made the same.
    const plan = await disagreement(this.comm, fingerprint64(JSON.stringify(this.plan)));
    if (plan)
      throw new UsageError(
        `Expected every rank to make the same sharding plan but they differ (${plan}): the hosts differ in memory — set TSREC_SHARD_MEMORY_GB (GiB of tables per rank) alike on every rank`,
      );
    const differs = await disagreement(this.comm, setup);
    if (differs)
      throw new UsageError(
        `Expected every rank to run tsrec ${version} on the same pipeline config (after --edit_config_json and flags) but the ranks differ (${differs}): launch the same command and config file on every rank`,
      );
    await checkReplicas(this.comm, this.fingerprint(true), 'at the start');
  }

  /** The dense variables and, with `tables`, the tables every rank holds (all of them in one process). */
  private fingerprint(tables: boolean): bigint {
    const held: { collection: EmbeddingCollection; name: string }[] = [];
    if (tables)
      for (const e of this.setup.collections)
        for (const t of e.collection?.tables ?? [])
          if (this.placeOf(e.key, t.name) === 'all') held.push({ collection: e.collection!, name: t.name });
    return replicaFingerprint(this.setup.namedVariables(), held);
  }

  /** Where a table lives: its rank, 'all' (data-parallel, or one process) or 'rows' (row-wise blocks). */
  private placeOf(key: string, table: string): TablePlace {
    if (!this.plan) return 'all';
    const p = this.plan.tables.find((t) => t.collection === key && t.table === table);
    if (!p)
      throw new Error(`Expected table '${table}' of collection '${key}' in the sharding plan but it is not there`);
    return tablePlace(p);
  }

  /**
   * Runs `fn` on rank 0 only (writing model_dir, evaluating) while the other ranks wait for it
   * (without a collective timeout: an evaluation may take long), then shares rank 0's
   * early-stopping decision.
   */
  private async chiefOnly(fn: () => Promise<void>): Promise<void> {
    if (this.comm.size === 1) return fn();
    if (this.comm.rank === 0) await fn();
    const flag = BigInt64Array.from([this.stoppedEarly ? 1n : 0n]);
    await withoutTimeout(this.comm, () => this.comm.allreduceInt(flag, 'max'));
    this.stoppedEarly = flag[0] > 0n;
  }

  describeModel(): void {
    const c = this.setup.collections;
    const here = this.comm.size > 1 ? ' on rank 0' : '';
    this.log(
      `training ${this.config.modelConfig?.model.case ?? 'model'}: ${this.setup.model.denseParameterCount.toLocaleString('en-US')} dense parameters, ${c.reduce((s, e) => s + e.spec.tables.length, 0)} tables (${(c.reduce((s, e) => s + (e.collection?.memoryBytes() ?? 0), 0) / 2 ** 20).toFixed(1)} MiB with optimizer state${here}), model_dir ${this.s.modelDir}`,
    );
  }

  /** The loop over the training input; resolves to its seconds. */
  async train(): Promise<number> {
    const s = this.s;
    let epochsEnded: number[] = [];
    const loader = createDataLoaderFromConfig(this.config, {
      mode: 'train',
      inputPath: this.o.trainInputPath,
      seed: s.seed,
      rank: this.comm.rank,
      worldSize: this.comm.size,
      labelRules: labelRulesOf(this.setup.model.tasks),
      onEpochEnd: (e, bad) => {
        epochsEnded.push(e);
        // Under malformed_row_policy "skip": what was skipped, with the first locations (every
        // rank reads its own rows, so every rank says what it skipped).
        if (bad.total === 0) return;
        if (this.comm.rank === 0) this.log(`epoch ${e}: ${formatBadDataSummary(bad)}`);
        else
          process.stderr.write(
            `tsrec train_eval (rank ${this.comm.rank} of ${this.comm.size}): epoch ${e}: ${formatBadDataSummary(bad)}\n`,
          );
      },
    });
    this.start = Date.now();
    let toSkip = this.pos.consumedBatches;
    const stopOnSigterm = this.comm.size > 1 ? this.onSigterm() : null;
    try {
      const batches = loader[Symbol.asyncIterator]();
      for (;;) {
        let t = performance.now();
        const next = await batches.next();
        t = this.phase('data', t);
        let epochCheckpoint = false;
        if (epochsEnded.length > 0) {
          // An epoch ended before this batch (onEpochEnd runs as the next epoch's batch is drawn).
          for (const e of epochsEnded) {
            this.epoch = e + 1;
            if (toSkip === 0 && s.saveEveryEpochs > 0 && this.epoch % s.saveEveryEpochs === 0) epochCheckpoint = true;
          }
          epochsEnded = [];
        }
        if (toSkip > 0 && !next.done) {
          // Resuming: the batches consumed before the checkpoint (same seed, same order) are drawn and dropped.
          toSkip--;
          continue;
        }
        // What every rank must agree on before a step: whether all have a batch (else all stop,
        // as TorchEasyRec), and whether one ended an epoch that saves a checkpoint.
        t = performance.now();
        const agreed = await this.agree(!next.done, epochCheckpoint);
        if (this.comm.size > 1) this.phase('agree', t);
        if (agreed.checkpoint) await this.checkpoint();
        if (agreed.someHaveBatch && !agreed.allHaveBatch)
          this.log(
            `a rank ran out of training data after step ${this.pos.step}: every rank stops here (TorchEasyRec's rule), so ${this.comm.size - agreed.ranksWithoutBatch} rank(s)' remaining rows are not trained on`,
          );
        if (this.stoppedEarly || !agreed.allHaveBatch) break;
        await this.trainBatch(next.value as Batch);
        if (s.saveEverySteps > 0 && this.pos.step % s.saveEverySteps === 0) await this.checkpoint();
        if (this.stoppedEarly || this.pos.step >= s.numSteps) break;
        if (this.o.maxStepsThisRun !== undefined && this.stepsThisRun >= this.o.maxStepsThisRun) break;
      }
    } catch (e) {
      // Several ranks: say where the job stood (a collective timeout names only the collective).
      if (this.comm.size === 1 || !(e instanceof Error)) throw e;
      const last = latestCheckpoint(this.s.modelDir);
      e.message = `${e.message} (at step ${this.pos.step + 1}; last complete checkpoint: ${last ? last.path : 'none'})`;
      throw e;
    } finally {
      stopOnSigterm?.();
      await loader.close();
    }
    if (epochsEnded.length > 0) this.epoch = epochsEnded[epochsEnded.length - 1] + 1;
    if (toSkip > 0)
      throw new Error(
        `Expected at least ${this.pos.consumedBatches} training batches to resume from but the input ended after ${this.pos.consumedBatches - toSkip}; was --train_input_path changed?`,
      );
    if (this.pos.step > 0) await this.checkpoint();
    if (this.comm.size > 1 && this.stepsThisRun > 0) {
      const st = this.comm.stats();
      const per = (k: 'allreduceBytes' | 'alltoallBytes' | 'allgatherBytes' | 'broadcastBytes') =>
        `${((st[k] - this.commOutsideSteps[k]) / this.stepsThisRun / 2 ** 20).toFixed(3)} MiB`;
      this.log(
        `communication per step (rank 0 sent, ${this.stepsThisRun} steps, checkpoints and evaluations left out): allreduce ${per('allreduceBytes')}, all-to-all ${per('alltoallBytes')}, all-gather ${per('allgatherBytes')}, broadcast ${per('broadcastBytes')}; npx tsrec plan --world_size ${this.comm.size} predicts them`,
      );
    }
    const seconds = (Date.now() - this.start) / 1000;
    this.progress.finish();
    return seconds;
  }

  /**
   * One batch, one step (TorchEasyRec counts batches: num_steps, checkpoints and schedules): the
   * forward and the backward, whose fused sparse update changes the tables in place; the dense
   * optimizer steps on every gradient_accumulation_steps-th batch. With accumulation each batch's
   * loss is divided by the steps before backprop (TorchEasyRec's _pipeline_backward), so the
   * sparse update of a batch is 1/k of its gradient and the dense step applies the mean.
   */
  private async trainBatch(batch: Batch): Promise<void> {
    const lrs = this.denseOpt.learningRates(this.pos.step, this.epoch);
    this.setup.sparseLr.value = this.sparse.schedule.lr(this.pos.step, this.epoch);
    // Dropout masks depend on the position (and the rank), so a resumed run draws the same.
    setRandomPosition(this.pos.consumedBatches * this.comm.size + this.comm.rank);
    let step: { loss: number; grads: Record<string, tf.Tensor> };
    // Sharded tables: the batch's ids go to the ranks holding them and the pooled rows come back.
    for (const c of this.sharded) await c.prepare(this.comm, sparseBatchOf(c, batch), this.phases);
    let t = performance.now();
    try {
      step = trainBatch(this.setup, batch, this.stableName, 1 / this.s.accumulate);
    } catch (e) {
      // Non-finite logits or gradients: say where training stood (the data are checked when read).
      const msg = (e as Error)?.message ?? String(e);
      if (!/Expected finite/.test(msg)) throw e;
      throw new Error(
        `training step ${this.pos.step + 1} (batch ${this.pos.consumedBatches + 1}, epoch ${this.epoch}): ${msg}; the model diverged — lower the learning rates, or clip gradients (train_config.grad_clipping)`,
      );
    }
    faultForTestIfAsked(this.comm.rank, this.pos.step + 1);
    t = this.phase('step', t);
    let { loss, grads } = step;
    let samples = batch.batchSize;
    if (this.comm.size > 1) {
      // The ranks' steps become one: the sparse update of the global batch on every rank, the
      // dense gradients (with the losses and batch sizes) averaged in rank order.
      // The dense allreduce is queued behind the last collection's gathers, so its bytes move while
      // the sparse update of the global batch runs.
      let dense: ReturnType<typeof allreduceGradients> | null = null;
      const startDense = () => {
        const p = allreduceGradients(this.comm, grads, [loss, batch.batchSize]);
        // Awaited below; if a sparse collective fails first (a collective timeout), this one fails
        // too and must not end the process as an unhandled rejection before that error is reported.
        p.catch(() => {});
        dense = p;
      };
      for (const [i, r] of this.synced.entries())
        await r.synchronize(this.comm, this.phases, i === this.synced.length - 1 ? startDense : undefined);
      if (!dense) startDense();
      t = performance.now();
      const red = await dense!;
      t = this.phase('dense_allreduce', t);
      grads = red.grads;
      loss = red.extra[0] / this.comm.size;
      samples = red.extra[1];
    }
    this.pos.consumedBatches++;
    this.pos.samples += samples;
    this.samplesThisRun += samples;
    const g = this.denseOpt.accumulateGradients(grads);
    if (g) {
      clipGradients(g, this.clip);
      this.denseOpt.apply(g, lrs);
      Object.values(g).forEach((t) => t.dispose());
    }
    t = this.phase('optimizer', t);
    if (this.comm.size > 1) {
      await broadcastVariables(this.comm, this.nonTrainable);
      this.phase('broadcast', t);
    }
    this.pos.step++;
    this.stepsThisRun++;
    this.lastLoss = loss;
    this.progress.update(this.pos.step, { loss, lr: lrs[lrs.length - 1], samples });
    this.o.onStep?.(this.pos.step, loss, this.phases);
    if (this.pos.step % this.s.logEvery === 0) {
      this.writeTrainScalars(loss, lrs[lrs.length - 1]);
      if (this.comm.size > 1) await checkReplicas(this.comm, this.fingerprint(false), `after step ${this.pos.step}`);
    }
  }

  /** Adds the time since `since` (ms, performance.now()) to a phase; returns now. */
  private phase(name: string, since: number): number {
    const now = performance.now();
    this.phases[name] = (this.phases[name] ?? 0) + (now - since) / 1000;
    return now;
  }

  /** Every rank's has-a-batch and wants-an-epoch-checkpoint, combined (one small allreduce per step). */
  private async agree(
    hasBatch: boolean,
    checkpoint: boolean,
  ): Promise<{ allHaveBatch: boolean; someHaveBatch: boolean; ranksWithoutBatch: number; checkpoint: boolean }> {
    const w = this.comm.size;
    if (w === 1)
      return { allHaveBatch: hasBatch, someHaveBatch: hasBatch, ranksWithoutBatch: hasBatch ? 0 : 1, checkpoint };
    const v = BigInt64Array.from([hasBatch ? 1n : 0n, checkpoint ? 1n : 0n]);
    await this.comm.allreduceInt(v, 'sum');
    const withBatch = Number(v[0]);
    return {
      allHaveBatch: withBatch === w,
      someHaveBatch: withBatch > 0,
      ranksWithoutBatch: w - withBatch,
      checkpoint: v[1] > 0n,
    };
  }

  /**
   * mpirun stops the other ranks with SIGTERM when one fails: one line saying where this rank
   * stood, then exit (nothing is written meanwhile; a half-written checkpoint stays a temporary
   * folder that the next run removes). Returns the uninstall.
   */
  private onSigterm(): () => void {
    const handler = () => {
      const last = latestCheckpoint(this.s.modelDir);
      process.stderr.write(
        `tsrec train_eval (rank ${this.comm.rank} of ${this.comm.size}): stopped by SIGTERM at step ${this.pos.step} (another rank failed, or the job was stopped); last complete checkpoint: ${last ? last.path : 'none'}\n`,
      );
      process.exit(143);
    };
    process.once('SIGTERM', handler);
    return () => process.removeListener('SIGTERM', handler);
  }

  private writeTrainScalars(loss: number, denseLr: number): void {
    const w = this.writers.train;
    if (!w) return;
    const step = this.pos.step;
    w.scalar('loss', loss, step);
    w.scalar('lr/dense', denseLr, step);
    w.scalar('lr/sparse', this.setup.sparseLr.value, step);
    w.scalar('samples_per_second', this.samplesThisRun / Math.max(1e-9, (Date.now() - this.start) / 1000), step);
    w.flush();
  }

  /** Saves a checkpoint of the current step (once), evaluates it, applies early stopping and keep_checkpoint_max. */
  private async checkpoint(): Promise<void> {
    if (this.lastSaved === this.pos.step || this.o.saveCheckpoints === false) return;
    const before = this.comm.stats();
    try {
      await this.saveEvaluatePrune();
    } finally {
      const after = this.comm.stats();
      for (const k of Object.keys(this.commOutsideSteps) as (keyof typeof this.commOutsideSteps)[])
        this.commOutsideSteps[k] += after[k] - before[k];
    }
  }

  private async saveEvaluatePrune(): Promise<void> {
    // What every rank holds must be identical (dense weights, data-parallel tables) before it is saved.
    if (this.comm.size > 1)
      await checkReplicas(this.comm, this.fingerprint(true), `before saving step ${this.pos.step}`);
    this.lastSaved = this.pos.step;
    // Rank 0 writes (each rank its tables when they are sharded); every rank evaluates its part of
    // the eval input; rank 0 records and prunes.
    let saved = path.join(this.s.modelDir, `model.ckpt-${this.pos.step}`);
    if (this.sharded.length > 0) saved = await this.saveSharded();
    else
      await this.chiefOnly(async () => {
        saved = this.save();
      });
    if (this.s.doEval) await this.evaluate(saved);
    await this.chiefOnly(async () => this.prune());
  }

  private save(): string {
    const modelDir = this.s.modelDir;
    const ref = saveCheckpoint(
      modelDir,
      this.setup,
      this.denseOpt,
      { ...this.pos, epoch: this.epoch },
      this.checkpointExtra(),
      this.config,
    );
    this.log(`saved ${path.basename(ref.path)}`);
    return ref.path;
  }

  /** Every rank writes the tables it holds into one checkpoint (distributed_checkpoint.ts). */
  private async saveSharded(): Promise<string> {
    const ref = await saveDistributedCheckpoint(
      this.comm,
      this.s.modelDir,
      this.setup,
      this.denseOpt,
      { ...this.pos, epoch: this.epoch },
      this.checkpointExtra(),
      this.config,
      rankPart(this.comm.rank, (key, table) => this.placeOf(key, table)),
    );
    this.log(`saved ${path.basename(ref.path)} (tables from ${this.comm.size} ranks)`);
    return ref.path;
  }

  /** What a checkpoint records of the run besides the model (the plan of a distributed run). */
  private checkpointExtra(): Record<string, unknown> {
    return {
      seed: this.s.seed,
      batchSize: this.config.dataConfig?.batchSize,
      worldSize: this.comm.size,
      ...(this.plan
        ? {
            sharding: this.plan.tables.map((t) => ({
              collection: t.collection,
              table: t.table,
              placement: t.placement,
              rank: t.rank,
            })),
          }
        : {}),
    };
  }

  private prune(): void {
    const removed = pruneCheckpoints(this.s.modelDir, this.tc.keepCheckpointMax, this.stopper.protectedSteps());
    if (removed.length)
      this.log(
        `removed ${removed.map((p) => path.basename(p)).join(', ')} (keep_checkpoint_max ${this.tc.keepCheckpointMax})`,
      );
  }

  /**
   * A run killed between saving a checkpoint and evaluating it left no result line for it: the
   * resumed run evaluates it first (the restored weights are that checkpoint's), so
   * train_eval_result.txt and the best checkpoint see every checkpoint.
   */
  async evaluateIfMissing(ref: CheckpointRef): Promise<void> {
    if (!this.s.doEval || this.o.saveCheckpoints === false) return;
    const file = path.join(this.s.modelDir, RESULT_FILE);
    const done = new Set<number>();
    if (fs.existsSync(file))
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        try {
          const step = (JSON.parse(line) as { global_step?: unknown }).global_step;
          if (typeof step === 'number') done.add(step);
        } catch {
          // a line cut by a kill mid-write: not a result
        }
      }
    if (done.has(ref.step)) return;
    this.log(`evaluating ${path.basename(ref.path)}, saved but not evaluated by the interrupted run`);
    this.lastSaved = ref.step;
    await this.evaluate(ref.path);
  }

  private async evaluate(checkpointPath: string): Promise<void> {
    const step = this.pos.step;
    const r = await evaluate(this.config, this.setup, {
      inputPath: this.s.evalInput,
      numSteps: this.config.evalConfig?.numSteps,
      comm: this.comm,
      sharded: this.sharded,
    });
    this.lastEval = { ...r, step };
    await this.chiefOnly(async () => this.record(r, step, checkpointPath));
  }

  /** An evaluation's result line, TensorBoard scalars, log line and early-stopping decision (rank 0). */
  private record(r: EvalResult, step: number, checkpointPath: string): void {
    const results = path.join(this.s.modelDir, RESULT_FILE);
    try {
      fs.appendFileSync(results, `${JSON.stringify({ global_step: step, ...r.metrics })}\n`);
    } catch (e) {
      throw ioError(e, `append the evaluation of step ${step} to '${results}'`);
    }
    for (const [k, v] of Object.entries(r.metrics)) this.writers.eval?.scalar(k, v, step);
    this.writers.eval?.flush();
    this.log(
      `eval at step ${step}: ${formatMetrics(r.metrics)} (${r.samples.toLocaleString('en-US')} samples, ${r.seconds.toFixed(1)} s)`,
    );
    const decision = this.stopper.update(step, r.metrics, checkpointPath);
    if (decision.stop) {
      this.stoppedEarly = true;
      this.log(`early stop: ${decision.reason}`);
    }
  }

  summary(seconds: number): TrainSummary {
    const latest = latestCheckpoint(this.s.modelDir);
    return {
      modelDir: this.s.modelDir,
      step: this.pos.step,
      samples: this.pos.samples,
      samplesPerSecond: seconds > 0 ? this.samplesThisRun / seconds : 0,
      seconds,
      lastLoss: this.lastLoss,
      lastEval: this.lastEval,
      best: this.stopper.best,
      stoppedEarly: this.stoppedEarly,
      checkpoint: latest ? latest.path : null,
      phases: { ...this.phases },
    };
  }

  closeWriters(): void {
    this.writers.train?.close();
    this.writers.eval?.close();
  }

  /** Frees the model; never throws, so the error that ended a run is the one reported. */
  dispose(): void {
    for (const w of [this.writers.train, this.writers.eval])
      try {
        w?.close();
      } catch {
        // already failing (a full disk): the run's own error says so
      }
    this.denseOpt.dispose();
    this.setup.dispose();
  }
}

/**
 * Forward, fused losses and backward of one batch, backpropagating `scale` × the loss: the sparse
 * tables update during backprop; dense gradients by stable name are returned, with the batch's
 * (unscaled) loss.
 */
function trainBatch(
  setup: ModelSetup,
  batch: Batch,
  stableName: Map<string, string>,
  scale: number,
): { loss: number; grads: Record<string, tf.Tensor> } {
  const model = setup.model;
  const vars = model.trainableVariables;
  const { value, grads } = tf.variableGrads(() => {
    const losses = Object.values(model.loss(model.predict(batch, { training: true }), batch));
    const total = (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
    return scale === 1 ? total : tf.mul(total, scale);
  }, vars);
  const loss = value.dataSync()[0] / scale;
  value.dispose();
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) {
    const name = stableName.get(k);
    if (name === undefined)
      g.dispose(); // the sparse arches' zero-gradient anchors
    else out[name] = g;
  }
  if (!Number.isFinite(loss))
    throw new Error(
      `Expected a finite training loss but received ${loss}; lower the learning rates or check the labels and inputs`,
    );
  return { loss, grads: out };
}

/** `auc 0.7812  logloss 0.4411` */
export function formatMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(6)}`)
    .join('  ');
}

/** A stream that drops what it is given (the progress of ranks other than 0). */
function discard(): NodeJS.WritableStream {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/**
 * Fault injection for the distributed tests: TSREC_FAULT_KILL_RANK=r:s SIGKILLs rank r in step s;
 * TSREC_FAULT_HANG_RANK=r:s blocks rank r's main thread in step s (a hang: no collective is joined).
 */
function faultForTestIfAsked(rank: number, step: number): void {
  if (process.env.TSREC_FAULT_KILL_RANK === `${rank}:${step}`) process.kill(process.pid, 'SIGKILL');
  if (process.env.TSREC_FAULT_HANG_RANK === `${rank}:${step}`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}
