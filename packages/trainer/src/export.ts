import * as fs from 'node:fs';
import * as path from 'node:path';
import { clone, isFieldSet } from '@bufbuild/protobuf';
import {
  EasyRecConfigSchema,
  ExportConfigSchema,
  loadPipelineConfig,
  saveConfig,
  type EasyRecConfig,
} from '@tsrec/config';

import { bestCheckpoint, latestCheckpoint, resolveCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { buildModel } from './model_setup';
import { lockModelDir } from './model_dir_lock';
import { removeStaleTemps } from './stale_temps';
import { UsageError } from './usage_error';

/** The config file of an export directory. */
export const EXPORT_CONFIG = 'pipeline.config';
/** What `tsrec export` writes besides the config and the weights. */
export const EXPORT_INFO = 'export_info.json';
const ASSETS = 'assets';

/** The contents of export_info.json. */
export interface ExportInfo {
  format: 'tsrec-export';
  version: 1;
  step: number;
  sourceCheckpoint: string;
  exportedAt: string;
  model: string;
  assets: string[];
}

/** Options of `exportModel`. */
export interface ExportOptions {
  config: EasyRecConfig;
  exportDir: string;
  /** A checkpoint directory or a model_dir (its newest checkpoint); default the config's model_dir. */
  checkpointPath?: string;
  /** Directory vocab_file paths are relative to (default: the working directory). */
  baseDir?: string;
}

/** Every `vocabFile` string field reachable in the feature configs, as [holder, key]. */
function vocabFields(config: EasyRecConfig): { holder: Record<string, unknown>; key: string }[] {
  const out: { holder: Record<string, unknown>; key: string }[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'vocabFile' || k === 'assetDir') && typeof x === 'string' && x)
        out.push({ holder: v as Record<string, unknown>, key: k });
      else if (k !== '$typeName') walk(x, depth + 1);
    }
  };
  walk(config.featureConfigs, 0);
  return out;
}

/**
 * `tsrec export`: a self-contained directory holding what prediction needs and nothing of
 * training — `pipeline.config` (feature_configs, model_config and data_config; input paths,
 * train and eval settings dropped), `assets/` (vocab files, paths rewritten relative to the
 * export), `model.ckpt-<step>/` (dense weights and whole embedding tables as safetensors, no
 * optimizer state) and `export_info.json`. Written under a temporary name and renamed.
 */
export function exportModel(o: ExportOptions): ExportInfo {
  // Writing into a model_dir needs its lock (a training run there may be pruning checkpoints).
  const modelDir = o.config.modelDir;
  const into = modelDir && isInside(path.resolve(o.exportDir), path.resolve(modelDir));
  const lock = into ? lockModelDir(modelDir, 'export') : null;
  try {
    removeStaleTemps(o.exportDir);
    return exportUnlocked(o);
  } finally {
    lock?.release();
  }
}

function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function exportUnlocked(o: ExportOptions): ExportInfo {
  const modelDir = o.config.modelDir;
  // As TorchEasyRec: without --checkpoint_path, exporter_type "best" exports the best evaluated
  // checkpoint of model_dir, "latest" (the default) the newest.
  const ec = o.config.exportConfig;
  const best = ec?.exporterType === 'best';
  const src = o.checkpointPath
    ? resolveCheckpoint(o.checkpointPath)
    : !modelDir
      ? null
      : best
        ? bestCheckpoint(modelDir, ec, isFieldSet(ec!, ExportConfigSchema.field.bestExporterMetric))
        : latestCheckpoint(modelDir);
  if (!src)
    throw new UsageError(
      `Expected a checkpoint to export (--checkpoint_path, or a model_dir with checkpoints) but found none${modelDir ? ` in '${modelDir}'` : ''}`,
    );
  if (fs.existsSync(o.exportDir) && fs.readdirSync(o.exportDir).length > 0)
    throw new UsageError(`export_dir '${o.exportDir}' exists and is not empty; choose a new --export_dir`);

  const cfg = clone(EasyRecConfigSchema, o.config);
  cfg.trainInputPath = '';
  cfg.evalInputPath = '';
  cfg.modelDir = '';
  cfg.trainConfig = undefined;
  cfg.evalConfig = undefined;
  const tmp = `${o.exportDir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, ASSETS), { recursive: true });
  const assets: string[] = [];
  for (const f of vocabFields(cfg)) {
    const from = path.resolve(o.baseDir ?? process.cwd(), f.holder[f.key] as string);
    if (!fs.existsSync(from))
      throw new Error(`Expected the vocab file '${from}' of the feature config to exist for export but it does not`);
    let name = path.basename(from);
    for (let i = 1; assets.includes(name); i++) name = `${i}_${path.basename(from)}`;
    fs.cpSync(from, path.join(tmp, ASSETS, name), { recursive: true });
    assets.push(name);
    f.holder[f.key] = `${ASSETS}/${name}`;
  }

  const setup = buildModel(o.config);
  try {
    const r = restoreCheckpoint(src.path, setup, { optimizerState: false });
    saveCheckpoint(
      tmp,
      setup,
      null,
      { step: r.manifest.step, epoch: r.manifest.epoch, consumedBatches: 0, samples: r.manifest.samples },
      { exportedFrom: src.path },
    );
    saveConfig(cfg, path.join(tmp, EXPORT_CONFIG));
    const info: ExportInfo = {
      format: 'tsrec-export',
      version: 1,
      step: r.manifest.step,
      sourceCheckpoint: path.resolve(src.path),
      exportedAt: new Date().toISOString(),
      model: o.config.modelConfig?.model.case ?? '',
      assets,
    };
    fs.writeFileSync(path.join(tmp, EXPORT_INFO), `${JSON.stringify(info, null, 2)}\n`);
    if (fs.existsSync(o.exportDir)) fs.rmdirSync(o.exportDir);
    fs.mkdirSync(path.dirname(path.resolve(o.exportDir)), { recursive: true });
    fs.renameSync(tmp, o.exportDir);
    return info;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    setup.dispose();
  }
}

/** Loads an export's config with its asset paths made absolute. */
export function loadExportConfig(exportDir: string): { config: EasyRecConfig; info: ExportInfo } {
  const infoPath = path.join(exportDir, EXPORT_INFO);
  if (!fs.existsSync(infoPath))
    throw new UsageError(
      `Expected an export directory (with ${EXPORT_INFO}) but received '${exportDir}'; create one with tsrec export`,
    );
  const info = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as ExportInfo;
  if (info.format !== 'tsrec-export')
    throw new UsageError(`Expected format "tsrec-export" in '${infoPath}' but received ${JSON.stringify(info.format)}`);
  const config = loadPipelineConfig(path.join(exportDir, EXPORT_CONFIG));
  for (const f of vocabFields(config)) {
    const v = f.holder[f.key] as string;
    if (!path.isAbsolute(v)) f.holder[f.key] = path.join(path.resolve(exportDir), v);
  }
  return { config, info };
}
