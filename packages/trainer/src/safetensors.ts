// The safetensors format (https://github.com/huggingface/safetensors, README "Format"):
//   8 bytes: N, the header length, unsigned little-endian 64-bit
//   N bytes: a UTF-8 JSON object { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, …,
//            "__metadata__": { "<key>": "<string value>" } } starting with '{', padded with spaces (0x20)
//   the byte buffer: each tensor's little-endian, row-major bytes at [begin, end) relative to its start
// As the reference implementation, readers require N <= 100,000,000, the tensors to cover the buffer
// exactly (no overlaps, no holes, nothing after the last) and each range to hold shape × dtype bytes.
// The writer pads the header so the buffer starts 8-byte aligned (as the reference one does) and
// lays the tensors out in the order given, each straight from its view (no concatenation).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { crc32c } from './crc32c';

/** The dtypes this module reads and writes, with the typed array each is read into. */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'U16'
  | 'I16'
  | 'U32'
  | 'I32'
  | 'U64'
  | 'I64'
  | 'F16'
  | 'BF16'
  | 'F32'
  | 'F64';

/** A tensor's data as read: Uint8Array for BOOL/U8, BigInt64Array for I64, raw bits as Uint16Array for F16/BF16, … */
export type SafetensorsArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

type ArrayConstructorOf = {
  new (length: number): SafetensorsArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): SafetensorsArray;
  readonly name: string;
};

const DTYPES: Record<SafetensorsDtype, { size: number; array: ArrayConstructorOf }> = {
  BOOL: { size: 1, array: Uint8Array },
  U8: { size: 1, array: Uint8Array },
  I8: { size: 1, array: Int8Array },
  U16: { size: 2, array: Uint16Array },
  I16: { size: 2, array: Int16Array },
  U32: { size: 4, array: Uint32Array },
  I32: { size: 4, array: Int32Array },
  U64: { size: 8, array: BigUint64Array },
  I64: { size: 8, array: BigInt64Array },
  F16: { size: 2, array: Uint16Array },
  BF16: { size: 2, array: Uint16Array },
  F32: { size: 4, array: Float32Array },
  F64: { size: 8, array: Float64Array },
};
const DTYPE_NAMES = Object.keys(DTYPES) as SafetensorsDtype[];

/** The reference implementation's limit on N. */
export const MAX_HEADER_BYTES = 100_000_000;
/** The most bytes one fs.readSync/writeSync call moves (Node caps single calls at 2 GiB - 1). */
const IO_CHUNK = 1 << 30;
const METADATA_KEY = '__metadata__';

/** Data produced piece by piece (e.g. rows read from native memory that is not one contiguous array). */
export interface SafetensorsChunks {
  /** Total bytes the chunks add up to. */
  byteLength: number;
  /** The pieces, in order; each may reuse the previous one's buffer (it is written before the next is asked for). */
  chunks(): Iterable<ArrayBufferView>;
}

/** A tensor to write: `data` holds exactly shape × dtype bytes (a matching typed array, or bytes, or chunks of them). */
export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: ArrayBufferView | SafetensorsChunks;
}

/** What `writeSafetensors` takes: tensors in file order, or a record of them by name (insertion order). */
export type SafetensorsInput = SafetensorsTensor[] | Record<string, Omit<SafetensorsTensor, 'name'>>;

/** A tensor's header entry. */
export interface SafetensorsInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  byteLength: number;
}

/** A read tensor. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsArray;
}

/** A file opened by `openSafetensors`: the header is parsed and checked, tensors are read on demand. */
export interface SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Tensor names in header order. */
  readonly names: string[];
  info(name: string): SafetensorsInfo;
  /**
   * Reads a whole tensor into a new typed array of its dtype, or into `into` (exactly its byte
   * length; a typed array of the dtype is returned as is, other views are reinterpreted, which
   * needs `into` aligned to the element size).
   */
  read(name: string, into?: ArrayBufferView): SafetensorsArray;
  /** Reads bytes [byteOffset, byteOffset + byteLength) of a tensor's data into the start of `into`. */
  readRange(name: string, byteOffset: number, byteLength: number, into: ArrayBufferView): void;
  close(): void;
}

