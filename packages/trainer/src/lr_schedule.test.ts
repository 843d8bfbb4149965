import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  CosineAnnealingLRSchema,
  CosineAnnealingWarmRestartsLRSchema,
  DenseOptimizerSchema,
  ExponentialDecayLRSchema,
  ManualStepLRSchema,
  PolynomialDecayLRSchema,
  ConstantLRSchema,
} from '@tsrec/config';

import { createLearningRateSchedule, type LearningRateConfig } from './lr_schedule';

const W = 'train_config.dense_optimizer';
const exp = (v: MessageInitShape<typeof ExponentialDecayLRSchema>): LearningRateConfig => ({
  case: 'exponentialDecayLearningRate',
  value: create(ExponentialDecayLRSchema, v),
});
const manual = (v: MessageInitShape<typeof ManualStepLRSchema>): LearningRateConfig => ({
  case: 'manualStepLearningRate',
  value: create(ManualStepLRSchema, v),
});
const restarts = (v: MessageInitShape<typeof CosineAnnealingWarmRestartsLRSchema>): LearningRateConfig => ({
  case: 'cosineAnnealingWarmRestartsLearningRate',
  value: create(CosineAnnealingWarmRestartsLRSchema, v),
});
const cosine = (v: MessageInitShape<typeof CosineAnnealingLRSchema>): LearningRateConfig => ({
  case: 'cosineAnnealingLearningRate',
  value: create(CosineAnnealingLRSchema, v),
});
const poly = (v: MessageInitShape<typeof PolynomialDecayLRSchema>): LearningRateConfig => ({
  case: 'polynomialDecayLearningRate',
  value: create(PolynomialDecayLRSchema, v),
});
const steps = (lr: LearningRateConfig, base: number, ts: number[]) => {
  const s = createLearningRateSchedule(lr, base, W);
  return ts.map((t) => s.lr(t, 0));
};
const expectClose = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect([i, g]).toEqual([i, expect.closeTo(want[i], 12)]));
};

describe('constant', () => {
  it('is the base lr for an unset oneof and ConstantLR, whatever the position', () => {
    const unset = createLearningRateSchedule(create(DenseOptimizerSchema).learningRate, 0.002, W);
    const constant = createLearningRateSchedule(
      { case: 'constantLearningRate', value: create(ConstantLRSchema) },
      0.002,
      W,
    );
    for (const s of [unset, constant]) {
      expect([s.lr(0, 0), s.lr(12345, 7)]).toEqual([0.002, 0.002]);
      expect(s.byEpoch).toBe(true);
      expect(s.describe()).toBe('constant 0.002');
    }
  });
});

describe('exponential decay', () => {
  const cfg = {
    decaySize: 10,
    decayFactor: 0.5,
    staircase: true,
    warmupLearningRate: 0.01,
    warmupSize: 5,
    minLearningRate: 0.01,
  };
  it('warms up linearly, then decays in stairs from the end of the warmup, floored at min_learning_rate', () => {
    // warmup: 0.01 + 0.09 * t / 5; then 0.1 * 0.5^floor((t - 5) / 10), at least 0.01
    expectClose(
      steps(exp(cfg), 0.1, [0, 1, 4, 5, 14, 15, 24, 25, 35, 44, 45, 1000]),
      [0.01, 0.028, 0.082, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 0.0125, 0.01, 0.01],
    );
  });
  it('decays continuously without staircase', () => {
    // 0.1 * 0.5^(t / 10)
    expectClose(steps(exp({ decaySize: 10, decayFactor: 0.5, staircase: false }), 0.1, [0, 5, 10, 15]), [
      0.1,
      0.1 * Math.SQRT1_2,
      0.05,
      0.05 * Math.SQRT1_2,
    ]);
  });
  it('uses the proto defaults (decay_factor 0.95 as float32, staircase)', () => {
    const f = Math.fround(0.95);
    expectClose(steps(exp({ decaySize: 100 }), 1, [99, 100, 250]), [1, f, f * f]);
  });
  it('schedules by epoch with by_epoch', () => {
    const s = createLearningRateSchedule(exp({ decaySize: 2, decayFactor: 0.5, byEpoch: true }), 0.1, W);
    expect(s.byEpoch).toBe(true);
    expectClose([s.lr(1000, 0), s.lr(0, 1), s.lr(5, 2), s.lr(9, 5)], [0.1, 0.1, 0.05, 0.025]);
  });
  it('describes itself', () => {
    expect(createLearningRateSchedule(exp(cfg), 0.1, W).describe()).toBe(
      'exponential decay 0.1 × 0.5^floor(t/10), min 0.01, after a linear warmup 0.01 → 0.1 over 5 steps',
    );
  });
});

