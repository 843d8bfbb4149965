import * as tf from '@tensorflow/tfjs-core';
import type { MLP } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from './dense';
import { Mlp } from './mlp';

/**
 * TorchEasyRec's MMoE module (tzrec/modules/mmoe.py): `numExpert` experts (each an `expertMlp`)
 * read x; per task a gate softmax(Linear(gate_mlp(x))) over the experts mixes their outputs:
 * task t gets Σ_e gate_t,e · expert_e(x). Used by the MMoE and DBMTL models. Variables are named by
 * `layer(name)`: `expert_<e>`, `<task>/gate_mlp`, `<task>/gate`.
 */
export class MixtureOfExperts {
  readonly experts: Mlp[];
  readonly gates: { mlp: Mlp | null; output: Dense }[];
  /** Width of each task's mixture (the experts' output width). */
  readonly outputDim: number;

  constructor(
    inputDim: number,
    o: { expertMlp: MLP; numExpert: number; gateMlp?: MLP; tasks: readonly string[] },
    layer: (name: string) => { name: string; seed: number },
    track: <T extends { variables: tf.Variable[] }>(x: T) => T,
  ) {
    if (!(o.numExpert > 0)) throw new Error(`Expected num_expert > 0 but received ${o.numExpert}`);
    this.experts = Array.from({ length: o.numExpert }, (_, e) =>
      track(new Mlp(inputDim, o.expertMlp, layer(`expert_${e}`))),
    );
    this.outputDim = this.experts[0].outputDim;
    this.gates = o.tasks.map((t) => {
      const mlp = o.gateMlp ? track(new Mlp(inputDim, o.gateMlp, layer(`${t}/gate_mlp`))) : null;
      return { mlp, output: track(new Dense(mlp?.outputDim ?? inputDim, o.numExpert, layer(`${t}/gate`))) };
    });
  }

  /** Each task's mixture [B, outputDim] of x [B, inputDim]. */
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D[] {
    const B = x.shape[0];
    // Experts side by side [B, E·H] viewed as [B, E, H] (cheaper than stack, whose gradient is a
    // slow Unpack on the cpu backend); a gate [B, E] mixes them as a batched [B, 1, E]·[B, E, H].
    const H = this.outputDim;
    const experts = tf.reshape(concatColumns(this.experts.map((e) => e.apply(x, training))), [
      B,
      this.experts.length,
      H,
    ]) as tf.Tensor3D;
    return this.gates.map((g) => {
      const gate = tf.softmax(g.output.apply(g.mlp ? g.mlp.apply(x, training) : x));
      return tf.reshape(tf.matMul(tf.expandDims(gate, 1) as tf.Tensor3D, experts), [B, H]) as tf.Tensor2D;
    });
  }
}
