import { type MMoE as MMoEConfig, defineModelRules } from '@tsrec/config';

/**
 * model_config.mmoe's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('mmoe', …)` in mmoe.ts).
 */
export const MMOE_RULES = defineModelRules<MMoEConfig>('mmoe', {
  check(c, m) {
    c.warnUnusedGroups();
    c.checkMlp(`${c.path}.expert_mlp`, m.expertMlp, true);
    c.checkMlp(`${c.path}.gate_mlp`, m.gateMlp, false);
    if (m.numExpert === 0) c.error(`${c.path}.num_expert`, 'expected num_expert > 0 but received 0');
    c.checkTaskTowers(m.taskTowers);
  },
});
