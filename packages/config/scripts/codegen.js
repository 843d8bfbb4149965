#!/usr/bin/env node
// Generates TypeScript types and descriptors from protos/tsrec/protos/*.proto into src/gen/
// with protoc-gen-es. The compiler front end is `buf` from npm (@bufbuild/buf, no system
// packages needed); when it is missing, protoc from PATH (Debian: protobuf-compiler) is used.
// A stamp (hash of the protos and tool versions) makes repeated runs free.

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.join(__dirname, '..');
const root = path.join(pkgDir, '..', '..');
const protoRoot = path.join(root, 'protos');
const outDir = path.join(pkgDir, 'src', 'gen');
const stampFile = path.join(outDir, '.stamp');

function listProtos(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listProtos(p));
    else if (entry.name.endsWith('.proto')) out.push(p);
  }
  return out.sort();
}

function findBin(name) {
  for (let dir = pkgDir; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', '.bin', name);
    if (fs.existsSync(p)) return p;
    if (path.dirname(dir) === dir) return null;
  }
}

function onPath(name) {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? name : null;
}

const protos = listProtos(protoRoot);
const hash = crypto.createHash('sha256');
hash.update(fs.readFileSync(__filename));
for (const p of protos) {
  hash.update(path.relative(protoRoot, p));
  hash.update(fs.readFileSync(p));
}
const stamp = hash.digest('hex');
const force = process.argv.includes('--force');
if (!force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

const plugin = findBin('protoc-gen-es');
if (!plugin) {
  console.error('config codegen: protoc-gen-es not found; run `npm install` at the repository root');
  process.exit(1);
}
const tmpOut = `${outDir}.tmp`;
fs.rmSync(tmpOut, { recursive: true, force: true });
fs.mkdirSync(tmpOut, { recursive: true });

let r;
const buf = findBin('buf');
const protoc = buf ? null : onPath(process.env.PROTOC || 'protoc');
if (buf) {
  const template = { version: 'v2', plugins: [{ local: plugin, out: tmpOut, opt: ['target=ts'] }] };
  r = spawnSync(buf, ['generate', protoRoot, '--template', JSON.stringify(template)], { stdio: 'inherit' });
} else if (protoc) {
  r = spawnSync(
    protoc,
    [`--plugin=protoc-gen-es=${plugin}`, `--es_out=${tmpOut}`, '--es_opt=target=ts', `-I${protoRoot}`, ...protos],
    { stdio: 'inherit' },
  );
} else {
  console.error(
    'config codegen: no proto compiler found. Expected @bufbuild/buf in node_modules (run `npm install`)\n' +
      'or protoc on PATH (Debian: apt-get install protobuf-compiler).',
  );
  process.exit(1);
}
if (r.status !== 0) {
  console.error(`config codegen: ${buf ? 'buf generate' : 'protoc'} failed with status ${r.status}`);
  process.exit(r.status || 1);
}
fs.writeFileSync(path.join(tmpOut, '.stamp'), stamp);
fs.rmSync(outDir, { recursive: true, force: true });
fs.renameSync(tmpOut, outDir);
console.log(`config codegen: ${protos.length} protos -> ${path.relative(root, outDir)} (${buf ? 'buf' : 'protoc'})`);
