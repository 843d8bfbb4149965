import { type DCNV2 as DCNV2Config, defineModelRules } from '@tsrec/config';

/**
 * model_config.dcn_v2's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('dcn_v2', …)` in dcn_v2.ts).
 */
export const DCN_V2_RULES = defineModelRules<DCNV2Config>('dcn_v2', {
  check(c, m) {
    c.warnUnusedGroups();
    if (!m.cross) c.error(`${c.path}.cross`, "model 'dcn_v2' needs cross { cross_num: ... } but it is not set");
    else {
      if (m.cross.crossNum === 0) c.error(`${c.path}.cross.cross_num`, 'expected cross_num > 0 but received 0');
      if (m.cross.lowRank === 0) c.error(`${c.path}.cross.low_rank`, 'expected low_rank > 0 but received 0');
    }
    c.checkMlp(`${c.path}.backbone`, m.backbone, false);
    c.checkMlp(`${c.path}.deep`, m.deep, false);
    c.checkMlp(`${c.path}.final`, m.final, true);
  },
});
