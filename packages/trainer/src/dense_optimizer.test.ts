import * as tf from '@tensorflow/tfjs-core';
import { loadPipelineConfig } from '@tsrec/config';
import { setUpTfjs } from '@tsrec/models';
import { adamStepTsrec } from '@tsrec/native';

import { clipGradients, DenseOptimizer, denseGroupsFromConfig, type DenseRule } from './dense_optimizer';

beforeAll(() => setUpTfjs('cpu'));

const seed = Number(process.env.TSREC_TEST_SEED ?? Date.now() % 100000);
console.log(`dense_optimizer.test seed ${seed}`);

function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** PyTorch's update rules in float64 (the reference). */
function referenceSteps(rule: DenseRule, p0: number[], grads: number[][], lrs: number[]): number[] {
  const p = p0.slice();
  const s1 = p.map(() => (rule.type === 'adagrad' ? rule.initialAccumulatorValue : 0));
  const s2 = p.map(() => 0);
  const vMax = p.map(() => 0);
  grads.forEach((g0, k) => {
    const t = k + 1;
    const lr = lrs[k];
    for (let i = 0; i < p.length; i++) {
      let g = g0[i];
      if (rule.type === 'sgd') {
        if (rule.weightDecay) g += rule.weightDecay * p[i];
        if (rule.momentum) {
          s1[i] = t === 1 ? g : rule.momentum * s1[i] + (1 - rule.dampening) * g;
          g = rule.nesterov ? g + rule.momentum * s1[i] : s1[i];
        }
        p[i] -= lr * g;
      } else if (rule.type === 'adagrad') {
        if (rule.weightDecay) g += rule.weightDecay * p[i];
        s1[i] += g * g;
        p[i] -= (lr * g) / (Math.sqrt(s1[i]) + rule.eps);
      } else {
        let w = p[i];
        if (rule.type === 'adamw') w *= 1 - lr * rule.weightDecay;
        else if (rule.weightDecay) g += rule.weightDecay * p[i];
        s1[i] = rule.beta1 * s1[i] + (1 - rule.beta1) * g;
        s2[i] = rule.beta2 * s2[i] + (1 - rule.beta2) * g * g;
        const bc1 = 1 - rule.beta1 ** t;
        const bc2 = 1 - rule.beta2 ** t;
        vMax[i] = Math.max(vMax[i], s2[i]);
        const v = rule.amsgrad ? vMax[i] : s2[i];
        p[i] = w - (lr / bc1) * (s1[i] / (Math.sqrt(v) / Math.sqrt(bc2) + rule.eps));
      }
    }
  });
  return p;
}

function groupsFor(text: string) {
  return denseGroupsFromConfig(
    loadPipelineConfig(`train_config { sparse_optimizer { sgd_optimizer { lr: 0.002 } } dense_optimizer { ${text} } }`)
      .trainConfig!.denseOptimizer,
  );
}

