import { type DSSM as DSSMConfig, Similarity, defineModelRules } from '@tsrec/config';

/**
 * model_config.dssm's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('dssm', …)` in dssm.ts).
 */
export const DSSM_RULES = defineModelRules<DSSMConfig>('dssm', {
  check(c, m) {
    c.checkTower(`${c.path}.user_tower`, m.userTower, true);
    c.checkTower(`${c.path}.item_tower`, m.itemTower, true);
    if (!(m.outputDim > 0)) c.error(`${c.path}.output_dim`, `expected output_dim > 0 but received ${m.outputDim}`);
    if (!(m.temperature > 0))
      c.error(`${c.path}.temperature`, `expected temperature > 0 but received ${m.temperature}`);
    if (m.similarity === Similarity.EUCLID)
      c.unsupported(`${c.path}.similarity`, 'similarity EUCLID', 'use INNER_PRODUCT or COSINE');
    if (!m.inBatchNegative)
      c.unsupported(
        `${c.path}.in_batch_negative`,
        'dssm without in_batch_negative (it needs a negative sampler)',
        'set in_batch_negative: true',
      );
  },
});
