import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type BadDataSummary, DataError } from './bad_data';
import { type Batch, reviveBatch } from './batch';
import type { FeatureEngineOptions } from './feature_spec';
import type { RowFeaturizerSpec } from './row_featurizer';
import type { RowBatch } from './row_pipeline';

/** What each worker is told once: how to build its featurizer. */
export interface WorkerInit {
  features: FeatureEngineOptions;
  spec: RowFeaturizerSpec;
  policy: 'fail' | 'skip';
  /** Niceness the worker sets on its own thread at start (0 or absent: unchanged). */
  niceness?: number;
}

/** Messages from a worker. */
export type WorkerReply =
  | { id: number; batch: Batch; bad: BadDataSummary; recycled?: ArrayBuffer }
  | { id: number; rows: unknown[][] }
  | {
      id: number;
      error: {
        message: string;
        name: string;
        reason?: string;
        location?: { file: string; line: number; column: number };
      };
    };

/** The compiled worker script (workers run JavaScript: dist/ next to us, or ../dist from src/ under jest). */
export function workerScript(): string {
  const here = path.join(__dirname, 'featurize_worker.js');
  if (fs.existsSync(here)) return here;
  const dist = path.join(__dirname, '..', 'dist', 'featurize_worker.js');
  if (fs.existsSync(dist)) return dist;
  throw new Error(
    `@tsrec/data: the worker script is not built (looked for ${here} and ${dist}); run: npx nx run data:build`,
  );
}

/**
 * N featurizing threads, fed round-robin. Row batches and finished batches move as transferred
 * ArrayBuffers (no copy). A worker error rejects that task with the worker's message
 * (file:line:column included) and the pool stays usable until closed.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: each pending task's resolve takes its own reply type (a batch or decoded rows)
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private next = 0;
  private id = 0;
  private closed = false;
  private readonly exited = new Set<Worker>();

  /** `onRecycle` receives each featurized row batch's byte buffer back from its worker. */
  constructor(
    n: number,
    init: WorkerInit,
    private readonly onRecycle?: (bytes: ArrayBuffer) => void,
  ) {
    const script = workerScript();
    for (let i = 0; i < n; i++) {
      const w = new Worker(script, { workerData: init });
      w.on('message', (m: WorkerReply) => this.onReply(m));
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        this.exited.add(w);
        if (!this.closed && code !== 0) this.failAll(new Error(`a data worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  /** Featurizes a row batch on the next worker; its buffers are transferred (unusable here afterwards). */
  run(rb: RowBatch): Promise<{ batch: Batch; bad: BadDataSummary }> {
    if (this.closed) return Promise.reject(new Error('the data worker pool is closed'));
    const id = this.id++;
    const w = this.workers[this.next];
    this.next = (this.next + 1) % this.workers.length;
    const p = new Promise<{ batch: Batch; bad: BadDataSummary }>((resolve, reject) =>
      this.waiting.set(id, { resolve, reject }),
    );
    const transfer: ArrayBuffer[] = [];
    if (rb.kind === 'csv')
      for (const a of [rb.bytes, rb.starts, rb.ends, rb.lines, rb.fileIndex])
        if (a.buffer instanceof ArrayBuffer && !transfer.includes(a.buffer)) transfer.push(a.buffer);
    w.postMessage({ id, rb }, transfer);
    return p;
  }

  /** Decodes rows [start, start + n) of a Parquet file on the next worker (the worker opens and caches the file). */
  decodeParquet(file: string, columns: string[], start: number, n: number): Promise<unknown[][]> {
    if (this.closed) return Promise.reject(new Error('the data worker pool is closed'));
    const id = this.id++;
    const w = this.workers[this.next];
    this.next = (this.next + 1) % this.workers.length;
    const p = new Promise<unknown[][]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    w.postMessage({ id, decode: { file, columns, start, n } });
    return p;
  }

  private onReply(m: WorkerReply): void {
    const t = this.waiting.get(m.id);
    if (!t) return;
    this.waiting.delete(m.id);
    if ('error' in m) {
      const e = m.error;
      t.reject(
        e.reason && e.location
          ? new DataError(e.reason as never, e.location, e.message.replace(/^[^:]*:\d+:\d+: /, ''))
          : Object.assign(new Error(e.message), { name: e.name }),
      );
    } else if ('rows' in m) t.resolve(m.rows);
    else {
      if (m.recycled && this.onRecycle) this.onRecycle(m.recycled);
      t.resolve({ batch: reviveBatch(m.batch), bad: m.bad });
    }
  }

  private failAll(e: Error): void {
    for (const t of this.waiting.values()) t.reject(e);
    this.waiting.clear();
  }

  /**
   * Stops the workers; pending tasks are rejected. Each worker is asked to exit and does so between
   * tasks: terminate() could land while a worker still loads its modules, and Node 20 aborts the
   * whole process when that interrupts a require() of an ES module. terminate() remains the
   * fallback for a worker that does not exit within 10 s.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('the data worker pool was closed'));
    await Promise.all(
      this.workers
        .filter((w) => !this.exited.has(w))
        .map(
          (w) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => void w.terminate().then(() => resolve()), 10_000);
              w.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              w.postMessage({ close: true });
            }),
        ),
    );
  }
}
