import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { openSafetensors, readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors';

// fs with readSync/writeSync wrapped in mocks, to see how the module does its I/O (a spy on the
// real module would not reach the module's own `import * as fs` copy).
jest.mock('fs', () => {
  const actual = jest.requireActual<typeof import('fs')>('fs');
  return { ...actual, readSync: jest.fn(actual.readSync), writeSync: jest.fn(actual.writeSync) };
});
const readSync = fs.readSync as unknown as jest.Mock;
const writeSync = fs.writeSync as unknown as jest.Mock;

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrec-st-'));
  file = path.join(dir, 't.safetensors');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file from a header object (serialized compactly, padded to 8 bytes) and buffer bytes. */
function rawFile(header: unknown, buffer: Uint8Array = new Uint8Array(0), headerText?: string): Buffer {
  let json = Buffer.from(headerText ?? JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([n, json, buffer]);
}

describe('round trip', () => {
  const tensors: SafetensorsTensor[] = [
    { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3, 1e-8, Infinity, -0]) },
    { name: 'f64', dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    { name: 'i32', dtype: 'I32', shape: [3], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
    { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]) },
    { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
    { name: 'bool', dtype: 'BOOL', shape: [1, 3], data: new Uint8Array([1, 0, 1]) },
    { name: 'i8', dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
    { name: 'u16', dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
    { name: 'i16', dtype: 'I16', shape: [1], data: new Int16Array([-32768]) },
    { name: 'u32', dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) },
    { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { name: 'f16', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, // 1.0, -2.0 as raw half bits
    { name: 'bf16', dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) }, // 1.0
    { name: 'empty', dtype: 'F32', shape: [0], data: new Float32Array(0) },
    { name: 'empty2d', dtype: 'I64', shape: [4, 0], data: new BigInt64Array(0) },
    { name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([42.5]) },
  ];

  it('reads back every dtype, empty tensors, a 0-d scalar and the metadata', () => {
    writeSafetensors(file, tensors, { step: '100', kind: 'dense', ünï: 'cødé "quoted"' });
    const { metadata, tensors: back } = readSafetensors(file);
    expect(metadata).toEqual({ step: '100', kind: 'dense', ünï: 'cødé "quoted"' });
    expect(Object.keys(back)).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const b = back[t.name];
      expect([t.name, b.dtype, b.shape]).toEqual([t.name, t.dtype, t.shape]);
      expect(b.data.constructor.name).toBe(t.data.constructor.name);
      expect(Array.from(b.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(t.data as unknown as ArrayLike<number | bigint>),
      );
      expect(b.data.byteOffset % (b.data as Float64Array).BYTES_PER_ELEMENT).toBe(0);
    }
    expect(Object.is((back.f32.data as Float32Array)[5], -0)).toBe(true);
  });

  it('pads the header with spaces to 8 bytes and lays tensors out in the order given', () => {
    writeSafetensors(file, tensors.slice(0, 3));
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = bytes.subarray(8, 8 + n).toString();
    expect(JSON.parse(text)).toEqual({
      f32: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      f64: { dtype: 'F64', shape: [2], data_offsets: [24, 40] },
      i32: { dtype: 'I32', shape: [3], data_offsets: [40, 52] },
    });
    expect(text).toMatch(/^\{[^ ]*\} *$/);
    expect(bytes.length).toBe(8 + n + 52);
    expect(new Float64Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + 24, bytes.byteOffset + 8 + n + 40))).toEqual(
      new Float64Array([Math.PI, -1e300]),
    );
  });

  it('writes byte for byte what the reference (Rust) serializer writes for one tensor', () => {
    // safetensors' serialize(): serde_json compact header, no __metadata__ when none given,
    // tensor info fields in the order dtype, shape, data_offsets, padded with spaces to 8 bytes.
    const header = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(header.length).toBe(54); // padded with 2 spaces to N = 56
    const expected = Buffer.concat([
      Buffer.from([56, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(`${header}  `),
      Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]),
    ]);
    writeSafetensors(file, { x: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) } });
    expect(fs.readFileSync(file).toString('hex')).toBe(expected.toString('hex'));
  });

  it('reads a file laid out as the reference writer lays out several tensors', () => {
    // safetensors.numpy.save_file({"a": float32 [[1, 2], [3, 4]], "b": int64 [7]}, metadata={"format": "np"}):
    // the reference writer puts __metadata__ first and orders tensors by dtype (descending: I64
    // before F32), then name, so "b" holds bytes [0, 8) and "a" [8, 24). Header: 141 bytes + 3 spaces.
    const header =
      '{"__metadata__":{"format":"np"},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}';
    expect(header.length).toBe(141);
    const data = Buffer.from('0700000000000000' + '0000803f' + '00000040' + '00004040' + '00008040', 'hex');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([144, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(`${header}   `), data]));
    const f = openSafetensors(file);
    expect(f.metadata).toEqual({ format: 'np' });
    expect(f.names).toEqual(['b', 'a']);
    expect(f.read('a')).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(f.read('b')).toEqual(new BigInt64Array([7n]));
    f.close();
  });

  it('streams each tensor from its view without copying it into one buffer', () => {
    writeSync.mockClear();
    {
      const big = new Float32Array(1 << 16).map((_, i) => i);
      // a view into the middle of a larger buffer: written from there, not from byte 0 of the buffer
      const mid = new Float32Array(big.buffer, 4 * 100, 10);
      writeSafetensors(file, [
        { name: 'big', dtype: 'F32', shape: [1 << 16], data: big },
        { name: 'mid', dtype: 'F32', shape: [10], data: mid },
      ]);
      const calls = writeSync.mock.calls.map((c) => c as [number, Uint8Array, number, number]);
      // header length, header, then one write per tensor from a view of its own buffer
      expect(calls.map((c) => [c[1].byteLength, c[2], c[3]]).slice(2)).toEqual([
        [4 << 16, 0, 4 << 16],
        [40, 0, 40],
      ]);
      expect(calls[2][1].buffer).toBe(big.buffer);
      expect([calls[3][1].buffer, calls[3][1].byteOffset]).toEqual([big.buffer, 400]);
    }
    expect(readSafetensors(file).tensors.mid.data).toEqual(
      new Float32Array([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]),
    );
  });
});

