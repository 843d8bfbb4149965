// TensorBoard event files without dependencies: TFRecord framing of hand-encoded
// tensorflow.Event protos (tensorflow/core/util/event.proto, summary.proto).
//
// A record is: uint64 LE data length, uint32 LE masked CRC-32C of those 8 bytes, the data,
// uint32 LE masked CRC-32C of the data (tensorflow/core/lib/io/record_writer.cc). The first
// record of a file is an Event with file_version "brain.Event:2"; each scalar is an Event
//   { double wall_time = 1; int64 step = 2; Summary summary = 5 }
//   Summary { repeated Value value = 1 }  Value { string tag = 1; float simple_value = 2 }
// (the legacy simple_value form, which TensorBoard's data_compat turns into a scalars-plugin
// tensor when it loads the file).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { crc32c, maskCrc32c } from './crc32c';
import { ioError } from './io_errors';

/** One scalar read back from an event file. */
export interface ScalarEvent {
  wallTime: number;
  step: number;
  tag: string;
  value: number;
}

export interface SummaryWriterOptions {
  /** Appended to the file name (e.g. '.v2'). */
  filenameSuffix?: string;
  /** Flush buffered records at least this often, in seconds (default 2). */
  flushSeconds?: number;
  /** Flush when this many records are buffered (default 10, TensorFlow's max_queue). */
  maxQueue?: number;
  /** Seconds since the epoch for the file name and default wall times (tests). */
  now?: () => number;
}

/**
 * Writes scalars to `<logDir>/events.out.tfevents.<unix seconds>.<hostname><suffix>` (when that
 * name is taken, `.<pid>.<n>` is added before the suffix). Records are encoded at once and
 * appended with synchronous writes when `maxQueue` are buffered, when `flushSeconds` have
 * passed (checked on each write and by an unref'd timer), on `flush()` and on `close()`, so
 * a killed process loses at most those; a record cut short by a kill is ignored by readers.
 */
export class SummaryWriter {
  readonly path: string;
  private fd: number | null;
  private pending: Buffer[] = [];
  private lastFlush: number;
  private readonly flushSeconds: number;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  /** A write that failed in the background flush, thrown by the next scalar() or close(). */
  private failure: Error | null = null;

  constructor(logDir: string, options: SummaryWriterOptions = {}) {
    this.now = options.now ?? (() => Date.now() / 1000);
    this.flushSeconds = options.flushSeconds ?? 2;
    this.maxQueue = options.maxQueue ?? 10;
    if (!(this.flushSeconds > 0))
      throw new Error(
        `Expected flushSeconds > 0 for the SummaryWriter of '${logDir}' but received ${this.flushSeconds}`,
      );
    if (!(Number.isInteger(this.maxQueue) && this.maxQueue >= 1)) {
      throw new Error(
        `Expected an integer maxQueue >= 1 for the SummaryWriter of '${logDir}' but received ${this.maxQueue}`,
      );
    }
    fs.mkdirSync(logDir, { recursive: true });
    const suffix = options.filenameSuffix ?? '';
    const stem = `events.out.tfevents.${Math.floor(this.now())}.${os.hostname()}`;
    let name = path.join(logDir, stem + suffix);
    let fd: number | null = null;
    for (let n = 0; fd === null; n++) {
      try {
        fd = fs.openSync(name, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw e;
        name = path.join(logDir, `${stem}.${process.pid}.${n}${suffix}`);
      }
    }
    this.fd = fd;
    this.path = name;
    this.lastFlush = this.now();
    this.pending.push(frameRecord(encodeEvent(this.now(), 0, { fileVersion: 'brain.Event:2' })));
    this.flush();
    this.timer = setInterval(
      () => {
        // A failed write here would be an uncaught exception: keep it for the next scalar() or close().
        if (this.failure || this.pending.length === 0 || this.now() - this.lastFlush < this.flushSeconds) return;
        try {
          this.flush();
        } catch (e) {
          this.failure = e as Error;
        }
      },
      Math.max(100, Math.round(this.flushSeconds * 500)),
    );
    this.timer.unref();
  }

  /** Records `value` (stored as float32, as TensorBoard's simple_value) for `tag` at `step`. */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    if (this.failure) throw this.failure;
    if (this.fd === null)
      throw new Error(
        `Expected an open SummaryWriter for '${this.path}' but it was closed (scalar '${tag}' at step ${step})`,
      );
    if (typeof tag !== 'string' || tag.length === 0)
      throw new Error(`Expected a non-empty tag for a scalar of '${this.path}' but received ${JSON.stringify(tag)}`);
    if (typeof value !== 'number')
      throw new Error(`Expected a number for scalar '${tag}' of '${this.path}' but received ${typeof value}`);
    if (!(Number.isSafeInteger(step) && step >= 0))
      throw new Error(`Expected an integer step >= 0 for scalar '${tag}' of '${this.path}' but received ${step}`);
    const t = wallTime ?? this.now();
    if (!Number.isFinite(t))
      throw new Error(`Expected a finite wall time for scalar '${tag}' of '${this.path}' but received ${t}`);
    this.pending.push(frameRecord(encodeEvent(t, step, { tag, value })));
    if (this.pending.length >= this.maxQueue || this.now() - this.lastFlush >= this.flushSeconds) this.flush();
  }

