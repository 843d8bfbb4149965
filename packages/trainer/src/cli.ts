import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  assertValid,
  ConfigError,
  editConfig,
  formatLocation,
  formatProblem,
  InvalidConfigError,
  loadPipelineConfig,
  sourceLocationOf,
  type ConfigProblem,
  type EasyRecConfig,
} from '@tsrec/config';
import { expandInputPaths } from '@tsrec/data';
import { setUpTfjs } from '@tsrec/models';
import {
  type Communicator,
  createCommunicator,
  mpiEnvironment,
  selectBackend,
  setBlasThreads,
  setNumThreads,
} from '@tsrec/native';

import { evaluateCheckpoint } from './eval_checkpoint';
import { exportModel } from './export';
import { formatInstallInfo, installInfo } from './install_info';
import { formatPlan, planDistributed } from './plan';
import { Predictor } from './predictor';
import { formatMetrics, trainAndEvaluate } from './train_eval';
import { UsageError } from './usage_error';

interface FlagSpec {
  name: string;
  help: string;
  boolean?: boolean;
  required?: boolean;
}

const COMMON: FlagSpec[] = [
  { name: 'pipeline_config_path', help: 'the pipeline config (protobuf text or .json)' },
  { name: 'edit_config_json', help: 'edits to the config as JSON, e.g. \'{"data_config.batch_size": 8192}\'' },
];

const COMMANDS: Record<string, { summary: string; flags: FlagSpec[] }> = {
  train_eval: {
    summary: "train the config's model, saving and evaluating checkpoints",
    flags: [
      { ...COMMON[0], required: true },
      { name: 'model_dir', help: 'where checkpoints, events and results go (default: model_dir of the config)' },
      { name: 'train_input_path', help: 'training input, overrides train_input_path of the config' },
      { name: 'eval_input_path', help: 'evaluation input, overrides eval_input_path of the config' },
      {
        name: 'continue_train',
        help: 'resume the newest checkpoint of model_dir (weights, optimizer state, step, data position)',
        boolean: true,
      },
      { name: 'fine_tune_checkpoint', help: 'initialise the weights (only) from this checkpoint or model_dir' },
      COMMON[1],
    ],
  },
  eval: {
    summary: 'evaluate a checkpoint on the eval input',
    flags: [
      { ...COMMON[0], required: true },
      {
        name: 'checkpoint_path',
        help: 'a checkpoint directory or model_dir (default: the newest checkpoint of model_dir)',
      },
      { name: 'model_dir', help: 'overrides model_dir of the config' },
      { name: 'eval_input_path', help: 'evaluation input, overrides eval_input_path of the config' },
      { name: 'eval_result_filename', help: 'file in model_dir for the JSON result (default train_eval_result.txt)' },
      COMMON[1],
    ],
  },
  export: {
    summary: 'write a self-contained directory for prediction',
    flags: [
      { ...COMMON[0], required: true },
      { name: 'export_dir', help: 'the new export directory', required: true },
      {
        name: 'checkpoint_path',
        help: 'a checkpoint directory or model_dir (default: the newest checkpoint of model_dir)',
      },
      { name: 'model_dir', help: 'overrides model_dir of the config' },
      COMMON[1],
    ],
  },
  predict: {
    summary: 'predict an input file with an export (or a checkpoint and its config)',
    flags: [
      { name: 'scripted_model_path', help: 'an export directory (alias: --export_dir)' },
      { name: 'export_dir', help: 'an export directory' },
      { name: 'pipeline_config_path', help: 'with --checkpoint_path: predict from a checkpoint instead of an export' },
      { name: 'checkpoint_path', help: 'a checkpoint directory or model_dir (needs --pipeline_config_path)' },
      { name: 'predict_input_path', help: "input rows, in the data format of the model's config", required: true },
      { name: 'predict_output_path', help: 'output file: .parquet for Parquet, else CSV', required: true },
      { name: 'reserved_columns', help: 'input columns copied to the output, comma-separated' },
      { name: 'output_columns', help: 'model outputs to write, comma-separated (default: all)' },
    ],
  },
  plan: {
    summary: 'print what a distributed run needs: placement, memory per rank, bytes per step (nothing is trained)',
    flags: [
      { ...COMMON[0], required: true },
      { name: 'world_size', help: 'ranks to plan for', required: true },
      { name: 'batch_size', help: 'rows per rank per step (default: data_config.batch_size)' },
      { name: 'bag_size', help: 'mean ids per bag of the sparse features (default 1)' },
      {
        name: 'memory_per_rank_gb',
        help: 'GiB of tables with optimizer state one rank may hold (default: TSREC_SHARD_MEMORY_GB, else 85% of this host)',
      },
      {
        name: 'dry_run',
        help: 'plan without running (the only mode; accepted for TorchEasyRec-style scripts)',
        boolean: true,
      },
      { name: 'json', help: 'print the plan as JSON', boolean: true },
      COMMON[1],
    ],
  },
  info: {
    summary: 'print what this installation has: version, addon build, BLAS, CUDA, threads, tfjs backend',
    flags: [],
  },
};

