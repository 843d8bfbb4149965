import { type DCNV1 as DCNV1Config, defineModelRules } from '@tsrec/config';

/**
 * model_config.dcn_v1's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('dcn_v1', …)` in dcn_v1.ts).
 */
export const DCN_V1_RULES = defineModelRules<DCNV1Config>('dcn_v1', {
  check(c, m) {
    c.warnUnusedGroups();
    if (!m.cross) c.error(`${c.path}.cross`, "model 'dcn_v1' needs cross { cross_num: ... } but it is not set");
    else if (m.cross.crossNum === 0) c.error(`${c.path}.cross.cross_num`, 'expected cross_num > 0 but received 0');
    c.checkMlp(`${c.path}.deep`, m.deep, true);
    c.checkMlp(`${c.path}.final`, m.final, true);
  },
});