function isLittleEndian(): void {
  if (os.endianness() !== 'LE')
    throw new Error(`Expected a little-endian machine for safetensors but received ${os.endianness()}`);
}

function isChunks(v: unknown): v is SafetensorsChunks {
  return (
    typeof v === 'object' &&
    v !== null &&
    !ArrayBuffer.isView(v) &&
    typeof (v as SafetensorsChunks).chunks === 'function'
  );
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The class name of a view, realm-independent ('Float32Array', 'DataView', …; Buffers are 'Uint8Array'). */
function viewKind(v: ArrayBufferView): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Writes `tensors` to `file` (replacing it): the header, then each tensor's bytes straight from
 * its view with fs.writeSync, then fsync. Everything is validated before the file is opened; a
 * file left by a failed write is removed. Returns each tensor's CRC-32C (unmasked) by name.
 */
export function writeSafetensors(
  file: string,
  tensors: SafetensorsInput,
  metadata: Record<string, string> = {},
): Record<string, number> {
  isLittleEndian();
  const list: SafetensorsTensor[] = Array.isArray(tensors)
    ? tensors
    : Object.entries(tensors).map(([name, t]) => ({ name, ...t }));
  const header: Record<string, unknown> = {};
  if (typeof metadata !== 'object' || metadata === null)
    throw new Error(`Expected an object of strings for the metadata of '${file}' but received ${String(metadata)}`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new Error(`Expected a string for metadata '${k}' of '${file}' but received ${typeof v}`);
  }
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of list) {
    const where = `tensor '${t.name}' of '${file}'`;
    if (typeof t.name !== 'string' || t.name.length === 0 || t.name === METADATA_KEY) {
      throw new Error(
        `Expected a non-empty name other than '${METADATA_KEY}' for a tensor of '${file}' but received ${JSON.stringify(t.name)}`,
      );
    }
    if (seen.has(t.name)) throw new Error(`Expected unique tensor names in '${file}' but received '${t.name}' twice`);
    seen.add(t.name);
    if (!DTYPE_NAMES.includes(t.dtype))
      throw new Error(
        `Expected one of ${DTYPE_NAMES.join(', ')} for the dtype of ${where} but received ${JSON.stringify(t.dtype)}`,
      );
    const d = DTYPES[t.dtype];
    if (!Array.isArray(t.shape) || !t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw new Error(`Expected a shape of integers >= 0 for ${where} but received ${JSON.stringify(t.shape)}`);
    }
    const chunked = isChunks(t.data);
    const kind = chunked ? 'chunks' : viewKind(t.data as ArrayBufferView);
    if (!chunked && !ArrayBuffer.isView(t.data))
      throw new Error(`Expected an ArrayBufferView or chunks for the data of ${where} but received ${kind}`);
    if (!chunked && kind !== 'Uint8Array' && kind !== 'DataView' && kind !== d.array.name) {
      throw new Error(
        `Expected a ${d.array.name} (or raw bytes) for the ${t.dtype} data of ${where} but received a ${kind}`,
      );
    }
    const bytes = elementCount(t.shape) * d.size;
    if (t.data.byteLength !== bytes) {
      throw new Error(
        `Expected ${bytes} bytes (shape [${t.shape.join(', ')}] × ${d.size}) for the data of ${where} but received ${t.data.byteLength}`,
      );
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));

  const checksums: Record<string, number> = {};
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, json);
    for (const t of list) {
      if (!isChunks(t.data)) {
        const b = bytesOf(t.data);
        checksums[t.name] = crc32c(b);
        writeAll(fd, b);
        continue;
      }
      let n = 0;
      let crc = 0;
      for (const c of t.data.chunks()) {
        const b = bytesOf(c);
        crc = crc32c(b, crc);
        writeAll(fd, b);
        n += c.byteLength;
      }
      checksums[t.name] = crc;
      if (n !== t.data.byteLength)
        throw new Error(
          `Expected ${t.data.byteLength} bytes from the chunks of tensor '${t.name}' of '${file}' but they gave ${n}`,
        );
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return checksums;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off));
}

