import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { validateSharding } from './sharding';
import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import { DatasetType, FgMode } from './gen/tsrec/protos/data_pb';
import type { DenseOptimizer, SparseOptimizer } from './gen/tsrec/protos/optimizer_pb';
import { capabilityOf } from './capabilities';
import { effectiveFgMode } from './fg_mode';
import { parseWarningsOf } from './config_locations';
import { ProblemSink, formatProblem, type ConfigProblem } from './config_problem';
import { descOf, has, oneofCase } from './proto_access';
import {
  SUPPORTED_DATASETS,
  SUPPORTED_DENSE_OPTIMIZERS,
  SUPPORTED_FG_MODES,
  SUPPORTED_LR_SCHEDULES,
  SUPPORTED_SPARSE_OPTIMIZERS,
} from './support';
import { validateFeatures, validateGroups } from './validate_features';
import { validateModel } from './validate_model';

export { formatProblem, type ConfigProblem } from './config_problem';

/** The largest batch tsrec takes: 2^24 rows (ids, offsets and activations of a batch must fit in memory and int32). */
export const MAX_BATCH_SIZE = 1 << 24;

/**
 * Finds every semantic problem of a config at once: errors (it cannot run), "not supported
 * yet" (valid TorchEasyRec that tsrec cannot run) and warnings. Each has its field path, and
 * a source location when the config came from loadPipelineConfig.
 */
export function validate(config: EasyRecConfig): ConfigProblem[] {
  const sink = new ProblemSink(config);
  validateData(config, sink);
  const features = validateFeatures(config, sink);
  validateGroups(config, features, sink);
  validateModel(config, features, sink);
  validateTrain(config, sink);
  validateEvalExport(config, sink);
  validateSharding(config, sink);
  reportCapabilities(reflect(descOf(config), config), '', sink);
  for (const w of parseWarningsOf(config)) sink.warning(w.path, w.message, w.location);
  return sink.problems;
}

/** Thrown by assertValid: the config has errors or parts tsrec cannot run yet. */
export class InvalidConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid pipeline config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'InvalidConfigError';
    this.problems = problems;
  }
}

/** Throws InvalidConfigError listing every error and "not supported yet" problem (warnings pass). */
export function assertValid(config: EasyRecConfig): void {
  const bad = validate(config).filter((p) => p.severity !== 'warning');
  if (bad.length > 0) throw new InvalidConfigError(bad);
}