describe('openSafetensors', () => {
  beforeEach(() => {
    writeSafetensors(file, [
      { name: 'w', dtype: 'F32', shape: [4, 2], data: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]) },
      { name: 'ids', dtype: 'I64', shape: [3], data: new BigInt64Array([5n, 6n, 7n]) },
    ]);
  });

  it('gives names and infos and reads tensors, whole or by byte range, into given buffers', () => {
    const f = openSafetensors(file);
    expect(f.names).toEqual(['w', 'ids']);
    expect(f.info('w')).toEqual({ dtype: 'F32', shape: [4, 2], byteLength: 32 });
    const into = new Float32Array(8);
    expect(f.read('w', into)).toBe(into);
    expect(into).toEqual(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]));
    // raw bytes at an aligned offset are reinterpreted as the dtype
    const raw = new Uint8Array(40);
    const view = f.read('ids', raw.subarray(16));
    expect(view).toEqual(new BigInt64Array([5n, 6n, 7n]));
    expect(view.buffer).toBe(raw.buffer);
    // rows 1..2 of w
    const rows = new Float32Array(4);
    f.readRange('w', 8, 16, rows);
    expect(rows).toEqual(new Float32Array([2, 3, 4, 5]));
    f.close();
    f.close();
    expect(() => f.read('w')).toThrow(
      new Error(`Expected an open safetensors file for '${file}' but it was closed (reading 'w')`),
    );
  });

  it('reads at offsets without loading the file', () => {
    const f = openSafetensors(file);
    readSync.mockClear();
    f.read('ids');
    expect(readSync).toHaveBeenCalledTimes(1);
    expect(readSync.mock.calls[0].slice(2)).toEqual([0, 24, fs.statSync(file).size - 24]);
    f.close();
  });

  it('names what is wrong with a read', () => {
    const f = openSafetensors(file);
    expect(() => f.info('nope')).toThrow(
      new Error(`Expected a tensor named 'nope' in '${file}' but it holds 'w', 'ids'`),
    );
    expect(() => f.read('w', new Float32Array(7))).toThrow(
      new Error(`Expected a buffer of 32 bytes for tensor 'w' of '${file}' but received 28`),
    );
    expect(() => f.read('ids', new Uint8Array(25).subarray(1))).toThrow(
      new Error(
        `Expected a buffer aligned to 8 bytes for the I64 tensor 'ids' of '${file}' but received a Uint8Array at byte offset 1`,
      ),
    );
    expect(() => f.readRange('w', 24, 16, new Float32Array(4))).toThrow(
      new Error(`Expected a byte range within [0, 32] for tensor 'w' of '${file}' but received [24, 40)`),
    );
    expect(() => f.readRange('w', 0, 16, new Float32Array(2))).toThrow(
      new Error(`Expected a buffer of at least 16 bytes for a range of tensor 'w' of '${file}' but received 8`),
    );
    f.close();
    // a file truncated after it was opened
    const g = openSafetensors(file);
    fs.truncateSync(file, fs.statSync(file).size - 4);
    expect(() => g.read('ids')).toThrow(
      /^Expected 24 bytes of tensor 'ids' at byte \d+ of '.*' but the file ended after 20 \(truncated since opened\?\)$/,
    );
    g.close();
  });
});

