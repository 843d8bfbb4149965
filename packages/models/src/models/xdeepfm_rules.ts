import { type xDeepFM as XDeepFMConfig, FeatureGroupType, defineModelRules } from '@tsrec/config';

/**
 * model_config.xdeepfm's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('xdeepfm', …)` in xdeepfm.ts).
 */
export const XDEEPFM_RULES = defineModelRules<XDeepFMConfig>('xdeepfm', {
  check(c, m) {
    const wide = c.requireGroup('wide', FeatureGroupType.WIDE);
    c.requireGroup('deep', FeatureGroupType.DEEP);
    if (wide) c.requireEqualDims(wide, 'the CIN of xdeepfm');
    if (m.wideInitFn) c.checkInitFn(`${c.path}.wide_init_fn`, m.wideInitFn);
    if (!m.cin || m.cin.cinLayerSize.length === 0)
      c.error(`${c.path}.cin`, "model 'xdeepfm' needs cin { cin_layer_size: [...] } but it is not set");
    c.checkMlp(`${c.path}.deep`, m.deep, true);
    c.checkMlp(`${c.path}.final`, m.final, true);
  },
});
