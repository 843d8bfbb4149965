import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConfigError,
  DatasetType,
  type EasyRecConfig,
  formatProblem,
  loadPipelineConfig,
  validate,
} from '@tsrec/config';

import { buildModel } from './model_setup';

/** How far one TorchEasyRec config gets in tsrec. */
export interface ConformanceRow {
  /** The config file, relative to the folder searched. */
  file: string;
  /** The model_config oneof member ('' when it does not parse). */
  model: string;
  /** Parses as written (TorchEasyRec's text format, its schema). */
  parses: boolean;
  /** Validates (no error, nothing unsupported) once its data source is swapped for files. */
  validates: boolean;
  /** Its model builds (tables capped at a few rows); null when it did not validate. */
  builds: boolean | null;
  /** The first problem on the way ('' when it builds). */
  firstProblem: string;
}

/**
 * The only edit a TorchEasyRec user makes: MaxCompute (OdpsDataset, odps:// paths) becomes
 * ParquetDataset with local paths; everything else stays as written.
 */
export function swapDataSource(config: EasyRecConfig): void {
  const dc = config.dataConfig;
  if (dc && dc.datasetType === DatasetType.OdpsDataset) dc.datasetType = DatasetType.ParquetDataset;
  const local = (p: string, name: string) => (/^odps:\/\//i.test(p) ? `data/${name}/*.parquet` : p);
  config.trainInputPath = local(config.trainInputPath, 'train');
  config.evalInputPath = local(config.evalInputPath, 'eval');
}

/** Parses, validates (data source swapped) and builds one config. */
export function conformanceOf(file: string, root: string): ConformanceRow {
  const row: ConformanceRow = {
    file: path.relative(root, file),
    model: '',
    parses: false,
    validates: false,
    builds: null,
    firstProblem: '',
  };
  let config: EasyRecConfig;
  try {
    config = loadPipelineConfig(file);
  } catch (e) {
    row.firstProblem = e instanceof ConfigError ? e.message.split('\n')[0] : String(e);
    return row;
  }
  row.parses = true;
  row.model = config.modelConfig?.model.case ?? '';
  swapDataSource(config);
  const blocking = validate(config).filter((p) => p.severity !== 'warning');
  if (blocking.length > 0) {
    // Unsupported items first: they say what tsrec lacks; errors may follow from them.
    const first = blocking.find((p) => p.severity === 'unsupported') ?? blocking[0];
    row.firstProblem = formatProblem(first);
    return row;
  }
  row.validates = true;
  try {
    buildModel(config, { maxTableRows: 64 }).dispose();
    row.builds = true;
  } catch (e) {
    row.builds = false;
    row.firstProblem = `build: ${(e as Error).message.split('\n')[0]}`;
  }
  return row;
}

/** Every `.config` file under `dir`, sorted. */
export function configFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.config')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The report: one line per config, then the counts. */
export function formatConformance(rows: readonly ConformanceRow[]): string {
  const yn = (b: boolean | null) => (b === null ? '-' : b ? 'yes' : 'no');
  const width = Math.max(...rows.map((r) => r.file.length), 4);
  const lines = [`${'config'.padEnd(width)}  parses  validates  builds  first unsupported item or problem`];
  for (const r of rows)
    lines.push(
      `${r.file.padEnd(width)}  ${yn(r.parses).padEnd(6)}  ${yn(r.validates).padEnd(9)}  ${yn(r.builds).padEnd(6)}  ${r.firstProblem}`,
    );
  const n = rows.length;
  lines.push(
    '',
    `${rows.filter((r) => r.parses).length}/${n} parse as written, ${rows.filter((r) => r.validates).length}/${n} validate with the data source swapped, ${rows.filter((r) => r.builds).length}/${n} build`,
  );
  return lines.join('\n');
}
