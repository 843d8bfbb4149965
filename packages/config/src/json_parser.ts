import type { FieldNode, ListNode, MessageNode, ScalarNode, ValueNode } from './config_ast';
import { ConfigError } from './config_error';
import type { SourceLocation } from './source_location';

/**
 * Parses JSON into the config syntax tree with a line:column for every key and value.
 * JSON.parse reports only a character offset, so this small recursive-descent reader exists
 * to give the same precise locations as the text format. Throws ConfigError on bad JSON.
 */
export function parseJson(src: string, file: string): MessageNode {
  const p = new JsonParser(src, file);
  p.skipSpace();
  const root = p.parseValue([]);
  p.skipSpace();
  if (p.pos < src.length) p.fail(`expected the end of the JSON document but found '${src[p.pos]}'`, []);
  if (root.kind !== 'message')
    p.fail(
      `expected a JSON object at the top level but found ${root.kind === 'list' ? 'an array' : `a ${(root as ScalarNode).type}`}`,
      [],
      root.loc,
    );
  return root as MessageNode;
}

class JsonParser {
  pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  loc(): SourceLocation {
    return { file: this.file, line: this.line, column: this.pos - this.lineStart + 1 };
  }

  fail(message: string, path: string[], loc: SourceLocation = this.loc()): never {
    throw new ConfigError([{ message: `invalid JSON: ${message}`, path: path.join('.'), location: loc }]);
  }

  skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r') {
        this.pos++;
      } else {
        break;
      }
    }
  }

  private found(): string {
    return this.pos >= this.src.length ? 'the end of the file' : `'${this.src[this.pos]}'`;
  }

  parseValue(path: string[]): ValueNode {
    const s = this.src;
    const loc = this.loc();
    const c = s[this.pos];
    if (c === '{') return this.parseObject(path);
    if (c === '[') return this.parseArray(path);
    if (c === '"') {
      const value = this.parseString(path);
      return { kind: 'scalar', type: 'string', raw: s.slice(this.posBefore, this.pos), value, loc };
    }
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = this.pos;
    const m = num.exec(s);
    if (m) {
      this.pos += m[0].length;
      return { kind: 'scalar', type: 'number', raw: m[0], value: m[0], loc };
    }
    for (const [word, type, value] of [
      ['true', 'bool', true],
      ['false', 'bool', false],
      ['null', 'null', null],
    ] as const) {
      if (s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { kind: 'scalar', type, raw: word, value, loc } as ScalarNode;
      }
    }
    this.fail(`expected a value but found ${this.found()}`, path);
  }

  private posBefore = 0;

  private parseString(path: string[]): string {
    const s = this.src;
    this.posBefore = this.pos;
    const start = this.loc();
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= s.length || s[this.pos] === '\n') this.fail('unterminated string', path, start);
      const c = s[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = s[this.pos + 1];
      const map: Record<string, string> = {
        '"': '"',
        '\\': '\\',
        '/': '/',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
      };
      if (e in map) {
        out += map[e];
        this.pos += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(this.pos + 2, this.pos + 6))) {
        out += String.fromCharCode(parseInt(s.slice(this.pos + 2, this.pos + 6), 16));
        this.pos += 6;
      } else {
        this.fail(`invalid escape '\\${e ?? ''}' in string`, path);
      }
    }
  }

  private parseObject(path: string[]): MessageNode {
    const node: MessageNode = { kind: 'message', fields: [], loc: this.loc() };
    this.pos++;
    this.skipSpace();
    if (this.src[this.pos] === '}') {
      this.pos++;
      return node;
    }
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] !== '"') this.fail(`expected a quoted key but found ${this.found()}`, path);
      const keyLoc = this.loc();
      const name = this.parseString(path);
      this.skipSpace();
      if (this.src[this.pos] !== ':') this.fail(`expected ':' after key "${name}" but found ${this.found()}`, path);
      this.pos++;
      this.skipSpace();
      const value = this.parseValue([...path, name]);
      const field: FieldNode = { name, loc: keyLoc, value };
      node.fields.push(field);
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return node;
      }
      this.fail(`expected ',' or '}' after the value of "${name}" but found ${this.found()}`, path);
    }
  }

  private parseArray(path: string[]): ListNode {
    const node: ListNode = { kind: 'list', items: [], loc: this.loc() };
    this.pos++;
    this.skipSpace();
    if (this.src[this.pos] === ']') {
      this.pos++;
      return node;
    }
    for (;;) {
      this.skipSpace();
      const last = path.length ? path[path.length - 1] : '';
      node.items.push(this.parseValue([...path.slice(0, -1), `${last}[${node.items.length}]`]));
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return node;
      }
      this.fail(`expected ',' or ']' in an array but found ${this.found()}`, path);
    }
  }
}
