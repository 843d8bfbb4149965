import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { isFieldSet } from '@bufbuild/protobuf';
import { saveConfig, TrainConfigSchema, type EasyRecConfig } from '@tsrec/config';
import { createDataLoaderFromConfig, formatBadDataSummary, type Batch } from '@tsrec/data';
import { setRandomPosition } from '@tsrec/models';

import {
  latestCheckpoint,
  pruneCheckpoints,
  removeIncompleteCheckpoints,
  resolveCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type TrainingPosition,
} from './checkpoint';
import { clipGradients, clipSettingsFromConfig, DenseOptimizer, denseGroupsFromConfig } from './dense_optimizer';
import { EarlyStopper, type BestCheckpoint } from './early_stop';
import { evaluate, type EvalResult } from './evaluate';
import { buildModel, type ModelSetup } from './model_setup';
import { ProgressReporter } from './progress';
import { sparseOptimizerFromConfig } from './sparse_optimizer';
import { SummaryWriter } from './tensorboard';
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
  /** Called after each optimizer step (tests, tools). */
  onStep?: (step: number, loss: number) => void;
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
  const config = o.config;
  const tc = config.trainConfig;
  if (!tc) throw new UsageError('Expected a train_config in the pipeline config but received none');
  const modelDir = o.modelDir || config.modelDir;
  if (!modelDir) throw new UsageError('Expected --model_dir or model_dir in the pipeline config but received none');
  const hasSteps = isFieldSet(tc, TrainConfigSchema.field.numSteps) && tc.numSteps > 0;
  const hasEpochs = isFieldSet(tc, TrainConfigSchema.field.numEpochs) && tc.numEpochs > 0;
  if (!hasSteps && !hasEpochs)
    throw new UsageError('Expected train_config.num_steps or train_config.num_epochs (> 0) but received neither');
  const numSteps = hasSteps ? tc.numSteps : Infinity;
  const accumulate = Math.max(1, tc.gradientAccumulationSteps || 1);
  const saveEvery = tc.saveCheckpointsSteps || 0;
  const saveEveryEpochs = tc.saveCheckpointsEpochs || 0;
  const logEvery = Math.max(1, tc.logStepCountSteps || 100);
  const seed = o.seed ?? 0;

  // model_dir: refuse to overwrite a trained model unless resuming.
  fs.mkdirSync(modelDir, { recursive: true });
  const removed = removeIncompleteCheckpoints(modelDir);
  const existing = latestCheckpoint(modelDir);
  if (existing && !o.continueTrain) {
    throw new UsageError(
      `model_dir '${modelDir}' already holds checkpoints (newest: ${path.basename(existing.path)}); pass --continue_train to resume it, or choose another --model_dir`,
    );
  }
  saveConfig(config, path.join(modelDir, 'pipeline.config'));

  const sparse = sparseOptimizerFromConfig(tc.sparseOptimizer);
  const denseGroups = denseGroupsFromConfig(tc.denseOptimizer);
  const clip = clipSettingsFromConfig(tc.gradClipping);
  const setup = buildModel(config, { sparseOptimizer: sparse.spec, seed });
  // The optimizer sees the trainable variables (batch-norm statistics are variables too, not trained).
  const named = setup.namedVariables().filter(([, v]) => v.trainable);
  const denseOpt = new DenseOptimizer(denseGroups, named);
  const stableName = new Map(named.map(([n, v]) => [v.name, n]));
  o.onSetup?.(setup);
  const writers = {
    train: tc.useTensorboard === false ? null : new SummaryWriter(path.join(modelDir, 'train')),
    eval: tc.useTensorboard === false ? null : new SummaryWriter(path.join(modelDir, 'eval_val')),
  };
  const progress = new ProgressReporter({
    total: Number.isFinite(numSteps) ? numSteps : undefined,
    stream: o.stream ?? process.stderr,
    everySteps: logEvery,
  });
  const log = (line: string) => progress.log(line);
  if (removed.length > 0) log(`removed incomplete checkpoint writes: ${removed.join(', ')}`);

  let pos: TrainingPosition = { step: 0, epoch: 0, consumedBatches: 0, samples: 0 };
  const stopper = new EarlyStopper(config, modelDir);
  try {
    // As in TorchEasyRec, a checkpoint in model_dir wins over fine_tune_checkpoint when continuing.
    if (o.continueTrain && existing) {
      const r = restoreCheckpoint(existing.path, setup, { optimizerState: true, denseOptimizer: denseOpt });
      pos = {
        step: r.manifest.step,
        epoch: r.manifest.epoch,
        consumedBatches: r.manifest.consumedBatches,
        samples: r.manifest.samples,
      };
      stopper.restore();
      log(
        `continue_train: restored ${path.basename(existing.path)} (step ${pos.step}, epoch ${pos.epoch}, ${pos.consumedBatches} batches consumed)`,
      );
    } else if (o.fineTuneCheckpoint || tc.fineTuneCheckpoint) {
      const ref = resolveCheckpoint(o.fineTuneCheckpoint || tc.fineTuneCheckpoint!);
      const r = restoreCheckpoint(ref.path, setup, { optimizerState: false, partial: true });
      log(
        `fine_tune_checkpoint: loaded ${r.restored.length} variables/tables from ${ref.path}${r.skipped.length ? `; skipped ${r.skipped.length}: ${r.skipped.slice(0, 8).join(', ')}${r.skipped.length > 8 ? ', …' : ''}` : ''}`,
      );
    }
    log(
      `training ${config.modelConfig?.model.case ?? 'model'}: ${setup.model.denseParameterCount.toLocaleString('en-US')} dense parameters, ${setup.collections.reduce((s, c) => s + c.collection.tables.length, 0)} tables (${(setup.collections.reduce((s, c) => s + c.collection.memoryBytes(), 0) / 2 ** 20).toFixed(1)} MiB with optimizer state), model_dir ${modelDir}`,
    );

    if (pos.step >= numSteps) {
      log(`nothing to do: step ${pos.step} >= num_steps ${numSteps}`);
      return finish(null, 0, NaN, false);
    }

    let epoch = pos.epoch;
    let epochsEnded: number[] = [];
    const loader = createDataLoaderFromConfig(config, {
      mode: 'train',
      inputPath: o.trainInputPath,
      seed,
      onEpochEnd: (e, bad) => {
        epochsEnded.push(e);
        // Under malformed_row_policy "skip": what was skipped, with the first locations.
        if (bad.total > 0) log(`epoch ${e}: ${formatBadDataSummary(bad)}`);
      },
    });
    const evalInput = o.evalInputPath ?? config.evalInputPath;
    const doEval = (o.evaluate ?? true) && !!evalInput;
    const start = Date.now();
    let samplesThisRun = 0;
    let lastLoss = NaN;
    let lastEval: TrainSummary['lastEval'] = null;
    let lastSaved = -1;
    let stoppedEarly = false;
    let micro = 0;
    let accum: Record<string, tf.Tensor> | null = null;
    let toSkip = pos.consumedBatches;
    let stepsThisRun = 0;

    const checkpoint = async (): Promise<void> => {
      if (lastSaved === pos.step || o.saveCheckpoints === false) return;
      const ref = saveCheckpoint(modelDir, setup, denseOpt, { ...pos, epoch }, { seed });
      lastSaved = pos.step;
      log(`saved ${path.basename(ref.path)}`);
      if (doEval) {
        const r = await evaluate(config, setup, { inputPath: evalInput, numSteps: config.evalConfig?.numSteps });
        lastEval = { ...r, step: pos.step };
        fs.appendFileSync(
          path.join(modelDir, RESULT_FILE),
          `${JSON.stringify({ global_step: pos.step, ...r.metrics })}\n`,
        );
        for (const [k, v] of Object.entries(r.metrics)) writers.eval?.scalar(k, v, pos.step);
        writers.eval?.flush();
        log(
          `eval at step ${pos.step}: ${formatMetrics(r.metrics)} (${r.samples.toLocaleString('en-US')} samples, ${r.seconds.toFixed(1)} s)`,
        );
        const decision = stopper.update(pos.step, r.metrics, ref.path);
        if (decision.stop) {
          stoppedEarly = true;
          log(`early stop: ${decision.reason}`);
        }
      }
      const removedCkpts = pruneCheckpoints(modelDir, tc.keepCheckpointMax, stopper.protectedSteps());
      if (removedCkpts.length)
        log(
          `removed ${removedCkpts.map((p) => path.basename(p)).join(', ')} (keep_checkpoint_max ${tc.keepCheckpointMax})`,
        );
    };

    try {
      for await (const batch of loader) {
        if (epochsEnded.length > 0) {
          // An epoch ended before this batch (onEpochEnd runs as the next epoch's batch is drawn).
          for (const e of epochsEnded) {
            epoch = e + 1;
            if (toSkip === 0 && saveEveryEpochs > 0 && epoch % saveEveryEpochs === 0 && micro === 0) await checkpoint();
          }
          epochsEnded = [];
          if (stoppedEarly) break;
        }
        if (toSkip > 0) {
          // Resuming: the batches consumed before the checkpoint (same seed, same order) are drawn and dropped.
          toSkip--;
          continue;
        }
        const lrs = denseOpt.learningRates(pos.step, epoch);
        setup.sparseLr.value = sparse.schedule.lr(pos.step, epoch);
        setRandomPosition(pos.consumedBatches); // dropout masks depend on the position, so a resumed run draws the same
        const { loss, grads } = trainBatch(setup, batch, stableName);
        pos.consumedBatches++;
        pos.samples += batch.batchSize;
        samplesThisRun += batch.batchSize;
        micro++;
        if (accumulate > 1) {
          accum = addInto(accum, grads);
          if (micro < accumulate) continue;
          for (const k of Object.keys(accum)) {
            const a = accum[k];
            accum[k] = tf.div(a, accumulate);
            a.dispose();
          }
        }
        const g = accumulate > 1 ? accum! : grads;
        accum = null;
        micro = 0;
        clipGradients(g, clip);
        denseOpt.apply(g, lrs);
        Object.values(g).forEach((t) => t.dispose());
        pos.step++;
        stepsThisRun++;
        lastLoss = loss;
        progress.update(pos.step, { loss, lr: lrs[lrs.length - 1], samples: batch.batchSize * accumulate });
        o.onStep?.(pos.step, loss);
        if (pos.step % logEvery === 0 && writers.train) {
          writers.train.scalar('loss', loss, pos.step);
          writers.train.scalar('lr/dense', lrs[lrs.length - 1], pos.step);
          writers.train.scalar('lr/sparse', setup.sparseLr.value, pos.step);
          writers.train.scalar(
            'samples_per_second',
            samplesThisRun / Math.max(1e-9, (Date.now() - start) / 1000),
            pos.step,
          );
          writers.train.flush();
        }
        if (saveEvery > 0 && pos.step % saveEvery === 0) await checkpoint();
        if (stoppedEarly || pos.step >= numSteps) break;
        if (o.maxStepsThisRun !== undefined && stepsThisRun >= o.maxStepsThisRun) break;
      }
    } finally {
      if (accum) Object.values(accum).forEach((t) => t.dispose());
      await loader.close();
    }
    if (epochsEnded.length > 0) epoch = epochsEnded[epochsEnded.length - 1] + 1;
    if (toSkip > 0)
      throw new Error(
        `Expected at least ${pos.consumedBatches} training batches to resume from but the input ended after ${pos.consumedBatches - toSkip}; was --train_input_path changed?`,
      );
    if (pos.step > 0) await checkpoint();
    const seconds = (Date.now() - start) / 1000;
    progress.finish();
    return finish(lastEval, seconds, lastLoss, stoppedEarly, samplesThisRun);
  } finally {
    writers.train?.close();
    writers.eval?.close();
    denseOpt.dispose();
    setup.dispose();
  }

  function finish(
    lastEval: TrainSummary['lastEval'],
    seconds: number,
    lastLoss: number,
    stoppedEarly: boolean,
    samplesThisRun = 0,
  ): TrainSummary {
    const latest = latestCheckpoint(modelDir!);
    return {
      modelDir: modelDir!,
      step: pos.step,
      samples: pos.samples,
      samplesPerSecond: seconds > 0 ? samplesThisRun / seconds : 0,
      seconds,
      lastLoss,
      lastEval,
      best: stopper.best,
      stoppedEarly,
      checkpoint: latest ? latest.path : null,
    };
  }
}

/** Forward, fused losses and backward of one batch: the sparse tables update during backprop; dense gradients by stable name are returned. */
function trainBatch(
  setup: ModelSetup,
  batch: Batch,
  stableName: Map<string, string>,
): { loss: number; grads: Record<string, tf.Tensor> } {
  const model = setup.model;
  const vars = model.trainableVariables;
  const { value, grads } = tf.variableGrads(() => {
    const losses = Object.values(model.loss(model.predict(batch, { training: true }), batch));
    return (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
  }, vars);
  const loss = value.dataSync()[0];
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

function addInto(acc: Record<string, tf.Tensor> | null, grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  if (!acc) return grads;
  for (const [k, g] of Object.entries(grads)) {
    const a = acc[k];
    acc[k] = a ? tf.add(a, g) : g;
    if (a) {
      a.dispose();
      g.dispose();
    }
  }
  return acc;
}

/** `auc 0.7812  logloss 0.4411` */
export function formatMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(6)}`)
    .join('  ');
}
