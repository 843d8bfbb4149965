/**
 * Advice for field names that tsrec's schema does not have but that users bring from
 * TorchEasyRec or EasyRec configs. Keyed by "<message type name>.<field name>".
 */
export const FIELD_HINTS: Readonly<Record<string, { suggestion?: string; hint?: string }>> = {
  'FeatureGroupConfig.wide_deep': { suggestion: 'group_type' },
  'ModelConfig.model_class': {
    hint: "EasyRec's model_class is not used: set the model's own message, e.g. deepfm { ... }",
  },
  'ModelConfig.generative_qwen': { hint: "TorchEasyRec's generative_qwen model is not supported yet by tsrec" },
  'ModelConfig.prompt_generative_qwen': {
    hint: "TorchEasyRec's prompt_generative_qwen model is not supported yet by tsrec",
  },
  'DLRM.bot_mlp': { suggestion: 'dense_mlp' },
  'DLRM.top_mlp': { suggestion: 'final' },
  'ExportConfig.metric_bigger': { suggestion: 'metric_larger_is_better' },
};
