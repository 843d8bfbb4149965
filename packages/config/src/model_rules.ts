/**
 * Model rules: the config checks of each model, registered next to the model class by
 * @tsrec/models (`registerModel(name, class, rules)`), and the context they check with. The
 * validator (`validate_model.ts`) runs the rules of the configured model, so the validator and
 * the model that will be built are one registration and cannot disagree.
 */
import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import { FeatureGroupType, type FeatureGroupConfig, type ModelConfig } from './gen/tsrec/protos/model_pb';
import type { MLP } from './gen/tsrec/protos/module_pb';
import type { LossConfig } from './gen/tsrec/protos/loss_pb';
import type { MetricConfig } from './gen/tsrec/protos/metric_pb';
import type { TaskTower, Tower } from './gen/tsrec/protos/tower_pb';
import type { ProblemSink } from './config_problem';
import { didYouMean } from './did_you_mean';
import type { FeatureInfo } from './feature_catalog';
import { checkInitFn } from './validate_features';
import { has, oneofCase } from './proto_access';
import { SUPPORTED_ACTIVATIONS, SUPPORTED_LOSSES, SUPPORTED_METRICS } from './support';

/** What the validator knows while checking one model (internal). */
export interface ModelCtx {
  config: EasyRecConfig;
  mc: ModelConfig;
  model: string;
  groups: Map<string, FeatureGroupConfig>;
  features: Map<string, FeatureInfo>;
  labels: string[];
  sink: ProblemSink;
}

const GROUP_TYPE_NAME = (t: FeatureGroupType): string => FeatureGroupType[t];

function requireGroup(c: ModelCtx, name: string, type: FeatureGroupType): FeatureGroupConfig | undefined {
  const g = c.groups.get(name);
  if (!g) {
    const have = [...c.groups.keys()];
    const s = didYouMean(name, have);
    c.sink.error(
      'model_config.feature_groups',
      `model '${c.model}' needs a ${GROUP_TYPE_NAME(type)} feature group named '${name}' but the config has ${have.length ? `only ${have.map((x) => `'${x}'`).join(', ')}` : 'none'}${s ? ` — did you mean '${s}'?` : ''}`,
    );
    return undefined;
  }
  if (g.groupType !== type) {
    const i = c.mc.featureGroups.indexOf(g);
    c.sink.error(
      `model_config.feature_groups[${i}].group_type`,
      `model '${c.model}' needs group '${name}' to be ${GROUP_TYPE_NAME(type)} but it is ${GROUP_TYPE_NAME(g.groupType)}`,
    );
  }
  return g;
}

function groupDims(c: ModelCtx, g: FeatureGroupConfig): number[] {
  return g.featureNames
    .map((n) => c.features.get(n))
    .filter((f): f is FeatureInfo => f !== undefined)
    .map((f) => f.embeddingDim);
}

function requireEqualDims(c: ModelCtx, g: FeatureGroupConfig, why: string): number | undefined {
  const i = c.mc.featureGroups.indexOf(g);
  const dims = groupDims(c, g);
  const uniq = [...new Set(dims)];
  if (uniq.length > 1 || uniq[0] === 0) {
    c.sink.error(
      `model_config.feature_groups[${i}]`,
      `${why}: every feature of group '${g.groupName}' needs the same embedding_dim (and an embedding), but found ${uniq.map((d) => (d === 0 ? 'dense' : d)).join(', ')}`,
    );
    return undefined;
  }
  return uniq[0];
}

function checkMlp(c: ModelCtx, path: string, mlp: MLP | undefined, required: boolean): void {
  if (!mlp) {
    if (required)
      c.sink.error(path, `model '${c.model}' needs ${path.split('.').pop()} { hidden_units: [...] } but it is not set`);
    return;
  }
  if (mlp.hiddenUnits.length === 0)
    c.sink.error(`${path}.hidden_units`, 'expected at least one hidden unit but received none');
  mlp.hiddenUnits.forEach((u, i) => {
    if (u === 0) c.sink.error(`${path}.hidden_units[${i}]`, 'expected hidden_units > 0 but received 0');
  });
  if (mlp.dropoutRatio.length > 1 && mlp.dropoutRatio.length !== mlp.hiddenUnits.length) {
    c.sink.error(
      `${path}.dropout_ratio`,
      `expected 1 or ${mlp.hiddenUnits.length} dropout ratios (one per layer) but received ${mlp.dropoutRatio.length}`,
    );
  }
  mlp.dropoutRatio.forEach((d, i) => {
    if (!(d >= 0 && d < 1))
      c.sink.error(`${path}.dropout_ratio[${i}]`, `expected a dropout ratio in [0, 1) but received ${d}`);
  });
  if (!SUPPORTED_ACTIVATIONS.includes(mlp.activation)) {
    c.sink.unsupported(
      `${path}.activation`,
      `activation '${mlp.activation}'`,
      `supported: ${SUPPORTED_ACTIVATIONS.filter((a) => a).join(', ')}`,
    );
  }
}