describe('validation on read', () => {
  const T = (name: string) => `in safetensors file '${path.join(dir, name)}'`;
  const check = (name: string, bytes: Uint8Array, message: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    expect(() => openSafetensors(p)).toThrow(new Error(message.replace('IN', T(name))));
  };
  const f32 = (n: number) => new Uint8Array(4 * n);
  const one = (info: object, buffer = f32(2)) =>
    rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...info } }, buffer);

  it('rejects bad header lengths', () => {
    check(
      'short',
      new Uint8Array(5),
      'Expected an 8-byte header length IN but received a file of 5 bytes (truncated?)',
    );
    const long = rawFile({});
    long.writeBigUInt64LE(100n, 0);
    check(
      'long',
      long,
      'Expected a header length of at most 8 bytes (the file size minus 8) IN but received 100 (truncated?)',
    );
    long.writeBigUInt64LE(2n ** 63n, 0);
    check(
      'huge',
      long,
      `Expected a header length of at most 100000000 bytes (the format's limit) IN but received ${2n ** 63n} (not a safetensors file?)`,
    );
  });

  it('rejects headers that are not a JSON object', () => {
    check(
      'utf8',
      rawFile(null, undefined, '{"a"}').fill(0xff, 10, 11),
      'Expected a UTF-8 JSON header IN but received bytes that are not UTF-8',
    );
    check(
      'start',
      rawFile(null, undefined, ' {}'),
      `Expected a JSON header starting with '{' IN but received " {}     "`,
    );
    const p = path.join(dir, 'json');
    fs.writeFileSync(p, rawFile(null, undefined, '{"x":}'));
    // the rest is JSON.parse's message, which varies with the V8 version
    expect(() => openSafetensors(p)).toThrow(
      `Expected a JSON header ${T('json')} but received text JSON.parse rejects: `,
    );
  });

  it.each<[string, Buffer, string]>([
    [
      'dtype',
      one({ dtype: 'F8_E4M3' }),
      'Expected one of BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64 for the dtype of tensor \'x\' IN but received "F8_E4M3"',
    ],
    ['shape', one({ shape: [-2] }), "Expected a shape of integers >= 0 for tensor 'x' IN but received [-2]"],
    ['shape type', one({ shape: '2' }), 'Expected a shape of integers >= 0 for tensor \'x\' IN but received "2"'],
    [
      'offsets order',
      one({ data_offsets: [8, 0] }),
      "Expected data_offsets [begin, end] with 0 <= begin <= end for tensor 'x' IN but received [8,0]",
    ],
    [
      'offsets length',
      one({ data_offsets: [0] }),
      "Expected data_offsets [begin, end] with 0 <= begin <= end for tensor 'x' IN but received [0]",
    ],
    [
      'dtype x shape',
      one({ shape: [3] }),
      "Expected 12 bytes (shape [3] × 4 for F32) for tensor 'x' IN but received data_offsets [0, 8] (8 bytes)",
    ],
    [
      'scalar size',
      one({ shape: [] }),
      "Expected 4 bytes (shape [] × 4 for F32) for tensor 'x' IN but received data_offsets [0, 8] (8 bytes)",
    ],
    [
      'out of range',
      one({}, f32(1)),
      "Expected data_offsets within the 4-byte buffer for tensor 'x' IN but received [0, 8] (the file has 68 bytes and needs at least 72: truncated?)",
    ],
    [
      'not an object',
      rawFile({ x: [1] }),
      "Expected an object {dtype, shape, data_offsets} for tensor 'x' IN but received [1]",
    ],
    ['metadata value', rawFile({ __metadata__: { a: 1 } }), 'Expected a string for __metadata__.a IN but received 1'],
    [
      'metadata type',
      rawFile({ __metadata__: 'a' }),
      'Expected an object of strings for __metadata__ IN but received "a"',
    ],
    [
      'overlap',
      rawFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32(3),
      ),
      "Expected tensors that do not overlap IN but received 'a' at [0, 8] and 'b' at [4, 12]",
    ],
    [
      'hole',
      rawFile(
        {
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        },
        f32(3),
      ),
      'Expected tensors that cover the byte buffer without holes IN but received no tensor for bytes [4, 8)',
    ],
    [
      'trailing',
      one({}, f32(3)),
      'Expected tensors that cover the 12-byte buffer IN but received tensors ending at byte 8 (4 trailing bytes)',
    ],
  ])('%s', (name, bytes, message) => check(name.replace(/ /g, '_'), bytes, message));

  it('accepts a null __metadata__, zero-size tensors anywhere and an empty file', () => {
    const p = path.join(dir, 'ok');
    fs.writeFileSync(
      p,
      rawFile(
        {
          __metadata__: null,
          e: { dtype: 'U8', shape: [0], data_offsets: [4, 4] },
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        },
        f32(1),
      ),
    );
    const back = readSafetensors(p);
    expect(back.metadata).toEqual({});
    expect(back.tensors.e.data).toEqual(new Uint8Array(0));
    fs.writeFileSync(p, rawFile({}));
    expect(readSafetensors(p)).toEqual({ metadata: {}, tensors: {} });
  });
});