/** Reads a whole file (every tensor into its own typed array). */
export function readSafetensors(file: string): {
  metadata: Record<string, string>;
  tensors: Record<string, SafetensorsEntry>;
} {
  const f = openSafetensors(file);
  try {
    const tensors: Record<string, SafetensorsEntry> = {};
    for (const name of f.names) {
      const { dtype, shape } = f.info(name);
      tensors[name] = { dtype, shape, data: f.read(name) };
    }
    return { metadata: f.metadata, tensors };
  } finally {
    f.close();
  }
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Opens `file` and validates its header against the file size; tensors are read with fs.readSync at their offsets. */
export function openSafetensors(file: string): SafetensorsFile {
  isLittleEndian();
  let fd: number | null = fs.openSync(file, 'r');
  try {
    const { entries, metadata, dataStart } = parseHeader(fd, file);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const get = (name: string): Entry => {
      if (fd === null)
        throw new Error(`Expected an open safetensors file for '${file}' but it was closed (reading '${name}')`);
      const e = byName.get(name);
      if (!e) {
        const some = entries.slice(0, 5).map((x) => `'${x.name}'`);
        const held =
          entries.length === 0
            ? 'none'
            : some.join(', ') + (entries.length > 5 ? ` and ${entries.length - 5} more` : '');
        throw new Error(`Expected a tensor named '${name}' in '${file}' but it holds ${held}`);
      }
      return e;
    };
    const readInto = (e: Entry, byteOffset: number, target: Uint8Array) => {
      for (let done = 0; done < target.length; ) {
        const n = fs.readSync(
          fd as number,
          target,
          done,
          Math.min(IO_CHUNK, target.length - done),
          dataStart + e.begin + byteOffset + done,
        );
        if (n === 0) {
          const at = dataStart + e.begin + byteOffset;
          throw new Error(
            `Expected ${target.length} bytes of tensor '${e.name}' at byte ${at} of '${file}' but the file ended after ${done} (truncated since opened?)`,
          );
        }
        done += n;
      }
    };
    return {
      path: file,
      metadata,
      names: entries.map((e) => e.name),
      info(name) {
        const e = get(name);
        return { dtype: e.dtype, shape: e.shape.slice(), byteLength: e.end - e.begin };
      },
      read(name, into) {
        const e = get(name);
        const { array, size } = DTYPES[e.dtype];
        const length = (e.end - e.begin) / size;
        const bytes = e.end - e.begin;
        let out: SafetensorsArray;
        if (!into) out = new array(length);
        else {
          if (into.byteLength !== bytes)
            throw new Error(
              `Expected a buffer of ${bytes} bytes for tensor '${name}' of '${file}' but received ${into.byteLength}`,
            );
          const kind = viewKind(into);
          if (kind === array.name) out = into as SafetensorsArray;
          else if (into.byteOffset % size === 0) out = new array(into.buffer, into.byteOffset, length);
          else {
            throw new Error(
              `Expected a buffer aligned to ${size} bytes for the ${e.dtype} tensor '${name}' of '${file}' but received a ${kind} at byte offset ${into.byteOffset}`,
            );
          }
        }
        readInto(e, 0, bytesOf(out));
        return out;
      },
      readRange(name, byteOffset, byteLength, into) {
        const e = get(name);
        const total = e.end - e.begin;
        if (
          !(
            Number.isSafeInteger(byteOffset) &&
            Number.isSafeInteger(byteLength) &&
            byteOffset >= 0 &&
            byteLength >= 0 &&
            byteOffset + byteLength <= total
          )
        ) {
          throw new Error(
            `Expected a byte range within [0, ${total}] for tensor '${name}' of '${file}' but received [${byteOffset}, ${byteOffset + byteLength})`,
          );
        }
        if (into.byteLength < byteLength) {
          throw new Error(
            `Expected a buffer of at least ${byteLength} bytes for a range of tensor '${name}' of '${file}' but received ${into.byteLength}`,
          );
        }
        readInto(e, byteOffset, new Uint8Array(into.buffer, into.byteOffset, byteLength));
      },
      close() {
        if (fd !== null) fs.closeSync(fd);
        fd = null;
      },
    };
  } catch (err) {
    fs.closeSync(fd);
    fd = null;
    throw err;
  }
}

function parseHeader(
  fd: number,
  file: string,
): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const size = fs.fstatSync(fd).size;
  const bad = (what: string, received: string): never => {
    throw new Error(`Expected ${what} in safetensors file '${file}' but received ${received}`);
  };
  if (size < 8) bad('an 8-byte header length', `a file of ${size} bytes (truncated?)`);
  const prefix = Buffer.alloc(8);
  fs.readSync(fd, prefix, 0, 8, 0);
  const n64 = prefix.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    bad(
      `a header length of at most ${MAX_HEADER_BYTES} bytes (the format's limit)`,
      `${n64} (not a safetensors file?)`,
    );
  if (n64 > BigInt(size - 8))
    bad(`a header length of at most ${size - 8} bytes (the file size minus 8)`, `${n64} (truncated?)`);
  const n = Number(n64);
  const raw = Buffer.alloc(n);
  for (let done = 0; done < n; ) done += fs.readSync(fd, raw, done, n - done, 8 + done);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return bad('a UTF-8 JSON header', 'bytes that are not UTF-8');
  }
  if (!text.startsWith('{')) bad("a JSON header starting with '{'", JSON.stringify(text.slice(0, 20)));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad('a JSON header', `text JSON.parse rejects: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return bad('a JSON object header', Array.isArray(json) ? 'an array' : String(json));
  const bufferBytes = size - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value))
        bad(`an object of strings for ${METADATA_KEY}`, JSON.stringify(value));
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(`a string for ${METADATA_KEY}.${k}`, JSON.stringify(v));
        metadata[k] = v as string;
      }
      continue;
    }
    const t = `tensor '${name}'`;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      bad(`an object {dtype, shape, data_offsets} for ${t}`, JSON.stringify(value));
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string' || !DTYPE_NAMES.includes(dtype as SafetensorsDtype))
      bad(`one of ${DTYPE_NAMES.join(', ')} for the dtype of ${t}`, JSON.stringify(dtype));
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      bad(`a shape of integers >= 0 for ${t}`, JSON.stringify(shape));
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      bad(`data_offsets [begin, end] with 0 <= begin <= end for ${t}`, JSON.stringify(offsets));
    }
    const [begin, end] = offsets as number[];
    const d = DTYPES[dtype as SafetensorsDtype];
    const want = elementCount(shape as number[]) * d.size;
    if (end - begin !== want) {
      bad(
        `${want} bytes (shape [${(shape as number[]).join(', ')}] × ${d.size} for ${dtype}) for ${t}`,
        `data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
      );
    }
    if (end > bufferBytes) {
      bad(
        `data_offsets within the ${bufferBytes}-byte buffer for ${t}`,
        `[${begin}, ${end}] (the file has ${size} bytes and needs at least ${8 + n + end}: truncated?)`,
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  // Exact cover of the buffer, as the reference implementation checks.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < pos && prev)
      bad(
        'tensors that do not overlap',
        `'${prev.name}' at [${prev.begin}, ${prev.end}] and '${e.name}' at [${e.begin}, ${e.end}]`,
      );
    if (e.begin > pos)
      bad(`tensors that cover the byte buffer without holes`, `no tensor for bytes [${pos}, ${e.begin})`);
    pos = e.end;
    prev = e;
  }
  if (pos !== bufferBytes)
    bad(
      `tensors that cover the ${bufferBytes}-byte buffer`,
      `tensors ending at byte ${pos} (${bufferBytes - pos} trailing bytes)`,
    );
  return { entries, metadata, dataStart: 8 + n };
}