  /** Appends the buffered records to the file. */
  flush(): void {
    this.lastFlush = this.now();
    if (this.fd === null || this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    try {
      for (let off = 0; off < data.length; ) off += fs.writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      throw ioError(e, `write TensorBoard events to '${this.path}'`);
    }
  }

  /** Flushes and closes the file; further scalars throw. Closing twice is a no-op. */
  close(): void {
    if (this.fd === null) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      if (this.failure) throw this.failure;
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

// ---- encoding ----

/** A TFRecord: length, masked CRC of the length bytes, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + 16);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskCrc32c(crc32c(out.subarray(0, 8))), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskCrc32c(crc32c(data)), 12 + data.length);
  return out;
}

function varint(n: number): number[] {
  // n is a non-negative safe integer; division keeps bits above 2^32 exact.
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(body.length)]), body]);
}

/** An Event with wall_time, step and either file_version or one simple_value scalar. */
export function encodeEvent(
  wallTime: number,
  step: number,
  what: { fileVersion: string } | { tag: string; value: number },
): Buffer {
  const head = Buffer.alloc(9);
  head[0] = (1 << 3) | 1; // wall_time: fixed64 double
  head.writeDoubleLE(wallTime, 1);
  const parts: Buffer[] = [head];
  if (step !== 0) parts.push(Buffer.from([(2 << 3) | 0, ...varint(step)])); // step: varint int64 (0 is the proto default, omitted)
  if ('fileVersion' in what) {
    parts.push(lengthDelimited(3, Buffer.from(what.fileVersion, 'utf8')));
  } else {
    const simple = Buffer.alloc(5);
    simple[0] = (2 << 3) | 5; // simple_value: fixed32 float
    simple.writeFloatLE(what.value, 1);
    const value = Buffer.concat([lengthDelimited(1, Buffer.from(what.tag, 'utf8')), simple]);
    parts.push(lengthDelimited(5, lengthDelimited(1, value)));
  }
  return Buffer.concat(parts);
}

// ---- decoding ----

class Reader {
  pos: number;
  constructor(
    readonly b: Buffer,
    start: number,
    readonly end: number,
    readonly fail: (what: string) => never,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('a varint cut short');
      const byte = this.b[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    return this.fail('a varint longer than 10 bytes');
  }
  /** The field number and wire type of the next tag. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }
  bytes(n: number): [number, number] {
    if (n > this.end - this.pos) this.fail(`a field of ${n} bytes past the end of its message`);
    const s = this.pos;
    this.pos += n;
    return [s, this.pos];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.bytes(8);
    else if (wire === 2) this.bytes(this.varint());
    else if (wire === 5) this.bytes(4);
    else this.fail(`unsupported wire type ${wire}`);
  }
}

/**
 * Decodes the scalars of one Event: simple_value values and scalar float/double tensors
 * (Value.tensor, as written by tf.summary.scalar in TF2), skipping anything else.
 */
function decodeEvent(b: Buffer, start: number, end: number, fail: (what: string) => never): ScalarEvent[] {
  const r = new Reader(b, start, end, fail);
  let wallTime = 0;
  let step = 0;
  const values: { tag: string; value: number }[] = [];
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 1) wallTime = b.readDoubleLE(r.bytes(8)[0]);
    else if (field === 2 && wire === 0) step = r.varint();
    else if (field === 5 && wire === 2) {
      const [s, e] = r.bytes(r.varint());
      const summary = new Reader(b, s, e, fail);
      while (!summary.done) {
        const [f, w] = summary.tag();
        if (f === 1 && w === 2) {
          const [vs, ve] = summary.bytes(summary.varint());
          const v = decodeValue(b, vs, ve, fail);
          if (v) values.push(v);
        } else summary.skip(w);
      }
    } else r.skip(wire);
  }
  return values.map((v) => ({ wallTime, step, ...v }));
}

function decodeValue(
  b: Buffer,
  start: number,
  end: number,
  fail: (what: string) => never,
): { tag: string; value: number } | null {
  const r = new Reader(b, start, end, fail);
  let tag = '';
  let value: number | null = null;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) {
      const [s, e] = r.bytes(r.varint());
      tag = b.toString('utf8', s, e);
    } else if (field === 2 && wire === 5) value = b.readFloatLE(r.bytes(4)[0]);
    else if (field === 8 && wire === 2) {
      const [s, e] = r.bytes(r.varint());
      value = decodeScalarTensor(b, s, e, fail);
    } else r.skip(wire);
  }
  return value === null ? null : { tag, value };
}

/** A TensorProto holding one DT_FLOAT (1) or DT_DOUBLE (2) value, else null. */
function decodeScalarTensor(b: Buffer, start: number, end: number, fail: (what: string) => never): number | null {
  const r = new Reader(b, start, end, fail);
  let dtype = 0;
  let value: number | null = null;
  let content: [number, number] | null = null;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 0) dtype = r.varint();
    else if (field === 4 && wire === 2) content = r.bytes(r.varint());
    else if (field === 5 && wire === 2) {
      const [s, e] = r.bytes(r.varint()); // packed float_val
      if (e - s >= 4) value = b.readFloatLE(s);
    } else if (field === 5 && wire === 5) value = b.readFloatLE(r.bytes(4)[0]);
    else if (field === 6 && wire === 2) {
      const [s, e] = r.bytes(r.varint()); // packed double_val
      if (e - s >= 8) value = b.readDoubleLE(s);
    } else if (field === 6 && wire === 1) value = b.readDoubleLE(r.bytes(8)[0]);
    else r.skip(wire);
  }
  if (value === null && content) {
    if (dtype === 1 && content[1] - content[0] === 4) value = b.readFloatLE(content[0]);
    if (dtype === 2 && content[1] - content[0] === 8) value = b.readDoubleLE(content[0]);
  }
  return dtype === 1 || dtype === 2 ? value : null;
}

