import { create, fromJson, type DescField, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { describeNode, type FieldNode, type MessageNode, type ScalarNode, type ValueNode } from './config_ast';
import type { ConfigIssue } from './config_error';
import { didYouMean } from './did_you_mean';
import { FIELD_HINTS } from './field_hints';
import { convertScalar, expectedDescription } from './scalar_value';
import type { SourceLocation } from './source_location';

/** Shared state of one build: the format's rules, the problems found, where each field was. */
export interface BuildContext {
  json: boolean;
  issues: ConfigIssue[];
  /**
   * Accepted but worth saying: a non-repeated field set twice (TorchEasyRec's parser,
   * text_format.Merge, keeps the last value and merges messages; so does tsrec).
   */
  warnings?: ConfigIssue[];
  /** Field path -> location of the field (or list item) in the source. */
  locations: Map<string, SourceLocation>;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/**
 * Builds a message of type `desc` from a syntax tree, checking every field name and value
 * against the schema. Problems are collected in ctx.issues (all of them, not just the
 * first); fields with problems are left unset.
 */
export function buildMessage(desc: DescMessage, node: MessageNode, ctx: BuildContext, path = ''): ReflectMessage {
  const r = reflect(desc, create(desc));
  mergeInto(r, node, ctx, path);
  return r;
}

/** Merges the fields of `node` into an existing message. */
export function mergeInto(r: ReflectMessage, node: MessageNode, ctx: BuildContext, path: string): void {
  const desc = r.desc;
  const seen = new Map<string, SourceLocation>();
  for (const f of node.fields) {
    const field =
      desc.fields.find((x) => x.name === f.name) ??
      (ctx.json ? desc.fields.find((x) => x.jsonName === f.name) : undefined);
    if (!field) {
      const known = FIELD_HINTS[`${desc.name}.${f.name}`];
      ctx.issues.push({
        message: `unknown field '${f.name}'`,
        path,
        location: f.loc,
        suggestion: known
          ? known.suggestion
          : didYouMean(
              f.name,
              desc.fields.map((x) => x.name),
            ),
        hint: known?.hint,
      });
      continue;
    }
    if (f.value.kind === 'scalar' && f.value.type === 'null' && ctx.json) continue;
    const fieldPath = join(path, field.name);
    if (field.fieldKind !== 'list' && field.fieldKind !== 'map') {
      // As TorchEasyRec's text_format.Merge: a repeated scalar replaces the first value, a
      // repeated message merges into the first, a second oneof member replaces the first.
      const first = seen.get(field.name);
      if (first) {
        const merged = field.fieldKind === 'message' && f.value.kind === 'message';
        (ctx.warnings ?? ctx.issues).push({
          message: `field '${field.name}' is set twice (first at line ${first.line}, column ${first.column}); ${merged ? 'the two are merged' : 'the last value is used'}, as TorchEasyRec's parser does`,
          path,
          location: f.loc,
        });
        if (!ctx.warnings) continue;
        if (merged && r.isSet(field)) {
          mergeInto(r.get(field) as ReflectMessage, f.value as MessageNode, ctx, join(path, field.name));
          continue;
        }
      }
      seen.set(field.name, f.loc);
      if (field.oneof) {
        const other = r.oneofCase(field.oneof);
        if (other && other !== field) {
          const at = seen.get(other.name);
          (ctx.warnings ?? ctx.issues).push({
            message: `'${field.name}' and '${other.name}' are both set in oneof '${field.oneof.name}'${at ? ` ('${other.name}' at line ${at.line}, column ${at.column})` : ''}; the last one is used, as TorchEasyRec's parser does`,
            path,
            location: f.loc,
          });
          if (!ctx.warnings) continue;
        }
      }
    }
    setField(r, field, f, ctx, path, fieldPath);
  }
}

function typeMismatch(field: DescField, expected: string, value: ValueNode, ctx: BuildContext, path: string): void {
  ctx.issues.push({
    message: `expected ${expected} for ${field.name} but received ${describeNode(value)}`,
    path,
    location: value.loc,
  });
}

function setField(
  r: ReflectMessage,
  field: DescField,
  f: FieldNode,
  ctx: BuildContext,
  path: string,
  fieldPath: string,
): void {
  const v = f.value;
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum': {
      ctx.locations.set(fieldPath, f.loc);
      if (v.kind !== 'scalar') {
        typeMismatch(
          field,
          expectedDescription(field.scalar, field.fieldKind === 'enum' ? field.enum : undefined),
          v,
          ctx,
          path,
        );
        return;
      }
      const c = convertScalar(field.scalar, field.fieldKind === 'enum' ? field.enum : undefined, v, ctx.json);
      if (!c.ok) {
        ctx.issues.push({
          message: `expected ${c.expected} for ${field.name} but received ${describeNode(v)}`,
          path,
          location: v.loc,
          suggestion: c.suggestion,
        });
        return;
      }
      r.set(field, c.value);
      return;
    }
    case 'message': {
      ctx.locations.set(fieldPath, f.loc);
      const child = buildChild(field.message, v, field, ctx, path, fieldPath);
      if (child) r.set(field, child);
      return;
    }
    case 'list': {
      const list = r.get(field);
      const items = v.kind === 'list' ? v.items : [v];
      if (ctx.json && v.kind !== 'list') {
        typeMismatch(field, 'a list', v, ctx, path);
        return;
      }
      for (const item of items) {
        const itemPath = `${fieldPath}[${list.size}]`;
        const itemLoc = v.kind === 'list' || item.kind === 'scalar' ? item.loc : f.loc;
        if (field.listKind === 'message') {
          const child = buildChild(field.message, item, field, ctx, path, itemPath);
          if (child) {
            ctx.locations.set(itemPath, itemLoc);
            list.add(child);
          }
          continue;
        }
        if (item.kind !== 'scalar') {
          typeMismatch(
            field,
            expectedDescription(field.scalar, field.listKind === 'enum' ? field.enum : undefined),
            item,
            ctx,
            path,
          );
          continue;
        }
        const c = convertScalar(field.scalar, field.listKind === 'enum' ? field.enum : undefined, item, ctx.json);
        if (!c.ok) {
          ctx.issues.push({
            message: `expected ${c.expected} for ${field.name} but received ${describeNode(item)}`,
            path,
            location: item.loc,
            suggestion: c.suggestion,
          });
          continue;
        }
        ctx.locations.set(itemPath, itemLoc);
        list.add(c.value);
      }
      return;
    }
    case 'map': {
      const map = r.get(field);
      const entries: { key: ScalarNode; value: ValueNode; loc: SourceLocation }[] = [];
      if (ctx.json) {
        if (v.kind !== 'message') return typeMismatch(field, 'an object', v, ctx, path);
        for (const e of v.fields)
          entries.push({
            key: { kind: 'scalar', type: 'string', raw: JSON.stringify(e.name), value: e.name, loc: e.loc },
            value: e.value,
            loc: e.loc,
          });
      } else {
        for (const item of v.kind === 'list' ? v.items : [v]) {
          if (item.kind !== 'message') {
            typeMismatch(field, 'a map entry { key: ... value: ... }', item, ctx, path);
            continue;
          }
          let key: ScalarNode | undefined;
          let value: ValueNode | undefined;
          let bad = false;
          for (const e of item.fields) {
            if (e.name === 'key' && e.value.kind === 'scalar') key = e.value;
            else if (e.name === 'value') value = e.value;
            else {
              bad = true;
              ctx.issues.push({
                message: `unknown field '${e.name}' in a map entry`,
                path: join(path, field.name),
                location: e.loc,
                suggestion: didYouMean(e.name, ['key', 'value']),
              });
            }
          }
          if (bad) continue;
          if (!key) {
            ctx.issues.push({ message: `map entry of ${field.name} has no key`, path, location: item.loc });
            continue;
          }
          entries.push({ key, value: value ?? { kind: 'message', fields: [], loc: item.loc }, loc: item.loc });
        }
      }
      for (const e of entries) {
        const k = convertScalar(field.mapKey, undefined, e.key, ctx.json);
        if (!k.ok) {
          ctx.issues.push({
            message: `expected ${k.expected} for a key of ${field.name} but received ${describeNode(e.key)}`,
            path,
            location: e.key.loc,
          });
          continue;
        }
        const entryPath = `${join(path, field.name)}[${JSON.stringify(String(e.key.value))}]`;
        ctx.locations.set(entryPath, e.loc);
        if (field.mapKind === 'message') {
          const child = buildChild(field.message, e.value, field, ctx, path, entryPath);
          if (child) map.set(k.value, child);
          continue;
        }
        if (e.value.kind !== 'scalar') {
          typeMismatch(
            field,
            expectedDescription(field.scalar, field.mapKind === 'enum' ? field.enum : undefined),
            e.value,
            ctx,
            path,
          );
          continue;
        }
        const c = convertScalar(field.scalar, field.mapKind === 'enum' ? field.enum : undefined, e.value, ctx.json);
        if (!c.ok) {
          ctx.issues.push({
            message: `expected ${c.expected} for a value of ${field.name} but received ${describeNode(e.value)}`,
            path,
            location: e.value.loc,
            suggestion: c.suggestion,
          });
          continue;
        }
        map.set(k.value, c.value);
      }
      return;
    }
  }
}

function buildChild(
  desc: DescMessage,
  v: ValueNode,
  field: DescField,
  ctx: BuildContext,
  path: string,
  childPath: string,
): ReflectMessage | undefined {
  if (ctx.json && desc.typeName === 'google.protobuf.Struct') {
    if (v.kind !== 'message') return void typeMismatch(field, 'an object', v, ctx, path);
    return reflect(desc, fromJson(desc, toPlainJson(v)));
  }
  if (v.kind !== 'message') {
    typeMismatch(field, ctx.json ? 'an object' : 'a message { ... }', v, ctx, path);
    return undefined;
  }
  return buildMessage(desc, v, ctx, childPath);
}

function toPlainJson(v: ValueNode): JsonValue {
  if (v.kind === 'message') return Object.fromEntries(v.fields.map((f) => [f.name, toPlainJson(f.value)]));
  if (v.kind === 'list') return v.items.map(toPlainJson);
  if (v.type === 'number') return Number(v.raw);
  return v.value as JsonValue;
}
