import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { encodeEvent, frameRecord, readEventFile, SummaryWriter } from './tensorboard';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-tb-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('encoding', () => {
  it('encodes the file_version Event byte by byte', () => {
    // field 1 (wall_time, fixed64): 09 + 1.5 as LE double; field 3 (file_version): 1a 0d "brain.Event:2"
    expect(hex(encodeEvent(1.5, 0, { fileVersion: 'brain.Event:2' }))).toBe(
      `09000000000000f83f1a0d${hex(Buffer.from('brain.Event:2'))}`,
    );
  });
  it('encodes a scalar Event byte by byte', () => {
    // 09 <2.0>; 10 ac02 (step 300 as varint); 2a 0d (summary, 13 bytes) { 0a 0b (value, 11 bytes) { 0a 04 "loss"; 15 <0.5 as LE float> } }
    expect(hex(encodeEvent(2, 300, { tag: 'loss', value: 0.5 }))).toBe(
      `09000000000000004010ac022a0d0a0b0a04${hex(Buffer.from('loss'))}150000003f`,
    );
    // a step above 2^32 keeps every bit: 2^40 + 1 = 7-bit groups 1, 0, 0, 0, 0, 2^5 = varint 81 80 80 80 80 20
    expect(hex(encodeEvent(0, 2 ** 40 + 1, { tag: 'x', value: 0 }).subarray(9, 16))).toBe('10' + '818080808020');
  });
  it('frames a record: length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = Buffer.from('123456789');
    const rec = frameRecord(data);
    expect(rec.length).toBe(9 + 16);
    expect(hex(rec.subarray(0, 8))).toBe('0900000000000000');
    // masked crc32c("123456789") = rotr15(0xe3069283) + 0xa282ead8 = 0x2507c60d + 0xa282ead8 = 0xc78ab0e5
    expect(rec.readUInt32LE(21)).toBe(0xc78ab0e5);
    expect(hex(rec.subarray(12, 21))).toBe(hex(data));
  });
});

