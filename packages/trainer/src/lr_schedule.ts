// Learning-rate schedules of the pipeline config (the `learning_rate` oneof of SparseOptimizer,
// DenseOptimizer and ParamLearningRate, protos/tsrec/protos/optimizer.proto).
//
// The maths follows TorchEasyRec's tzrec/optim/lr_scheduler.py (alibaba/TorchEasyRec, commit
// 230dd06a): `t` is the number of completed scheduler steps (TorchEasyRec's
// `max(self._step_count - 1, 0)`, 0 before the first optimizer step) or, with by_epoch, the
// number of completed epochs; `base` is the optimizer's lr.
// - Warmup (exponential, cosine, polynomial): for t < warmup_size,
//   warmup_learning_rate + (base - warmup_learning_rate) * t / warmup_size; after it the decay
//   clock restarts: u = t - warmup_size. min_learning_rate does not apply during warmup.
// - ExponentialDecayLR: max(base * decay_factor^p, min_learning_rate) with p = u / decay_size,
//   floored when staircase.
// - ManualStepLR: i = bisect_left(schedule_sizes, t) (the number of sizes < t); i > 0 gives
//   learning_rates[i - 1], so learning_rates[k] applies from t = schedule_sizes[k] + 1 on and
//   t = schedule_sizes[k] itself still gets the previous rate. Before that (i = 0) the rate is
//   base, or with warmup base + (learning_rates[0] - base) * t / schedule_sizes[0], which
//   reaches learning_rates[0] at t = schedule_sizes[0] (so warmup starts from the optimizer's
//   lr, not from 0; set the optimizer's lr to the rate to start from).
// - CosineAnnealingLR: min + (base - min) * (1 + cos(pi * c / T)) / 2 with T = T_max and
//   c = min(u, T_max) (the rate stays at min afterwards).
// - CosineAnnealingWarmRestartsLR: the same curve, restarted: period n lasts T = T_0 * T_mult^n,
//   starts at T_0 * (T_mult^n - 1) / (T_mult - 1) (n * T_0 when T_mult = 1), and c = u - start.
// - PolynomialDecayLR (tsrec extension, TensorFlow's polynomial_decay without cycle):
//   (base - end) * (1 - min(u, decay_size) / decay_size)^power + end.
// - As TorchEasyRec's BaseLR.get_lr, a base lr of 0 freezes the rate at 0 (whatever the schedule).
// - ConstantLR and an unset oneof: base; byEpoch is true as in TorchEasyRec's ConstantLR (the
//   value does not depend on it).
import type { DenseOptimizer, PartOptimizer, SparseOptimizer } from '@tsrec/config';

/** A learning rate as a function of the training position. */
export type LearningRateSchedule = {
  /** The rate for the next optimizer step, after `step` completed steps in `epoch` completed epochs. */
  lr(step: number, epoch: number): number;
  /** Whether the rate depends on the epoch count (else on the step count). */
  byEpoch: boolean;
  /** One line for logs, e.g. `exponential decay 0.001 × 0.5^floor(t/1000) over steps, min 1e-05`. */
  describe(): string;
};

/** The `learning_rate` oneof of SparseOptimizer, DenseOptimizer or PartOptimizer. */
export type LearningRateConfig =
  | SparseOptimizer['learningRate']
  | DenseOptimizer['learningRate']
  | PartOptimizer['learningRate'];

/** The proto field name of each oneof case, for error paths. */
const FIELD_NAMES: Record<NonNullable<LearningRateConfig['case']>, string> = {
  constantLearningRate: 'constant_learning_rate',
  exponentialDecayLearningRate: 'exponential_decay_learning_rate',
  manualStepLearningRate: 'manual_step_learning_rate',
  cosineAnnealingLearningRate: 'cosine_annealing_learning_rate',
  cosineAnnealingWarmRestartsLearningRate: 'cosine_annealing_warm_restarts_learning_rate',
  polynomialDecayLearningRate: 'polynomial_decay_learning_rate',
};

/**
 * Builds the schedule of a `learning_rate` oneof for an optimizer whose lr is `baseLr`. `where` is
 * the config path of the message holding the oneof (e.g. 'train_config.dense_optimizer'); errors
 * name `<where>.<oneof field>.<field>`.
 */
