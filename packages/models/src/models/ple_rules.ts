import { type PLE as PLEConfig, defineModelRules } from '@tsrec/config';

/**
 * model_config.ple's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('ple', …)` in ple.ts).
 */
export const PLE_RULES = defineModelRules<PLEConfig>('ple', {
  check(c, m) {
    c.warnUnusedGroups();
    if (m.extractionNetworks.length === 0)
      c.error(
        `${c.path}.extraction_networks`,
        "model 'ple' needs at least one extraction_networks entry but received none",
      );
    m.extractionNetworks.forEach((e, i) => {
      const ep = `${c.path}.extraction_networks[${i}]`;
      if (e.expertNumPerTask === 0)
        c.error(`${ep}.expert_num_per_task`, 'expected expert_num_per_task > 0 but received 0');
      c.checkMlp(`${ep}.task_expert_net`, e.taskExpertNet, true);
      if (e.shareNum > 0) c.checkMlp(`${ep}.share_expert_net`, e.shareExpertNet, true);
    });
    c.checkTaskTowers(m.taskTowers);
  },
});
