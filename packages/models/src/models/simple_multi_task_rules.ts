import { type SimpleMultiTask as SimpleMultiTaskConfig, defineModelRules } from '@tsrec/config';

/**
 * model_config.simple_multi_task's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('simple_multi_task', …)` in simple_multi_task.ts).
 */
export const SIMPLE_MULTI_TASK_RULES = defineModelRules<SimpleMultiTaskConfig>('simple_multi_task', {
  check(c, m) {
    c.warnUnusedGroups();
    c.checkTaskTowers(m.taskTowers);
  },
});