/** Parsed command line. */
export interface ParsedArgs {
  command: string;
  flags: Record<string, string | boolean>;
  help: boolean;
}

/** Parses `tsrec <command> --flag value --flag=value --switch`; throws UsageError naming the problem. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help')
    return { command: '', flags: {}, help: true };
  const spec = COMMANDS[command];
  if (!spec)
    throw new UsageError(
      `Expected a command (${Object.keys(COMMANDS).join(', ')}) but received '${command}'; see tsrec --help`,
    );
  const flags: Record<string, string | boolean> = {};
  let help = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    if (!a.startsWith('--'))
      throw new UsageError(`Expected a flag (--name value) but received '${a}'; see tsrec ${command} --help`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq).replace(/-/g, '_');
    const f = spec.flags.find((x) => x.name === name);
    if (!f) {
      const near = spec.flags.map((x) => x.name).filter((n) => n.includes(name) || name.includes(n));
      throw new UsageError(
        `Unknown flag --${name} for tsrec ${command}${near.length ? ` (did you mean --${near[0]}?)` : ''}; see tsrec ${command} --help`,
      );
    }
    if (f.boolean) {
      const v = eq >= 0 ? a.slice(eq + 1) : rest[i + 1] === 'true' || rest[i + 1] === 'false' ? rest[++i] : 'true';
      if (v !== 'true' && v !== 'false')
        throw new UsageError(`Expected true or false for --${name} but received '${v}'`);
      flags[name] = v === 'true';
      continue;
    }
    let v: string;
    if (eq >= 0) v = a.slice(eq + 1);
    else {
      if (i + 1 >= rest.length || rest[i + 1].startsWith('--'))
        throw new UsageError(`Expected a value after --${name}`);
      v = rest[++i];
    }
    flags[name] = v;
  }
  if (!help)
    for (const f of spec.flags)
      if (f.required && flags[f.name] === undefined)
        throw new UsageError(`Expected --${f.name} for tsrec ${command} (${f.help})`);
  return { command, flags, help };
}

/** `tsrec --help` or `tsrec <command> --help`. */
export function usage(command = ''): string {
  if (!command) {
    return [
      'usage: tsrec <command> [flags]',
      '',
      ...Object.entries(COMMANDS).map(([c, s]) => `  ${c.padEnd(11)} ${s.summary}`),
      '',
      "tsrec <command> --help lists the flags of a command (TorchEasyRec's names).",
      'Exit status: 0 success, 2 usage or config error, 1 runtime failure.',
      'Environment: TSREC_TFJS_BACKEND (tsrec | cpu | tensorflow), TSREC_NUM_THREADS, TSREC_SEED.',
    ].join('\n');
  }
  const s = COMMANDS[command];
  return [
    `usage: tsrec ${command} [flags]`,
    '',
    s.summary,
    '',
    ...s.flags.map(
      (f) => `  --${f.name}${f.boolean ? '' : ' <value>'}${f.required ? ' (required)' : ''}\n      ${f.help}`,
    ),
  ].join('\n');
}

function loadConfig(flags: Record<string, string | boolean>): EasyRecConfig {
  const p = flags.pipeline_config_path as string;
  if (!fs.existsSync(p))
    throw new UsageError(`Expected an existing file for --pipeline_config_path but received '${p}'`);
  let config = loadPipelineConfig(p);
  if (typeof flags.edit_config_json === 'string') config = editConfig(config, flags.edit_config_json);
  if (typeof flags.model_dir === 'string') config.modelDir = flags.model_dir;
  // Validated after the edits, so an edit can fix what the file lacks.
  assertValid(config);
  return config;
}

