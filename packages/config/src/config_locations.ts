import type { Message } from '@bufbuild/protobuf';
import type { ConfigIssue } from './config_error';
import type { SourceLocation } from './source_location';

// Where each field of a loaded config came from, kept beside the message (not inside it) so
// configs stay plain protobuf messages. validate() uses it to point problems at the source.
const locations = new WeakMap<Message, ReadonlyMap<string, SourceLocation>>();

/** Records the source locations of a loaded config's fields, keyed by field path. */
export function attachLocations(config: Message, map: ReadonlyMap<string, SourceLocation>): void {
  locations.set(config, map);
}

/**
 * The source location of a field path (e.g. "feature_configs[2].id_feature.embedding_dim")
 * in a config returned by loadPipelineConfig, or of its nearest located ancestor.
 */
export function sourceLocationOf(config: Message, path: string): SourceLocation | undefined {
  const map = locations.get(config);
  if (!map) return undefined;
  for (let p = path; p !== ''; ) {
    const loc = map.get(p);
    if (loc) return loc;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut <= 0 ? '' : p.slice(0, cut);
  }
  return undefined;
}

const parseWarnings = new WeakMap<Message, readonly ConfigIssue[]>();

/** Records what the loader accepted but validate() should mention (fields set twice). */
export function attachParseWarnings(config: Message, warnings: readonly ConfigIssue[]): void {
  if (warnings.length > 0) parseWarnings.set(config, warnings);
}

/** The loader's warnings of a config returned by loadPipelineConfig. */
export function parseWarningsOf(config: Message): readonly ConfigIssue[] {
  return parseWarnings.get(config) ?? [];
}