function checkTower(c: ModelCtx, path: string, t: Tower | undefined, required: boolean): void {
  if (!t) {
    if (required)
      c.sink.error(
        path,
        `model '${c.model}' needs ${path.split('.').pop()} { input: ... mlp { ... } } but it is not set`,
      );
    return;
  }
  if (!c.groups.has(t.input)) {
    const s = didYouMean(t.input, [...c.groups.keys()]);
    c.sink.error(
      `${path}.input`,
      `tower input '${t.input}' is not a feature group${s ? ` — did you mean '${s}'?` : ''}`,
    );
  }
  checkMlp(c, `${path}.mlp`, t.mlp, true);
}

/** Checks losses and metrics of one output head against its num_class. */
export function checkHead(
  c: ModelCtx,
  path: string,
  losses: LossConfig[],
  metrics: MetricConfig[],
  numClass: number,
  isMatch: boolean,
): void {
  if (losses.length === 0)
    c.sink.error(
      `${path}losses`,
      'expected at least one loss (e.g. losses { binary_cross_entropy {} }) but received none',
    );
  losses.forEach((l, i) => {
    const kind = oneofCase(l, 'loss');
    const lp = `${path}losses[${i}]`;
    if (!kind) return c.sink.error(lp, 'expected a loss type but received an empty losses entry');
    if (!SUPPORTED_LOSSES.includes(kind)) return; // reported by the capability walk
    if (isMatch) {
      if (kind !== 'softmax_cross_entropy')
        c.sink.error(`${lp}.${kind}`, `retrieval model '${c.model}' needs softmax_cross_entropy but received ${kind}`);
    } else if (kind === 'jrc_loss') {
      if (numClass !== 2)
        c.sink.error(
          `${lp}.${kind}`,
          `jrc_loss needs num_class = 2 (TorchEasyRec's rule) but num_class is ${numClass}`,
        );
      const session = l.loss.case === 'jrcLoss' ? l.loss.value.sessionName : '';
      const f = c.features.get(session);
      if (!session)
        c.sink.error(`${lp}.jrc_loss.session_name`, 'expected the session_name of jrc_loss but received none');
      else if (!f?.isSparse)
        c.sink.error(
          `${lp}.jrc_loss.session_name`,
          `session_name '${session}' must name a sparse feature (its first id is the session) but ${f ? 'it is a dense feature' : 'no feature has that name'}`,
        );
      const a = l.loss.case === 'jrcLoss' ? l.loss.value.alpha : 0.5;
      if (!(a >= 0 && a <= 1)) c.sink.error(`${lp}.jrc_loss.alpha`, `expected alpha in [0, 1] but received ${a}`);
    } else if (kind === 'softmax_cross_entropy') {
      if (numClass < 2)
        c.sink.error(
          `${lp}.${kind}`,
          `softmax_cross_entropy needs num_class > 1 but num_class is ${numClass}; use binary_cross_entropy for binary labels`,
        );
    } else if (numClass !== 1) {
      c.sink.error(
        `${lp}.${kind}`,
        `${kind} needs num_class = 1 but num_class is ${numClass}; use softmax_cross_entropy for multi-class labels`,
      );
    }
    const smoothing =
      l.loss.case === 'binaryCrossEntropy' || l.loss.case === 'softmaxCrossEntropy' ? l.loss.value.labelSmoothing : 0;
    if (!(smoothing >= 0 && smoothing < 1))
      c.sink.error(`${lp}.${kind}.label_smoothing`, `expected label_smoothing in [0, 1) but received ${smoothing}`);
    if (l.loss.case === 'binaryFocalLoss') {
      if (!(l.loss.value.gamma >= 0))
        c.sink.error(`${lp}.binary_focal_loss.gamma`, `expected gamma >= 0 but received ${l.loss.value.gamma}`);
      if (!(l.loss.value.alpha > 0 && l.loss.value.alpha < 1))
        c.sink.error(`${lp}.binary_focal_loss.alpha`, `expected alpha in (0, 1) but received ${l.loss.value.alpha}`);
    }
  });
  metrics.forEach((m, i) => {
    const kind = oneofCase(m, 'metric');
    const mp = `${path}metrics[${i}]`;
    if (!kind) return c.sink.error(mp, 'expected a metric type but received an empty metrics entry');
    if (!SUPPORTED_METRICS.includes(kind)) return; // reported by the capability walk
    if (kind === 'recall_at_k' && !isMatch)
      c.sink.error(`${mp}.recall_at_k`, `recall_at_k needs a retrieval model but the model is '${c.model}'`);
    // TorchEasyRec's match models (match_model.py) compute recall_at_k only.
    if (isMatch && kind !== 'recall_at_k')
      c.sink.error(
        `${mp}.${kind}`,
        `retrieval model '${c.model}' supports the metric recall_at_k but received ${kind}`,
      );
    // AUC and grouped AUC of two classes read the positive class's probability (TorchEasyRec's probs1).
    const binaryMetric = kind === 'auc' || kind === 'grouped_auc';
    if (!isMatch && ((binaryMetric && numClass > 2) || (kind === 'normalized_entropy' && numClass !== 1))) {
      c.sink.error(
        `${mp}.${kind}`,
        `${kind} needs num_class = 1${binaryMetric ? ' or 2' : ''} but num_class is ${numClass}; use multiclass_auc`,
      );
    }
    if (kind === 'multiclass_auc' && numClass < 2)
      c.sink.error(`${mp}.multiclass_auc`, `multiclass_auc needs num_class > 1 but num_class is ${numClass}`);
    if (m.metric.case === 'groupedAuc') {
      const key = m.metric.value.groupingKey;
      if (!key)
        c.sink.error(`${mp}.grouped_auc.grouping_key`, 'expected a grouping_key (a feature name) but received none');
      else if (!c.features.has(key)) {
        const s = didYouMean(key, [...c.features.keys()]);
        c.sink.error(
          `${mp}.grouped_auc.grouping_key`,
          `grouping_key '${key}' is not a feature${s ? ` — did you mean '${s}'?` : ''}`,
        );
      }
    }
    if (m.metric.case === 'recallAtK' && m.metric.value.topK === 0)
      c.sink.error(`${mp}.recall_at_k.top_k`, 'expected top_k > 0 but received 0');
  });
}

