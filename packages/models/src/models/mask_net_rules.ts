import { type MaskNet as MaskNetConfig, defineModelRules } from '@tsrec/config';

/**
 * model_config.mask_net's config rules: what `validate` checks before the model is built
 * (registered with the class by `registerModel('mask_net', …)` in mask_net.ts).
 */
export const MASK_NET_RULES = defineModelRules<MaskNetConfig>('mask_net', {
  check(c, m) {
    c.warnUnusedGroups();
    const mod = m.maskNetModule;
    const p = `${c.path}.mask_net_module`;
    if (!mod) {
      c.error(p, "model 'mask_net' needs mask_net_module { ... } but it is not set");
      return;
    }
    if (mod.nMaskBlocks === 0) c.error(`${p}.n_mask_blocks`, 'expected n_mask_blocks > 0 but received 0');
    if (!mod.maskBlock) c.error(`${p}.mask_block`, 'expected mask_block { hidden_dim: ... } but it is not set');
    else if (mod.maskBlock.hiddenDim === 0)
      c.error(`${p}.mask_block.hidden_dim`, 'expected hidden_dim > 0 but received 0');
    c.checkMlp(`${p}.top_mlp`, mod.topMlp, false);
  },
});
