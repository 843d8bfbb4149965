import { existsSync, readFileSync } from 'node:fs';
import { EasyRecConfigSchema, type EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import type { MessageNode } from './config_ast';
import { attachLocations, attachParseWarnings } from './config_locations';
import { ConfigError } from './config_error';
import { parseJson } from './json_parser';
import { buildMessage, type BuildContext } from './message_builder';
import type { SourceLocation } from './source_location';
import { parseText } from './text_parser';
import { assertValid } from './validate';

/** Options of loadPipelineConfig and parsePipelineConfig. */
export interface LoadOptions {
  /** 'text' (protobuf text format) or 'json'; by default from the file extension or the first character. */
  format?: 'text' | 'json';
  /** Name used in error locations when parsing a string; default `<text>`. */
  fileName?: string;
  /** Also run validate() and throw an InvalidConfigError listing its errors and unsupported parts (not warnings). */
  validate?: boolean;
}

const CONFIG_EXTENSIONS = /\.(config|txt|pbtxt|prototxt|textproto|txtpb|json)$/i;

function looksLikePath(s: string): boolean {
  return !s.includes('\n') && (CONFIG_EXTENSIONS.test(s.trim()) || existsSync(s));
}

/**
 * Loads a pipeline config from a file path (`.config`/`.txt` text format, `.json` JSON) or
 * from config text itself. Every syntax or schema error is reported at once in a ConfigError,
 * each with file:line:column, its field path and a suggestion for misspelt names.
 */
export function loadPipelineConfig(pathOrText: string, options: LoadOptions = {}): EasyRecConfig {
  if (!looksLikePath(pathOrText)) return parsePipelineConfig(pathOrText, options);
  let text: string;
  try {
    text = readFileSync(pathOrText, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ConfigError([{ message: `cannot read pipeline config '${pathOrText}': ${reason}`, path: '' }]);
  }
  const format = options.format ?? (/\.json$/i.test(pathOrText) ? 'json' : undefined);
  return parsePipelineConfig(text, { ...options, format, fileName: options.fileName ?? pathOrText });
}

/** Parses config text (text format or JSON) into an EasyRecConfig; see loadPipelineConfig. */
export function parsePipelineConfig(text: string, options: LoadOptions = {}): EasyRecConfig {
  const file = options.fileName ?? '<text>';
  // A UTF-8 byte order mark (some editors write one) is not config text.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = options.format ?? (text.trimStart().startsWith('{') ? 'json' : 'text');
  const tree: MessageNode = format === 'json' ? parseJson(text, file) : parseText(text, file, EasyRecConfigSchema);
  const ctx: BuildContext = {
    json: format === 'json',
    issues: [],
    warnings: [],
    locations: new Map<string, SourceLocation>(),
  };
  const config = buildMessage(EasyRecConfigSchema, tree, ctx).message as EasyRecConfig;
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues);
  attachLocations(config, ctx.locations);
  attachParseWarnings(config, ctx.warnings!);
  if (options.validate) assertValid(config);
  return config;
}
