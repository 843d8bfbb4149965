import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import { FeatureGroupType, type FeatureGroupConfig, type ModelConfig } from './gen/tsrec/protos/model_pb';
import type { MLP } from './gen/tsrec/protos/module_pb';
import type { LossConfig } from './gen/tsrec/protos/loss_pb';
import type { MetricConfig } from './gen/tsrec/protos/metric_pb';
import type { TaskTower, Tower } from './gen/tsrec/protos/tower_pb';
import { Similarity } from './gen/tsrec/protos/simi_pb';
import type { ProblemSink } from './config_problem';
import { didYouMean } from './did_you_mean';
import type { FeatureInfo } from './feature_catalog';
import { checkInitFn } from './validate_features';
import { has, oneofCase } from './proto_access';
import {
  MATCH_MODELS,
  MULTI_TASK_MODELS,
  SUPPORTED_ACTIVATIONS,
  SUPPORTED_LOSSES,
  SUPPORTED_METRICS,
  SUPPORTED_MODELS,
} from './support';

interface ModelCtx {
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
function checkHead(
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
    if (!isMatch && (kind === 'auc' || kind === 'grouped_auc' || kind === 'normalized_entropy') && numClass !== 1) {
      c.sink.error(`${mp}.${kind}`, `${kind} needs num_class = 1 but num_class is ${numClass}; use multiclass_auc`);
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
    checkMlp(c, `${tp}.mlp`, t.mlp, false);
    checkHead(c, `${tp}.`, t.losses, t.metrics, t.numClass, false);
  });
}

