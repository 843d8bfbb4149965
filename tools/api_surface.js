#!/usr/bin/env node
// The public surface of each package: every name its src/index.ts exports, with its kind, as
// written in packages/<name>/api.txt. test/api_surface.test.ts fails when the two differ, so a
// package's surface only changes on purpose:
//   node tools/api_surface.js           print the differences (exit 1 if any)
//   node tools/api_surface.js --update  rewrite the api.txt files after an intended change
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const PACKAGES = ['native', 'config', 'data', 'models', 'trainer'];

function kindOf(checker, sym) {
  const s = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.ValueModule) return 'namespace';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  return 'other';
}

/** `<kind> <name>` lines, sorted by name, of every package's index (one TS program for all). */
function surfaces() {
  const entries = PACKAGES.map((p) => path.join(ROOT, 'packages', p, 'src', 'index.ts'));
  const options = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    // @tsrec/* resolve to sources, as in the jest preset (no build needed).
    baseUrl: ROOT,
    paths: { '@tsrec/*': ['packages/*/src/index.ts'] },
  };
  const program = ts.createProgram(entries, options);
  const checker = program.getTypeChecker();
  const out = {};
  PACKAGES.forEach((p, i) => {
    const sf = program.getSourceFile(entries[i]);
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(sf));
    out[p] = exports
      .map((s) => `${kindOf(checker, s)} ${s.name}`)
      .sort((a, b) => a.split(' ')[1].localeCompare(b.split(' ')[1]) || a.localeCompare(b));
  });
  return out;
}

function fileOf(p) {
  return path.join(ROOT, 'packages', p, 'api.txt');
}

const HEADER =
  '# The public surface of this package (its src/index.ts), checked by test/api_surface.test.ts.\n' +
  '# Change it on purpose: node tools/api_surface.js --update\n';

/** For each package: the lines expected (api.txt) and the lines found (index.ts). */
function compare() {
  const found = surfaces();
  return PACKAGES.map((p) => {
    const text = fs.existsSync(fileOf(p)) ? fs.readFileSync(fileOf(p), 'utf8') : '';
    const expected = text.split('\n').filter((l) => l && !l.startsWith('#'));
    return { name: p, expected, found: found[p] };
  });
}

module.exports = { compare, surfaces };

if (require.main === module) {
  const update = process.argv.includes('--update');
  let differs = false;
  for (const { name, expected, found } of compare()) {
    if (update) {
      fs.writeFileSync(fileOf(name), `${HEADER}${found.join('\n')}\n`);
      console.log(`${name}: ${found.length} exports written to ${path.relative(ROOT, fileOf(name))}`);
      continue;
    }
    const added = found.filter((l) => !expected.includes(l));
    const removed = expected.filter((l) => !found.includes(l));
    if (added.length || removed.length) {
      differs = true;
      console.log(`${name}: ${added.map((l) => `+ ${l}`).join(', ')} ${removed.map((l) => `- ${l}`).join(', ')}`);
    } else console.log(`${name}: ${found.length} exports, as in api.txt`);
  }
  if (differs) {
    console.log('the surfaces differ from api.txt: if intended, run node tools/api_surface.js --update');
    process.exit(1);
  }
}
