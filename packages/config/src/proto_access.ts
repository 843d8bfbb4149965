import { createRegistry, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import { file_tsrec_protos_pipeline } from './gen/tsrec/protos/pipeline_pb';

/** Every message and enum of the tsrec schema, by full name. */
export const schemaRegistry = createRegistry(
  file_tsrec_protos_pipeline,
  ...allDependencies(file_tsrec_protos_pipeline),
);

function allDependencies(file: { dependencies: readonly { dependencies: readonly unknown[] }[] }): never[] {
  const out = new Set<unknown>();
  const visit = (f: { dependencies: readonly unknown[] }): void => {
    for (const d of f.dependencies) {
      if (!out.has(d)) {
        out.add(d);
        visit(d as { dependencies: readonly unknown[] });
      }
    }
  };
  visit(file);
  return [...out] as never[];
}

/** The descriptor of a tsrec message. */
export function descOf(msg: Message): DescMessage {
  const desc = schemaRegistry.getMessage(msg.$typeName);
  if (!desc) throw new Error(`Expected a tsrec config message but received ${msg.$typeName}`);
  return desc;
}

/** The field named `name` (proto name) of a message type. */
export function fieldOf(desc: DescMessage, name: string): DescField {
  const f = desc.fields.find((x) => x.name === name);
  if (!f) throw new Error(`Expected a field of ${desc.typeName} but received '${name}'`);
  return f;
}

/** Whether a field (by proto name) is explicitly set. */
export function has(msg: Message, name: string): boolean {
  const desc = descOf(msg);
  return reflect(desc, msg).isSet(fieldOf(desc, name));
}

/** The proto name of the field set in a oneof, or undefined. */
export function oneofCase(msg: Message, oneof: string): string | undefined {
  const desc = descOf(msg);
  const o = desc.oneofs.find((x) => x.name === oneof);
  if (!o) throw new Error(`Expected a oneof of ${desc.typeName} but received '${oneof}'`);
  return reflect(desc, msg).oneofCase(o)?.name;
}

/** Like has(), but false when the message type has no such field (for loosely typed access). */
export function hasIfField(msg: Message, name: string): boolean {
  const desc = descOf(msg);
  const f = desc.fields.find((x) => x.name === name);
  return f !== undefined && reflect(desc, msg).isSet(f);
}