describe('manual step', () => {
  it('applies learning_rates[i] after schedule_sizes[i] (bisect_left) and the base lr before', () => {
    expectClose(
      steps(manual({ scheduleSizes: [10, 20], learningRates: [0.05, 0.01] }), 0.1, [0, 9, 10, 11, 20, 21, 1000]),
      [0.1, 0.1, 0.1, 0.05, 0.05, 0.01, 0.01],
    );
  });
  it('interpolates from the base lr to learning_rates[0] with warmup', () => {
    // 0.1 + (0.05 - 0.1) * t / 10
    expectClose(
      steps(manual({ scheduleSizes: [10, 20], learningRates: [0.05, 0.01], warmup: true }), 0.1, [0, 5, 9, 10, 11, 21]),
      [0.1, 0.075, 0.055, 0.05, 0.05, 0.01],
    );
  });
  it('schedules by epoch with by_epoch', () => {
    const s = createLearningRateSchedule(manual({ scheduleSizes: [1], learningRates: [0.5], byEpoch: true }), 1, W);
    expect([s.lr(500, 0), s.lr(500, 1), s.lr(0, 2)]).toEqual([1, 1, 0.5]);
    expect(s.describe()).toBe('manual steps 1, 0.5 after 1 epochs');
  });
});

describe('cosine annealing', () => {
  const half = (x: number) => (1 + Math.cos(Math.PI * x)) / 2;
  it('anneals from lr to min_learning_rate over T_max and stays there', () => {
    expectClose(steps(cosine({ TMax: 10 }), 1, [0, 2, 5, 10, 11, 100]), [1, half(0.2), 0.5, 0, 0, 0]);
    expectClose(steps(cosine({ TMax: 10, minLearningRate: 0.1 }), 1, [0, 5, 10, 50]), [1, 0.55, 0.1, 0.1]);
  });
  it('warms up linearly from warmup_learning_rate, then anneals from the end of the warmup', () => {
    expectClose(
      steps(cosine({ TMax: 10, warmupSize: 4, warmupLearningRate: 0.2 }), 1, [0, 2, 3, 4, 9, 14, 20]),
      [0.2, 0.6, 0.8, 1, 0.5, 0, 0],
    );
  });
  it('cosine_annealing_warm_restarts_learning_rate restarts every T_0 with T_mult 1', () => {
    expectClose(steps(restarts({ T0: 10 }), 1, [0, 5, 9, 10, 15, 20, 25]), [1, 0.5, half(0.9), 1, 0.5, 1, 0.5]);
  });
  it('lengthens each period T_mult times', () => {
    // t_mult 2: periods [0, 10), [10, 30), [30, 70), [70, 150)
    expectClose(steps(restarts({ T0: 10, TMult: 2 }), 1, [9, 10, 20, 29, 30, 50, 69, 70, 110]), [
      half(0.9),
      1,
      0.5,
      half(19 / 20),
      1,
      0.5,
      half(39 / 40),
      1,
      0.5,
    ]);
    // T_mult 3: periods [0, 10), [10, 40), [40, 130)
    expectClose(steps(restarts({ T0: 10, TMult: 3 }), 1, [39, 40, 85, 129, 130]), [
      half(29 / 30),
      1,
      0.5,
      half(89 / 90),
      1,
    ]);
  });
  it('matches a period-by-period walk for many steps (the closed form never lands in the wrong period)', () => {
    for (const mult of [2, 3, 5]) {
      const s = createLearningRateSchedule(
        restarts({ T0: 7, TMult: mult, warmupSize: 3, warmupLearningRate: 0 }),
        1,
        W,
      );
      let start = 0;
      let len = 7;
      const wrong: number[] = [];
      for (let t = 3; t < 3000; t++) {
        while (t - 3 >= start + len) [start, len] = [start + len, len * mult];
        if (Math.abs(s.lr(t, 0) - half((t - 3 - start) / len)) > 1e-9) wrong.push(t);
      }
      expect([mult, wrong]).toEqual([mult, []]);
    }
  });
  it('describes itself', () => {
    expect(createLearningRateSchedule(restarts({ T0: 10, TMult: 2, byEpoch: true }), 1, W).describe()).toBe(
      'cosine 1 → 0 with warm restarts every 10 epochs (period × 2)',
    );
    expect(createLearningRateSchedule(cosine({ TMax: 10 }), 1, W).describe()).toBe('cosine 1 → 0 over 10 steps');
  });
});

describe('polynomial decay', () => {
  it('decays (lr - end) * (1 - t / decay_size)^power + end and stays at end', () => {
    expectClose(
      steps(poly({ decaySize: 10, endLearningRate: 0.1, power: 2 }), 1, [0, 5, 10, 20]),
      [1, 0.325, 0.1, 0.1],
    );
    expectClose(steps(poly({ decaySize: 10, endLearningRate: 0.1 }), 1, [0, 5, 10]), [1, 0.55, 0.1]);
  });
  it('warms up first', () => {
    expectClose(
      steps(poly({ decaySize: 10, warmupSize: 2, warmupLearningRate: 0 }), 1, [0, 1, 2, 7, 12]),
      [0, 0.5, 1, 0.5, 0],
    );
  });
});

