import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EasyRecConfig } from '@tsrec/config';
import { createDataLoaderFromConfig, expandInputPaths, type Batch } from '@tsrec/data';

import { latestCheckpoint, resolveCheckpoint, restoreCheckpoint } from './checkpoint';
import { loadExportConfig } from './export';
import { buildModel, type ModelSetup } from './model_setup';
import { removeStaleTemps } from './stale_temps';
import { UsageError } from './usage_error';

/** Model outputs of a batch by name (`probs`, `logits`, `y`, `probs_<tower>`, …); [B] or [B·k] for k-wide outputs. */
export type PredictionArrays = Record<string, { values: Float32Array; width: number }>;

/**
 * Loads a trained model for prediction — from an export directory (`Predictor.fromExport`, no
 * training config needed) or from a checkpoint plus its pipeline config
 * (`Predictor.fromCheckpoint`) — and predicts batches or whole files.
 */
export class Predictor {
  private constructor(
    readonly config: EasyRecConfig,
    private readonly setup: ModelSetup,
    readonly step: number,
  ) {}

  /** An export directory written by `tsrec export`. */
  static fromExport(exportDir: string): Predictor {
    const { config } = loadExportConfig(exportDir);
    const ref = latestCheckpoint(exportDir);
    if (!ref)
      throw new Error(`Expected the weights (model.ckpt-<step>/) in export directory '${exportDir}' but found none`);
    return Predictor.load(config, ref.path);
  }

  /** A checkpoint directory or model_dir, with the config it was trained with. */
  static fromCheckpoint(config: EasyRecConfig, checkpointPath?: string): Predictor {
    const p = checkpointPath ?? config.modelDir;
    if (!p) throw new Error('Expected a checkpoint path or a model_dir in the config but received none');
    return Predictor.load(config, resolveCheckpoint(p).path);
  }

  private static load(config: EasyRecConfig, dir: string): Predictor {
    const setup = buildModel(config);
    try {
      const r = restoreCheckpoint(dir, setup, { optimizerState: false });
      return new Predictor(config, setup, r.manifest.step);
    } catch (e) {
      setup.dispose();
      throw e;
    }
  }

  /** Predictions of one batch (from @tsrec/data), copied out of tfjs. */
  predictBatch(batch: Batch): PredictionArrays {
    return tf.tidy(() => {
      const preds = this.setup.model.predict(batch, { training: false });
      const out: PredictionArrays = {};
      for (const [name, t] of Object.entries(preds)) {
        const width = t.rank === 1 ? 1 : t.size / t.shape[0];
        out[name] = { values: Float32Array.from(t.dataSync() as Float32Array), width };
      }
      return out;
    });
  }

  /**
   * Predicts every row of `inputPath` (the config's data format) and writes `outputPath`: CSV
   * (`.csv`, `.txt`, or anything but `.parquet`) or Parquet, with the reserved input columns
   * first, then every model output (k-wide outputs as comma-separated text). Returns the row count.
   */
  async predictFile(
    inputPath: string | string[],
    outputPath: string,
    options: { reservedColumns?: string[]; outputColumns?: string[]; numWorkers?: number } = {},
  ): Promise<number> {
    const reserved = options.reservedColumns ?? [];
    refuseOverwritingInput(inputPath, outputPath);
    removeStaleTemps(outputPath);
    const loader = createDataLoaderFromConfig(this.config, {
      mode: 'predict',
      inputPath,
      reservedColumns: reserved,
      numWorkers: options.numWorkers,
    });
    const parquet = /\.parquet$/i.test(outputPath);
    const tmp = `${outputPath}.tmp-${process.pid}`;
    let fd = -1;
    let columns: string[] | null = null;
    const parquetCols: Record<string, (string | number)[]> = {};
    let rows = 0;
    try {
      if (!parquet) fd = fs.openSync(tmp, 'w');
      for await (const batch of loader) {
        const preds = this.predictBatch(batch);
        const names = options.outputColumns ?? Object.keys(preds).sort();
        for (const n of names)
          if (!preds[n])
            throw new Error(
              `Expected output column '${n}' among the model outputs ${Object.keys(preds).join(', ')} but it is not there`,
            );
        if (!columns) {
          columns = [...reserved, ...names];
          if (!parquet) fs.writeSync(fd, `${columns.map(csvField).join(',')}\n`);
          for (const c of columns) parquetCols[c] = [];
        }
        for (const n of names) {
          const v = preds[n].values;
          for (let i = 0; i < v.length; i++)
            if (!Number.isFinite(v[i]))
              throw new Error(
                `Expected finite predictions but output '${n}' of output row ${rows + Math.floor(i / preds[n].width) + 1} is ${v[i]} (are the model's weights finite? check the checkpoint's training log); nothing was written to ${outputPath}`,
              );
        }
        const lines: string[] = [];
        for (let b = 0; b < batch.batchSize; b++) {
          const cells: (string | number)[] = reserved.map((c) => batch.reserved[c]?.[b] ?? '');
          for (const n of names) {
            const { values, width } = preds[n];
            cells.push(width === 1 ? values[b] : Array.from(values.subarray(b * width, (b + 1) * width)).join(','));
          }
          if (parquet) columns.forEach((c, i) => parquetCols[c].push(cells[i]));
          else lines.push(cells.map((x) => (typeof x === 'number' ? String(x) : csvField(x))).join(','));
        }
        if (!parquet && lines.length) fs.writeSync(fd, `${lines.join('\n')}\n`);
        rows += batch.batchSize;
      }
      if (parquet) {
        const { parquetWriteFile } = require('hyparquet-writer') as {
          parquetWriteFile(o: {
            filename: string;
            columnData: { name: string; data: unknown[]; type?: string }[];
          }): void;
        };
        parquetWriteFile({
          filename: tmp,
          columnData: (columns ?? reserved).map((c) => ({
            name: c,
            data: parquetCols[c] ?? [],
            type: typeof parquetCols[c]?.[0] === 'number' ? 'FLOAT' : 'STRING',
          })),
        });
      } else {
        fs.fsyncSync(fd);
      }
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
      await loader.close();
    }
    fs.renameSync(tmp, outputPath);
    return rows;
  }

  dispose(): void {
    this.setup.dispose();
  }
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Refuses an output path that is one of the inputs — by name, through a symlink, or as a hard
 * link of it — before anything is read: predicting into the input would overwrite the data.
 */
function refuseOverwritingInput(inputPath: string | string[], outputPath: string): void {
  const inputs = expandInputPaths(inputPath);
  const out = path.resolve(outputPath);
  let outStat: fs.Stats | null = null;
  try {
    outStat = fs.statSync(out);
  } catch {
    // a new file: compare by real path below
  }
  const realOut = outStat ? fs.realpathSync(out) : path.join(realDir(path.dirname(out)), path.basename(out));
  for (const f of inputs) {
    const st = fs.statSync(f);
    const same = outStat ? st.dev === outStat.dev && st.ino === outStat.ino : fs.realpathSync(f) === realOut;
    if (same)
      throw new UsageError(
        `Expected --predict_output_path to differ from the input, but '${outputPath}' is the input file '${f}'${outStat && fs.realpathSync(f) !== realOut ? ' (a link to it)' : ''}; predicting into it would overwrite the data`,
      );
  }
}

function realDir(d: string): string {
  try {
    return fs.realpathSync(d);
  } catch {
    return path.resolve(d);
  }
}