function validateData(config: EasyRecConfig, sink: ProblemSink): void {
  const d = config.dataConfig;
  if (!d) {
    sink.error('data_config', 'expected a data_config but received none');
    return;
  }
  const dt = DatasetType[d.datasetType] ?? String(d.datasetType);
  const toFiles = 'export the data to Parquet or CSV files and use dataset_type ParquetDataset or CsvDataset';
  if (dt === 'OdpsDataset')
    sink.unsupported(
      'data_config.dataset_type',
      `reading MaxCompute tables (dataset_type OdpsDataset${has(d, 'dataset_type') ? '' : ', the default when dataset_type is not set'})`,
      toFiles,
    );
  else if (!SUPPORTED_DATASETS.includes(dt))
    sink.unsupported('data_config.dataset_type', `dataset_type ${dt}`, `use ${SUPPORTED_DATASETS.join(' or ')}`);
  for (const field of ['train_input_path', 'eval_input_path'] as const) {
    const value = field === 'train_input_path' ? config.trainInputPath : config.evalInputPath;
    if (/^odps:\/\//i.test(value))
      sink.unsupported(field, `reading MaxCompute tables (${value.split(',')[0]})`, toFiles);
  }
  const fg = FgMode[effectiveFgMode(d)] ?? String(d.fgMode);
  if (!SUPPORTED_FG_MODES.includes(fg))
    sink.unsupported('data_config.fg_mode', `fg_mode ${fg}`, `use ${SUPPORTED_FG_MODES.join(', ')}`);
  if (d.batchSize === 0) sink.error('data_config.batch_size', 'expected batch_size > 0 but received 0');
  if (has(d, 'eval_batch_size') && d.evalBatchSize === 0)
    sink.error('data_config.eval_batch_size', 'expected eval_batch_size > 0 but received 0');
  for (const [field, v] of [
    ['batch_size', d.batchSize],
    ['eval_batch_size', d.evalBatchSize],
  ] as const)
    if (v > MAX_BATCH_SIZE)
      sink.error(
        `data_config.${field}`,
        `expected ${field} <= ${MAX_BATCH_SIZE} but received ${v} (a batch's ids and activations would not fit in memory, and offsets are int32)`,
      );
  if (d.labelFields.length === 0)
    sink.error(
      'data_config.label_fields',
      'expected at least one label field (label_fields: "label") but received none',
    );
  const seen = new Set<string>();
  d.labelFields.forEach((l, i) => {
    if (seen.has(l)) sink.error(`data_config.label_fields[${i}]`, `duplicate label field '${l}'`);
    seen.add(l);
  });
  const inputs = new Set<string>();
  d.inputFields.forEach((f, i) => {
    if (!f.inputName)
      sink.error(`data_config.input_fields[${i}].input_name`, 'expected an input_name but received none');
    else if (inputs.has(f.inputName))
      sink.error(`data_config.input_fields[${i}].input_name`, `duplicate input field '${f.inputName}'`);
    inputs.add(f.inputName);
  });
  if (d.datasetType === DatasetType.CsvDataset) {
    if (!d.withHeader && d.inputFields.length === 0) {
      sink.error(
        'data_config.input_fields',
        'a CSV without a header needs input_fields naming its columns in order (or set with_header: true)',
      );
    }
    if (d.delimiter === '') sink.error('data_config.delimiter', 'expected a non-empty delimiter but received ""');
  }
  if (inputs.size > 0) {
    d.labelFields.forEach((l, i) => {
      if (!inputs.has(l))
        sink.error(`data_config.label_fields[${i}]`, `label field '${l}' is not one of data_config.input_fields`);
    });
  }
  if (d.shuffle && d.shuffleBufferSize === 0)
    sink.error(
      'data_config.shuffle_buffer_size',
      'expected shuffle_buffer_size > 0 when shuffle is true but received 0',
    );
  // num_workers 0 reads in the training thread (as PyTorch's DataLoader does).
  if (!['fail', 'skip'].includes(d.malformedRowPolicy)) {
    sink.error(
      'data_config.malformed_row_policy',
      `expected "fail" or "skip" for malformed_row_policy but received "${d.malformedRowPolicy}"`,
    );
  }
}

function checkLearningRate(path: string, opt: SparseOptimizer | DenseOptimizer, sink: ProblemSink): void {
  const kind = oneofCase(opt, 'learning_rate');
  if (!kind) return;
  const lp = `${path}.${kind}`;
  if (!SUPPORTED_LR_SCHEDULES.includes(kind)) return; // reported by reportCapabilities
  const lr = opt.learningRate;
  switch (lr.case) {
    case 'exponentialDecayLearningRate':
      if (lr.value.decaySize === 0) sink.error(`${lp}.decay_size`, 'expected decay_size > 0 but received 0');
      if (!(lr.value.decayFactor > 0 && lr.value.decayFactor <= 1))
        sink.error(`${lp}.decay_factor`, `expected decay_factor in (0, 1] but received ${lr.value.decayFactor}`);
      break;
    case 'manualStepLearningRate': {
      const { scheduleSizes: s, learningRates: r } = lr.value;
      if (s.length === 0) sink.error(`${lp}.schedule_sizes`, 'expected at least one schedule size but received none');
      if (s.length !== r.length)
        sink.error(
          `${lp}.learning_rates`,
          `expected one learning rate per schedule size (${s.length}) but received ${r.length}`,
        );
      for (let i = 1; i < s.length; i++) {
        if (!(s[i] > s[i - 1])) {
          sink.error(
            `${lp}.schedule_sizes[${i}]`,
            `schedule_sizes must be strictly ascending, but schedule_sizes[${i}] = ${s[i]} follows ${s[i - 1]}`,
          );
          break;
        }
      }
      break;
    }
    case 'cosineAnnealingLearningRate':
      if (lr.value.TMax === 0) sink.error(`${lp}.T_max`, 'expected T_max > 0 but received 0');
      break;
    case 'cosineAnnealingWarmRestartsLearningRate':
      if (lr.value.T0 === 0) sink.error(`${lp}.T_0`, 'expected T_0 > 0 but received 0');
      if (lr.value.TMult === 0) sink.error(`${lp}.T_mult`, 'expected T_mult >= 1 but received 0');
      break;
    case 'polynomialDecayLearningRate':
      if (lr.value.decaySize === 0) sink.error(`${lp}.decay_size`, 'expected decay_size > 0 but received 0');
      if (!(lr.value.power > 0)) sink.error(`${lp}.power`, `expected power > 0 but received ${lr.value.power}`);
      break;
  }
}

function validateTrain(config: EasyRecConfig, sink: ProblemSink): void {
  const t = config.trainConfig;
  if (!t) {
    sink.error('train_config', 'expected a train_config but received none');
    return;
  }
  const optimizers: [string, SparseOptimizer | DenseOptimizer | undefined, readonly string[]][] = [
    ['sparse_optimizer', t.sparseOptimizer, SUPPORTED_SPARSE_OPTIMIZERS],
    ['dense_optimizer', t.denseOptimizer, SUPPORTED_DENSE_OPTIMIZERS],
  ];
  for (const [name, opt, supported] of optimizers) {
    const path = `train_config.${name}`;
    if (!opt) {
      sink.error(path, `expected a ${name} (e.g. ${name} { adam_optimizer { lr: 0.001 } }) but received none`);
      continue;
    }
    const kind = oneofCase(opt, 'optimizer');
    if (!kind) sink.error(path, `expected an optimizer (one of ${supported.join(', ')}) in ${name} but received none`);
    else if (supported.includes(kind)) {
      const o = opt.optimizer.value as {
        lr: number;
        weightDecay?: number;
        gradientClipping?: boolean;
        maxGradient?: number;
        beta1?: number;
        beta2?: number;
      };
      if (!(o.lr > 0)) sink.error(`${path}.${kind}.lr`, `expected lr > 0 but received ${o.lr}`);
      if (o.weightDecay !== undefined && !(o.weightDecay >= 0))
        sink.error(`${path}.${kind}.weight_decay`, `expected weight_decay >= 0 but received ${o.weightDecay}`);
      if (o.gradientClipping && !((o.maxGradient ?? 0) > 0))
        sink.error(
          `${path}.${kind}.max_gradient`,
          `expected max_gradient > 0 with gradient_clipping but received ${o.maxGradient}`,
        );
      for (const b of ['beta1', 'beta2'] as const) {
        const v = o[b];
        if (v !== undefined && !(v >= 0 && v < 1))
          sink.error(`${path}.${kind}.${b}`, `expected ${b} in [0, 1) but received ${v}`);
      }
    }
    checkLearningRate(path, opt, sink);
  }
  const steps = has(t, 'num_steps');
  const epochs = has(t, 'num_epochs');
  if (steps && epochs)
    sink.error('train_config.num_epochs', 'expected exactly one of num_steps and num_epochs but both are set');
  else if (!steps && !epochs)
    sink.error('train_config', 'expected exactly one of num_steps and num_epochs but neither is set');
  else if (steps && t.numSteps === 0) sink.error('train_config.num_steps', 'expected num_steps > 0 but received 0');
  else if (epochs && t.numEpochs === 0) sink.error('train_config.num_epochs', 'expected num_epochs > 0 but received 0');
  if (t.logStepCountSteps === 0)
    sink.error('train_config.log_step_count_steps', 'expected log_step_count_steps > 0 but received 0');
  if (has(t, 'gradient_accumulation_steps') && t.gradientAccumulationSteps === 0) {
    sink.error('train_config.gradient_accumulation_steps', 'expected gradient_accumulation_steps >= 1 but received 0');
  }
  const gc = t.gradClipping;
  if (gc) {
    if (!['none', 'norm', 'value'].includes(gc.clippingType))
      sink.error(
        'train_config.grad_clipping.clipping_type',
        `expected "none", "norm" or "value" for clipping_type but received "${gc.clippingType}"`,
      );
    if (gc.clippingType !== 'none' && !(gc.maxGradient > 0))
      sink.error('train_config.grad_clipping.max_gradient', `expected max_gradient > 0 but received ${gc.maxGradient}`);
  }
}

function validateEvalExport(config: EasyRecConfig, sink: ProblemSink): void {
  const x = config.exportConfig;
  if (x) {
    if (!['latest', 'best'].includes(x.exporterType))
      sink.error(
        'export_config.exporter_type',
        `expected "latest" or "best" for exporter_type but received "${x.exporterType}"`,
      );
    if (x.enableEarlyStop && !(x.maxCheckSteps > 0))
      sink.error(
        'export_config.max_check_steps',
        `expected max_check_steps > 0 with enable_early_stop but received ${x.maxCheckSteps}`,
      );
  }
}

/**
 * Walks the set fields of the config against the capability registry (capabilities.ts): an
 * unsupported field is reported as "not supported yet by tsrec" (a scalar only when it differs
 * from its default, which is what tsrec does anyway), a field without effect as a warning with
 * its reason, and implemented message fields are walked into.
 */
function reportCapabilities(r: ReflectMessage, path: string, sink: ProblemSink, warned = new Set<string>()): void {
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    const fp = path === '' ? field.name : `${path}.${field.name}`;
    const cap = capabilityOf(r.desc.name, field.name) ?? { kind: 'unsupported' as const };
    if (cap.kind !== 'implemented') {
      const scalar = field.fieldKind === 'scalar' || field.fieldKind === 'enum';
      if (scalar && r.get(field) === field.getDefaultValue()) continue;
      if (cap.kind === 'noEffect') {
        // Once per field of a message type: input_fields[*].input_type would repeat it per column.
        const key = `${r.desc.name}.${field.name}`;
        if (!warned.has(key)) sink.warning(fp, `${field.name} has no effect in tsrec: ${cap.reason}`);
        warned.add(key);
        continue;
      }
      const what = cap.note ?? `field '${field.name}' of ${r.desc.name}`;
      const others = field.oneof
        ? field.oneof.fields.filter((f) => capabilityOf(r.desc.name, f.name)?.kind === 'implemented').map((f) => f.name)
        : [];
      sink.unsupported(
        fp,
        what,
        others.length > 0
          ? `supported: ${others.join(', ')}`
          : scalar
            ? 'remove it or leave it at its default'
            : 'remove it',
      );
      continue;
    }
    if (field.fieldKind === 'message') reportCapabilities(r.get(field) as ReflectMessage, fp, sink, warned);
    else if (field.fieldKind === 'list' && field.listKind === 'message') {
      let i = 0;
      for (const item of r.get(field)) reportCapabilities(item as ReflectMessage, `${fp}[${i++}]`, sink, warned);
    } else if (field.fieldKind === 'map' && field.mapKind === 'message') {
      for (const [k, v] of r.get(field))
        reportCapabilities(v as ReflectMessage, `${fp}[${JSON.stringify(String(k))}]`, sink, warned);
    }
  }
}