describe('validation on write', () => {
  it.each<[string, SafetensorsTensor[], Record<string, string> | undefined, string]>([
    [
      'dtype',
      [{ name: 'x', dtype: 'F8' as 'F32', shape: [1], data: new Uint8Array(1) }],
      undefined,
      "Expected one of BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64 for the dtype of tensor 'x' of 'FILE' but received \"F8\"",
    ],
    [
      'view type',
      [{ name: 'x', dtype: 'F32', shape: [2], data: new Float64Array(1) }],
      undefined,
      "Expected a Float32Array (or raw bytes) for the F32 data of tensor 'x' of 'FILE' but received a Float64Array",
    ],
    [
      'byte length',
      [{ name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }],
      undefined,
      "Expected 16 bytes (shape [2, 2] × 4) for the data of tensor 'x' of 'FILE' but received 12",
    ],
    [
      'shape',
      [{ name: 'x', dtype: 'F32', shape: [1.5], data: new Float32Array(1) }],
      undefined,
      "Expected a shape of integers >= 0 for tensor 'x' of 'FILE' but received [1.5]",
    ],
    [
      'duplicate',
      [
        { name: 'x', dtype: 'U8', shape: [], data: new Uint8Array(1) },
        { name: 'x', dtype: 'U8', shape: [], data: new Uint8Array(1) },
      ],
      undefined,
      "Expected unique tensor names in 'FILE' but received 'x' twice",
    ],
    [
      'reserved name',
      [{ name: '__metadata__', dtype: 'U8', shape: [], data: new Uint8Array(1) }],
      undefined,
      "Expected a non-empty name other than '__metadata__' for a tensor of 'FILE' but received \"__metadata__\"",
    ],
    ['metadata', [], { a: 1 as unknown as string }, "Expected a string for metadata 'a' of 'FILE' but received number"],
  ])('%s', (_name, tensors, metadata, message) => {
    expect(() => writeSafetensors(file, tensors, metadata)).toThrow(new Error(message.replace('FILE', file)));
    expect(fs.existsSync(file)).toBe(false);
  });

  it('accepts raw bytes for any dtype', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, 2.5]).buffer);
    writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [2], data: bytes }]);
    expect(readSafetensors(file).tensors.x.data).toEqual(new Float32Array([1.5, 2.5]));
  });
});