function checkTaskTowers(c: ModelCtx, path: string, towers: TaskTower[]): void {
  if (towers.length === 0)
    c.sink.error(`${path}.task_towers`, `model '${c.model}' needs at least one task_towers entry but received none`);
  const names = new Set<string>();
  const weights = c.config.dataConfig?.sampleWeightFields ?? [];
  towers.forEach((t, i) => {
    const tp = `${path}.task_towers[${i}]`;
    if (!t.towerName) c.sink.error(`${tp}.tower_name`, 'expected a tower_name but received none');
    else if (names.has(t.towerName)) c.sink.error(`${tp}.tower_name`, `duplicate task tower name '${t.towerName}'`);
    names.add(t.towerName);
    if (!t.labelName)
      c.sink.error(`${tp}.label_name`, `expected a label_name for task tower '${t.towerName}' but received none`);
    else if (!c.labels.includes(t.labelName)) {
      const s = didYouMean(t.labelName, c.labels);
      c.sink.error(
        `${tp}.label_name`,
        `task tower '${t.towerName}' names label '${t.labelName}' that is not in data_config.label_fields [${c.labels.join(', ')}]${s ? ` — did you mean '${s}'?` : ''}`,
      );
    }
    if (has(t, 'sample_weight_name') && !weights.includes(t.sampleWeightName)) {
      c.sink.error(
        `${tp}.sample_weight_name`,
        `task tower '${t.towerName}' names sample weight '${t.sampleWeightName}' that is not in data_config.sample_weight_fields [${weights.join(', ')}]`,
      );
    }
    if (!(t.weight >= 0)) c.sink.error(`${tp}.weight`, `expected weight >= 0 but received ${t.weight}`);
    if (t.taskSpaceIndicatorLabel && !c.labels.includes(t.taskSpaceIndicatorLabel))
      c.sink.error(
        `${tp}.task_space_indicator_label`,
        `task tower '${t.towerName}' names label '${t.taskSpaceIndicatorLabel}' that is not in data_config.label_fields [${c.labels.join(', ')}]`,
      );
    for (const [field, v] of [
      ['in_task_space_weight', t.inTaskSpaceWeight],
      ['out_task_space_weight', t.outTaskSpaceWeight],
    ] as const)
      if (!(v >= 0)) c.sink.error(`${tp}.${field}`, `expected ${field} >= 0 but received ${v}`);
    if (has(t, 'sample_weight_name') && t.losses.some((l) => l.loss.case === 'jrcLoss'))
      c.sink.unsupported(
        `${tp}.sample_weight_name`,
        'sample weights with jrc_loss',
        'remove sample_weight_name from this tower',
      );
    checkMlp(c, `${tp}.mlp`, t.mlp, false);
    checkHead(c, `${tp}.`, t.losses, t.metrics, t.numClass, false);
  });
}

