import { type DLRM as DLRMConfig, FeatureGroupType, defineModelRules } from '@tsrec/config';

/**
 * model_config.dlrm's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('dlrm', …)` in dlrm.ts).
 */
export const DLRM_RULES = defineModelRules<DLRMConfig>('dlrm', {
  check(c, m) {
    const sparse = c.requireGroup('sparse', FeatureGroupType.DEEP);
    const dense = c.groups.get('dense');
    const dim = sparse ? c.requireEqualDims(sparse, 'dlrm interacts the sparse embeddings') : undefined;
    if (dense) {
      c.checkMlp(`${c.path}.dense_mlp`, m.denseMlp, true);
      const units = m.denseMlp?.hiddenUnits ?? [];
      if (dim !== undefined && units.length > 0 && units[units.length - 1] !== dim)
        c.error(
          `${c.path}.dense_mlp.hidden_units`,
          `the last dense_mlp hidden unit must equal the sparse embedding_dim ${dim} but is ${units[units.length - 1]}`,
        );
    }
    c.checkMlp(`${c.path}.final`, m.final, true);
  },
});