export function createLearningRateSchedule(
  learningRate: LearningRateConfig,
  baseLr: number,
  where: string,
): LearningRateSchedule {
  if (!(Number.isFinite(baseLr) && baseLr >= 0))
    throw new Error(`Expected a finite learning rate >= 0 for the optimizer lr of ${where} but received ${baseLr}`);
  const base = baseLr;
  if (learningRate.case === undefined || learningRate.case === 'constantLearningRate') {
    return {
      byEpoch: true,
      lr: (step, epoch) => {
        checkPosition(step, epoch, where);
        return base;
      },
      describe: () => `constant ${fmt(base)}`,
    };
  }
  const path = `${where}.${FIELD_NAMES[learningRate.case]}`;
  const fail = (field: string, expected: string, received: unknown): never => {
    throw new Error(
      `Expected ${expected} for ${path}.${field} but received ${typeof received === 'string' ? received : String(received)}`,
    );
  };
  const rate = (field: string, v: number) =>
    Number.isFinite(v) && v >= 0 ? v : fail(field, 'a finite learning rate >= 0', v);
  const positive = (field: string, v: number) => (Number.isInteger(v) && v > 0 ? v : fail(field, 'an integer > 0', v));
  const warmupOf = (from: number, size: number) => ({
    from: rate('warmup_learning_rate', from),
    size: Number.isInteger(size) && size >= 0 ? size : fail('warmup_size', 'an integer >= 0', size),
  });

  let byEpoch: boolean;
  let at: (t: number) => number;
  let text: string;
  const unit = (b: boolean) => (b ? 'epochs' : 'steps');
  switch (learningRate.case) {
    case 'exponentialDecayLearningRate': {
      const c = learningRate.value;
      const decaySize = positive('decay_size', c.decaySize);
      const factor =
        Number.isFinite(c.decayFactor) && c.decayFactor > 0 && c.decayFactor <= 1
          ? c.decayFactor
          : fail('decay_factor', 'a decay factor in (0, 1]', c.decayFactor);
      const minLr = rate('min_learning_rate', c.minLearningRate);
      const warm = warmupOf(c.warmupLearningRate, c.warmupSize);
      const staircase = c.staircase;
      byEpoch = c.byEpoch;
      at = (t) => {
        if (t < warm.size) return warm.from + ((base - warm.from) * t) / warm.size;
        const p = (t - warm.size) / decaySize;
        return Math.max(base * factor ** (staircase ? Math.floor(p) : p), minLr);
      };
      text = `exponential decay ${fmt(base)} × ${fmt(factor)}^${staircase ? `floor(t/${decaySize})` : `(t/${decaySize})`}, min ${fmt(minLr)}`;
      text += warmupText(warm, base, unit(byEpoch));
      break;
    }
    case 'manualStepLearningRate': {
      const c = learningRate.value;
      const sizes = c.scheduleSizes;
      const rates = c.learningRates;
      if (sizes.length === 0) fail('schedule_sizes', 'at least one schedule size', 'none');
      sizes.forEach((s, i) => {
        if (!(Number.isInteger(s) && s >= 0)) fail(`schedule_sizes[${i}]`, 'an integer >= 0', s);
        if (i > 0 && !(s > sizes[i - 1]))
          fail(`schedule_sizes[${i}]`, `a size > schedule_sizes[${i - 1}] = ${sizes[i - 1]} (ascending sizes)`, s);
      });
      if (rates.length !== sizes.length)
        fail('learning_rates', `one learning rate per schedule size (${sizes.length})`, `${rates.length}`);
      rates.forEach((r, i) => rate(`learning_rates[${i}]`, r));
      if (c.warmup && sizes[0] === 0)
        fail('schedule_sizes[0]', 'a size > 0 with warmup (the warmup runs from 0 to schedule_sizes[0])', 0);
      const warmup = c.warmup;
      byEpoch = c.byEpoch;
      at = (t) => {
        let i = 0; // bisect_left: the number of sizes < t
        while (i < sizes.length && sizes[i] < t) i++;
        if (i > 0) return rates[i - 1];
        return warmup ? base + ((rates[0] - base) * t) / sizes[0] : base;
      };
      text = `manual steps ${fmt(base)}${sizes.map((s, i) => `, ${fmt(rates[i])} after ${s}`).join('')} ${unit(byEpoch)}${warmup ? ' (linear from the first)' : ''}`;
      break;
    }
    case 'cosineAnnealingLearningRate': {
      const c = learningRate.value;
      const tMax = positive('T_max', c.TMax);
      const minLr = rate('min_learning_rate', c.minLearningRate);
      const warm = warmupOf(c.warmupLearningRate, c.warmupSize);
      byEpoch = c.byEpoch;
      at = (t) => {
        if (t < warm.size) return warm.from + ((base - warm.from) * t) / warm.size;
        const cur = Math.min(t - warm.size, tMax);
        return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * cur) / tMax))) / 2;
      };
      text = `cosine ${fmt(base)} → ${fmt(minLr)} over ${tMax} ${unit(byEpoch)}`;
      text += warmupText(warm, base, unit(byEpoch));
      break;
    }
    case 'cosineAnnealingWarmRestartsLearningRate': {
      const c = learningRate.value;
      const t0 = positive('T_0', c.T0);
      const mult = positive('T_mult', c.TMult);
      const minLr = rate('min_learning_rate', c.minLearningRate);
      const warm = warmupOf(c.warmupLearningRate, c.warmupSize);
      byEpoch = c.byEpoch;
      at = (t) => {
        if (t < warm.size) return warm.from + ((base - warm.from) * t) / warm.size;
        const u = t - warm.size;
        let cur: number;
        let period: number;
        if (mult === 1) {
          cur = u % t0;
          period = t0;
        } else {
          const start = (n: number) => (t0 * (mult ** n - 1)) / (mult - 1);
          let n = Math.floor(Math.log((u / t0) * (mult - 1) + 1) / Math.log(mult));
          while (n > 0 && start(n) > u) n--; // guard the closed form against rounding
          while (start(n + 1) <= u) n++;
          cur = u - start(n);
          period = t0 * mult ** n;
        }
        return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * cur) / period))) / 2;
      };
      text = `cosine ${fmt(base)} → ${fmt(minLr)} with warm restarts every ${t0} ${unit(byEpoch)}${mult !== 1 ? ` (period × ${mult})` : ''}`;
      text += warmupText(warm, base, unit(byEpoch));
      break;
    }
    case 'polynomialDecayLearningRate': {
      const c = learningRate.value;
      const decaySize = positive('decay_size', c.decaySize);
      const end = rate('end_learning_rate', c.endLearningRate);
      const power = Number.isFinite(c.power) && c.power > 0 ? c.power : fail('power', 'a power > 0', c.power);
      const warm = warmupOf(c.warmupLearningRate, c.warmupSize);
      byEpoch = c.byEpoch;
      at = (t) => {
        if (t < warm.size) return warm.from + ((base - warm.from) * t) / warm.size;
        const u = Math.min(t - warm.size, decaySize);
        return (base - end) * (1 - u / decaySize) ** power + end;
      };
      text = `polynomial decay ${fmt(base)} → ${fmt(end)} over ${decaySize} ${unit(byEpoch)}, power ${fmt(power)}`;
      text += warmupText(warm, base, unit(byEpoch));
      break;
    }
  }
  const line = text;
  return {
    byEpoch,
    lr: (step, epoch) => {
      checkPosition(step, epoch, where);
      return base === 0 ? 0 : at(byEpoch ? epoch : step);
    },
    describe: () => line,
  };
}

function checkPosition(step: number, epoch: number, where: string): void {
  if (!(Number.isInteger(step) && step >= 0))
    throw new Error(
      `Expected a completed-step count (an integer >= 0) for the learning rate of ${where} but received ${step}`,
    );
  if (!(Number.isInteger(epoch) && epoch >= 0))
    throw new Error(
      `Expected a completed-epoch count (an integer >= 0) for the learning rate of ${where} but received ${epoch}`,
    );
}

function warmupText(warm: { from: number; size: number }, base: number, unit: string): string {
  return warm.size > 0 ? `, after a linear warmup ${fmt(warm.from)} → ${fmt(base)} over ${warm.size} ${unit}` : '';
}

/** Shortest round-trip form of a float32 config value (0.001 rather than 0.0010000000474974513). */
function fmt(x: number): string {
  const f = Math.fround(x);
  if (f === x) {
    for (let p = 1; p <= 9; p++) {
      const s = Number(x.toPrecision(p));
      if (Math.fround(s) === f) return String(s);
    }
  }
  return String(x);
}
