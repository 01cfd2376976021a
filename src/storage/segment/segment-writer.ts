import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
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
  /** Text dictionaries: name → (token, sorted row ids) in token order (`compareTokens`), streamed. */
  readonly dicts: ReadonlyMap<string, () => Iterable<readonly [string, Uint32Array]>>;
  /** Numeric dictionaries: field → (value, sorted row ids) in ascending value order, streamed. */
  readonly numbers: ReadonlyMap<string, () => Iterable<readonly [number, Uint32Array]>>;
  readonly shards: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  readonly replaces: readonly string[];
  readonly configVersion: number;
}

/**
 * Encodes a segment and writes it atomically (temp file, fsync, rename) to `path`, streaming: dictionaries and
 * columns are written as they are produced, so memory stays at one column and one token block at a time. The caller
 * runs it where blocking is acceptable (a worker thread, or the indexer between batches).
 */
export function writeSegment(path: string, src: SegmentSource): SegmentFooter {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let offset = 0;
  const put = (b: Buffer): ByteRange => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done, offset + done);
    const r = { off: offset, len: b.length };
    offset += b.length;
    return r;
  };
  let footer: SegmentFooter;
  try {
    put(MAGIC);

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
          if (v === undefined) cw.u8(0);
          else {
            any = true;
            cw.cell(v);
          }
        }
        blocks.push(any ? put(zstdCompress(cw.finish())) : null);
      }
      columns.push({ name: col.name, blocks });
    }

    const dicts: DictFooter[] = [];
    for (const [name, entries] of src.dicts) {
      const first: string[] = [];
      const blocks: (ByteRange & { postings: number })[] = [];
      let count = 0;
      let pw = new ByteWriter(1 << 12);
      let kw = new ByteWriter(1 << 10);
      let blockFirst = '';
      const flush = (): void => {
        const p = put(pw.finish());
        const k = put(kw.finish());
        first.push(blockFirst);
        blocks.push({ ...k, postings: p.off });
        pw = new ByteWriter(1 << 12);
        kw = new ByteWriter(1 << 10);
      };
      for (const [token, ids] of entries()) {
        if (count % DICT_BLOCK === 0) {
          if (count > 0) flush();
          blockFirst = token;
        }
        const at = pw.length;
        writePosting(pw, ids, src.n);
        kw.string(token);
        kw.varint(at);
        kw.varint(pw.length - at);
        count++;
      }
      if (count > 0) flush();
      dicts.push({ name, tokens: count, first, blocks });
    }

    const numbers: NumberFooter[] = [];
    for (const [name, entries] of src.numbers) {
      const values: number[] = [];
      const offs: number[] = [];
      const pw = new ByteWriter(1 << 12);
      for (const [v, ids] of entries()) {
        values.push(v);
        offs.push(pw.length);
        writePosting(pw, ids, src.n);
      }
      offs.push(pw.length);
      const base = put(pw.finish()).off;
      const table = Buffer.concat([
        Buffer.from(Float64Array.from(values).buffer),
        Buffer.from(Float64Array.from(offs, (o) => o + base).buffer),
      ]);
      numbers.push({ name, count: values.length, table: put(table) });
    }

    let minTime = 0;
    let maxTime = 0;
    if (src.n > 0) {
      minTime = src.times[0]!;
      maxTime = src.times[src.n - 1]!;
    }
    footer = {
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
    put(fj);
    put(len);
    put(MAGIC);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return footer;
}

/** Byte order of UTF-16 code units, the same order the reader's binary search uses. */
export function compareTokens(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
