import * as tf from '@tensorflow/tfjs-core';
import type { DenseOptimizer as DenseOptimizerConfig, GradClipping } from '@tsrec/config';
import { adamStepTsrec } from '@tsrec/native';

import { createLearningRateSchedule, type LearningRateSchedule } from './lr_schedule';

/** The maths of one dense optimizer (PyTorch's definitions; see `update`). */
export interface DenseRule {
  type: 'sgd' | 'adagrad' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  /** SGD: the share of the gradient kept out of the momentum buffer (PyTorch's dampening). */
  dampening: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Adam/AdamW: the maximum of the second moments in the denominator (PyTorch's amsgrad). */
  amsgrad: boolean;
  /** Adagrad: the accumulator's starting value. */
  initialAccumulatorValue: number;
}

/** One parameter group: the variables whose names match `pattern` (the default group matches the rest). */
export interface DenseGroup {
  rule: DenseRule;
  schedule: LearningRateSchedule;
  /** The regex of a part_optimizers entry (matching whole variable names); null for the default optimizer. */
  pattern: RegExp | null;
  where: string;
}

/** Dense gradient clipping (train_config.grad_clipping). */
export interface ClipSettings {
  type: 'none' | 'norm' | 'value';
  maxGradient: number;
  normType: number;
}

const STATE_NAMES: Record<DenseRule['type'], string[]> = {
  sgd: ['momentum_buffer'],
  adagrad: ['sum'],
  adam: ['exp_avg', 'exp_avg_sq'],
  adamw: ['exp_avg', 'exp_avg_sq'],
};

/** The state buffers of a rule, by PyTorch's names (amsgrad keeps max_exp_avg_sq too). */
function stateNames(r: DenseRule): string[] {
  return r.amsgrad ? [...STATE_NAMES[r.type], 'max_exp_avg_sq'] : STATE_NAMES[r.type];
}

/** The rule and schedule of a `*Optimizer` oneof (SGD/Adagrad/Adam/AdamW) with its learning_rate oneof. */
export function denseGroupFromConfig(
  optimizer: DenseOptimizerConfig['optimizer'],
  learningRate: Parameters<typeof createLearningRateSchedule>[0],
  where: string,
  pattern: RegExp | null = null,
): DenseGroup {
  const o = optimizer;
  let rule: DenseRule;
  const base = {
    momentum: 0,
    dampening: 0,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    amsgrad: false,
    initialAccumulatorValue: 0,
  };
  // `fused` (PyTorch's choice of kernel, same maths) has no effect here: validation says so.
  switch (o.case) {
    case 'sgdOptimizer':
      rule = {
        ...base,
        type: 'sgd',
        lr: o.value.lr,
        momentum: o.value.momentum,
        dampening: o.value.dampening,
        nesterov: o.value.nesterov,
        weightDecay: o.value.weightDecay,
      };
      break;
    case 'adagradOptimizer':
      rule = {
        ...base,
        type: 'adagrad',
        lr: o.value.lr,
        eps: o.value.eps,
        weightDecay: o.value.weightDecay,
        initialAccumulatorValue: o.value.initialAccumulatorValue,
      };
      break;
    case 'adamOptimizer':
    case 'adamwOptimizer':
      rule = {
        ...base,
        type: o.case === 'adamOptimizer' ? 'adam' : 'adamw',
        lr: o.value.lr,
        beta1: o.value.beta1,
        beta2: o.value.beta2,
        eps: o.value.eps,
        amsgrad: o.value.amsgrad,
        weightDecay: o.value.weightDecay,
      };
      break;
    default:
      throw new Error(
        `Expected one of sgd_optimizer, adagrad_optimizer, adam_optimizer, adamw_optimizer in ${where} but received none`,
      );
  }
  const bad = (field: string, v: number, expected: string) =>
    new Error(
      `Expected ${expected} for ${where}.${o.case!.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}.${field} but received ${v}`,
    );
  if (!(rule.lr >= 0) || !Number.isFinite(rule.lr)) throw bad('lr', rule.lr, 'a finite number >= 0');
  if (!(rule.weightDecay >= 0)) throw bad('weight_decay', rule.weightDecay, 'a number >= 0');
  if (!(rule.momentum >= 0 && rule.momentum < 1)) throw bad('momentum', rule.momentum, 'a number in [0, 1)');
  if (!(rule.beta1 >= 0 && rule.beta1 < 1)) throw bad('beta1', rule.beta1, 'a number in [0, 1)');
  if (!(rule.beta2 >= 0 && rule.beta2 < 1)) throw bad('beta2', rule.beta2, 'a number in [0, 1)');
  if (!(rule.eps >= 0) || !Number.isFinite(rule.eps)) throw bad('eps', rule.eps, 'a finite number >= 0');
  if (!(rule.dampening >= 0 && rule.dampening <= 1)) throw bad('dampening', rule.dampening, 'a number in [0, 1]');
  // PyTorch's SGD refuses the same: Nesterov momentum needs a momentum and no dampening.
  if (rule.nesterov && (rule.momentum <= 0 || rule.dampening !== 0))
    throw new Error(
      `Expected momentum > 0 and dampening 0 with ${where}.sgd_optimizer.nesterov (as PyTorch's SGD) but received momentum ${rule.momentum} and dampening ${rule.dampening}`,
    );
  if (!(rule.initialAccumulatorValue >= 0))
    throw bad('initial_accumulator_value', rule.initialAccumulatorValue, 'a number >= 0');
  return { rule, schedule: createLearningRateSchedule(learningRate, rule.lr, where), pattern, where };
}

/**
 * The groups of train_config.dense_optimizer: part_optimizers, then the default group. As in
 * TorchEasyRec, a variable goes to the first part optimizer whose regex_pattern matches its whole
 * name (Python's re.fullmatch; tsrec's variable names, as checkpoints list them), the rest to
 * the default optimizer; a part optimizer without a learning_rate schedule takes the default's
 * schedule (its kind and settings) over its own lr.
 */
export function denseGroupsFromConfig(
  config: DenseOptimizerConfig | undefined,
  where = 'train_config.dense_optimizer',
): DenseGroup[] {
  if (!config) throw new Error(`Expected ${where} in the pipeline config but received none`);
  const groups: DenseGroup[] = config.partOptimizers.map((p, i) => {
    const w = `${where}.part_optimizers[${i}]`;
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${p.regexPattern})$`);
    } catch (e) {
      throw new Error(
        `Expected a valid regular expression for ${w}.regex_pattern but received ${JSON.stringify(p.regexPattern)} (${(e as Error).message})`,
      );
    }
    const schedule = p.learningRate.case === undefined ? config.learningRate : p.learningRate;
    return denseGroupFromConfig(p.optimizer as DenseOptimizerConfig['optimizer'], schedule, w, pattern);
  });
  groups.push(denseGroupFromConfig(config.optimizer, config.learningRate, where));
  return groups;
}

/** train_config.grad_clipping → settings. */
export function clipSettingsFromConfig(c: GradClipping | undefined): ClipSettings {
  if (!c) return { type: 'none', maxGradient: 1, normType: 2 };
  const type = (c.clippingType || 'none').toLowerCase();
  if (type !== 'none' && type !== 'norm' && type !== 'value')
    throw new Error(
      `Expected "none", "norm" or "value" for train_config.grad_clipping.clipping_type but received ${JSON.stringify(c.clippingType)}`,
    );
  if (type !== 'none' && !(c.maxGradient > 0))
    throw new Error(`Expected a number > 0 for train_config.grad_clipping.max_gradient but received ${c.maxGradient}`);
  if (type === 'norm' && !(c.normType > 0))
    throw new Error(`Expected a number > 0 for train_config.grad_clipping.norm_type but received ${c.normType}`);
  return { type, maxGradient: c.maxGradient, normType: c.normType };
}

interface Slot {
  name: string;
  variable: tf.Variable;
  group: number;
  state: tf.Variable[];
  /** The gradients of the batches since the last step (gradient_accumulation_steps > 1). */
  pending: tf.Variable | null;
}

/**
 * The dense optimizer: PyTorch's SGD (momentum), Adagrad, Adam (L2 weight decay) and AdamW
 * (decoupled weight decay), over named variables split into param groups by regex. State is
 * kept per variable name, so `state()`/`loadState()` round-trip through checkpoints whatever
 * the process. The step counter (Adam's bias correction) is part of the state.
 */
export class DenseOptimizer {
  private readonly slots: Slot[];
  private stepCount = 0;
  /** Batches whose gradients are in `pending` (gradient accumulation). */
  private pendingBatches = 0;

  /**
   * `accumulate`: train_config.gradient_accumulation_steps. As TorchEasyRec's TZRecOptimizer, the
   * optimizer steps on every `accumulate`-th batch with the sum of the batches' gradients (each
   * batch's loss is divided by `accumulate` before backprop, so the sum is their mean).
   */
  constructor(
    readonly groups: readonly DenseGroup[],
    variables: ReadonlyArray<readonly [string, tf.Variable]>,
    readonly accumulate = 1,
  ) {
    this.slots = variables.map(([name, variable]) => {
      let g = groups.findIndex((x) => x.pattern?.test(name));
      if (g < 0) g = groups.length - 1;
      const rule = groups[g].rule;
      const state = stateNames(rule).map((s) =>
        tf.variable(
          rule.type === 'adagrad' && rule.initialAccumulatorValue !== 0
            ? tf.fill(variable.shape, rule.initialAccumulatorValue)
            : tf.zerosLike(variable),
          false,
          `dense_opt/${name}/${s}/${nextId++}`,
        ),
      );
      const pending =
        accumulate > 1 ? tf.variable(tf.zerosLike(variable), false, `dense_opt/${name}/pending/${nextId++}`) : null;
      return { name, variable, group: g, state, pending };
    });
  }

  /**
   * Adds one batch's gradients (by variable name) to the pending sums; on every `accumulate`-th
   * batch returns the sums (the caller clips and applies them) and clears them, else null.
   * Without accumulation the gradients are returned as they are.
   */
  accumulateGradients(grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> | null {
    if (this.accumulate <= 1) return grads;
    tf.tidy(() => {
      for (const s of this.slots) {
        const g = grads[s.name];
        if (g) s.pending!.assign(tf.add(s.pending!, g));
      }
    });
    Object.values(grads).forEach((t) => t.dispose());
    if (++this.pendingBatches < this.accumulate) return null;
    this.pendingBatches = 0;
    const out: Record<string, tf.Tensor> = {};
    for (const s of this.slots) {
      out[s.name] = tf.clone(s.pending!);
      s.pending!.assign(tf.zerosLike(s.pending!));
    }
    return out;
  }

  /** Completed optimizer steps. */
  get step(): number {
    return this.stepCount;
  }

  /** Learning rate of each group at a global step / epoch. */
  learningRates(step: number, epoch: number): number[] {
    return this.groups.map((g) => g.schedule.lr(step, epoch));
  }

  /** Applies gradients by variable name (missing ones are skipped) at the groups' rates `lrs`. */
  apply(grads: Record<string, tf.Tensor>, lrs: readonly number[]): void {
    this.stepCount++;
    const t = this.stepCount;
    tf.tidy(() => {
      for (const s of this.slots) {
        const g = grads[s.name];
        if (!g) continue;
        update(s, g, this.groups[s.group].rule, lrs[s.group], t);
      }
    });
  }

  /**
   * The state as named arrays: `<variable>/<state>` per variable, plus `step`; with gradient
   * accumulation also `pending_batches` and `<variable>/pending_grad`, so a checkpoint written
   * between optimizer steps resumes exactly.
   */
  state(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = { step: Float32Array.of(this.stepCount) };
    if (this.accumulate > 1) {
      out.pending_batches = Float32Array.of(this.pendingBatches);
      for (const s of this.slots) out[`${s.name}/pending_grad`] = s.pending!.dataSync() as Float32Array;
    }
    for (const s of this.slots) {
      stateNames(this.groups[s.group].rule).forEach((n, i) => {
        out[`${s.name}/${n}`] = s.state[i].dataSync() as Float32Array;
      });
    }
    return out;
  }

  /** Restores `state()`; throws naming a missing entry or a size mismatch. */
  loadState(values: Record<string, Float32Array>, where = 'the checkpoint'): void {
    const step = values.step;
    if (step?.length !== 1) throw new Error(`Expected the dense optimizer's 'step' in ${where} but received none`);
    for (const s of this.slots) {
      stateNames(this.groups[s.group].rule).forEach((n, i) => {
        const key = `${s.name}/${n}`;
        const v = values[key];
        if (!v)
          throw new Error(
            `Expected dense optimizer state '${key}' in ${where} but received none (was the checkpoint written with another dense optimizer?)`,
          );
        if (v.length !== s.variable.size)
          throw new Error(
            `Expected ${s.variable.size} values for dense optimizer state '${key}' in ${where} but received ${v.length}`,
          );
        s.state[i].assign(tf.tensor(v, s.variable.shape, 'float32'));
      });
    }
    this.stepCount = step[0];
    if (this.accumulate > 1) {
      // A checkpoint without pending sums was written without accumulation (or at a step boundary).
      this.pendingBatches = values.pending_batches?.[0] ?? 0;
      for (const s of this.slots) {
        const v = values[`${s.name}/pending_grad`];
        s.pending!.assign(v ? tf.tensor(v, s.variable.shape, 'float32') : tf.zerosLike(s.variable));
      }
    }
  }

  dispose(): void {
    for (const s of this.slots) {
      s.state.forEach((v) => v.dispose());
      s.pending?.dispose();
    }
  }
}

let nextId = 0;

/** One variable's update (PyTorch's maths; float32 throughout). */
function update(s: Slot, grad: tf.Tensor, r: DenseRule, lr: number, t: number): void {
  const p = s.variable;
  let g = grad;
  switch (r.type) {
    case 'sgd': {
      if (r.weightDecay) g = tf.add(g, tf.mul(p, r.weightDecay));
      if (r.momentum) {
        // buf = momentum·buf + (1 − dampening)·g (buf = g on the first step); Nesterov: g + momentum·buf
        const buf = t === 1 ? g : tf.add(tf.mul(s.state[0], r.momentum), r.dampening ? tf.mul(g, 1 - r.dampening) : g);
        s.state[0].assign(buf);
        g = r.nesterov ? tf.add(g, tf.mul(buf, r.momentum)) : buf;
      }
      p.assign(tf.sub(p, tf.mul(g, lr)));
      return;
    }
    case 'adagrad': {
      if (r.weightDecay) g = tf.add(g, tf.mul(p, r.weightDecay));
      const sum = tf.add(s.state[0], tf.square(g));
      s.state[0].assign(sum);
      p.assign(tf.sub(p, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(sum), r.eps))));
      return;
    }
    case 'adam':
    case 'adamw': {
      let w: tf.Tensor = p;
      if (r.type === 'adamw' && r.weightDecay) w = tf.mul(p, 1 - lr * r.weightDecay);
      else if (r.weightDecay) g = tf.add(g, tf.mul(p, r.weightDecay));
      const bc1 = 1 - r.beta1 ** t;
      const bc2 = 1 - r.beta2 ** t;
      // On the tsrec backend one native pass does the moments and the update (same maths, other rounding).
      const fused = r.amsgrad
        ? null
        : adamStepTsrec(w, s.state[0], s.state[1], g, {
            beta1: r.beta1,
            beta2: r.beta2,
            oneMinusAcc1: bc1,
            oneMinusAcc2: bc2,
            learningRate: lr,
            epsilon: r.eps,
          });
      if (fused) {
        s.state[0].assign(fused[1]);
        s.state[1].assign(fused[2]);
        p.assign(fused[0]);
        return;
      }
      const m = tf.add(tf.mul(s.state[0], r.beta1), tf.mul(g, 1 - r.beta1));
      const v = tf.add(tf.mul(s.state[1], r.beta2), tf.mul(tf.square(g), 1 - r.beta2));
      s.state[0].assign(m);
      s.state[1].assign(v);
      let vHat = v;
      if (r.amsgrad) {
        vHat = tf.maximum(s.state[2], v);
        s.state[2].assign(vHat);
      }
      // p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps), v the running maximum under amsgrad
      const denom = tf.add(tf.div(tf.sqrt(vHat), Math.sqrt(bc2)), r.eps);
      p.assign(tf.sub(w, tf.mul(tf.div(m, denom), lr / bc1)));
      return;
    }
  }
}

/**
 * Clips gradients in place of the map (PyTorch's clip_grad_norm_ / clip_grad_value_); returns
 * the total norm before clipping (NaN for value clipping and none).
 */
export function clipGradients(grads: Record<string, tf.Tensor>, clip: ClipSettings): number {
  if (clip.type === 'none') return NaN;
  const names = Object.keys(grads);
  if (clip.type === 'value') {
    for (const n of names) {
      const old = grads[n];
      grads[n] = tf.clipByValue(old, -clip.maxGradient, clip.maxGradient);
      old.dispose();
    }
    return NaN;
  }
  const p = clip.normType;
  const total = tf.tidy(() => {
    const parts = names.map((n) => (p === Infinity ? tf.max(tf.abs(grads[n])) : tf.sum(tf.pow(tf.abs(grads[n]), p))));
    return p === Infinity ? tf.max(tf.stack(parts)) : tf.pow(tf.addN(parts), 1 / p);
  });
  const norm = total.dataSync()[0];
  total.dispose();
  const coef = clip.maxGradient / (norm + 1e-6);
  if (coef < 1) {
    for (const n of names) {
      const old = grads[n];
      grads[n] = tf.mul(old, coef);
      old.dispose();
    }
  }
  return norm;
}