describe('a base lr of 0', () => {
  it('freezes the rate at 0 (TorchEasyRec BaseLR.get_lr)', () => {
    expect(steps(exp({ decaySize: 10, warmupSize: 5, warmupLearningRate: 0.01 }), 0, [0, 3, 50])).toEqual([0, 0, 0]);
    expect(steps(manual({ scheduleSizes: [1], learningRates: [0.5] }), 0, [0, 5])).toEqual([0, 0]);
  });
});

describe('errors', () => {
  const P = `${W}.`;
  it.each<[string, LearningRateConfig, string]>([
    [
      'decay_size 0',
      exp({ decaySize: 0 }),
      `Expected an integer > 0 for ${P}exponential_decay_learning_rate.decay_size but received 0`,
    ],
    [
      'decay_factor 0',
      exp({ decaySize: 1, decayFactor: 0 }),
      `Expected a decay factor in (0, 1] for ${P}exponential_decay_learning_rate.decay_factor but received 0`,
    ],
    [
      'decay_factor 1.5',
      exp({ decaySize: 1, decayFactor: 1.5 }),
      `Expected a decay factor in (0, 1] for ${P}exponential_decay_learning_rate.decay_factor but received 1.5`,
    ],
    [
      'min_learning_rate < 0',
      exp({ decaySize: 1, minLearningRate: -1 }),
      `Expected a finite learning rate >= 0 for ${P}exponential_decay_learning_rate.min_learning_rate but received -1`,
    ],
    [
      'warmup_learning_rate NaN',
      exp({ decaySize: 1, warmupLearningRate: NaN }),
      `Expected a finite learning rate >= 0 for ${P}exponential_decay_learning_rate.warmup_learning_rate but received NaN`,
    ],
    [
      'no schedule sizes',
      manual({}),
      `Expected at least one schedule size for ${P}manual_step_learning_rate.schedule_sizes but received none`,
    ],
    [
      'sizes not ascending',
      manual({ scheduleSizes: [10, 10], learningRates: [1, 2] }),
      `Expected a size > schedule_sizes[0] = 10 (ascending sizes) for ${P}manual_step_learning_rate.schedule_sizes[1] but received 10`,
    ],
    [
      'rate count',
      manual({ scheduleSizes: [10, 20], learningRates: [1] }),
      `Expected one learning rate per schedule size (2) for ${P}manual_step_learning_rate.learning_rates but received 1`,
    ],
    [
      'negative rate',
      manual({ scheduleSizes: [10], learningRates: [-0.5] }),
      `Expected a finite learning rate >= 0 for ${P}manual_step_learning_rate.learning_rates[0] but received -0.5`,
    ],
    [
      'warmup to 0',
      manual({ scheduleSizes: [0, 5], learningRates: [1, 2], warmup: true }),
      `Expected a size > 0 with warmup (the warmup runs from 0 to schedule_sizes[0]) for ${P}manual_step_learning_rate.schedule_sizes[0] but received 0`,
    ],
    [
      'T_max 0',
      cosine({ TMax: 0 }),
      `Expected an integer > 0 for ${P}cosine_annealing_learning_rate.T_max but received 0`,
    ],
    [
      'T_mult 0',
      restarts({ T0: 3, TMult: 0 }),
      `Expected an integer > 0 for ${P}cosine_annealing_warm_restarts_learning_rate.T_mult but received 0`,
    ],
    [
      'cosine min < 0',
      cosine({ TMax: 3, minLearningRate: -0.1 }),
      `Expected a finite learning rate >= 0 for ${P}cosine_annealing_learning_rate.min_learning_rate but received -0.1`,
    ],
    [
      'polynomial decay_size 0',
      poly({}),
      `Expected an integer > 0 for ${P}polynomial_decay_learning_rate.decay_size but received 0`,
    ],
    [
      'power 0',
      poly({ decaySize: 3, power: 0 }),
      `Expected a power > 0 for ${P}polynomial_decay_learning_rate.power but received 0`,
    ],
    [
      'end < 0',
      poly({ decaySize: 3, endLearningRate: -1 }),
      `Expected a finite learning rate >= 0 for ${P}polynomial_decay_learning_rate.end_learning_rate but received -1`,
    ],
  ])('%s', (_name, lr, message) => {
    expect(() => createLearningRateSchedule(lr, 0.1, W)).toThrow(new Error(message));
  });
  it('rejects a bad base lr and a bad position', () => {
    expect(() => createLearningRateSchedule(exp({ decaySize: 1 }), -1, W)).toThrow(
      new Error(`Expected a finite learning rate >= 0 for the optimizer lr of ${W} but received -1`),
    );
    const s = createLearningRateSchedule(exp({ decaySize: 1 }), 1, W);
    expect(() => s.lr(-1, 0)).toThrow(
      new Error(`Expected a completed-step count (an integer >= 0) for the learning rate of ${W} but received -1`),
    );
    expect(() => s.lr(0, 0.5)).toThrow(
      new Error(`Expected a completed-epoch count (an integer >= 0) for the learning rate of ${W} but received 0.5`),
    );
  });
});
