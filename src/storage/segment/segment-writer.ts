import { open, rename } from 'node:fs/promises';
import { ByteWriter, zstdCompress } from './bytes.js';
import { writePosting } from './postings.js';
import {
  BLOCK_ROWS,
  type ByteRange,
  type ColumnFooter,
  DICT_BLOCK,
  type DictFooter,
  MAGIC,
  type NumberFooter,
  type SegmentFooter,
} from './segment-format.js';

/** What a segment is built from: rows already in time order, with their dictionaries keyed by the new row ids. */
export interface SegmentSource {
  readonly id: string;
  readonly n: number;
  /** Sorted ascending. */
  readonly times: Uint32Array;
  /** Columns in output order; `values()` is called once per column so a merge can produce one column at a time. */
  readonly columns: readonly { readonly name: string; values(): readonly (string | undefined)[] }[];
  /** Text dictionaries: name → tokens in any order → sorted row ids. */
  readonly dicts: ReadonlyMap<string, ReadonlyMap<string, Uint32Array>>;
  /** Numeric dictionaries: field → value → sorted row ids. */
  readonly numbers: ReadonlyMap<string, ReadonlyMap<number, Uint32Array>>;
  readonly shards: Readonly<Record<string, readonly [number, number]>>;
  readonly replaces: readonly string[];
  readonly configVersion: number;
}

/** Encodes a segment and writes it atomically (temp file, fsync, rename) to `path`. */
export async function writeSegment(path: string, src: SegmentSource): Promise<SegmentFooter> {
  const chunks: Buffer[] = [MAGIC];
  let offset = MAGIC.length;
  const put = (b: Buffer): ByteRange => {
    chunks.push(b);
    const r = { off: offset, len: b.length };
    offset += b.length;
    return r;
  };

  const tw = new ByteWriter(src.n + 16);
  let prev = 0;
  for (let i = 0; i < src.n; i++) {
    tw.varint(src.times[i]! - prev);
    prev = src.times[i]!;
  }
  const times = put(zstdCompress(tw.finish()));

  const columns: ColumnFooter[] = [];
  const cw = new ByteWriter(1 << 18);
  for (const col of src.columns) {
    const values = col.values();
    const blocks: (ByteRange | null)[] = [];
    for (let start = 0; start < src.n; start += BLOCK_ROWS) {
      cw.reset();
      let any = false;
      const end = Math.min(src.n, start + BLOCK_ROWS);
      for (let i = start; i < end; i++) {
        const v = values[i];
        if (v === undefined) cw.varint(0);
        else {
          any = true;
          const b = Buffer.from(v, 'utf8');
          cw.varint(b.length + 1);
          cw.bytes(b);
        }
      }
      blocks.push(any ? put(zstdCompress(cw.finish())) : null);
    }
    columns.push({ name: col.name, blocks });
  }

  const dicts: DictFooter[] = [];
  for (const [name, postings] of src.dicts) {
    const tokens = [...postings.keys()].sort(compareTokens);
    const first: string[] = [];
    const blocks: (ByteRange & { postings: number })[] = [];
    for (let b = 0; b < tokens.length; b += DICT_BLOCK) {
      const pw = new ByteWriter(1 << 12);
      const kw = new ByteWriter(1 << 10);
      const end = Math.min(tokens.length, b + DICT_BLOCK);
      for (let i = b; i < end; i++) {
        const t = tokens[i]!;
        const at = pw.length;
        writePosting(pw, postings.get(t)!, src.n);
        kw.string(t);
        kw.varint(at);
        kw.varint(pw.length - at);
      }
      const p = put(Buffer.from(pw.finish()));
      const k = put(Buffer.from(kw.finish()));
      first.push(tokens[b]!);
      blocks.push({ ...k, postings: p.off });
    }
    dicts.push({ name, tokens: tokens.length, first, blocks });
  }

  const numbers: NumberFooter[] = [];
  for (const [name, byValue] of src.numbers) {
    const values = Float64Array.from(byValue.keys()).sort();
    const offs = new Float64Array(values.length + 1);
    const pw = new ByteWriter(1 << 12);
    for (let i = 0; i < values.length; i++) {
      offs[i] = pw.length;
      writePosting(pw, byValue.get(values[i]!)!, src.n);
    }
    offs[values.length] = pw.length;
    const base = put(Buffer.from(pw.finish())).off;
    for (let i = 0; i <= values.length; i++) offs[i]! += base;
    const table = Buffer.concat([Buffer.from(values.buffer), Buffer.from(offs.buffer)]);
    numbers.push({ name, count: values.length, table: put(table) });
  }

  let minTime = 0;
  let maxTime = 0;
  if (src.n > 0) {
    minTime = src.times[0]!;
    maxTime = src.times[src.n - 1]!;
  }
  const footer: SegmentFooter = {
    id: src.id,
    n: src.n,
    minTime,
    maxTime,
    shards: src.shards,
    replaces: src.replaces,
    configVersion: src.configVersion,
    createdMs: Date.now(),
    times,
    columns,
    dicts,
    numbers,
  };
  const fj = Buffer.from(JSON.stringify(footer), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(fj.length);
  chunks.push(fj, len, MAGIC);

  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    for (let i = 0; i < chunks.length; i += 512) await fh.writev(chunks.slice(i, i + 512));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return footer;
}

/** Byte order of UTF-16 code units, the same order the reader's binary search uses. */
export function compareTokens(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
