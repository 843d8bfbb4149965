import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import type { ProblemSink } from './config_problem';
import type { FeatureInfo } from './feature_catalog';
import { checkHead, type ModelCtx, modelRulesOf, ruleContext } from './model_rules';
import { oneofCase } from './proto_access';
import { MATCH_MODELS, MULTI_TASK_MODELS, SUPPORTED_MODELS } from './support';

/**
 * Checks the model choice, then the configured model's own rules (registered next to the model
 * class by @tsrec/models: groups, modules, dims), then its losses and metrics.
 */
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
  const isMulti = MULTI_TASK_MODELS.includes(model);
  const isMatch = MATCH_MODELS.includes(model);
  if (mc.featureGroups.length === 0)
    sink.error('model_config.feature_groups', `model '${model}' needs feature groups but received none`);

  const rules = modelRulesOf(model);
  if (rules) rules.check(ruleContext(c), mc.model.value);
  else
    sink.warning(
      `model_config.${model}`,
      `the rules of model '${model}' were not checked: they are registered by @tsrec/models, which is not loaded (the tsrec CLI always loads it)`,
    );

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