describe('SummaryWriter and readEventFile', () => {
  it('names the file events.out.tfevents.<seconds>.<hostname><suffix> and avoids clobbering', () => {
    const a = new SummaryWriter(dir, { filenameSuffix: '.v2', now: () => 1700000000.75 });
    const b = new SummaryWriter(dir, { filenameSuffix: '.v2', now: () => 1700000000.75 });
    expect(path.basename(a.path)).toBe(`events.out.tfevents.1700000000.${os.hostname()}.v2`);
    expect(path.basename(b.path)).toBe(`events.out.tfevents.1700000000.${os.hostname()}.${process.pid}.0.v2`);
    a.close();
    b.close();
  });

  it('round-trips scalars (values as float32) with steps and wall times, after the file_version record', () => {
    const w = new SummaryWriter(path.join(dir, 'train'), { now: () => 1000 });
    w.scalar('loss', 0.25, 1);
    w.scalar('lr/dense', 0.001, 2, 1234.5);
    w.scalar('big step', -3.5, 2 ** 40);
    w.scalar('nan', NaN, 7);
    w.close();
    w.close();
    const events = readEventFile(w.path);
    expect(events).toEqual([
      { wallTime: 1000, step: 1, tag: 'loss', value: 0.25 },
      { wallTime: 1234.5, step: 2, tag: 'lr/dense', value: Math.fround(0.001) },
      { wallTime: 1000, step: 2 ** 40, tag: 'big step', value: -3.5 },
      { wallTime: 1000, step: 7, tag: 'nan', value: NaN },
    ]);
    // The file starts with the version record: length 24 (see 'encodes the file_version Event').
    const bytes = fs.readFileSync(w.path);
    expect(bytes.readBigUInt64LE(0)).toBe(24n);
    expect(bytes.subarray(12 + 24 - 13, 12 + 24).toString()).toBe('brain.Event:2');
  });

  it('flushes every maxQueue records and on flush(), so readers see the data before close', () => {
    let t = 0;
    const w = new SummaryWriter(dir, { maxQueue: 3, flushSeconds: 60, now: () => t });
    const header = fs.statSync(w.path).size;
    expect(header).toBe(24 + 16);
    w.scalar('a', 1, 1);
    w.scalar('a', 2, 2);
    expect(fs.statSync(w.path).size).toBe(header);
    w.scalar('a', 3, 3);
    expect(readEventFile(w.path).map((e) => e.value)).toEqual([1, 2, 3]);
    w.scalar('a', 4, 4);
    w.flush();
    expect(readEventFile(w.path).map((e) => e.value)).toEqual([1, 2, 3, 4]);
    // and when flushSeconds have passed since the last flush, on the next write
    w.scalar('a', 5, 5);
    t = 61;
    w.scalar('a', 6, 6);
    expect(readEventFile(w.path).map((e) => e.value)).toEqual([1, 2, 3, 4, 5, 6]);
    w.close();
    expect(() => w.scalar('a', 7, 7)).toThrow(
      new Error(`Expected an open SummaryWriter for '${w.path}' but it was closed (scalar 'a' at step 7)`),
    );
  });

  it('flushes from a timer when no more writes come', async () => {
    const w = new SummaryWriter(dir, { maxQueue: 100, flushSeconds: 0.05 });
    w.scalar('a', 1, 1);
    expect(readEventFile(w.path)).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    expect(readEventFile(w.path).map((e) => e.value)).toEqual([1]);
    w.close();
  });

  it('rejects bad arguments', () => {
    const w = new SummaryWriter(dir);
    expect(() => w.scalar('', 1, 1)).toThrow(
      new Error(`Expected a non-empty tag for a scalar of '${w.path}' but received ""`),
    );
    expect(() => w.scalar('a', 1, -1)).toThrow(
      new Error(`Expected an integer step >= 0 for scalar 'a' of '${w.path}' but received -1`),
    );
    expect(() => w.scalar('a', 1, 1.5)).toThrow(
      new Error(`Expected an integer step >= 0 for scalar 'a' of '${w.path}' but received 1.5`),
    );
    w.close();
    expect(() => new SummaryWriter(dir, { maxQueue: 0 })).toThrow(
      new Error(`Expected an integer maxQueue >= 1 for the SummaryWriter of '${dir}' but received 0`),
    );
  });

  function threeScalars(): { file: string; starts: number[] } {
    const w = new SummaryWriter(dir, { now: () => 5 });
    for (let i = 1; i <= 3; i++) w.scalar('loss', i, i);
    w.close();
    // version record: 16 + 24 bytes; each scalar record: 16 + 9 + 2 + 2 + 2 + 2 + 4 + 5 = 42 bytes
    return { file: w.path, starts: [40, 82, 124, 166] };
  }

  it('names the file and byte offset of a corrupt record', () => {
    const { file, starts } = threeScalars();
    expect(fs.statSync(file).size).toBe(starts[3]);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[starts[1] + 20] ^= 0x01; // a bit of the second scalar's data
    fs.writeFileSync(file, bad);
    expect(() => readEventFile(file)).toThrow(
      new RegExp(
        `^Expected masked CRC-32C 0x[0-9a-f]{8} for the data of the record at byte 82 of '${escapeRegExp(file)}' but received 0x[0-9a-f]{8} \\(corrupt file\\)$`,
      ),
    );
    const badLength = Buffer.from(good);
    badLength[starts[2]] = 41; // the third scalar's length
    fs.writeFileSync(file, badLength);
    expect(() => readEventFile(file)).toThrow(
      new RegExp(
        `^Expected masked CRC-32C 0x[0-9a-f]{8} for the length of the record at byte 124 of '${escapeRegExp(file)}'`,
      ),
    );
    const badCrc = Buffer.from(good);
    badCrc[starts[3] - 1] ^= 0x80; // the last record's data CRC
    fs.writeFileSync(file, badCrc);
    expect(() => readEventFile(file)).toThrow(/for the data of the record at byte 124 of/);
  });

  it('reads what precedes a truncated last record (a killed writer), whatever the cut', () => {
    const { file, starts } = threeScalars();
    const good = fs.readFileSync(file);
    for (let cut = starts[2]; cut < starts[3]; cut++) {
      fs.writeFileSync(file, good.subarray(0, cut));
      expect([cut, readEventFile(file).map((e) => e.value)]).toEqual([cut, [1, 2]]);
    }
    fs.writeFileSync(file, good.subarray(0, 5));
    expect(readEventFile(file)).toEqual([]);
  });

  it('reads TF2-style scalar tensors and skips records without scalars', () => {
    const varintBytes = (n: number) => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
      return [...out, n];
    };
    const ld = (field: number, body: Buffer) =>
      Buffer.concat([Buffer.from([(field << 3) | 2, ...varintBytes(body.length)]), body]);
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(0.75);
    // TensorProto { dtype: DT_FLOAT (1); tensor_shape {} (2); float_val: [0.75] (5, packed) }
    const tensor = Buffer.concat([Buffer.from([0x08, 0x01]), ld(2, Buffer.alloc(0)), ld(5, f32)]);
    // Value { tag: "auc"; metadata (9) { plugin_data { plugin_name: "scalars" } }; tensor (8) }
    const value = Buffer.concat([
      ld(1, Buffer.from('auc')),
      ld(9, ld(1, ld(1, Buffer.from('scalars')))),
      ld(8, tensor),
    ]);
    const wall = Buffer.alloc(9);
    wall[0] = 0x09;
    wall.writeDoubleLE(3.25, 1);
    const event = Buffer.concat([wall, Buffer.from([0x10, 0x0a]), ld(5, ld(1, value))]);
    // an Event with a graph_def (field 4) only
    const graph = Buffer.concat([wall, ld(4, Buffer.from('not a graph'))]);
    const file = path.join(dir, 'events.out.tfevents.1.x');
    fs.writeFileSync(
      file,
      Buffer.concat([
        frameRecord(encodeEvent(1, 0, { fileVersion: 'brain.Event:2' })),
        frameRecord(graph),
        frameRecord(event),
      ]),
    );
    expect(readEventFile(file)).toEqual([{ wallTime: 3.25, step: 10, tag: 'auc', value: 0.75 }]);
  });

  it('names the record of an undecodable Event', () => {
    const file = path.join(dir, 'events.out.tfevents.1.x');
    // an Event whose summary field claims 100 bytes but has 1
    fs.writeFileSync(
      file,
      Buffer.concat([
        frameRecord(encodeEvent(1, 0, { fileVersion: 'brain.Event:2' })),
        frameRecord(Buffer.from([0x2a, 100, 0])),
      ]),
    );
    expect(() => readEventFile(file)).toThrow(
      new Error(
        `Expected a tensorflow.Event in the record at byte 40 of '${file}' but received a field of 100 bytes past the end of its message`,
      ),
    );
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
