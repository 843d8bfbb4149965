import type { SourceLocation } from './source_location';

// The syntax tree shared by the text-format and JSON readers: the message builder walks it
// against the proto descriptors, so both formats get the same schema checks and messages.

/** A scalar literal; `raw` keeps the source spelling (needed for 64-bit integers). */
export interface ScalarNode {
  kind: 'scalar';
  /** string: a quoted string; number: a numeric literal; identifier: a bare word (text format); bool/null: JSON literals. */
  type: 'string' | 'number' | 'identifier' | 'bool' | 'null';
  raw: string;
  value: string | number | boolean | null;
  loc: SourceLocation;
}

/** `name: value` or `name { ... }` inside a message. */
export interface FieldNode {
  name: string;
  loc: SourceLocation;
  value: ValueNode;
}

/** A message body: `{ ... }`, `< ... >`, a JSON object, or the whole file. */
export interface MessageNode {
  kind: 'message';
  fields: FieldNode[];
  loc: SourceLocation;
}

/** `[a, b]` in text format, or a JSON array. */
export interface ListNode {
  kind: 'list';
  items: ValueNode[];
  loc: SourceLocation;
}

/** Any value in the tree. */
export type ValueNode = ScalarNode | MessageNode | ListNode;

/** A short description of a value for error messages: the literal, "a message" or "a list". */
export function describeNode(node: ValueNode): string {
  if (node.kind === 'message') return 'a message';
  if (node.kind === 'list') return 'a list';
  if (node.type === 'string') return JSON.stringify(node.value);
  if (node.type === 'identifier') return `'${node.raw}'`;
  return node.raw;
}
