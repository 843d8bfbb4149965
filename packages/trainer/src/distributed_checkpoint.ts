/**
 * One checkpoint written by every rank of a sharded run (issue 20): rank 0 makes the temporary
 * directory, each rank writes the tables it holds (`sparse_<key>.safetensors` on rank 0 — with
 * the data-parallel tables —, `sparse_<key>.rank<r>.safetensors` on rank r; a row-wise table as one
 * block of rows per rank), the ranks share what they wrote, and rank 0 adds the dense files and the
 * manifest (which names the file of every table, or of every block of rows) and renames the directory. A failure on any rank fails the save on every rank, and the
 * temporary directory is removed: nothing half-written is left under a checkpoint's name. Any
 * world size restores it (each rank reads the tables it now holds from whichever file has them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EasyRecConfig } from '@tsrec/config';
import type { Communicator } from '@tsrec/native';

import {
  CHECKPOINT_PREFIX,
  type CheckpointPart,
  type CheckpointRef,
  finishCheckpoint,
  type SparsePartWritten,
  startCheckpoint,
  type TrainingPosition,
  writeSparsePart,
} from './checkpoint';
import type { DenseOptimizer } from './dense_optimizer';
import { allgatherBytes, packValue, unpackValue, withoutTimeout } from './distributed';
import { ioError } from './io_errors';
import type { ModelSetup } from './model_setup';
import type { TablePlace } from './sharded_collection';

/** The tables rank `rank` writes: the ones placed on it, its blocks of row-wise ones, and the data-parallel ones on rank 0. */
export function rankPart(rank: number, placeOf: (key: string, table: string) => TablePlace): CheckpointPart {
  return {
    fileOf: (key) => (rank === 0 ? `sparse_${key}.safetensors` : `sparse_${key}.rank${rank}.safetensors`),
    writes: (key, table) => {
      const p = placeOf(key, table);
      return p === rank || p === 'rows' || (p === 'all' && rank === 0);
    },
  };
}

/** Saves `model.ckpt-<step>` from every rank; every rank gets the same result or the same error. */
export async function saveDistributedCheckpoint(
  comm: Communicator,
  modelDir: string,
  setup: ModelSetup,
  denseOptimizer: DenseOptimizer | null,
  position: TrainingPosition,
  extra: Record<string, unknown>,
  config: EasyRecConfig | undefined,
  part: CheckpointPart,
): Promise<CheckpointRef> {
  const finalName = `${CHECKPOINT_PREFIX}${position.step}`;
  // One job holds the model_dir (rank 0's lock), so one temporary name per step suffices; a killed
  // job's leftover is removed by the next run's start.
  const tmp = path.join(modelDir, `.${finalName}.tmp-ranks`);
  const what = (r: number) => `write checkpoint ${finalName} in '${modelDir}' (rank ${r} of ${comm.size})`;
  // Each phase ends with every rank's outcome, so all fail together (the writes may take long: no timeout).
  const agree = async <T>(fn: () => T): Promise<T[]> => {
    let value: T | null = null;
    let error: string | null = null;
    try {
      value = fn();
    } catch (e) {
      const err = ioError(e, what(comm.rank));
      error = err instanceof Error ? err.message : String(e);
    }
    const all = (await withoutTimeout(comm, () => allgatherBytes(comm, packValue({ value, error })))).map(
      (b) => unpackValue(b) as { value: T; error: string | null },
    );
    const failed = all.map((x, r) => ({ r, e: x.error })).filter((x) => x.e !== null);
    if (failed.length > 0) {
      if (comm.rank === 0) fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(failed.map((x) => (x.r === comm.rank ? x.e : `rank ${x.r}: ${x.e}`)).join('; '));
    }
    return all.map((x) => x.value);
  };
  await agree(() => (comm.rank === 0 ? startCheckpoint(modelDir, tmp) : null));
  const parts = await agree(() => writeSparsePart(tmp, setup, position.step, part));
  const refs = await agree(() =>
    comm.rank === 0
      ? finishCheckpoint(modelDir, tmp, setup, denseOptimizer, position, extra, config, parts as SparsePartWritten[])
      : null,
  );
  return refs[0] as CheckpointRef;
}
