import * as fs from 'node:fs';
import * as os from 'node:os';
import { formatBytes } from '@tsrec/config';
import { OPTIMIZER_STATES, type SparseOptimizerType, type TableSpec } from '@tsrec/native';

/** Bytes of one table with its optimizer state (float32 weights, per-element or per-row state). */
export function tableBytes(t: Pick<TableSpec, 'rows' | 'dim'>, optimizer: SparseOptimizerType): number {
  let width = t.dim;
  for (const s of OPTIMIZER_STATES[optimizer]) width += s.perRow ? 1 : t.dim;
  return t.rows * width * 4;
}

/**
 * Memory this process can still take: the kernel's MemAvailable (free memory plus what the page
 * cache can give back), bounded by the cgroup limit less this process's resident memory.
 * TSREC_MEMORY_BUDGET (bytes) overrides it.
 */
export function availableMemoryBytes(): number {
  const env = process.env.TSREC_MEMORY_BUDGET;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Number(env);
  let available = os.freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem()
  }
  const limit = (process as unknown as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (limit && limit > 0 && limit < Number.MAX_SAFE_INTEGER)
    available = Math.min(available, limit - process.memoryUsage.rss());
  return available;
}

/**
 * Tracks the embedding memory a model asks for and refuses, before allocating, a collection
 * that would take the total past the memory available — with the figures and the largest
 * tables — instead of letting the OOM killer end the process without a word.
 */
export class MemoryBudget {
  private used = 0;
  private readonly tables: { name: string; bytes: number }[] = [];
  constructor(private readonly available: number = availableMemoryBytes()) {}

  reserve(tables: readonly Pick<TableSpec, 'name' | 'rows' | 'dim'>[], optimizer: SparseOptimizerType): void {
    const sizes = tables.map((t) => ({ name: t.name, bytes: tableBytes(t, optimizer) }));
    const need = sizes.reduce((s, t) => s + t.bytes, 0);
    this.tables.push(...sizes);
    if (this.used + need > this.available) {
      const top = [...this.tables]
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 5)
        .map((t) => `${t.name} ${formatBytes(t.bytes)}`);
      throw new Error(
        `Expected the embedding tables to fit in memory but they need ${formatBytes(this.used + need)} with ${optimizer} state (largest: ${top.join(', ')}) and ${formatBytes(this.available)} is available; lower hash_bucket_size/num_buckets or embedding_dim, or use a machine with more memory (TSREC_MEMORY_BUDGET=<bytes> overrides the check)`,
      );
    }
    this.used += need;
  }
}
