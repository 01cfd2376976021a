import { closeSync, fstatSync, openSync } from 'node:fs';
import { ByteReader, type ByteWriter, ChunkedReads, DamagedBytesError, readExact } from './bytes.js';
import { DictWalk } from './dict-walk.js';
import { checkLastId, isDensePosting, postingCount } from './postings.js';
import { type DictFooter, dictWriteOrder, type NumberFooter, type SegmentFooter } from './segment-format.js';
import type { SegmentReader } from './segment-reader.js';
import {
  compareTokens,
  compareUtf8Tokens,
  SegmentFileWriter,
  type SegmentSource,
  type SegmentWriterOptions,
  timeOrder,
} from './segment-writer.js';

/**
 * A merge of time-ordered segments as a segment source: rows are merged by time (ties keep input order, then row
 * order), columns are produced one at a time, and dictionaries are k-way merged token by token from the inputs'
 * sorted token streams, so memory holds one column and one token's postings rather than whole segments.
 */
export function mergeSource(inputs: readonly SegmentReader[], id: string, configVersion: number): SegmentSource {
  const k = inputs.length;
  let n = 0;
  for (const s of inputs) n += s.n;
  const times = new Uint32Array(n);
  const newIds = inputs.map((s) => new Uint32Array(s.n));
  const pos = new Array<number>(k).fill(0);
  for (let out = 0; out < n; out++) {
    let best = -1;
    let bestTime = 0;
    for (let i = 0; i < k; i++) {
      if (pos[i]! >= inputs[i]!.n) continue;
      const t = inputs[i]!.time(pos[i]!);
      if (best < 0 || t < bestTime) {
        best = i;
        bestTime = t;
      }
    }
    times[out] = bestTime;
    newIds[best]![pos[best]!] = out;
    pos[best]!++;
  }

  const columnNames: string[] = [];
  const seen = new Set<string>();
  for (const s of inputs) {
    for (const c of s.footer.columns) {
      if (!seen.has(c.name)) {
        seen.add(c.name);
        columnNames.push(c.name);
      }
    }
  }
  const columns = columnNames.map((name) => ({
    name,
    values: () => {
      const out: (string | undefined)[] = new Array(n);
      inputs.forEach((s, i) => {
        const map = newIds[i]!;
        const vals = s.columnValues(name);
        for (let r = 0; r < s.n; r++) if (vals[r] !== undefined) out[map[r]!] = vals[r];
      });
      return out;
    },
  }));

  const remap = (lists: (readonly [number, Uint32Array])[]): Uint32Array => {
    let total = 0;
    for (const [, ids] of lists) total += ids.length;
    const out = new Uint32Array(total);
    let o = 0;
    for (const [i, ids] of lists) {
      const map = newIds[i]!;
      for (let j = 0; j < ids.length; j++) out[o++] = map[ids[j]!]!;
    }
    return lists.length > 1 ? out.sort() : out;
  };

  const dictNames = new Set<string>();
  const numberNames = new Set<string>();
  for (const s of inputs) {
    for (const d of s.dictNames()) dictNames.add(d);
    for (const d of s.numberNames()) numberNames.add(d);
  }
  const dicts = new Map<string, () => Iterable<readonly [string, Uint32Array]>>();
  for (const name of dictNames) {
    dicts.set(name, () =>
      kWayMerge(
        inputs.map((s) => s.dictEntries(name)),
        compareTokens,
        remap,
      ),
    );
  }
  const numbers = new Map<string, () => Iterable<readonly [number, Uint32Array]>>();
  for (const name of numberNames) {
    numbers.set(name, () =>
      kWayMerge(
        inputs.map((s) => s.numberEntries(name)),
        (a, b) => a - b,
        remap,
      ),
    );
  }

  const shards = mergeShards(inputs);
  return {
    id,
    n,
    times,
    columns,
    dicts,
    numbers,
    shards,
    replaces: inputs.map((s) => s.id),
    configVersion,
  };
}