/**
 * Reads the scalars of an event file in order, checking every record's CRCs. Throws naming the
 * file and byte offset on a corrupt record; a truncated last record (a writer killed mid-write)
 * ends the list silently. Records without scalars (file_version, graphs, …) are skipped.
 */
export function readEventFile(file: string): ScalarEvent[] {
  const b = fs.readFileSync(file);
  const out: ScalarEvent[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    const at = off;
    const lenCrc = maskCrc32c(crc32c(b.subarray(off, off + 8)));
    const storedLenCrc = b.readUInt32LE(off + 8);
    if (lenCrc !== storedLenCrc) {
      throw new Error(
        `Expected masked CRC-32C 0x${hex(lenCrc)} for the length of the record at byte ${at} of '${file}' but received 0x${hex(storedLenCrc)} (corrupt file)`,
      );
    }
    const len = b.readBigUInt64LE(off);
    if (len > BigInt(b.length - off - 16)) break; // truncated tail
    const n = Number(len);
    const data = b.subarray(off + 12, off + 12 + n);
    const crc = maskCrc32c(crc32c(data));
    const stored = b.readUInt32LE(off + 12 + n);
    if (crc !== stored)
      throw new Error(
        `Expected masked CRC-32C 0x${hex(crc)} for the data of the record at byte ${at} of '${file}' but received 0x${hex(stored)} (corrupt file)`,
      );
    const fail = (what: string): never => {
      throw new Error(`Expected a tensorflow.Event in the record at byte ${at} of '${file}' but received ${what}`);
    };
    out.push(...decodeEvent(b, off + 12, off + 12 + n, fail));
    off += 16 + n;
  }
  return out;
}

function hex(x: number): string {
  return x.toString(16).padStart(8, '0');
}
