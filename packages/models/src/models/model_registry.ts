import { type ModelConfig, type ModelRules, registerModelRules } from '@tsrec/config';

import { snakeCase as snake } from './base_model';
import type { ModelContext } from './model_context';
import type { TrainableModel } from './trainable_model';

/** A model class as the registry stores it. */
export type ModelClass = new (config: ModelConfig, ctx: ModelContext) => TrainableModel;

const REGISTRY = new Map<string, ModelClass>();

/**
 * Registers a model under its `model_config` oneof name (`deepfm`, `wide_and_deep`, `dlrm`, …)
 * with its config rules: one registration gives the class the runtime builds and the checks
 * `validate` runs (groups, modules, dims), so the two cannot disagree.
 */
export function registerModel<M>(name: string, cls: ModelClass, rules: ModelRules<M>): void {
  if (REGISTRY.has(name) && REGISTRY.get(name) !== cls)
    throw new Error(`Expected a new model name for registerModel but received '${name}', already registered`);
  REGISTRY.set(name, cls);
  registerModelRules(name, rules);
}

/** Names of the registered models. */
export function registeredModels(): string[] {
  return [...REGISTRY.keys()].sort();
}

/** Builds the model that `config.model` selects, from the registry. */
export function createModel(config: ModelConfig, ctx: ModelContext): TrainableModel {
  const c = config.model.case;
  if (c === undefined)
    throw new Error(`Expected a model (one of ${registeredModels().join(', ')}) in model_config but received none`);
  const cls = REGISTRY.get(snake(c));
  if (!cls) throw new Error(`model '${snake(c)}' is not supported yet (registered: ${registeredModels().join(', ')})`);
  return new cls(config, ctx);
}
