import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { toText as protoToText } from '@bufbuild/protobuf/txtpb';
import { EasyRecConfigSchema, type EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';

/**
 * The config in protobuf text format: fields in declaration order, two-space indentation, only
 * fields that are set. Stable (same config, same text) and read back by loadPipelineConfig.
 */
export function toText(config: EasyRecConfig): string {
  return protoToText(EasyRecConfigSchema, config);
}

/** The config as JSON text with proto field names (as TorchEasyRec's JSON configs). */
export function toJsonText(config: EasyRecConfig): string {
  return `${JSON.stringify(toJson(EasyRecConfigSchema, config, { useProtoFieldName: true }), null, 2)}\n`;
}

/**
 * Writes the config to `path` (text format, or JSON for a .json path), creating directories;
 * the trainer saves the effective config as <model_dir>/pipeline.config this way.
 */
export function saveConfig(config: EasyRecConfig, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, /\.json$/i.test(path) ? toJsonText(config) : toText(config));
}
