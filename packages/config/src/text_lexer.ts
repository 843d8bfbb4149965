import { ConfigError } from './config_error';
import type { SourceLocation } from './source_location';

/** A token of the protobuf text format. */
export interface Token {
  kind: 'identifier' | 'number' | 'string' | 'punct' | 'eof';
  /** Source spelling; for strings, the decoded value is in `value`. */
  text: string;
  value?: string;
  loc: SourceLocation;
}

const PUNCT = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '/']);
const NUMBER = /(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?)/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * Splits protobuf text format into tokens with line:column positions. `#` starts a comment
 * to the end of the line. `pathOf` names the field being read, for error messages.
 */
export class TextLexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private peeked: Token | undefined;

  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly pathOf: () => string,
  ) {}

  /** The next token, without consuming it. */
  peek(): Token {
    if (!this.peeked) this.peeked = this.read();
    return this.peeked;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private loc(pos = this.pos): SourceLocation {
    return { file: this.file, line: this.line, column: pos - this.lineStart + 1 };
  }

  private fail(message: string, loc: SourceLocation): never {
    throw new ConfigError([{ message, path: this.pathOf(), location: loc }]);
  }

  private skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else {
        break;
      }
    }
  }

  private read(): Token {
    this.skipSpace();
    const s = this.src;
    const loc = this.loc();
    if (this.pos >= s.length) return { kind: 'eof', text: '', loc };
    const c = s[this.pos];
    if (c === '"' || c === "'") return this.readString(c, loc);
    if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(s[this.pos + 1] ?? ''))) {
      NUMBER.lastIndex = this.pos;
      const m = NUMBER.exec(s)!;
      this.pos += m[0].length;
      if (/[A-Za-z_]/.test(s[this.pos] ?? '')) {
        IDENT.lastIndex = this.pos;
        const tail = IDENT.exec(s)![0];
        this.fail(`invalid number '${m[0]}${tail}'`, loc);
      }
      return { kind: 'number', text: m[0], loc };
    }
    IDENT.lastIndex = this.pos;
    const id = IDENT.exec(s);
    if (id) {
      this.pos += id[0].length;
      return { kind: 'identifier', text: id[0], loc };
    }
    if (PUNCT.has(c)) {
      this.pos++;
      return { kind: 'punct', text: c, loc };
    }
    this.fail(`unexpected character '${c}'`, loc);
  }

  private readString(quote: string, loc: SourceLocation): Token {
    const s = this.src;
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= s.length || s[this.pos] === '\n') this.fail('unterminated string', loc);
      const c = s[this.pos];
      if (c === quote) {
        this.pos++;
        break;
      }
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = s[this.pos + 1];
      const escLoc = this.loc();
      this.pos += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case "'":
          out += "'";
          break;
        case '"':
          out += '"';
          break;
        case '?':
          out += '?';
          break;
        case 'x':
        case 'X': {
          const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(this.pos, this.pos + 2));
          if (!m) this.fail('invalid escape \\x: expected hex digits', escLoc);
          out += String.fromCharCode(parseInt(m[0], 16));
          this.pos += m[0].length;
          break;
        }
        case 'u':
        case 'U': {
          const len = e === 'u' ? 4 : 8;
          const hex = s.slice(this.pos, this.pos + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex))
            this.fail(`invalid escape \\${e}: expected ${len} hex digits`, escLoc);
          out += String.fromCodePoint(parseInt(hex, 16));
          this.pos += len;
          break;
        }
        default: {
          if (e !== undefined && e >= '0' && e <= '7') {
            const m = /^[0-7]{1,3}/.exec(s.slice(this.pos - 1, this.pos + 2))!;
            out += String.fromCharCode(parseInt(m[0], 8));
            this.pos += m[0].length - 1;
            break;
          }
          this.fail(`invalid escape '\\${e ?? ''}' in string`, escLoc);
        }
      }
    }
    return { kind: 'string', text: s.slice(start, this.pos), value: out, loc };
  }
}
