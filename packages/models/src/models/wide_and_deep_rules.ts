import { type WideAndDeep as WideAndDeepConfig, FeatureGroupType, defineModelRules } from '@tsrec/config';

/**
 * model_config.wide_and_deep's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('wide_and_deep', …)` in wide_and_deep.ts).
 */
export const WIDE_AND_DEEP_RULES = defineModelRules<WideAndDeepConfig>('wide_and_deep', {
  check(c, m) {
    c.requireGroup('wide', FeatureGroupType.WIDE);
    c.requireGroup('deep', FeatureGroupType.DEEP);
    if (m.wideInitFn) c.checkInitFn(`${c.path}.wide_init_fn`, m.wideInitFn);
    c.checkMlp(`${c.path}.deep`, m.deep, true);
    c.checkMlp(`${c.path}.final`, m.final, false);
  },
});
