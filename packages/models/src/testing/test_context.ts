import { listFeatures, loadPipelineConfig, type PipelineConfig } from '@tsrec/config';
import { EmbeddingCollection } from '@tsrec/native';

import type { EmbeddingRole, ModelContext, ModelFeature } from '../models/model_context';

/** A model context for tests: native CPU collections with Adagrad (recorded with their roles), seed 11. */
export function testContext(
  configText: string,
  options: { labelName?: string } = {},
): { config: PipelineConfig; ctx: ModelContext; collections: EmbeddingCollection[]; roles: EmbeddingRole[] } {
  const config = loadPipelineConfig(configText);
  const features: ModelFeature[] = listFeatures(config).map((f) => ({
    name: f.name,
    isSparse: f.isSparse,
    embeddingDim: f.embeddingDim,
    tableName: f.tableName,
    numRows: f.numRows,
    valueDim: f.message.valueDim || 1,
  }));
  const collections: EmbeddingCollection[] = [];
  const roles: EmbeddingRole[] = [];
  const ctx: ModelContext = {
    features,
    // The test decides where tables live (native CPU, Adagrad); the model only sees the interface.
    createEmbeddingCollection: (spec, role) => {
      const c = new EmbeddingCollection({ ...spec, optimizer: { type: 'adagrad' }, seed: 3 });
      collections.push(c);
      roles.push(role);
      return c;
    },
    sparseLearningRate: 0.05,
    labelName: options.labelName ?? 'label',
    seed: 11,
  };
  return { config, ctx, collections, roles };
}