function* kWayMerge<K>(
  streams: Iterator<[K, Uint32Array]>[],
  cmp: (a: K, b: K) => number,
  combine: (lists: (readonly [number, Uint32Array])[]) => Uint32Array,
): Generator<readonly [K, Uint32Array]> {
  const heads = streams.map((it) => it.next());
  for (;;) {
    let min: K | undefined;
    let any = false;
    for (const h of heads) {
      if (h.done) continue;
      if (!any || cmp(h.value[0], min as K) < 0) min = h.value[0];
      any = true;
    }
    if (!any) return;
    const lists: (readonly [number, Uint32Array])[] = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && cmp(h.value[0], min as K) === 0) {
        lists.push([i, h.value[1]]);
        heads[i] = streams[i]!.next();
      }
    }
    yield [min as K, combine(lists)] as const;
  }
}

/** Bytes a merge reads from an input at once (its row groups: SegmentReader.readAhead; its dictionaries: RawFile). */
const MERGE_READ_AHEAD = 256 * 1024;

/** A footer's shard entry as a list of ranges (early segments wrote a single range). */
function normalize(entry: unknown): [number, number][] {
  if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'number')
    return [[entry[0], entry[1] as number]];
  return entry as [number, number][];
}

/**
 * Merges time-ordered segments into one file at the byte level: the same output as `writeSegment(mergeSource(…))`
 * (a test checks the files are identical) without a JS string per cell or token. Rows are ordered by one counting
 * sort over the inputs' times (stable: input order, then row order, as the k-way merge), so each input is consumed
 * front to back; column cells are copied from one decompressed block per input at a time; dictionaries are merged
 * token by token comparing UTF-8 bytes (in UTF-16 order) and postings decoded straight into remapped ids.
 * `options`: how the file is written (default: a segment at rest, with packed dictionaries, see SegmentWriterOptions).
 */
export function mergeSegments(
  inputs: readonly SegmentReader[],
  path: string,
  id: string,
  configVersion: number,
  options: SegmentWriterOptions = {},
): SegmentFooter {
  let n = 0;
  for (const s of inputs) n += s.n;
  const files = inputs.map((s) => new RawFile(s.path));
  const w = new SegmentFileWriter(path, options);
  for (const s of inputs) s.readAhead(MERGE_READ_AHEAD);
  try {
    const { src, newIds } = writeMergedTimes(inputs, n, w);
    mergeColumns(inputs, src, n, w);
    const dictNames: string[] = [];
    const numberNames: string[] = [];
    for (const s of inputs) {
      for (const d of s.footer.dicts) if (!dictNames.includes(d.name)) dictNames.push(d.name);
      for (const d of s.footer.numbers) if (!numberNames.includes(d.name)) numberNames.push(d.name);
    }
    const scratch = new Scratch();
    const packed = options.packDicts !== false;
    for (const name of packed ? dictWriteOrder(dictNames) : dictNames) {
      const streams: TokenStream[] = [];
      inputs.forEach((s, i) => {
        const d = s.footer.dicts.find((x) => x.name === name);
        if (d) streams.push(new TokenStream(files[i]!, d, s.n, newIds[i]!));
      });
      const out = w.dict(name, packed);
      for (;;) {
        let min: TokenStream | undefined;
        for (const t of streams) if (!t.done && (!min || compareTokenBytes(t, min) < 0)) min = t;
        if (!min) break;
        scratch.reset();
        const tokBuf = min.tokBuf;
        const ts = min.tokStart;
        const te = min.tokEnd;
        let lists = 0;
        for (const t of streams) {
          if (t.done || (t !== min && compareTokenBytes(t, min) !== 0)) continue;
          t.postingInto(scratch);
          lists++;
        }
        // Advance after collecting: `min`'s token bytes stay valid until its stream moves on.
        if (isDensePosting(scratch.len, n)) out.addBitset(tokBuf, ts, te, scratch.bits(n));
        else out.addBytes(tokBuf, ts, te, lists > 1 ? scratch.sorted(n) : scratch.ids());
        for (const t of streams) if (t.pendingAdvance) t.advance();
      }
      out.end();
    }
    for (const name of numberNames) {
      const streams: NumberStream[] = [];
      inputs.forEach((s, i) => {
        const nf = s.footer.numbers.find((x) => x.name === name);
        if (nf) streams.push(new NumberStream(files[i]!, nf, s.n, newIds[i]!));
      });
      const out = w.numbers(name);
      for (;;) {
        let min: number | undefined;
        for (const t of streams) if (!t.done && (min === undefined || t.value < min)) min = t.value;
        if (min === undefined) break;
        scratch.reset();
        let lists = 0;
        for (const t of streams) {
          if (t.done || t.value !== min) continue;
          t.postingInto(scratch);
          lists++;
          t.advance();
        }
        if (isDensePosting(scratch.len, n)) out.addBitset(min, scratch.bits(n));
        else out.add(min, lists > 1 ? scratch.sorted(n) : scratch.ids());
      }
      out.end();
    }
    return w.finish({ id, shards: mergeShards(inputs), replaces: inputs.map((s) => s.id), configVersion });
  } catch (err) {
    w.abort();
    throw err;
  } finally {
    for (const f of files) f.close();
    for (const s of inputs) s.readAhead(0);
  }
}

