import type { DescMessage } from '@bufbuild/protobuf';
import type { FieldNode, ListNode, MessageNode, ScalarNode, ValueNode } from './config_ast';
import { ConfigError } from './config_error';
import type { SourceLocation } from './source_location';
import { TextLexer, type Token } from './text_lexer';

function show(t: Token): string {
  return t.kind === 'eof' ? 'the end of the file' : `'${t.text}'`;
}

/**
 * Parses protobuf text format into a syntax tree. It knows nothing of the schema except to
 * name field paths in syntax errors (`schema`, optional). Throws ConfigError on the first
 * syntax error.
 */
export function parseText(src: string, file: string, schema?: DescMessage): MessageNode {
  return new TextParser(src, file, schema).parseFile();
}

interface Frame {
  name: string;
  desc?: DescMessage;
  node: MessageNode;
}

class TextParser {
  private readonly lex: TextLexer;
  private readonly stack: Frame[] = [];

  constructor(
    src: string,
    private readonly file: string,
    private readonly schema?: DescMessage,
  ) {
    this.lex = new TextLexer(src, file, () => this.path());
  }

  private path(): string {
    const parts: string[] = [];
    for (let i = 1; i < this.stack.length; i++) parts.push(this.stack[i].name);
    return parts.join('.');
  }

  private fail(message: string, loc: SourceLocation): never {
    throw new ConfigError([{ message, path: this.path(), location: loc }]);
  }

  parseFile(): MessageNode {
    const node: MessageNode = { kind: 'message', fields: [], loc: { file: this.file, line: 1, column: 1 } };
    this.stack.push({ name: '', desc: this.schema, node });
    this.parseFields(node, undefined);
    return node;
  }

  /** Reads fields until `close` ('}' or '>'), or the end of the file when close is undefined. */
  private parseFields(node: MessageNode, close: { text: string; open: Token } | undefined): void {
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === 'eof') {
        if (close) {
          const owner = this.path() || 'message';
          this.fail(
            `missing '${close.text}' to close '${owner}' opened at line ${close.open.loc.line}, column ${close.open.loc.column}`,
            t.loc,
          );
        }
        return;
      }
      if (t.kind === 'punct' && (t.text === '}' || t.text === '>')) {
        if (close && t.text === close.text) {
          this.lex.next();
          return;
        }
        this.fail(
          close
            ? `expected '${close.text}' but found '${t.text}'`
            : `unexpected '${t.text}' with no open '${t.text === '}' ? '{' : '<'}'`,
          t.loc,
        );
      }
      node.fields.push(this.parseField(node));
      const sep = this.lex.peek();
      if (sep.kind === 'punct' && (sep.text === ',' || sep.text === ';')) this.lex.next();
    }
  }

  private parseField(parent: MessageNode): FieldNode {
    const t = this.lex.next();
    if (t.kind === 'punct' && t.text === '[') {
      this.fail('extension and Any fields ([...]) are not supported in tsrec configs', t.loc);
    }
    if (t.kind !== 'identifier') this.fail(`expected a field name but found ${show(t)}`, t.loc);
    const name = t.text;
    const frame = this.stack[this.stack.length - 1];
    const fieldDesc = frame.desc?.fields.find((f) => f.name === name);
    let segment = name;
    if (fieldDesc && (fieldDesc.fieldKind === 'list' || fieldDesc.fieldKind === 'map')) {
      const count = parent.fields.filter((f) => f.name === name).length;
      if (fieldDesc.fieldKind === 'list' && fieldDesc.listKind === 'message') segment = `${name}[${count}]`;
    }
    const childDesc =
      fieldDesc?.fieldKind === 'message'
        ? fieldDesc.message
        : fieldDesc?.fieldKind === 'list' && fieldDesc.listKind === 'message'
          ? fieldDesc.message
          : undefined;
    this.stack.push({ name: segment, desc: childDesc, node: parent });
    try {
      const after = this.lex.peek();
      let value: ValueNode;
      if (after.kind === 'punct' && after.text === ':') {
        this.lex.next();
        value = this.parseValue(name);
      } else if (after.kind === 'punct' && (after.text === '{' || after.text === '<' || after.text === '[')) {
        value = this.parseValue(name);
      } else {
        this.fail(`expected ':' or '{' after field name '${name}' but found ${show(after)}`, after.loc);
      }
      return { name, loc: t.loc, value };
    } finally {
      this.stack.pop();
    }
  }

  private parseValue(name: string): ValueNode {
    const t = this.lex.peek();
    if (t.kind === 'punct' && (t.text === '{' || t.text === '<')) {
      this.lex.next();
      const node: MessageNode = { kind: 'message', fields: [], loc: t.loc };
      const frame = this.stack[this.stack.length - 1];
      frame.node = node;
      const saved = frame.desc;
      this.parseFields(node, { text: t.text === '{' ? '}' : '>', open: t });
      frame.desc = saved;
      return node;
    }
    if (t.kind === 'punct' && t.text === '[') {
      this.lex.next();
      const list: ListNode = { kind: 'list', items: [], loc: t.loc };
      if (this.lex.peek().kind === 'punct' && this.lex.peek().text === ']') {
        this.lex.next();
        return list;
      }
      for (;;) {
        list.items.push(this.parseValue(name));
        const sep = this.lex.next();
        if (sep.kind === 'punct' && sep.text === ']') return list;
        if (!(sep.kind === 'punct' && sep.text === ','))
          this.fail(`expected ',' or ']' in the list for '${name}' but found ${show(sep)}`, sep.loc);
      }
    }
    return this.parseScalar(name);
  }

  private parseScalar(name: string): ScalarNode {
    const t = this.lex.next();
    if (t.kind === 'string') {
      let value = t.value!;
      let raw = t.text;
      // Adjacent string literals are concatenated, as in C.
      while (this.lex.peek().kind === 'string') {
        const more = this.lex.next();
        value += more.value!;
        raw += ` ${more.text}`;
      }
      return { kind: 'scalar', type: 'string', raw, value, loc: t.loc };
    }
    if (t.kind === 'number') return { kind: 'scalar', type: 'number', raw: t.text, value: t.text, loc: t.loc };
    if (t.kind === 'identifier') return { kind: 'scalar', type: 'identifier', raw: t.text, value: t.text, loc: t.loc };
    if (t.kind === 'punct' && t.text === '-') {
      const n = this.lex.next();
      if (n.kind === 'number')
        return { kind: 'scalar', type: 'number', raw: `-${n.text}`, value: `-${n.text}`, loc: t.loc };
      if (n.kind === 'identifier' && /^(inf|infinity|nan)$/i.test(n.text)) {
        return { kind: 'scalar', type: 'number', raw: `-${n.text}`, value: `-${n.text}`, loc: t.loc };
      }
      this.fail(`expected a number after '-' for '${name}' but found ${show(n)}`, n.loc);
    }
    this.fail(`expected a value for '${name}' but found ${show(t)}`, t.loc);
  }
}
