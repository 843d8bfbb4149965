/**
 * Worker thread entry: builds a RowFeaturizer from workerData, then featurizes each row batch it
 * receives and posts the Batch back with its buffers transferred.
 */
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from './bad_data';
import { packBatch, transferList } from './batch';
import { FeatureEngine } from './feature_engine';
import { decodeParquetRows, openParquet, type ParquetFile } from './parquet_source';
import { RowFeaturizer } from './row_featurizer';
import type { RowBatch } from './row_pipeline';
import type { WorkerInit } from './worker_pool';

const init = workerData as WorkerInit;
// Linux keeps a niceness per thread: setpriority on "this process" (pid 0) from a worker thread
// lowers that thread alone. Lowering is always permitted; a platform without it just stays as is.
if (init.niceness) {
  try {
    os.setPriority(init.niceness);
  } catch {
    // not supported here: keep the inherited priority
  }
}
const featurizer = new RowFeaturizer(new FeatureEngine(init.features), init.spec, init.policy);

const parquetFiles = new Map<string, ParquetFile>();

async function decode(id: number, d: { file: string; columns: string[]; start: number; n: number }): Promise<void> {
  try {
    let pf = parquetFiles.get(d.file);
    if (!pf) {
      pf = openParquet(d.file);
      parquetFiles.set(d.file, pf);
    }
    parentPort!.postMessage({ id, rows: await decodeParquetRows(pf, d.columns, d.start, d.n) });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id, error: { message: err.message, name: err.name } });
  }
}

parentPort!.on(
  'message',
  (m: {
    id: number;
    rb: RowBatch;
    decode?: { file: string; columns: string[]; start: number; n: number };
    close?: true;
  }) => {
    if (m.close) {
      // WorkerPool.close: handled only between tasks, never while a module is still loading.
      process.exit(0);
    }
    if (m.decode) {
      void decode(m.id, m.decode);
      return;
    }
    try {
      const { batch, bad } = featurizer.featurize(m.rb);
      // The row bytes go back too, for the next row batch to be copied into (ByteRecycler).
      const transfer = transferList(batch);
      const recycled =
        m.rb.kind === 'csv' && m.rb.bytes.buffer instanceof ArrayBuffer && !transfer.includes(m.rb.bytes.buffer)
          ? m.rb.bytes.buffer
          : undefined;
      if (recycled) transfer.push(recycled);
      parentPort!.postMessage({ id: m.id, batch: packBatch(batch), bad, recycled }, transfer);
    } catch (e) {
      const err = e as Error;
      const de = e instanceof DataError ? { reason: e.reason, location: e.location } : {};
      parentPort!.postMessage({ id: m.id, error: { message: err.message, name: err.name, ...de } });
    }
  },
);
