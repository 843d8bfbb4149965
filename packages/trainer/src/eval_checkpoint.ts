import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EasyRecConfig } from '@tsrec/config';

import type { Communicator } from '@tsrec/native';

import { resolveCheckpoint, restoreCheckpoint } from './checkpoint';
import { disagreement } from './distributed';
import { evaluate } from './evaluate';
import { buildDistributedModel } from './distributed_setup';
import type { buildModel } from './model_setup';
import { lockModelDir } from './model_dir_lock';
import { UsageError } from './usage_error';

/** Options of `evaluateCheckpoint` (`tsrec eval`). */
export interface EvalCheckpointOptions {
  config: EasyRecConfig;
  /** A checkpoint directory or model_dir (default: the config's model_dir, newest checkpoint). */
  checkpointPath?: string;
  evalInputPath?: string;
  /** File in model_dir the JSON line is appended to (default train_eval_result.txt); '' for none. */
  resultFile?: string;
  /** Several ranks (mpirun): each evaluates its rows, the metrics are merged, rank 0 writes the line. */
  comm?: Communicator;
}

/** Loads a checkpoint and evaluates it; appends a JSON line to model_dir/<resultFile>. */
export async function evaluateCheckpoint(
  o: EvalCheckpointOptions,
): Promise<{ checkpoint: string; step: number; metrics: Record<string, number> }> {
  const p = o.checkpointPath ?? o.config.modelDir;
  if (!p)
    throw new UsageError('Expected --checkpoint_path or a model_dir (config or --model_dir) but received neither');
  const resultFile = o.resultFile ?? 'train_eval_result.txt';
  // The result line goes into a model_dir: its lock keeps it from a training run writing there
  // (taken before the checkpoint is chosen, which that run could otherwise prune meanwhile).
  const chief = (o.comm?.rank ?? 0) === 0;
  const lock = chief && resultFile && o.config.modelDir ? lockModelDir(o.config.modelDir, 'eval') : null;
  let setup: ReturnType<typeof buildModel> | null = null;
  try {
    const ref = resolveCheckpoint(p);
    const dir = o.config.modelDir || path.dirname(ref.path);
    // Several ranks: each holds its part of the tables (the plan at this world size) and the
    // batches go through the ranks in lockstep; the checkpoint may have been written at any size.
    const built = buildDistributedModel(o.config, o.comm ?? { rank: 0, size: 1 });
    setup = built.setup;
    const r = restoreCheckpoint(ref.path, setup, { optimizerState: false });
    if (o.comm && o.comm.size > 1) {
      const d = await disagreement(o.comm, BigInt(r.manifest.step));
      if (d)
        throw new UsageError(
          `Expected every rank to evaluate the same checkpoint but they restored different steps (${d}, in hex): pass --checkpoint_path`,
        );
    }
    const ev = await evaluate(o.config, setup, {
      inputPath: o.evalInputPath,
      numSteps: o.config.evalConfig?.numSteps,
      comm: o.comm,
      sharded: built.sharded,
    });
    if (resultFile && chief)
      fs.appendFileSync(
        path.join(dir, resultFile),
        `${JSON.stringify({ global_step: r.manifest.step, ...ev.metrics })}\n`,
      );
    return { checkpoint: ref.path, step: r.manifest.step, metrics: ev.metrics };
  } finally {
    setup?.dispose();
    lock?.release();
  }
}
