import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Expands input paths as TorchEasyRec's `train_input_path`: several entries separated by
 * commas, each a file, a directory (its files, recursively, hidden ones skipped) or a glob
 * (`*`, `?`, `**`, `[abc]`). The result is sorted per entry, so every process sees the same order.
 */
export function expandInputPaths(input: string | readonly string[]): string[] {
  const entries = (typeof input === 'string' ? input.split(',') : input).map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new Error('Expected at least one input path but received none');
  const out: string[] = [];
  for (const e of entries) {
    let found: string[];
    if (/[*?[]/.test(e)) found = glob(e);
    else if (fs.existsSync(e) && fs.statSync(e).isDirectory()) found = walk(e);
    else if (fs.existsSync(e)) found = [e];
    else throw new Error(`input path "${e}" does not exist`);
    if (found.length === 0) throw new Error(`input path "${e}" matches no files`);
    out.push(...found.sort());
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    if (d.name.startsWith('.') || d.name.startsWith('_')) continue;
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...walk(p));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

function glob(pattern: string): string[] {
  const abs = path.resolve(pattern);
  const parts = abs.split(path.sep);
  let i = 0;
  while (i < parts.length && !/[*?[]/.test(parts[i])) i++;
  const base = parts.slice(0, i).join(path.sep) || path.sep;
  const re = new RegExp(
    '^' +
      abs
        .split('')
        .map((c, k, a) => {
          if (c === '*' && a[k + 1] === '*') return '\u0000';
          if (c === '*' && a[k - 1] === '*') return '';
          if (c === '*') return '[^/]*';
          if (c === '?') return '[^/]';
          if (c === '[' || c === ']') return c;
          return c.replace(/[.+^${}()|\\]/g, '\\$&');
        })
        .join('')
        .replaceAll('\u0000/', '(?:.*/)?')
        .replaceAll('\u0000', '.*') +
      '$',
  );
  if (!fs.existsSync(base)) return [];
  const files = fs.statSync(base).isDirectory() ? walk(base) : [base];
  const rel = pattern.startsWith('/') ? (p: string) => p : (p: string) => path.relative(process.cwd(), p);
  return files.filter((f) => re.test(path.resolve(f))).map(rel);
}