describe('DenseOptimizer', () => {
  it.each([
    ['sgd with momentum and weight decay', 'sgd_optimizer { lr: 0.1 momentum: 0.9 weight_decay: 0.01 }'],
    ['sgd without momentum', 'sgd_optimizer { lr: 0.1 momentum: 0 }'],
    ['sgd with dampening', 'sgd_optimizer { lr: 0.1 momentum: 0.9 dampening: 0.3 }'],
    ['sgd with Nesterov momentum', 'sgd_optimizer { lr: 0.1 momentum: 0.8 nesterov: true }'],
    ['adagrad', 'adagrad_optimizer { lr: 0.1 weight_decay: 0.001 }'],
    [
      'adagrad with initial_accumulator_value and eps',
      'adagrad_optimizer { lr: 0.1 initial_accumulator_value: 0.5 eps: 0.01 }',
    ],
    ['adam', 'adam_optimizer { lr: 0.01 }'],
    ['adam with eps', 'adam_optimizer { lr: 0.01 eps: 0.001 }'],
    ['adam with amsgrad', 'adam_optimizer { lr: 0.01 amsgrad: true }'],
    ['adamw with amsgrad', 'adamw_optimizer { lr: 0.01 weight_decay: 0.05 amsgrad: true }'],
    ['adam with L2', 'adam_optimizer { lr: 0.01 weight_decay: 0.05 }'],
    ['adamw', 'adamw_optimizer { lr: 0.01 weight_decay: 0.05 beta1: 0.8 beta2: 0.99 }'],
  ])("%s matches PyTorch's rule (float64 reference) over 6 steps with a changing lr", (_, text) => {
    const groups = groupsFor(`${text} constant_learning_rate {}`);
    const r = rng(seed);
    const n = 1 + Math.floor((r() + 0.5) * 40);
    const p0 = Array.from({ length: n }, () => r());
    const v = tf.variable(tf.tensor1d(p0), true, `opt_test_${Math.random()}`);
    const opt = new DenseOptimizer(groups, [['w', v]]);
    const grads = Array.from({ length: 6 }, () => Array.from({ length: n }, () => r() * 2));
    const lrs = [1, 0.5, 2, 1, 0.25, 1].map((f) => f * groups[0].rule.lr);
    grads.forEach((g, k) => opt.apply({ w: tf.tensor1d(g) }, [lrs[k]]));
    const got = Array.from(v.dataSync());
    const want = referenceSteps(groups[0].rule, p0, grads, lrs);
    got.forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
    expect(opt.step).toBe(6);
    opt.dispose();
    v.dispose();
  });

  it.each([
    ['adam', 'adam_optimizer { lr: 0.01 }'],
    ['adam with L2', 'adam_optimizer { lr: 0.01 weight_decay: 0.05 }'],
    ['adamw', 'adamw_optimizer { lr: 0.01 weight_decay: 0.05 beta1: 0.8 beta2: 0.99 }'],
  ])('%s on the tsrec backend (native fused step) matches the reference too', async (_, text) => {
    await setUpTfjs('tsrec');
    try {
      const probe = tf.tidy(
        () =>
          adamStepTsrec(tf.ones([4]), tf.zeros([4]), tf.zeros([4]), tf.ones([4]), {
            beta1: 0.9,
            beta2: 0.999,
            oneMinusAcc1: 0.1,
            oneMinusAcc2: 0.001,
            learningRate: 0.1,
            epsilon: 1e-8,
          }) ?? [],
      );
      expect(probe).toHaveLength(3); // null (no native step) would give []: the native path is the one tested below
      const groups = groupsFor(`${text} constant_learning_rate {}`);
      const r = rng(seed + 7);
      const n = 3 + Math.floor((r() + 0.5) * 300);
      const p0 = Array.from({ length: n }, () => r());
      const v = tf.variable(tf.tensor1d(p0), true, `opt_tsrec_${Math.random()}`);
      const opt = new DenseOptimizer(groups, [['w', v]]);
      const grads = Array.from({ length: 5 }, () => Array.from({ length: n }, () => r() * 2));
      const lrs = [1, 0.5, 2, 1, 0.25].map((f) => f * groups[0].rule.lr);
      grads.forEach((g, k) => opt.apply({ w: tf.tensor1d(g) }, [lrs[k]]));
      const want = referenceSteps(groups[0].rule, p0, grads, lrs);
      Array.from(v.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
      opt.dispose();
      v.dispose();
    } finally {
      await setUpTfjs('cpu');
    }
  });

  it('routes variables to part_optimizers by regex (first full match) and the rest to the default', () => {
    const groups = groupsFor(
      'part_optimizers { sgd_optimizer { lr: 0.5 momentum: 0 } regex_pattern: "deep/.*" } adam_optimizer { lr: 0.01 }',
    );
    expect(groups.map((g) => g.rule.type)).toEqual(['sgd', 'adam']);
    const a = tf.variable(tf.tensor1d([1, 1]), true, 'deep/a_opt_test');
    const b = tf.variable(tf.tensor1d([1, 1]), true, 'final/b_opt_test');
    const opt = new DenseOptimizer(groups, [
      ['deep/a', a],
      ['final/b', b],
    ]);
    opt.apply({ 'deep/a': tf.tensor1d([1, 2]), 'final/b': tf.tensor1d([1, 2]) }, opt.learningRates(0, 0));
    expect(Array.from(a.dataSync())).toEqual([0.5, 0]);
    // Adam's first step moves each weight by lr (sign of g).
    Array.from(b.dataSync()).forEach((x) => expect(x).toBeCloseTo(0.99, 6));
    expect(Object.keys(opt.state()).sort()).toEqual([
      'deep/a/momentum_buffer',
      'final/b/exp_avg',
      'final/b/exp_avg_sq',
      'step',
    ]);
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it("matches whole names only (re.fullmatch) and gives a part optimizer without a schedule the default's", () => {
    const groups = groupsFor(
      'part_optimizers { sgd_optimizer { lr: 0.5 } regex_pattern: "deep" } ' +
        'part_optimizers { sgd_optimizer { lr: 0.2 } regex_pattern: "d.*" constant_learning_rate {} } ' +
        'adam_optimizer { lr: 0.01 } exponential_decay_learning_rate { decay_size: 10 decay_factor: 0.5 }',
    );
    expect(groups.map((g) => [g.pattern?.test('deep/a') ?? null, g.pattern?.test('deep') ?? null])).toEqual([
      [false, true],
      [true, true],
      [null, null],
    ]);
    // The first part optimizer decays as the default does, from its own lr; the second stays constant.
    expect(groups.map((g) => g.schedule.lr(10, 0))).toEqual([0.25, 0.2, 0.005]);
  });

  it('state() and loadState() resume the exact trajectory', () => {
    const groups = groupsFor('adam_optimizer { lr: 0.01 }');
    const r = rng(seed + 1);
    const grads = Array.from({ length: 4 }, () => Array.from({ length: 5 }, () => r()));
    const run = (split: boolean) => {
      const v = tf.variable(tf.tensor1d([1, 2, 3, 4, 5]), true, `resume_${Math.random()}`);
      let opt = new DenseOptimizer(groups, [['w', v]]);
      grads.forEach((g, k) => {
        if (split && k === 2) {
          const st = opt.state();
          opt.dispose();
          opt = new DenseOptimizer(groups, [['w', v]]);
          opt.loadState(st);
        }
        opt.apply({ w: tf.tensor1d(g) }, [0.01]);
      });
      const out = Array.from(v.dataSync());
      opt.dispose();
      v.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('names a missing or mis-sized state entry', () => {
    const v = tf.variable(tf.zeros([3]), true, `ls_${Math.random()}`);
    const opt = new DenseOptimizer(groupsFor('adam_optimizer { lr: 0.002 }'), [['deep/w', v]]);
    expect(() => opt.loadState({ step: Float32Array.of(1) }, "'x.safetensors'")).toThrow(
      "Expected dense optimizer state 'deep/w/exp_avg' in 'x.safetensors' but received none",
    );
    expect(() =>
      opt.loadState({
        step: Float32Array.of(1),
        'deep/w/exp_avg': new Float32Array(2),
        'deep/w/exp_avg_sq': new Float32Array(3),
      }),
    ).toThrow("Expected 3 values for dense optimizer state 'deep/w/exp_avg' in the checkpoint but received 2");
    opt.dispose();
    v.dispose();
  });

  it('rejects bad settings with the config path', () => {
    expect(() => groupsFor('adam_optimizer { lr: 0.002 beta1: 1.5 }')).toThrow(
      'Expected a number in [0, 1) for train_config.dense_optimizer.adam_optimizer.beta1 but received 1.5',
    );
    expect(() =>
      groupsFor('part_optimizers { sgd_optimizer { lr: 0.002 } regex_pattern: "(" } adam_optimizer { lr: 0.002 }'),
    ).toThrow(
      'Expected a valid regular expression for train_config.dense_optimizer.part_optimizers[0].regex_pattern but received "("',
    );
    expect(() => denseGroupsFromConfig(undefined)).toThrow(
      'Expected train_config.dense_optimizer in the pipeline config but received none',
    );
  });
});

describe('clipGradients', () => {
  it('scales all gradients by max/(global norm) when the norm is larger (PyTorch clip_grad_norm_)', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) };
    const norm = clipGradients(g, { type: 'norm', maxGradient: 1, normType: 2 });
    expect(norm).toBeCloseTo(5, 6);
    expect(Array.from(g.a.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(g.b.dataSync())[1]).toBeCloseTo(0.8, 5);
    const small = { a: tf.tensor1d([0.1, 0.2]) };
    clipGradients(small, { type: 'norm', maxGradient: 1, normType: 2 });
    expect(Array.from(small.a.dataSync())).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
  it('clamps element-wise for value clipping', () => {
    const g = { a: tf.tensor1d([-3, 0.5, 2]) };
    clipGradients(g, { type: 'value', maxGradient: 1, normType: 2 });
    expect(Array.from(g.a.dataSync())).toEqual([-1, 0.5, 1]);
  });
});