/**
 * The input paths a command will read exist (globs match something), checked before any model
 * is built: a missing file is a usage error naming the flag, or the config field and its
 * file:line:column, not a failure minutes into a run.
 */
function requireInputs(
  config: EasyRecConfig,
  field: 'train_input_path' | 'eval_input_path',
  flag: string | boolean | undefined,
): void {
  const fromFlag = typeof flag === 'string';
  const value = fromFlag ? flag : field === 'train_input_path' ? config.trainInputPath : config.evalInputPath;
  if (!value) return;
  try {
    expandInputPaths(value);
  } catch (e) {
    const msg = (e as Error).message;
    if (fromFlag) throw new UsageError(`--${field}: ${msg}`);
    const loc = sourceLocationOf(config, field);
    throw new UsageError(`${field}: ${msg}${loc ? ` (${formatLocation(loc)})` : ''}`);
  }
}

async function setUpBackend(): Promise<void> {
  const name = await selectBackend({});
  await setUpTfjs(name);
}

/** Runs the CLI; resolves to the exit status (0, 1 or 2). Messages go to `out` / `err`. */
export async function main(
  argv: readonly string[],
  io: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    err.write(`tsrec: ${(e as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    out.write(`${usage(parsed.command)}\n`);
    return 0;
  }
  const f = parsed.flags;
  // Under mpirun: train_eval and eval run on every rank; export, predict and plan on rank 0 only.
  const job = mpiEnvironment();
  let where = '';
  if (job && job.size > 1) {
    where = ` (rank ${job.rank} of ${job.size})`;
    if (!['train_eval', 'eval', 'info'].includes(parsed.command) && job.rank !== 0) return 0;
  }
  try {
    switch (parsed.command) {
      case 'info': {
        out.write(`${formatInstallInfo(await installInfo())}\n`);
        return 0;
      }
      case 'train_eval': {
        const collectiveTimeoutS = collectiveTimeout();
        const config = loadConfig(f);
        requireInputs(config, 'train_input_path', f.train_input_path);
        requireInputs(config, 'eval_input_path', f.eval_input_path);
        await setUpBackend();
        const comm = jobCommunicator(collectiveTimeoutS);
        const s = await trainAndEvaluate({
          comm,
          collectiveTimeoutS,
          config,
          modelDir: f.model_dir as string | undefined,
          trainInputPath: f.train_input_path as string | undefined,
          evalInputPath: f.eval_input_path as string | undefined,
          continueTrain: f.continue_train === true,
          fineTuneCheckpoint: f.fine_tune_checkpoint as string | undefined,
          seed: process.env.TSREC_SEED ? Number(process.env.TSREC_SEED) : 0,
          stream: err,
        });
        if (comm.rank !== 0) return 0; // rank 0 reports for the job
        out.write(
          `done: step ${s.step}, ${Math.round(s.samplesPerSecond).toLocaleString('en-US')} samples/s${s.lastEval ? `, eval ${formatMetrics(s.lastEval.metrics)}` : ''}${s.stoppedEarly ? ' (stopped early)' : ''}; checkpoint ${s.checkpoint}\n`,
        );
        return 0;
      }
      case 'plan': {
        const config = loadConfig(f);
        const num = (name: string, v: unknown, min: number): number | undefined => {
          if (v === undefined) return undefined;
          const n = Number(v);
          const real = name === 'bag_size' || name === 'memory_per_rank_gb';
          if (!Number.isFinite(n) || n < min || (!real && !Number.isInteger(n)))
            throw new UsageError(
              `Expected ${real ? 'a number' : 'an integer'} >= ${min} for --${name} but received '${v}'`,
            );
          return n;
        };
        await setUpBackend();
        const plan = planDistributed(config, {
          worldSize: num('world_size', f.world_size, 1)!,
          batchSize: num('batch_size', f.batch_size, 1),
          bagSize: num('bag_size', f.bag_size, 0),
          memoryPerRankBytes:
            f.memory_per_rank_gb === undefined
              ? undefined
              : num('memory_per_rank_gb', f.memory_per_rank_gb, 1e-6)! * 2 ** 30,
        });
        out.write(f.json === true ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
        return 0;
      }
      case 'eval': {
        const config = loadConfig(f);
        requireInputs(config, 'eval_input_path', f.eval_input_path);
        await setUpBackend();
        const comm = jobCommunicator(collectiveTimeout());
        const r = await evaluateCheckpoint({
          comm,
          config,
          checkpointPath: f.checkpoint_path as string | undefined,
          evalInputPath: f.eval_input_path as string | undefined,
          resultFile: f.eval_result_filename as string | undefined,
        });
        if (comm.rank === 0) out.write(`eval of ${r.checkpoint} (step ${r.step}): ${formatMetrics(r.metrics)}\n`);
        return 0;
      }
      case 'export': {
        const config = loadConfig(f);
        await setUpBackend();
        const info = exportModel({
          config,
          exportDir: f.export_dir as string,
          checkpointPath: f.checkpoint_path as string | undefined,
        });
        out.write(
          `exported step ${info.step} of ${info.sourceCheckpoint} to ${path.resolve(f.export_dir as string)}\n`,
        );
        return 0;
      }
      case 'predict': {
        const exportDir = (f.scripted_model_path ?? f.export_dir) as string | undefined;
        if (!exportDir && !(f.checkpoint_path && f.pipeline_config_path))
          throw new UsageError(
            'Expected --scripted_model_path (an export directory), or --checkpoint_path with --pipeline_config_path',
          );
        await setUpBackend();
        const predictor = exportDir
          ? Predictor.fromExport(exportDir)
          : Predictor.fromCheckpoint(loadConfig(f), f.checkpoint_path as string);
        try {
          const split = (v: unknown) =>
            typeof v === 'string' && v
              ? v
                  .split(',')
                  .map((x) => x.trim())
                  .filter(Boolean)
              : undefined;
          const rows = await predictor.predictFile(f.predict_input_path as string, f.predict_output_path as string, {
            reservedColumns: split(f.reserved_columns),
            outputColumns: split(f.output_columns),
          });
          out.write(`predicted ${rows.toLocaleString('en-US')} rows into ${f.predict_output_path}\n`);
        } finally {
          predictor.dispose();
        }
        return 0;
      }
    }
    return 2;
  } catch (e) {
    const usageLike =
      e instanceof UsageError ||
      e instanceof ConfigError ||
      e instanceof InvalidConfigError ||
      (e as Error)?.name === 'ConfigError' ||
      (e as Error)?.name === 'InvalidConfigError';
    let msg = (e as Error)?.message ?? String(e);
    // One config problem: one line (`<field>: <message> (<file:line:col>)`); several stay a list.
    const problems = (e as { problems?: ConfigProblem[] })?.problems;
    if ((e as Error)?.name === 'InvalidConfigError' && problems?.length === 1)
      msg = `invalid pipeline config: ${formatProblem(problems[0])}`;
    err.write(`tsrec ${parsed.command}${where}: ${msg}\n`);
    if (!usageLike && process.env.TSREC_DEBUG) err.write(`${(e as Error)?.stack}\n`);
    return usageLike ? 2 : 1;
  }
}

/** TSREC_COLLECTIVE_TIMEOUT_S: seconds before a hung collective ends a distributed job (default 600; 0: never). */
function collectiveTimeout(): number {
  const v = process.env.TSREC_COLLECTIVE_TIMEOUT_S;
  if (v === undefined || v === '') return 600;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`Expected a number of seconds >= 0 for TSREC_COLLECTIVE_TIMEOUT_S but received '${v}'`);
  return n;
}

/** This process's communicator (a single process, or its rank under mpirun), its cores and timeout set. */
function jobCommunicator(timeoutS: number): Communicator {
  const comm = createCommunicator();
  shareCores(comm);
  comm.setTimeoutSeconds(timeoutS);
  return comm;
}

/**
 * Ranks on one host share its cores: unless TSREC_NUM_THREADS says otherwise, each rank's native
 * pool and OpenBLAS get the cores this process may run on (its affinity: mpirun binds ranks to
 * cores by default) divided by the ranks on the host — not every core each, which would
 * oversubscribe them.
 */
function shareCores(comm: Communicator): void {
  if (comm.size === 1 || process.env.TSREC_NUM_THREADS) return;
  const n = Math.max(1, Math.floor(os.availableParallelism() / comm.localSize));
  setNumThreads(n);
  setBlasThreads(n);
}