/** Checks the model choice, the groups it needs, its modules, losses and metrics. */
export function validateModel(config: EasyRecConfig, features: Map<string, FeatureInfo>, sink: ProblemSink): void {
  const mc = config.modelConfig;
  if (!mc) {
    sink.error('model_config', 'expected a model_config but received none');
    return;
  }
  const model = oneofCase(mc, 'model');
  if (!model) {
    sink.error('model_config', `expected a model (one of ${SUPPORTED_MODELS.join(', ')}) but model_config sets none`);
    return;
  }
  if (!SUPPORTED_MODELS.includes(model)) return; // reported by the capability walk
  const c: ModelCtx = {
    config,
    mc,
    model,
    groups: new Map(mc.featureGroups.map((g) => [g.groupName, g])),
    features,
    labels: config.dataConfig?.labelFields ?? [],
    sink,
  };
  const p = `model_config.${model}`;
  const isMulti = MULTI_TASK_MODELS.includes(model);
  const isMatch = MATCH_MODELS.includes(model);
  if (mc.featureGroups.length === 0)
    sink.error('model_config.feature_groups', `model '${model}' needs feature groups but received none`);

  const m = mc.model;
  // The models with a WIDE part initialise its tables with wide_init_fn.
  if ((m.case === 'deepfm' || m.case === 'wideAndDeep' || m.case === 'xdeepfm') && m.value.wideInitFn)
    checkInitFn(sink, `${p}.wide_init_fn`, m.value.wideInitFn);
  switch (m.case) {
    case 'deepfm': {
      requireGroup(c, 'wide', FeatureGroupType.WIDE);
      const deep = requireGroup(c, 'deep', FeatureGroupType.DEEP);
      const fm = c.groups.get('fm');
      if (fm) requireEqualDims(c, fm, 'the FM part of deepfm');
      else if (deep) requireEqualDims(c, deep, "deepfm without an 'fm' group uses 'deep' for FM");
      checkMlp(c, `${p}.deep`, m.value.deep, true);
      checkMlp(c, `${p}.final`, m.value.final, false);
      break;
    }
    case 'wideAndDeep':
      requireGroup(c, 'wide', FeatureGroupType.WIDE);
      requireGroup(c, 'deep', FeatureGroupType.DEEP);
      checkMlp(c, `${p}.deep`, m.value.deep, true);
      checkMlp(c, `${p}.final`, m.value.final, false);
      break;
    case 'dlrm': {
      const sparse = requireGroup(c, 'sparse', FeatureGroupType.DEEP);
      const dense = c.groups.get('dense');
      const dim = sparse ? requireEqualDims(c, sparse, 'dlrm interacts the sparse embeddings') : undefined;
      if (dense) {
        checkMlp(c, `${p}.dense_mlp`, m.value.denseMlp, true);
        const units = m.value.denseMlp?.hiddenUnits ?? [];
        if (dim !== undefined && units.length > 0 && units[units.length - 1] !== dim) {
          sink.error(
            `${p}.dense_mlp.hidden_units`,
            `the last dense_mlp hidden unit must equal the sparse embedding_dim ${dim} but is ${units[units.length - 1]}`,
          );
        }
      }
      checkMlp(c, `${p}.final`, m.value.final, true);
      break;
    }
    case 'dcnV1':
    case 'dcnV2':
    case 'maskNet':
      warnUnusedGroups(c);
      if (m.case === 'dcnV1') {
        if (!m.value.cross) sink.error(`${p}.cross`, `model 'dcn_v1' needs cross { cross_num: ... } but it is not set`);
        else if (m.value.cross.crossNum === 0)
          sink.error(`${p}.cross.cross_num`, 'expected cross_num > 0 but received 0');
        checkMlp(c, `${p}.deep`, m.value.deep, true);
        checkMlp(c, `${p}.final`, m.value.final, true);
      } else if (m.case === 'dcnV2') {
        if (!m.value.cross) sink.error(`${p}.cross`, `model 'dcn_v2' needs cross { cross_num: ... } but it is not set`);
        else {
          if (m.value.cross.crossNum === 0) sink.error(`${p}.cross.cross_num`, 'expected cross_num > 0 but received 0');
          if (m.value.cross.lowRank === 0) sink.error(`${p}.cross.low_rank`, 'expected low_rank > 0 but received 0');
        }
        checkMlp(c, `${p}.backbone`, m.value.backbone, false);
        checkMlp(c, `${p}.deep`, m.value.deep, false);
        checkMlp(c, `${p}.final`, m.value.final, true);
      } else {
        const mod = m.value.maskNetModule;
        if (!mod)
          sink.error(`${p}.mask_net_module`, "model 'mask_net' needs mask_net_module { ... } but it is not set");
        else {
          if (mod.nMaskBlocks === 0)
            sink.error(`${p}.mask_net_module.n_mask_blocks`, 'expected n_mask_blocks > 0 but received 0');
          if (!mod.maskBlock)
            sink.error(`${p}.mask_net_module.mask_block`, 'expected mask_block { hidden_dim: ... } but it is not set');
          else if (mod.maskBlock.hiddenDim === 0)
            sink.error(`${p}.mask_net_module.mask_block.hidden_dim`, 'expected hidden_dim > 0 but received 0');
          checkMlp(c, `${p}.mask_net_module.top_mlp`, mod.topMlp, false);
        }
      }
      break;
    case 'xdeepfm': {
      const wide = requireGroup(c, 'wide', FeatureGroupType.WIDE);
      requireGroup(c, 'deep', FeatureGroupType.DEEP);
      if (wide) requireEqualDims(c, wide, 'the CIN of xdeepfm');
      if (!m.value.cin || m.value.cin.cinLayerSize.length === 0)
        sink.error(`${p}.cin`, "model 'xdeepfm' needs cin { cin_layer_size: [...] } but it is not set");
      checkMlp(c, `${p}.deep`, m.value.deep, true);
      checkMlp(c, `${p}.final`, m.value.final, true);
      break;
    }
    case 'multiTower': {
      if (m.value.towers.length === 0)
        sink.error(`${p}.towers`, "model 'multi_tower' needs at least one towers entry but received none");
      m.value.towers.forEach((t, i) => checkTower(c, `${p}.towers[${i}]`, t, true));
      checkMlp(c, `${p}.final`, m.value.final, true);
      break;
    }
    case 'simpleMultiTask':
      warnUnusedGroups(c);
      checkTaskTowers(c, p, m.value.taskTowers);
      break;
    case 'mmoe':
      warnUnusedGroups(c);
      checkMlp(c, `${p}.expert_mlp`, m.value.expertMlp, true);
      checkMlp(c, `${p}.gate_mlp`, m.value.gateMlp, false);
      if (m.value.numExpert === 0) sink.error(`${p}.num_expert`, 'expected num_expert > 0 but received 0');
      checkTaskTowers(c, p, m.value.taskTowers);
      break;
    case 'ple':
      warnUnusedGroups(c);
      if (m.value.extractionNetworks.length === 0)
        sink.error(
          `${p}.extraction_networks`,
          "model 'ple' needs at least one extraction_networks entry but received none",
        );
      m.value.extractionNetworks.forEach((e, i) => {
        const ep = `${p}.extraction_networks[${i}]`;
        if (e.expertNumPerTask === 0)
          sink.error(`${ep}.expert_num_per_task`, 'expected expert_num_per_task > 0 but received 0');
        checkMlp(c, `${ep}.task_expert_net`, e.taskExpertNet, true);
        if (e.shareNum > 0) checkMlp(c, `${ep}.share_expert_net`, e.shareExpertNet, true);
      });
      checkTaskTowers(c, p, m.value.taskTowers);
      break;
    case 'dssm':
      checkTower(c, `${p}.user_tower`, m.value.userTower, true);
      checkTower(c, `${p}.item_tower`, m.value.itemTower, true);
      if (!(m.value.outputDim > 0))
        sink.error(`${p}.output_dim`, `expected output_dim > 0 but received ${m.value.outputDim}`);
      if (!(m.value.temperature > 0))
        sink.error(`${p}.temperature`, `expected temperature > 0 but received ${m.value.temperature}`);
      if (m.value.similarity === Similarity.EUCLID)
        sink.unsupported(`${p}.similarity`, 'similarity EUCLID', 'use INNER_PRODUCT or COSINE');
      if (!m.value.inBatchNegative) {
        sink.unsupported(
          `${p}.in_batch_negative`,
          'dssm without in_batch_negative (it needs a negative sampler)',
          'set in_batch_negative: true',
        );
      }
      break;
  }

  if (isMulti) {
    if (mc.losses.length > 0)
      sink.warning(
        'model_config.losses',
        `model '${model}' ignores model_config.losses; set losses in each task tower`,
      );
    if (mc.metrics.length > 0)
      sink.warning(
        'model_config.metrics',
        `model '${model}' ignores model_config.metrics; set metrics in each task tower`,
      );
  } else {
    if (mc.numClass === 0) sink.error('model_config.num_class', 'expected num_class >= 1 but received 0');
    checkHead(c, 'model_config.', mc.losses, mc.metrics, mc.numClass, isMatch);
  }
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
