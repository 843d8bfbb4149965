// What tsrec can run, as lists for validation messages and docs. The oneof members (models,
// feature types, optimizers, schedules, losses, metrics, encoders) are read from the capability
// registry (capabilities.ts), the single place that classifies every config field; the value
// tables below (datasets, fg modes, activations) are enum and string values, which the registry
// does not cover.
import type { DescMessage } from '@bufbuild/protobuf';
import { CAPABILITIES } from './capabilities';
import { FeatureConfigSchema, SeqFeatureConfigSchema } from './gen/tsrec/protos/feature_pb';
import { LossConfigSchema } from './gen/tsrec/protos/loss_pb';
import { MetricConfigSchema } from './gen/tsrec/protos/metric_pb';
import { ModelConfigSchema } from './gen/tsrec/protos/model_pb';
import { DenseOptimizerSchema, SparseOptimizerSchema } from './gen/tsrec/protos/optimizer_pb';
import { SeqEncoderConfigSchema } from './gen/tsrec/protos/seq_encoder_pb';

/** The members of oneof `oneof` of `desc` that the capability registry marks implemented. */
function supportedMembers(desc: DescMessage, oneof: string): string[] {
  const o = desc.oneofs.find((x) => x.name === oneof);
  if (!o) throw new Error(`Expected oneof '${oneof}' in ${desc.name}`);
  return o.fields.map((f) => f.name).filter((n) => CAPABILITIES[desc.name]?.[n]?.kind === 'implemented');
}

/** Models tsrec trains (the implemented members of ModelConfig's `model` oneof). */
export const SUPPORTED_MODELS: readonly string[] = supportedMembers(ModelConfigSchema, 'model');

/** Multi-task models: losses and metrics live in task_towers. */
export const MULTI_TASK_MODELS: readonly string[] = ['simple_multi_task', 'mmoe', 'ple', 'dbmtl', 'dc2vr', 'pepnet'];

/** Retrieval (two-tower) models. */
export const MATCH_MODELS: readonly string[] = ['dssm', 'dssm_v2', 'dat', 'tdm'];

/** Feature types (FeatureConfig oneof members) that tsrec's feature engine handles. */
export const SUPPORTED_FEATURES: readonly string[] = supportedMembers(FeatureConfigSchema, 'feature');

/** Sub-feature types inside a grouped sequence_feature that tsrec handles. */
export const SUPPORTED_SEQUENCE_SUBFEATURES: readonly string[] = supportedMembers(SeqFeatureConfigSchema, 'feature');

/** Dataset types tsrec reads. */
export const SUPPORTED_DATASETS: readonly string[] = ['CsvDataset', 'ParquetDataset'];

/** Feature-generation modes tsrec runs (the feature engine does bucketization and generation). */
export const SUPPORTED_FG_MODES: readonly string[] = ['FG_NONE', 'FG_NORMAL', 'FG_DAG'];

/** Sparse (embedding) optimizers with fused native kernels. */
export const SUPPORTED_SPARSE_OPTIMIZERS: readonly string[] = supportedMembers(SparseOptimizerSchema, 'optimizer');

/** Dense optimizers. */
export const SUPPORTED_DENSE_OPTIMIZERS: readonly string[] = supportedMembers(DenseOptimizerSchema, 'optimizer');

/** Learning-rate schedules. */
export const SUPPORTED_LR_SCHEDULES: readonly string[] = supportedMembers(SparseOptimizerSchema, 'learning_rate');

/** Losses with fused native kernels. */
export const SUPPORTED_LOSSES: readonly string[] = supportedMembers(LossConfigSchema, 'loss');

/** Metrics. */
export const SUPPORTED_METRICS: readonly string[] = supportedMembers(MetricConfigSchema, 'metric');

/** Sequence encoders. */
export const SUPPORTED_SEQ_ENCODERS: readonly string[] = supportedMembers(SeqEncoderConfigSchema, 'seq_module');

/** MLP activations (TorchEasyRec spelling). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = [
  'nn.ReLU',
  'nn.ReLU6',
  'nn.ELU',
  'nn.Sigmoid',
  'nn.LeakyReLU',
  'nn.Tanh',
  'nn.GELU',
  'nn.SiLU',
  'nn.Identity',
  'nn.PReLU',
  '',
];
