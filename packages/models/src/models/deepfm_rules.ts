import { type DeepFM as DeepFMConfig, FeatureGroupType, defineModelRules } from '@tsrec/config';

/**
 * model_config.deepfm's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('deepfm', …)` in deepfm.ts).
 */
export const DEEPFM_RULES = defineModelRules<DeepFMConfig>('deepfm', {
  check(c, m) {
    c.requireGroup('wide', FeatureGroupType.WIDE);
    const deep = c.requireGroup('deep', FeatureGroupType.DEEP);
    const fm = c.groups.get('fm');
    if (fm) c.requireEqualDims(fm, 'the FM part of deepfm');
    else if (deep) c.requireEqualDims(deep, "deepfm without an 'fm' group uses 'deep' for FM");
    if (m.wideInitFn) c.checkInitFn(`${c.path}.wide_init_fn`, m.wideInitFn);
    c.checkMlp(`${c.path}.deep`, m.deep, true);
    c.checkMlp(`${c.path}.final`, m.final, false);
  },
});
