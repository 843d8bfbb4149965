import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFileRegistry, type DescEnum, type DescField, type DescMessage, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { describeWithSharedData, sharedPath } from '../../../test/helpers/shared_data';
import { DELIBERATE_SCHEMA_DIFFERENCES } from './schema_differences';

// tsrec's schema must accept every TorchEasyRec config: every message, field and enum value of
// TorchEasyRec's protos exists in tsrec's under the same name, number, type, label, default and
// oneof. Both schemas are compiled here with buf (offline) and compared descriptor by descriptor.

const REPO = path.resolve(__dirname, '../../..');
const TZREC = 'tzrec';

function findBuf(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', '.bin', 'buf');
    if (fs.existsSync(p)) return p;
    if (path.dirname(dir) === dir) throw new Error('buf not found in node_modules: run npm install');
  }
}

type Registry = ReturnType<typeof createFileRegistry>;

function compile(root: string, only: string | null): Registry {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-schema-')), 'set.binpb');
  const args = ['build', root, '-o', out, ...(only ? ['--path', path.join(root, only)] : [])];
  const r = spawnSync(findBuf(), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`buf ${args.join(' ')} failed: ${r.stderr}`);
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(out)));
}

const local = (typeName: string) => typeName.replace(/^t[sz]rec\.protos\./, '');

function typeOf(f: DescField): string {
  switch (f.fieldKind) {
    case 'scalar':
      return `scalar ${f.scalar}`;
    case 'enum':
      return `enum ${local(f.enum.typeName)}`;
    case 'message':
      return `message ${local(f.message.typeName)}`;
    case 'list':
      return `list of ${f.listKind === 'scalar' ? `scalar ${f.scalar}` : f.listKind === 'enum' ? `enum ${local(f.enum.typeName)}` : `message ${local(f.message.typeName)}`}`;
    case 'map':
      return `map<${f.mapKey}, ${f.mapKind === 'scalar' ? `scalar ${f.scalar}` : f.mapKind === 'enum' ? `enum ${local(f.enum.typeName)}` : `message ${local(f.message.typeName)}`}>`;
  }
}

const LABELS: Record<number, string> = { 1: 'optional', 2: 'required', 3: 'repeated' };

/** Every difference of `ours` from `theirs` (TorchEasyRec), as "<key>: <what>" lines. */
function differences(theirs: Registry, ours: Registry): { key: string; what: string }[] {
  const out: { key: string; what: string }[] = [];
  const oursByName = new Map<string, DescMessage | DescEnum>();
  for (const t of ours) if (t.kind === 'message' || t.kind === 'enum') oursByName.set(local(t.typeName), t);
  for (const t of theirs) {
    if (t.kind !== 'message' && t.kind !== 'enum') continue;
    if (t.typeName.startsWith('google.')) continue;
    const name = local(t.typeName);
    const o = oursByName.get(name);
    if (!o || o.kind !== t.kind) {
      out.push({ key: name, what: `${t.kind} missing` });
      continue;
    }
    if (t.kind === 'enum') {
      for (const v of t.values) {
        const w = (o as DescEnum).values.find((x) => x.name === v.name);
        if (!w) out.push({ key: `${name}.${v.name}`, what: `enum value missing (number ${v.number})` });
        else if (w.number !== v.number)
          out.push({ key: `${name}.${v.name}`, what: `number ${w.number}, TorchEasyRec ${v.number}` });
      }
      continue;
    }
    for (const f of t.fields) {
      const key = `${name}.${f.name}`;
      const g = (o as DescMessage).fields.find((x) => x.name === f.name);
      if (!g) {
        out.push({ key, what: `field missing (number ${f.number}, ${typeOf(f)})` });
        continue;
      }
      const diff: string[] = [];
      if (g.number !== f.number) diff.push(`number ${g.number}, TorchEasyRec ${f.number}`);
      if (typeOf(g) !== typeOf(f)) diff.push(`type ${typeOf(g)}, TorchEasyRec ${typeOf(f)}`);
      const lg = LABELS[g.proto.label] ?? g.proto.label;
      const lf = LABELS[f.proto.label] ?? f.proto.label;
      if (lg !== lf) diff.push(`label ${lg}, TorchEasyRec ${lf}`);
      if ((g.proto.defaultValue ?? '') !== (f.proto.defaultValue ?? ''))
        diff.push(`default '${g.proto.defaultValue ?? ''}', TorchEasyRec '${f.proto.defaultValue ?? ''}'`);
      if ((g.oneof?.name ?? '') !== (f.oneof?.name ?? ''))
        diff.push(`oneof '${g.oneof?.name ?? ''}', TorchEasyRec '${f.oneof?.name ?? ''}'`);
      if (diff.length) out.push({ key, what: diff.join('; ') });
    }
  }
  return out;
}

describeWithSharedData([`${TZREC}/tzrec/protos/pipeline.proto`], "tsrec's schema against TorchEasyRec's", () => {
  it('has every TorchEasyRec message, field and enum value, the same way (or an allow-listed reason)', () => {
    const theirs = compile(sharedPath(TZREC), 'tzrec/protos');
    const ours = compile(path.join(REPO, 'protos'), null);
    const found = differences(theirs, ours);
    const unexplained = found
      .filter((d) => !(d.key in DELIBERATE_SCHEMA_DIFFERENCES))
      .map((d) => `${d.key}: ${d.what}`);
    expect(unexplained).toEqual([]);
    // Every allow-list entry still explains a difference that exists.
    const stale = Object.keys(DELIBERATE_SCHEMA_DIFFERENCES).filter((k) => !found.some((d) => d.key === k));
    expect(stale).toEqual([]);
  });
});
