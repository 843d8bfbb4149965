import { type EmbeddingInit, parseInitFn } from '@tsrec/config';

/**
 * The initialisation of a model's `<table>_wide` tables from its wide_init_fn (DeepFM,
 * WideAndDeep, xDeepFM), as TorchEasyRec applies it; undefined when unset (the default uniform).
 */
export function wideInitOf(expr: string | undefined, model: string): EmbeddingInit | undefined {
  if (!expr) return undefined;
  const init = parseInitFn(expr);
  if ('error' in init) throw new Error(`${init.error} for ${model}.wide_init_fn '${expr}'`);
  return init;
}