/**
 * Orders the inputs' rows by time (one counting sort, stable: input order, then row order, as the k-way merge) and
 * writes the merged time column. Returns each output row's input (`src`) and each input row's output id (`newIds`).
 * The 12 bytes per row of the sort (the inputs' times, their order, the merged times) die with this call instead of
 * living through the whole merge: ~24 MB of a 2M-row merge.
 */
function writeMergedTimes(
  inputs: readonly SegmentReader[],
  n: number,
  w: SegmentFileWriter,
): { src: Uint8Array; newIds: Uint32Array[] } {
  const k = inputs.length;
  const base = new Array<number>(k + 1).fill(0);
  for (let i = 0; i < k; i++) base[i + 1] = base[i]! + inputs[i]!.n;
  const all = new Uint32Array(n);
  for (let i = 0; i < k; i++) {
    const s = inputs[i]!;
    for (let r = 0; r < s.n; r++) all[base[i]! + r] = s.time(r);
  }
  const order = timeOrder(all, n);
  const times = new Uint32Array(n);
  const src = new Uint8Array(n);
  const newIds = inputs.map((s) => new Uint32Array(s.n));
  let inp = 0;
  for (let o = 0; o < n; o++) {
    const g = order[o]!;
    times[o] = all[g]!;
    // Find the input holding global row g (k ≤ a few dozen: a short scan).
    inp = 0;
    while (g >= base[inp + 1]!) inp++;
    src[o] = inp;
    newIds[inp]![g - base[inp]!] = o;
  }
  w.times(times, n);
  return { src, newIds };
}

function mergeColumns(inputs: readonly SegmentReader[], src: Uint8Array, n: number, w: SegmentFileWriter): void {
  const names: string[] = [];
  for (const s of inputs) for (const c of s.footer.columns) if (!names.includes(c.name)) names.push(c.name);
  const cursors = names.map((name) => inputs.map((s) => new CellCursor(s, s.columnAt(name))));
  const g = w.rowGroups(names);
  const cw = g.out;
  for (let b = 0; b < n; b += g.rows) {
    const end = Math.min(n, b + g.rows);
    for (const cur of cursors) {
      let any = false;
      for (let o = b; o < end; o++) if (cur[src[o]!]!.copyNext(cw)) any = true;
      g.endColumn(any);
    }
    g.endGroup();
  }
  g.end();
}

/** Walks one input's column front to back, a decoded block or row group at a time. */
class CellCursor {
  private row = 0;
  private spanEnd = 0;
  private buf: Buffer | undefined;
  private pos = 0;
  private end = 0;

  constructor(
    private readonly s: SegmentReader,
    private readonly column: number,
  ) {}

