import { delimitedFormat, FieldTable, frameRows, newRowFrames, splitFields } from '../delimited_splitter';
import { DelimitedBlock } from '../raw_block';

/** Test fixture: a CSV text (header line first) as a RawBlock named `file`. */
export function csvBlock(text: string, file = 't.csv', delimiter = ','): DelimitedBlock {
  const buf = Buffer.from(text);
  const fmt = delimitedFormat(delimiter);
  const frames = newRowFrames(10000);
  frameRows(buf, 0, buf.length, true, 1, frames);
  const header = buf.subarray(frames.starts[0], frames.ends[0]).toString().split(delimiter);
  frames.starts = frames.starts.subarray(1);
  frames.ends = frames.ends.subarray(1);
  frames.lines = frames.lines.subarray(1);
  frames.count -= 1;
  const table = new FieldTable(header.length, Math.max(1, frames.count));
  const errors = splitFields(buf, frames, fmt, table);
  if (errors.length) throw new Error(errors[0].message);
  return new DelimitedBlock(table, [file], new Int32Array(table.rows), new Map(header.map((h, i) => [h, i])));
}
