import { create, type DescField } from '@bufbuild/protobuf';
import { reflect, type ReflectList, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import type { EasyRecConfig } from './gen/tsrec/protos/pipeline_pb';
import type { MessageNode, ScalarNode, ValueNode } from './config_ast';
import { ConfigError, type ConfigIssue } from './config_error';
import { didYouMean } from './did_you_mean';
import { buildMessage, type BuildContext } from './message_builder';
import { descOf } from './proto_access';
import { convertScalar } from './scalar_value';
import { parseText } from './text_parser';

/** A value in an edit: a string in TorchEasyRec's form, or a JSON value. */
export type EditValue = string | number | boolean | null | EditValue[] | { [key: string]: EditValue };

const SOURCE = '--edit_config_json';

interface Target {
  msg: ReflectMessage;
  field: DescField;
  /** Element index when the path ends in [i]. */
  index?: number;
  path: string;
}

class EditFailure extends Error {
  constructor(readonly issue: ConfigIssue) {
    super(issue.message);
  }
}

function fail(message: string, path: string, suggestion?: string): never {
  throw new EditFailure({ message: `${message} (${SOURCE})`, path, suggestion });
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** Splits "a.b[x.y=1].c" at dots outside brackets. */
function splitPath(key: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of key) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === '.' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  parts.push(cur.trim());
  return parts.filter((p) => p !== '');
}

function findField(msg: ReflectMessage, name: string, path: string): DescField {
  const f = msg.desc.fields.find((x) => x.name === name) ?? msg.desc.fields.find((x) => x.localName === name);
  if (!f)
    fail(
      `unknown field '${name}'`,
      path,
      didYouMean(
        name,
        msg.desc.fields.map((x) => x.name),
      ),
    );
  return f;
}

/** The child message of a singular message field, created when unset. */
function childOf(msg: ReflectMessage, field: DescField & { fieldKind: 'message' }, path: string): ReflectMessage {
  if (field.oneof) {
    const other = msg.oneofCase(field.oneof);
    if (other && other !== field)
      fail(`cannot edit '${field.name}': oneof '${field.oneof.name}' is set to '${other.name}'`, path);
  }
  if (!msg.isSet(field)) msg.set(field, reflect(field.message, create(field.message)));
  return msg.get(field);
}

/** A literal from an edit, as the text-format reader would have produced it. */
function literal(value: EditValue, field: DescField): ScalarNode {
  const loc = { file: SOURCE, line: 1, column: 1 };
  const isString = field.fieldKind !== 'enum' && field.scalar === 9; // ScalarType.STRING
  if (typeof value === 'boolean') return { kind: 'scalar', type: 'bool', raw: String(value), value, loc };
  if (typeof value === 'number')
    return isString
      ? { kind: 'scalar', type: 'string', raw: String(value), value: String(value), loc }
      : { kind: 'scalar', type: 'number', raw: String(value), value: String(value), loc };
  const s = String(value).trim();
  if (isString) return { kind: 'scalar', type: 'string', raw: JSON.stringify(s), value: s, loc };
  if (/^(true|false|True|False)$/.test(s))
    return { kind: 'scalar', type: 'bool', raw: s, value: s.toLowerCase() === 'true', loc };
  if (/^[-+.0-9]/.test(s)) return { kind: 'scalar', type: 'number', raw: s.replace(/^\+/, ''), value: s, loc };
  return { kind: 'scalar', type: 'identifier', raw: s, value: s, loc };
}

function scalarValue(field: DescField, value: EditValue, path: string): unknown {
  const enumDesc =
    field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum') ? field.enum : undefined;
  const scalar =
    field.fieldKind === 'scalar' || (field.fieldKind === 'list' && field.listKind === 'scalar')
      ? field.scalar
      : undefined;
  if (value === null || typeof value === 'object')
    fail(`expected a single value for ${field.name} but received ${JSON.stringify(value)}`, path);
  const node = literal(value, field);
  const c = convertScalar(scalar, enumDesc, node, false);
  if (!c.ok) fail(`expected ${c.expected} for ${field.name} but received ${JSON.stringify(value)}`, path, c.suggestion);
  return c.value;
}

/** Converts a JSON edit value to the syntax tree, so the message builder applies JSON rules. */
function jsonNode(v: EditValue): ValueNode {
  const loc = { file: SOURCE, line: 1, column: 1 };
  if (Array.isArray(v)) return { kind: 'list', items: v.map(jsonNode), loc };
  if (v !== null && typeof v === 'object')
    return { kind: 'message', fields: Object.entries(v).map(([name, x]) => ({ name, loc, value: jsonNode(x) })), loc };
  if (typeof v === 'string') return { kind: 'scalar', type: 'string', raw: JSON.stringify(v), value: v, loc };
  if (typeof v === 'number') return { kind: 'scalar', type: 'number', raw: String(v), value: String(v), loc };
  if (typeof v === 'boolean') return { kind: 'scalar', type: 'bool', raw: String(v), value: v, loc };
  return { kind: 'scalar', type: 'null', raw: 'null', value: null, loc };
}

/**
 * Builds a fresh message of the parent's type holding only `field`, from a TorchEasyRec-style
 * string ("[1, 2]", "{ lr: 0.1 }", "lr: 0.1") or a JSON value.
 */
function parseFieldValue(parent: ReflectMessage, field: DescField, value: EditValue, path: string): ReflectMessage {
  let tree: MessageNode;
  let json = false;
  if (typeof value === 'string') {
    let body = value.trim();
    const isMessage = field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message');
    if (isMessage && !body.startsWith('[')) {
      if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1);
      body = `${field.name} { ${body} }`;
    } else {
      body = `${field.name}: ${body}`;
    }
    try {
      tree = parseText(body, `${SOURCE}[${path}]`, parent.desc);
    } catch (e) {
      if (e instanceof ConfigError) fail(e.issues[0].message, path);
      throw e;
    }
  } else {
    json = true;
    const loc = { file: SOURCE, line: 1, column: 1 };
    tree = { kind: 'message', fields: [{ name: field.name, loc, value: jsonNode(value) }], loc };
  }
  const ctx: BuildContext = { json, issues: [], locations: new Map() };
  const built = buildMessage(parent.desc, tree, ctx, path.slice(0, Math.max(0, path.lastIndexOf('.'))));
  if (ctx.issues.length > 0) {
    const i = ctx.issues[0];
    fail(i.message, i.path, i.suggestion);
  }
  return built;
}