  /** Appends the next row's cell (0 when absent); returns whether it was present. */
  copyNext(cw: ByteWriter): boolean {
    const row = this.row++;
    if (row >= this.spanEnd) {
      const span = this.s.cellSpan(this.column, row);
      this.buf = span.buf;
      this.pos = span.start;
      this.end = span.end;
      this.spanEnd = span.first + span.rows;
    }
    const buf = this.buf;
    if (!buf || this.pos >= this.end) {
      cw.u8(0);
      return false;
    }
    const start = this.pos;
    let p = start;
    let x = buf[p++]!;
    let l = x & 0x7f;
    let mul = 128;
    while (x >= 0x80) {
      x = buf[p++]!;
      l += (x & 0x7f) * mul;
      mul *= 128;
    }
    const end = l === 0 ? p : p + l - 1;
    this.pos = end;
    cw.bytesOf(buf, start, end);
    return l !== 0;
  }
}

class RawFile {
  private readonly fd: number;
  private readonly size: number;
  /** Dictionary blocks, walked front to back. */
  readonly ahead: ChunkedReads;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
    this.ahead = new ChunkedReads(this.fd, this.size, MERGE_READ_AHEAD, `segment ${path}`);
  }

  read(off: number, len: number): Buffer {
    return readExact(this.fd, off, len, this.size, `segment ${this.path}`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Remapped ids of the postings of one output token or value. */
class Scratch {
  buf = new Uint32Array(1 << 16);
  len = 0;

  reset(): void {
    this.len = 0;
  }

  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  ids(): Uint32Array {
    return this.buf.subarray(0, this.len);
  }

  /**
   * The ids sorted (several inputs' runs, each sorted, ids distinct). A list of more than 1 in 32 rows goes through a
   * bitset of the `n` rows instead of a sort: one pass each way, where a sort of ~100k ids took milliseconds.
   */
  sorted(n: number): Uint32Array {
    if (this.len * 32 <= n) return this.buf.subarray(0, this.len).sort();
    const words = this.bits(n);
    const buf = this.buf;
    let len = 0;
    for (let wi = 0; wi < words.length; wi++) {
      let word = words[wi]!;
      while (word !== 0) {
        const low = word & -word;
        buf[len++] = (wi << 5) + 31 - Math.clz32(low);
        word = (word ^ low) >>> 0;
      }
    }
    return buf.subarray(0, len);
  }

  private words = new Uint32Array(0);

  /**
   * The ids as a bitset of `n` rows: a dense list (what writePosting stores as a bitset, see isDensePosting)
   * goes straight to its words, with no sort of several inputs' runs and no second pass. The words are reused by the
   * next call (one merge's frequent tokens no longer each leave n / 8 bytes behind for the collector).
   */
  bits(n: number): Uint32Array {
    const size = (n + 31) >>> 5;
    if (this.words.length !== size) this.words = new Uint32Array(size);
    else this.words.fill(0);
    const words = this.words;
    const buf = this.buf;
    for (let i = 0; i < this.len; i++) {
      const id = buf[i]!;
      words[id >>> 5]! |= 1 << (id & 31);
    }
    return words;
  }
}

/** Decodes a posting (`writePosting` bytes) of a segment of `n` rows at `buf[pos]`, appending `map[id]` for each. */
function decodePostingInto(buf: Buffer, pos: number, n: number, map: Uint32Array, out: Scratch): void {
  if (buf[pos] === 1) {
    const nWords = (n + 31) >>> 5;
    if (pos + 1 + nWords * 4 > buf.length) throw new DamagedBytesError('a bitset posting runs past its bytes');
    out.ensure(n);
    const o = out.buf;
    let len = out.len;
    let p = pos + 1;
    for (let wi = 0; wi < nWords; wi++, p += 4) {
      let word = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
      while (word !== 0) {
        const low = word & -word;
        o[len++] = map[(wi << 5) + 31 - Math.clz32(low)]!;
        word = (word ^ low) >>> 0;
      }
    }
    out.len = len;
    return;
  }
  if (buf[pos] !== 0) throw new DamagedBytesError(`posting kind ${buf[pos]}`);
  const r = new ByteReader(buf, pos + 1);
  const count = postingCount(r.varint(), n);
  let p = r.pos;
  let x: number;
  let mul: number;
  out.ensure(count);
  const o = out.buf;
  let len = out.len;
  let prev = 0;
  for (let i = 0; i < count; i++) {
    x = buf[p++]!;
    let d = x & 0x7f;
    mul = 128;
    while (x >= 0x80) {
      x = buf[p++]!;
      d += (x & 0x7f) * mul;
      mul *= 128;
    }
    prev += d;
    o[len++] = map[prev]!;
  }
  // A damaged posting must not put a wrong row (map[id past n] reads as 0) into the merged segment.
  if (p > buf.length) throw new DamagedBytesError('a posting runs past its bytes');
  checkLastId(prev, n);
  out.len = len;
}

/** One input's tokens of a dictionary, with their postings decoded into the output's ids. */
class TokenStream extends DictWalk {
  pendingAdvance = false;

  constructor(
    private readonly file: RawFile,
    d: DictFooter,
    private readonly n: number,
    private readonly map: Uint32Array,
  ) {
    super((off, len) => file.ahead.read(off, len), d);
  }

  advance(): void {
    this.pendingAdvance = false;
    this.next();
  }

  postingInto(out: Scratch): void {
    if (this.row >= 0) {
      out.ensure(1);
      out.buf[out.len++] = this.map[this.row]!;
    } else if (this.postingOff >= 0) decodePostingInto(this.buf, this.postingOff, this.n, this.map, out);
    // A shared posting: another dictionary's, before this block.
    else decodePostingInto(this.file.read(this.postingAt, this.postingLen), 0, this.n, this.map, out);
    this.pendingAdvance = true;
  }
}

class NumberStream {
  done = false;
  value = 0;
  private i = 0;
  private readonly values: Float64Array;
  private readonly offsets: Float64Array;
  private readonly postings: Buffer;
  private readonly base: number;

  constructor(
    file: RawFile,
    nf: NumberFooter,
    private readonly n: number,
    private readonly map: Uint32Array,
  ) {
    const table = new Uint8Array(file.read(nf.table.off, nf.table.len)).slice().buffer;
    this.values = new Float64Array(table, 0, nf.count);
    this.offsets = new Float64Array(table, nf.count * 8, nf.count + 1);
    this.base = this.offsets[0]!;
    this.postings = file.read(this.base, this.offsets[nf.count]! - this.base);
    if (nf.count === 0) this.done = true;
    else this.value = this.values[0]!;
  }

  postingInto(out: Scratch): void {
    decodePostingInto(this.postings, this.offsets[this.i]! - this.base, this.n, this.map, out);
  }

  advance(): void {
    this.i++;
    if (this.i >= this.values.length) this.done = true;
    else this.value = this.values[this.i]!;
  }
}

/** compareTokens on the UTF-8 bytes of two streams' current tokens. */
function compareTokenBytes(a: TokenStream, b: TokenStream): number {
  return compareUtf8Tokens(a.tokBuf, a.tokStart, a.tokEnd, b.tokBuf, b.tokStart, b.tokEnd);
}

/** Inputs may hold non-adjacent ranges (parallel builds): keep them as a list, merging only what touches. */
function mergeShards(inputs: readonly SegmentReader[]): Record<string, [number, number][]> {
  const shards: Record<string, [number, number][]> = {};
  for (const s of inputs) {
    for (const [key, ranges] of Object.entries(s.footer.shards)) {
      const list = shards[key] ?? [];
      for (const r of normalize(ranges)) list.push([r[0], r[1]]);
      shards[key] = list;
    }
  }
  for (const key of Object.keys(shards)) {
    const sorted = shards[key]!.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of sorted) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push(r);
    }
    shards[key] = merged;
  }
  return shards;
}
