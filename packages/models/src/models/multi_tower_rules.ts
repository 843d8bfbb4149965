import { type MultiTower as MultiTowerConfig, defineModelRules } from '@tsrec/config';

/**
 * model_config.multi_tower's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('multi_tower', …)` in multi_tower.ts).
 */
export const MULTI_TOWER_RULES = defineModelRules<MultiTowerConfig>('multi_tower', {
  check(c, m) {
    if (m.towers.length === 0)
      c.error(`${c.path}.towers`, "model 'multi_tower' needs at least one towers entry but received none");
    m.towers.forEach((t, i) => c.checkTower(`${c.path}.towers[${i}]`, t, true));
    c.checkMlp(`${c.path}.final`, m.final, true);
  },
});
