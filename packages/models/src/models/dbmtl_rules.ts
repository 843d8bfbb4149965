import { type DBMTL as DBMTLConfig, defineModelRules, type TaskTower } from '@tsrec/config';

/**
 * model_config.dbmtl's config rules: what `validate` checks before the model is built (registered
 * with the class by `registerModel('dbmtl', …)` in dbmtl.ts). TorchEasyRec computes the towers in
 * order and reads the relation outputs of the towers a tower names, so each name must be an
 * earlier tower (TorchEasyRec fails at its first forward otherwise); names without a
 * relation_mlp, and a gate_mlp without expert_mlp, have no effect there (a warning here).
 */
export const DBMTL_RULES = defineModelRules<DBMTLConfig>('dbmtl', {
  check(c, m) {
    c.warnUnusedGroups();
    c.checkMlp(`${c.path}.bottom_mlp`, m.bottomMlp, false);
    c.checkMlp(`${c.path}.expert_mlp`, m.expertMlp, false);
    c.checkMlp(`${c.path}.gate_mlp`, m.gateMlp, false);
    if (m.gateMlp && !m.expertMlp)
      c.warning(`${c.path}.gate_mlp`, 'gate_mlp has no effect without expert_mlp (as in TorchEasyRec)');
    if (m.expertMlp && m.numExpert === 0) c.error(`${c.path}.num_expert`, 'expected num_expert > 0 but received 0');
    c.checkTaskTowers(m.taskTowers as unknown as TaskTower[]);
    const names = m.taskTowers.map((t) => t.towerName);
    m.taskTowers.forEach((t, i) => {
      const tp = `${c.path}.task_towers[${i}]`;
      c.checkMlp(`${tp}.relation_mlp`, t.relationMlp, false);
      if (!t.relationMlp) {
        if (t.relationTowerNames.length > 0)
          c.warning(
            `${tp}.relation_tower_names`,
            `relation_tower_names of task tower '${t.towerName}' have no effect without a relation_mlp (as in TorchEasyRec)`,
          );
        return;
      }
      t.relationTowerNames.forEach((r, j) => {
        const k = names.indexOf(r);
        if (k < 0 || k >= i)
          c.error(
            `${tp}.relation_tower_names[${j}]`,
            `task tower '${t.towerName}' names '${r}', which is not an earlier task tower (${names.slice(0, i).join(', ') || 'none before it'}): TorchEasyRec computes the towers in order`,
          );
      });
    });
  },
});