function parseCondition(cond: string): { key: string; op: string; value: string } | undefined {
  for (const op of ['>=', '<=', '>', '<', '=']) {
    const at = cond.lastIndexOf(op);
    if (at > 0) return { key: cond.slice(0, at).trim(), op, value: cond.slice(at + op.length).trim() };
  }
  return undefined;
}

/** The indices of a repeated field that a [...] selector picks. */
function select(list: ReflectList, field: DescField, selector: string, path: string): number[] {
  const n = list.size;
  const all = [...Array(n).keys()];
  if (selector.trim() === ':') return all;
  const range = /^\s*(-?\d*)\s*:\s*(-?\d*)\s*$/.exec(selector);
  if (range) {
    const norm = (s: string, dflt: number): number =>
      s === '' ? dflt : Math.max(0, Math.min(n, Number(s) < 0 ? n + Number(s) : Number(s)));
    const a = norm(range[1], 0);
    const b = norm(range[2], n);
    return all.slice(a, b);
  }
  if (/^\s*-?\d+\s*$/.test(selector)) {
    const raw = Number(selector);
    const i = raw < 0 ? n + raw : raw;
    if (i < 0 || i >= n)
      fail(`index ${raw} is out of range for ${field.name}, which has ${n} element${n === 1 ? '' : 's'}`, path);
    return [i];
  }
  const cond = parseCondition(selector);
  if (!cond)
    fail(`expected an index, a range or a condition such as [feature_name=x] in '${field.name}[${selector}]'`, path);
  if (field.fieldKind !== 'list' || field.listKind !== 'message')
    fail(`a condition [${selector}] needs a repeated message field but ${field.name} holds scalars`, path);
  const picked: number[] = [];
  for (let i = 0; i < n; i++) {
    let msg = list.get(i) as ReflectMessage;
    const parts = cond.key.split('.');
    let leaf: DescField | undefined;
    for (let k = 0; k < parts.length; k++) {
      const f = findField(msg, parts[k], `${path}[${selector}]`);
      if (k === parts.length - 1) leaf = f;
      else if (f.fieldKind === 'message') {
        if (!msg.isSet(f)) {
          leaf = undefined;
          break;
        }
        msg = msg.get(f);
      } else fail(`'${parts[k]}' in condition '${selector}' is not a message field`, path);
    }
    if (!leaf || !msg.isSet(leaf)) continue;
    if (leaf.fieldKind !== 'scalar' && leaf.fieldKind !== 'enum')
      fail(`condition '${selector}' must compare a scalar field but '${leaf.name}' is not one`, path);
    const actual = msg.get(leaf) as unknown;
    const wanted = scalarValue(leaf, cond.value.replace(/^(["'])(.*)\1$/, '$2'), path);
    const a = typeof actual === 'bigint' ? Number(actual) : actual;
    const w = typeof wanted === 'bigint' ? Number(wanted) : wanted;
    const ok =
      cond.op === '='
        ? a === w
        : cond.op === '>'
          ? (a as number) > (w as number)
          : cond.op === '<'
            ? (a as number) < (w as number)
            : cond.op === '>='
              ? (a as number) >= (w as number)
              : (a as number) <= (w as number);
    if (ok) picked.push(i);
  }
  return picked;
}

function resolve(root: ReflectMessage, key: string): Target[] {
  const tokens = splitPath(key);
  if (tokens.length === 0) fail(`empty field path '${key}'`, '');
  let current: { msg: ReflectMessage; path: string }[] = [{ msg: root, path: '' }];
  const targets: Target[] = [];
  tokens.forEach((tok, t) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(.*)\])?$/.exec(tok);
    if (!m) fail(`invalid path element '${tok}' in '${key}'`, current[0]?.path ?? '');
    const [, name, selector] = m;
    const last = t === tokens.length - 1;
    const next: { msg: ReflectMessage; path: string }[] = [];
    for (const cur of current) {
      const field = findField(cur.msg, name, cur.path);
      const fp = join(cur.path, field.name);
      if (selector === undefined) {
        if (last) targets.push({ msg: cur.msg, field, path: fp });
        else if (field.fieldKind === 'message') next.push({ msg: childOf(cur.msg, field, fp), path: fp });
        else if (field.fieldKind === 'list')
          fail(`'${field.name}' is repeated: pick elements with [i], [a:b], [:] or [name=value]`, cur.path);
        else fail(`'${field.name}' is not a message, so '${tokens[t + 1]}' cannot be inside it`, cur.path);
        continue;
      }
      if (field.fieldKind !== 'list')
        fail(`'${field.name}' is not a repeated field, so [${selector}] cannot select in it`, cur.path);
      const list = cur.msg.get(field);
      for (const i of select(list, field, selector, fp)) {
        const ip = `${fp}[${i}]`;
        if (last) targets.push({ msg: cur.msg, field, index: i, path: ip });
        else if (field.listKind === 'message') next.push({ msg: list.get(i) as ReflectMessage, path: ip });
        else fail(`'${field.name}' holds scalars, so '${tokens[t + 1]}' cannot be inside its elements`, cur.path);
      }
    }
    current = next;
  });
  return targets;
}

function apply(target: Target, value: EditValue): void {
  const { msg, field, index, path } = target;
  if (index !== undefined) {
    const list = msg.get(field) as ReflectList;
    if (field.fieldKind === 'list' && field.listKind === 'message') {
      const built = parseFieldValue(msg, field, typeof value === 'string' ? value : [value], path);
      list.set(index, (built.get(field) as ReflectList).get(0));
    } else list.set(index, scalarValue(field, value, path));
    return;
  }
  if (field.fieldKind === 'scalar' || field.fieldKind === 'enum') {
    msg.set(field, scalarValue(field, value, path));
    return;
  }
  if (field.fieldKind === 'message' && field.oneof) {
    const other = msg.oneofCase(field.oneof);
    if (other && other !== field)
      fail(`cannot edit '${field.name}': oneof '${field.oneof.name}' is set to '${other.name}'`, path);
  }
  const built = parseFieldValue(msg, field, value, path);
  msg.clear(field);
  if (built.isSet(field)) msg.set(field, built.get(field));
}

/**
 * Applies TorchEasyRec --edit_config_json edits in place and returns the config. Keys are
 * dotted field paths with [i], [a:b], [:] or [field.path=value] (also >, <, >=, <=)
 * selectors; several keys may be joined with ';' (values then too). Values are converted to
 * the field's type: numbers, true/false, enum names, lists ("[1, 2]" or arrays) and messages
 * ("{ lr: 0.1 }" or objects). All problems are reported together in one ConfigError.
 */
export function editConfig(config: EasyRecConfig, edits: string | Record<string, EditValue>): EasyRecConfig {
  let obj: Record<string, EditValue>;
  if (typeof edits === 'string') {
    try {
      obj = JSON.parse(edits) as Record<string, EditValue>;
    } catch (e) {
      throw new ConfigError([{ message: `invalid JSON in ${SOURCE}: ${(e as Error).message}`, path: '' }]);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new ConfigError([{ message: `expected a JSON object of "path": value pairs in ${SOURCE}`, path: '' }]);
    }
  } else obj = edits;
  const root = reflect(descOf(config), config);
  const issues: ConfigIssue[] = [];
  for (const [rawKey, rawValue] of Object.entries(obj)) {
    const keys = rawKey.split(';').map((k) => k.trim());
    const values: EditValue[] =
      keys.length > 1
        ? String(rawValue)
            .split(';')
            .map((v) => v.trim())
        : [rawValue];
    if (values.length !== keys.length) {
      issues.push({
        message: `key '${rawKey}' names ${keys.length} fields but its value has ${values.length} ';'-separated parts (${SOURCE})`,
        path: '',
      });
      continue;
    }
    keys.forEach((key, i) => {
      try {
        for (const target of resolve(root, key)) apply(target, values[i]);
      } catch (e) {
        if (e instanceof EditFailure) issues.push(e.issue);
        else throw e;
      }
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
