import * as tf from '@tensorflow/tfjs-core';

import { TSREC_BACKEND_NAME } from './backend';
import { kernelAddon } from './kernel_addon';
import { allocF32, f32Values, type TsrecBackend } from './kernel_utils';

/** AdamOptimizer's private state, as tfjs-core 4.22.0 keeps it. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * tfjs's Adam with one native kernel per variable on the `tsrec` backend (moments, bias
 * correction and the update in one pass, outputs from the backend's pool) instead of ~13 tfjs ops
 * per variable. It performs tfjs's float32 operations in tfjs's order, so results are bit-identical
 * to `tf.train.adam`; state, weights, serialization (class name `Adam`) are tfjs's own. On any
 * other backend, and for variables that are not float32, it is `tf.train.adam` unchanged.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (tf.getBackend() !== TSREC_BACKEND_NAME) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamState;
    const backend = tf.backend() as unknown as TsrecBackend;
    const varNames = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    // tfjs: oneMinusAccBeta = sub(1, accBeta) in float32 (1 and accBeta are exact float32 values).
    const oneMinusAcc1 = Math.fround(1 - self.accBeta1.dataSync()[0]);
    const oneMinusAcc2 = Math.fround(1 - self.accBeta2.dataSync()[0]);
    const constants = [
      self.beta1,
      1 - self.beta1,
      self.beta2,
      1 - self.beta2,
      oneMinusAcc1,
      oneMinusAcc2,
      -self.learningRate,
      self.epsilon,
    ];
    tf.tidy(() => {
      varNames.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (self.accumulatedFirstMoment[i] == null) {
          self.accumulatedFirstMoment[i] = {
            originalName: `${name}/m`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        }
        if (self.accumulatedSecondMoment[i] == null) {
          self.accumulatedSecondMoment[i] = {
            originalName: `${name}/v`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        }
        const gradient: tf.Tensor | undefined = Array.isArray(variableGradients)
          ? variableGradients[i].tensor
          : variableGradients[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i].variable;
        const v = self.accumulatedSecondMoment[i].variable;
        const xs = [value, m, v, gradient].map((t) => f32Values(backend, t));
        if (xs.some((a) => a === null) || gradient.size !== value.size) {
          this.tfjsStep(value, m, v, gradient, oneMinusAcc1, oneMinusAcc2);
          return;
        }
        const n = value.size;
        const outs = [allocF32(backend, n), allocF32(backend, n), allocF32(backend, n)];
        kernelAddon().tfjsAdam(xs[0]!, xs[1]!, xs[2]!, xs[3]!, outs[0], outs[1], outs[2], constants);
        const [nv, nm, ns] = outs.map((o) =>
          tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo(value.shape, 'float32', o)),
        );
        m.assign(nm);
        v.assign(ns);
        value.assign(nv);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }

  /** tfjs's own update for one variable (the fallback). */
  private tfjsStep(
    value: tf.Variable,
    m: tf.Variable,
    v: tf.Variable,
    g: tf.Tensor,
    oneMinusAcc1: number,
    oneMinusAcc2: number,
  ): void {
    const self = this as unknown as AdamState;
    const newM = tf.add(tf.mul(m, self.beta1), tf.mul(g, 1 - self.beta1));
    const newV = tf.add(tf.mul(v, self.beta2), tf.mul(tf.square(g), 1 - self.beta2));
    const mh = tf.div(newM, oneMinusAcc1);
    const vh = tf.div(newV, oneMinusAcc2);
    m.assign(newM);
    v.assign(newV);
    value.assign(tf.add(tf.mul(tf.div(mh, tf.add(tf.sqrt(vh), self.epsilon)), -self.learningRate), value));
  }
}

/** `tf.train.adam` with the fused native update on the `tsrec` backend (same defaults). */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}

/**
 * One Adam update of one variable with the native kernel (tsrec backend only): returns the new
 * [value, m, v] tensors, or null when the kernel cannot run (another backend, non-float32 data,
 * mismatched sizes) and the caller must use tfjs ops. `oneMinusAcc1/2` are 1 − β^t (bias
 * corrections); the update is value − lr·(m̂ / (sqrt(v̂) + eps)) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
 */
export function adamStepTsrec(
  value: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  gradient: tf.Tensor,
  c: {
    beta1: number;
    beta2: number;
    oneMinusAcc1: number;
    oneMinusAcc2: number;
    learningRate: number;
    epsilon: number;
  },
): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (tf.getBackend() !== TSREC_BACKEND_NAME) return null;
  const backend = tf.backend() as unknown as TsrecBackend;
  const xs = [value, m, v, gradient].map((t) => f32Values(backend, t));
  if (xs.some((a) => a === null) || gradient.size !== value.size || m.size !== value.size || v.size !== value.size)
    return null;
  const n = value.size;
  const outs = [allocF32(backend, n), allocF32(backend, n), allocF32(backend, n)];
  const constants = [
    c.beta1,
    1 - c.beta1,
    c.beta2,
    1 - c.beta2,
    Math.fround(c.oneMinusAcc1),
    Math.fround(c.oneMinusAcc2),
    -c.learningRate,
    c.epsilon,
  ];
  kernelAddon().tfjsAdam(xs[0]!, xs[1]!, xs[2]!, xs[3]!, outs[0], outs[1], outs[2], constants);
  const [nv, nm, ns] = outs.map((o) =>
    tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo(value.shape, 'float32', o)),
  );
  return [nv, nm, ns];
}
