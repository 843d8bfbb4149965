import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { clone, create, toJson } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
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
  const complete = clone(EasyRecConfigSchema, config);
  fillRequired(reflect(EasyRecConfigSchema, complete));
  return `${JSON.stringify(toJson(EasyRecConfigSchema, complete, { useProtoFieldName: true }), null, 2)}\n`;
}

/**
 * Sets every unset proto2 `required` field to its default, recursively. TorchEasyRec's parser
 * (Python's text_format.Merge) does not insist on required fields, so configs may lack them and
 * read the defaults; protobuf-es's JSON writer refuses such messages, so they are written out.
 */
function fillRequired(r: ReflectMessage): void {
  for (const field of r.desc.fields) {
    if (!r.isSet(field)) {
      if (field.proto.label !== LABEL_REQUIRED) continue;
      if (field.fieldKind === 'message') r.set(field, reflect(field.message, create(field.message)));
      else if (field.fieldKind === 'scalar' || field.fieldKind === 'enum') r.set(field, r.get(field));
    }
    if (field.fieldKind === 'message') fillRequired(r.get(field));
    else if (field.fieldKind === 'list' && field.listKind === 'message')
      for (const m of r.get(field)) fillRequired(m as ReflectMessage);
    else if (field.fieldKind === 'map' && field.mapKind === 'message')
      for (const m of r.get(field).values()) fillRequired(m as ReflectMessage);
  }
}

/** FieldDescriptorProto.Label.LABEL_REQUIRED. */
const LABEL_REQUIRED = 2;

/**
 * Writes the config to `path` (text format, or JSON for a .json path), creating directories;
 * the trainer saves the effective config as <model_dir>/pipeline.config this way.
 */
export function saveConfig(config: EasyRecConfig, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, /\.json$/i.test(path) ? toJsonText(config) : toText(config));
}
