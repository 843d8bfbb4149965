import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingInit, FeatureGroupConfig, ModelConfig } from '@tsrec/config';

import { EmbeddingGroup } from '../embedding/embedding_group';
import type { PooledEmbeddingCollection } from '../embedding/pooled_embedding_collection';
import type { EmbeddingRole, ModelBatch, ModelContext } from './model_context';
import type {
  LoadWeightsOptions,
  MetricGroups,
  ModelTask,
  Predictions,
  TrainableModel,
  WeightValues,
} from './trainable_model';

let nextModelId = 0;

/** protobuf-es oneof case (camelCase) → the proto field name TorchEasyRec uses. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * What every model shares (TorchEasyRec's BaseModel): its variables under scope-relative names,
 * save/restore by name, the embedding groups and the collections they asked for, `trainStep`.
 * Subclasses create layers with `layer(name)` options and register them with `track`.
 */
export abstract class BaseModel implements TrainableModel {
  abstract readonly tasks: readonly ModelTask[];
  /** Prefix of this instance's tfjs variable names (tfjs names are global, so unique per instance); not part of `namedVariables()` names. */
  readonly scope: string;
  /** The `model_config` oneof name (`deepfm`, `dssm`, …). */
  readonly modelName: string;
  private readonly named = new Map<string, tf.Variable>();
  private readonly collections = new Map<EmbeddingRole, PooledEmbeddingCollection>();
  private readonly groups: EmbeddingGroup[] = [];
  private seedCounter: number;

  constructor(
    readonly config: ModelConfig,
    protected readonly ctx: ModelContext,
  ) {
    this.modelName = snakeCase(config.model.case ?? 'model');
    this.scope = `${this.modelName}_${nextModelId++}`;
    this.seedCounter = ctx.seed ?? 0;
  }

  abstract predict(batch: ModelBatch, options?: { training?: boolean }): Predictions;
  abstract loss(predictions: Predictions, batch: ModelBatch): Record<string, tf.Scalar>;
  abstract updateMetrics(predictions: Predictions, batch: ModelBatch, groups?: MetricGroups): void;