/**
 * The models that read one feature group read the first, as TorchEasyRec's do
 * (`group_names()[0]`): a warning names the groups that go unused.
 */
function warnUnusedGroups(c: ModelCtx): void {
  const groups = c.mc.featureGroups;
  if (groups.length > 1)
    c.sink.warning(
      'model_config.feature_groups',
      `model '${c.model}' reads only its first feature group '${groups[0].groupName}' (as TorchEasyRec); ${groups
        .slice(1)
        .map((g) => `'${g.groupName}'`)
        .join(', ')} go unused`,
    );
}

/**
 * What a model's rules check with: the config, its groups, features and labels, problem
 * reporting (paths are field paths such as `model_config.deepfm.deep`), and the checks models
 * share (groups, MLPs, towers, task towers, init functions).
 */
export interface ModelRuleContext {
  readonly config: EasyRecConfig;
  readonly modelConfig: ModelConfig;
  /** The model's oneof name in snake case (`deepfm`, `wide_and_deep`, …). */
  readonly model: string;
  /** `model_config.<model>`: the prefix of the model's own fields. */
  readonly path: string;
  readonly groups: ReadonlyMap<string, FeatureGroupConfig>;
  readonly features: ReadonlyMap<string, FeatureInfo>;
  readonly labels: readonly string[];
  error(path: string, message: string): void;
  warning(path: string, message: string): void;
  unsupported(path: string, what: string, advice?: string): void;
  /** The group named `name`, of `type` (an error names what the config has instead). */
  requireGroup(name: string, type: FeatureGroupType): FeatureGroupConfig | undefined;
  /** The one embedding_dim of a group's features, or an error saying `why` it must be one. */
  requireEqualDims(group: FeatureGroupConfig, why: string): number | undefined;
  checkMlp(path: string, mlp: MLP | undefined, required: boolean): void;
  checkTower(path: string, tower: Tower | undefined, required: boolean): void;
  /** Multi-task towers: names, labels, sample weights, MLPs, losses and metrics. */
  checkTaskTowers(towers: TaskTower[]): void;
  /** One-group models read the first group (as TorchEasyRec): a warning names the rest. */
  warnUnusedGroups(): void;
  checkInitFn(path: string, expression: string): void;
}

/** A model's config checks (beyond the losses and metrics every model's head gets). */
export interface ModelRules<M = unknown> {
  check(c: ModelRuleContext, model: M): void;
}

const RULES = new Map<string, ModelRules>();

/** Registers the rules of a model under its snake-case oneof name; @tsrec/models' registerModel calls it. */
export function registerModelRules<M>(name: string, rules: ModelRules<M>): void {
  const prev = RULES.get(name);
  if (prev && prev !== rules)
    throw new Error(`Expected new model rules for registerModelRules but received '${name}', already registered`);
  RULES.set(name, rules as ModelRules);
}

/** Registers `rules` for model `name` and returns them (a model's `<model>_rules.ts` defines its rules with it). */
export function defineModelRules<M>(name: string, rules: ModelRules<M>): ModelRules<M> {
  registerModelRules(name, rules);
  return rules;
}

/** The rules registered for a model, if any. */
export function modelRulesOf(name: string): ModelRules | undefined {
  return RULES.get(name);
}

/** Names of the models with registered rules. */
export function registeredModelRules(): string[] {
  return [...RULES.keys()].sort();
}

/** The context of one model's check. */
export function ruleContext(c: ModelCtx): ModelRuleContext {
  const path = `model_config.${c.model}`;
  return {
    config: c.config,
    modelConfig: c.mc,
    model: c.model,
    path,
    groups: c.groups,
    features: c.features,
    labels: c.labels,
    error: (p, m) => c.sink.error(p, m),
    warning: (p, m) => c.sink.warning(p, m),
    unsupported: (p, w, a) => c.sink.unsupported(p, w, a),
    requireGroup: (n, t) => requireGroup(c, n, t),
    requireEqualDims: (g, why) => requireEqualDims(c, g, why),
    checkMlp: (p, m, r) => checkMlp(c, p, m, r),
    checkTower: (p, t, r) => checkTower(c, p, t, r),
    checkTaskTowers: (towers) => checkTaskTowers(c, path, towers),
    warnUnusedGroups: () => warnUnusedGroups(c),
    checkInitFn: (p, e) => checkInitFn(c.sink, p, e),
  };
}
