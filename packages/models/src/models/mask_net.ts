import * as tf from '@tensorflow/tfjs-core';
import type { MaskBlock as MaskBlockConfig, MaskNet as MaskNetConfig, ModelConfig } from '@tsrec/config';

import { concatColumns } from '../embedding/select_columns';
import { Dense } from '../layers/dense';
import { LayerNorm } from '../layers/layer_norm';
import { Mlp } from '../layers/mlp';
import type { ModelBatch, ModelContext } from './model_context';
import { registerModel } from './model_registry';
import { MASK_NET_RULES } from './mask_net_rules';
import { RankModel, type Predictions } from './rank_model';

/** One MaskBlock: relu(LN(Linear(input ⊙ Linear(relu(Linear(mask)))))). */
interface Block {
  aggregate: Dense;
  project: Dense;
  hidden: Dense;
  norm: LayerNorm;
}

/**
 * MaskNet (Wang et al. 2021), as TorchEasyRec builds it: one DEEP group (the first), x, and
 * `mask_net_module`'s n_mask_blocks MaskBlocks. A block's instance-guided mask
 * Linear(relu(Linear(x))) (aggregation_dim, or reduction_ratio × the group width, wide)
 * multiplies its input, then Linear → LayerNorm → relu (hidden_dim). Parallel: every block reads
 * LN(x) and their outputs are concatenated; serial: block i reads block i−1's output (the first
 * LN(x)). Then `top_mlp` (optional) and a linear output.
 */
export class MaskNet extends RankModel {
  private readonly group: string;
  private readonly inputNorm: LayerNorm;
  private readonly blocks: Block[];
  private readonly parallel: boolean;
  private readonly top: Mlp | null;
  private readonly output: Dense;

  constructor(config: ModelConfig, ctx: ModelContext) {
    const m = modelConfig(config).maskNetModule;
    super(config, ctx);
    this.group = this.singleGroup('mask_net');
    if (!m) throw new Error('Expected mask_net_module { … } for mask_net.mask_net_module but received none');
    if (!m.maskBlock?.hiddenDim)
      throw new Error(
        'Expected mask_block { hidden_dim: … } for mask_net.mask_net_module.mask_block but received none',
      );
    if (!(m.nMaskBlocks > 0))
      throw new Error(`Expected n_mask_blocks > 0 for mask_net.mask_net_module but received ${m.nMaskBlocks}`);
    const dim = this.embeddingGroup.groupDim(this.group);
    this.parallel = m.useParallel ?? true;
    this.inputNorm = this.track(new LayerNorm(dim, this.layer('input_ln')));
    let inputDim = dim;
    this.blocks = Array.from({ length: m.nMaskBlocks }, (_, i) => {
      const block = this.block(i, this.parallel ? dim : inputDim, dim, m.maskBlock!);
      inputDim = block.hidden.outputDim;
      return block;
    });
    const width = this.parallel ? this.blocks.reduce((s, b) => s + b.hidden.outputDim, 0) : inputDim;
    this.top = m.topMlp ? this.track(new Mlp(width, m.topMlp, this.layer('top_mlp'))) : null;
    this.output = this.track(new Dense(this.top?.outputDim ?? width, this.numClass, this.layer('output')));
  }

  private block(i: number, inputDim: number, maskDim: number, c: MaskBlockConfig): Block {
    const aggregation = c.aggregationDim || Math.floor(maskDim * (c.reductionRatio ?? 1));
    if (!(aggregation > 0))
      throw new Error(
        `Expected aggregation_dim or reduction_ratio > 0 for mask_net.mask_net_module.mask_block but received ${aggregation}`,
      );
    const name = `mask_block_${i}`;
    return {
      aggregate: this.track(new Dense(maskDim, aggregation, { ...this.layer(`${name}/mask_0`), activation: 'relu' })),
      project: this.track(new Dense(aggregation, inputDim, this.layer(`${name}/mask_1`))),
      hidden: this.track(new Dense(inputDim, c.hiddenDim!, this.layer(`${name}/hidden`))),
      norm: this.track(new LayerNorm(c.hiddenDim!, this.layer(`${name}/ln`))),
    };
  }

  predict(batch: ModelBatch, options: { training?: boolean } = {}): Predictions {
    const training = options.training ?? false;
    const { groups } = this.embeddingGroup.forward(batch, training);
    const x = groups[this.group];
    const normed = this.inputNorm.apply(x);
    const run = (b: Block, input: tf.Tensor2D) =>
      tf.relu(
        b.norm.apply(b.hidden.apply(tf.mul(input, b.project.apply(b.aggregate.apply(x))) as tf.Tensor2D)),
      ) as tf.Tensor2D;
    let h: tf.Tensor2D;
    if (this.parallel) {
      const outs = this.blocks.map((b) => run(b, normed));
      h = outs.length === 1 ? outs[0] : concatColumns(outs);
    } else {
      h = this.blocks.reduce((input, b) => run(b, input), normed);
    }
    return this.toPredictions(this.output.apply(this.top ? this.top.apply(h, training) : h));
  }
}

function modelConfig(config: ModelConfig): MaskNetConfig {
  if (config.model.case !== 'maskNet')
    throw new Error(`Expected model_config.mask_net for MaskNet but received ${config.model.case ?? 'none'}`);
  return config.model.value;
}

registerModel('mask_net', MaskNet, MASK_NET_RULES);