  /** Current values of every metric by name; resets them when `reset`. */
  computeMetrics(reset = true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tasks) {
      for (const m of t.metrics) {
        out[m.name] = m.compute();
        if (reset) m.reset();
      }
    }
    return out;
  }

  /**
   * Builds an embedding group over `groups`; its collections are requested from the context
   * under `roles` (DEEP groups' collection as `roles.deep`, WIDE groups' as `roles.wide`).
   */
  protected createEmbeddingGroup(
    groups: readonly FeatureGroupConfig[],
    options: { wideEmbeddingDim?: number; wideInit?: EmbeddingInit } = {},
    roles: { deep?: EmbeddingRole; wide?: EmbeddingRole } = {},
  ): EmbeddingGroup {
    const create: ModelContext['createEmbeddingCollection'] = (spec, role) => {
      const r = (role === 'deep' ? roles.deep : role === 'wide' ? roles.wide : role) ?? role;
      if (this.collections.has(r))
        throw new Error(
          `Expected one embedding collection of role '${r}' for model ${this.modelName} but received a second request`,
        );
      const c = this.ctx.createEmbeddingCollection(spec, r);
      this.collections.set(r, c);
      return c;
    };
    // The caller's context with the factory wrapped (a derived object, so getters and methods of a class instance still work).
    const ctx = Object.create(this.ctx, { createEmbeddingCollection: { value: create } }) as ModelContext;
    const group = new EmbeddingGroup(groups, ctx, options);
    this.groups.push(group);
    return group;
  }

  /** The embedding collections the model asked the context for, by role (`deep`, `wide`, `user`, `item`). */
  embeddingCollections(): Partial<Record<EmbeddingRole, PooledEmbeddingCollection>> {
    return Object.fromEntries(this.collections) as Partial<Record<EmbeddingRole, PooledEmbeddingCollection>>;
  }

  /** Trainable dense variables (MLPs, …) plus the sparse arches' gradient anchors. */
  get trainableVariables(): tf.Variable[] {
    return [...[...this.named.values()].filter((v) => v.trainable), ...this.groups.flatMap((g) => g.variables)];
  }

  /** Every dense variable with its scope-relative name, in creation order (anchors excluded). */
  namedVariables(): Array<[name: string, variable: tf.Variable]> {
    return [...this.named];
  }

  /** Trainable dense parameter count (embedding tables and batch-norm statistics excluded). */
  get denseParameterCount(): number {
    let n = 0;
    for (const v of this.named.values()) if (v.trainable) n += v.size;
    return n;
  }

  /**
   * Assigns dense variables by their `namedVariables()` names from flat float32 arrays
   * (row-major, the variable's size) or tensors (the variable's shape). Strict (default):
   * every variable must be given and no other name. Everything is checked before anything is
   * assigned; errors name the variables.
   */
  loadWeights(values: WeightValues, options: LoadWeightsOptions = {}): void {
    const strict = options.strict ?? true;
    if (!values || typeof values !== 'object')
      throw new TypeError(
        `Expected an object of variable values for loadWeights of model ${this.modelName} but received ${values === null ? 'null' : typeof values}`,
      );
    const problems: string[] = [];
    const list = (names: string[]) =>
      names
        .slice(0, 10)
        .map((n) => `'${n}'`)
        .join(', ') + (names.length > 10 ? ` and ${names.length - 10} more` : '');
    if (strict) {
      const missing = [...this.named.keys()].filter((n) => !(n in values));
      const unexpected = Object.keys(values).filter((n) => !this.named.has(n));
      if (missing.length)
        problems.push(
          `Expected a value for every variable of model ${this.modelName} but received none for ${list(missing)}`,
        );
      if (unexpected.length)
        problems.push(`Expected only variables of model ${this.modelName} but received unexpected ${list(unexpected)}`);
    }
    const assignments: [tf.Variable, Float32Array | tf.Tensor][] = [];
    for (const [name, v] of this.named) {
      if (!(name in values)) continue;
      const value = values[name];
      const shape = `[${v.shape.join(',')}]`;
      if (isFloat32Array(value)) {
        if (value.length !== v.size)
          problems.push(`Expected shape ${shape} for variable '${name}' but received [${value.length}]`);
      } else if (isTensor(value)) {
        if (value.isDisposed)
          problems.push(`Expected a live tensor for variable '${name}' but received a disposed one`);
        else if (value.dtype !== 'float32')
          problems.push(`Expected a float32 tensor for variable '${name}' but received ${value.dtype}`);
        else if (value.shape.length !== v.shape.length || value.shape.some((d, i) => d !== v.shape[i]))
          problems.push(`Expected shape ${shape} for variable '${name}' but received [${value.shape.join(',')}]`);
      } else {
        problems.push(`Expected a Float32Array or a tensor for variable '${name}' but received ${describe(value)}`);
      }
      assignments.push([v, value]);
    }
    if (problems.length) throw new Error(problems.join('; '));
    tf.tidy(() => {
      for (const [v, value] of assignments) {
        v.assign(isTensor(value) ? tf.clone(value) : tf.tensor(new Float32Array(value), v.shape, 'float32'));
      }
    });
  }

  /**
   * One training step: forward, fused losses, backward; the sparse tables are updated during
   * backprop at the context's sparse learning rate, the dense variables by `optimizer`.
   */
  trainStep(batch: ModelBatch, optimizer: tf.Optimizer): number {
    const loss = optimizer.minimize(
      () => {
        const losses = Object.values(this.loss(this.predict(batch, { training: true }), batch));
        return (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
      },
      true,
      this.trainableVariables,
    )!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }

  /** Frees the model's variables (collections belong to the context). */
  dispose(): void {
    for (const v of this.named.values()) v.dispose();
    this.named.clear();
    for (const g of this.groups) g.dispose();
  }

  /** Registers the variables of a layer built with `layer(name)` options, under their scope-relative names. */
  protected track<T extends { variables: tf.Variable[] }>(layer: T): T {
    const prefix = `${this.scope}/`;
    for (const v of layer.variables) {
      if (!v.name.startsWith(prefix))
        throw new Error(
          `Expected a variable named under the model scope '${prefix}' (built with layer()) but received '${v.name}'`,
        );
      const name = v.name.slice(prefix.length);
      if (this.named.has(name))
        throw new Error(`Expected unique variable names in model ${this.modelName} but received '${name}' twice`);
      this.named.set(name, v);
    }
    return layer;
  }

  /** Layer options for a named part: its scoped variable name prefix and a fresh seed. */
  protected layer(name: string): { name: string; seed: number } {
    return { name: `${this.scope}/${name}`, seed: this.nextSeed() };
  }

  /** A fresh seed for the next layer's initialisation. */
  protected nextSeed(): number {
    this.seedCounter += 101;
    return this.seedCounter;
  }
}

function isFloat32Array(x: unknown): x is Float32Array {
  // Not instanceof: arrays from the addon or another realm (jest) are Float32Arrays too.
  return Object.prototype.toString.call(x) === '[object Float32Array]';
}

function isTensor(x: unknown): x is tf.Tensor {
  return (
    x instanceof tf.Tensor ||
    (typeof x === 'object' &&
      x !== null &&
      typeof (x as tf.Tensor).dataSync === 'function' &&
      Array.isArray((x as tf.Tensor).shape))
  );
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === 'object') return Object.prototype.toString.call(x).slice(8, -1);
  return typeof x;
}
