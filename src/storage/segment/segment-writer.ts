import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import zstdBinding from 'zstd-napi/binding.js';
import { ByteWriter, zstdCompress } from './bytes.js';
import { DictWalk } from './dict-walk.js';
import { writeBitset, writePosting } from './postings.js';
import {
  BLOCK_ROWS,
  type ByteRange,
  type ColumnFooter,
  DICT_BLOCK,
  type DictFooter,
  dictWriteOrder,
  FULL_TEXT_DICT,
  GROUP_DICT_BYTES,
  GROUP_ROWS,
  MAGIC,
  MAX_GROUP_ROWS,
  type NumberFooter,
  type SegmentFooter,
  YOUNG_GROUP_ROWS,
} from './segment-format.js';

/** What a segment is built from: rows already in time order, with their dictionaries keyed by the new row ids. */
export interface SegmentSource {
  readonly id: string;
  readonly n: number;
  /** Sorted ascending. */
  readonly times: Uint32Array;
  /** Columns in output order; `values()` is called once per column. */
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
 * Encodes a segment and writes it atomically (temp file, fsync, rename) to `path`, streaming: dictionaries are
 * written as they are produced, so memory stays at the columns' values and one token block at a time. The caller
 * runs it where blocking is acceptable (a worker thread, or the indexer between batches).
 */
export function writeSegment(path: string, src: SegmentSource, options: SegmentWriterOptions = {}): SegmentFooter {
  const w = new SegmentFileWriter(path, options);
  try {
    w.times(src.times, src.n);
    const cols = src.columns.map((c) => c.values());
    const g = w.rowGroups(src.columns.map((c) => c.name));
    for (let start = 0; start < src.n; start += g.rows) {
      const end = Math.min(src.n, start + g.rows);
      for (const values of cols) {
        const cw = g.out;
        let any = false;
        for (let i = start; i < end; i++) {
          const v = values[i];
          if (v === undefined) cw.u8(0);
          else {
            any = true;
            cw.cell(v);
          }
        }
        g.endColumn(any);
      }
      g.endGroup();
    }
    g.end();
    const packed = options.packDicts === true;
    for (const name of packed ? dictWriteOrder([...src.dicts.keys()]) : src.dicts.keys()) {
      const entries = src.dicts.get(name)!;
      const d = w.dict(name, packed);
      for (const [token, ids] of entries()) d.addString(token, ids);
      d.end();
    }
    for (const [name, entries] of src.numbers) {
      const d = w.numbers(name);
      for (const [v, ids] of entries()) d.add(v, ids);
      d.end();
    }
    return w.finish(src);
  } catch (err) {
    w.abort();
    throw err;
  }
}

/**
 * zstd level of segments meant to be merged soon (the small segments builds write). Merges read them once and write
 * their rows again at level 3 or more, so the choice is between a build's CPU and the bytes it writes:
 * - Session 19 measured level 1 against stored frames (zstd frames of raw blocks: session 18's choice, removed in
 *   session 19) in fresh 5M loads of
 *   bench:search, alternated (`SLUICE_BENCH_ONLY=needle node dist/bench/search.js --runs 3 --settle 0 --quiet 0`):
 *   searchable after 8.9-9.4 s with 16.0-16.9 server CPU s, against 9.7 s with 17.3 s. Young files weigh 114
 *   bytes per log instead of 312.
 * - The bytes cost more than a build's compression here. On this VM, a page the guest touches for the first time
 *   costs a fault on the host: writing 12 MB into a new file took ~31 ms of CPU, against ~2 ms into pages just
 *   freed. A load writes its young files into new pages, and the kernel's copy into them was 17 % of the server's
 *   CPU with stored frames (`perf record` of a load).
 * - build-ab does not show this: it deletes its files every round, so its writes reuse freed pages, and there stored
 *   frames cost less (rounds 2-8 of 8: 1.76-1.95 against 2.15-2.26 µs per log).
 * - Levels -1, -5 and 2 loaded within the noise of level 1, with larger young files at -1 and -5.
 */
export const YOUNG_ZSTD_LEVEL = 1;

/**
 * How builder workers write young segments: the fast level, YOUNG_GROUP_ROWS rows per group, no dictionary (small
 * frames cost more CPU per row; these files live seconds before a merge rewrites them).
 */
export const YOUNG_SEGMENT: SegmentWriterOptions = {
  level: YOUNG_ZSTD_LEVEL,
  groupRows: YOUNG_GROUP_ROWS,
  groupDict: 0,
  fsync: false,
};

/** One zstd context per thread for everything a segment file compresses (times, column blocks, row-group frames). */
let cctx: InstanceType<typeof zstdBinding.CCtx> | undefined;
/**
 * Outputs of the narrow frame, the wide frame and any other section, reused: what is compressed is put into the
 * file's write buffer before the next section of its kind is compressed. (zstd-napi's Compressor returned a new
 * buffer per call, copied once more when the output shrank by a quarter or more: ~2 % of a build's CPU went to page
 * faults on those copies.)
 */
const outs = [Buffer.allocUnsafe(1 << 14), Buffer.allocUnsafe(1 << 16), Buffer.allocUnsafe(1 << 14)];

/** `raw` compressed at `level`, against `cdict` when given, into output `slot`: valid until that slot's next use. */
function compressInto(
  slot: 0 | 1 | 2,
  raw: Uint8Array,
  level: number,
  cdict?: InstanceType<typeof zstdBinding.CDict>,
): Buffer {
  cctx ??= new zstdBinding.CCtx();
  const bound = zstdBinding.compressBound(raw.length);
  if (outs[slot]!.length < bound) outs[slot] = Buffer.allocUnsafe(Math.max(bound, outs[slot]!.length * 2));
  const out = outs[slot]!;
  const n = cdict ? cctx.compressUsingCDict(out, raw, cdict) : cctx.compress(out, raw, level);
  return out.subarray(0, n);
}

/** Bytes of a segment collected before one write: most sections are a few KB (row groups, token blocks). */
const WRITE_BUFFER = 1 << 20;

export interface SegmentWriterOptions {
  /** zstd level of times and row groups (default: bytes.ts's level 3). */
  readonly level?: number;
  /** Rows per row group (default GROUP_ROWS); must divide BLOCK_ROWS and be at most MAX_GROUP_ROWS. */
  readonly groupRows?: number;
  /** Bytes of decoded frames that make the segment's dictionary (default GROUP_DICT_BYTES; 0 = no dictionary). */
  readonly groupDict?: number;
  /**
   * Dictionaries in the packed form (`DictFooter.packed`), the full-text one written last and sharing the postings the
   * field dictionaries hold byte for byte. Merges do by default (they write the segments that stay); `writeSegment`
   * and builds do not (a head seal or a build is merged within seconds), unless asked.
   */
  readonly packDicts?: boolean;
  /**
   * fsync the file before it is renamed into place (default true). Young segments skip it: like a search engine's
   * refresh, they live in the page cache until a merge writes their rows durably, and the shard log (fsynced before
   * each acknowledgement) is what a crash recovers from. A young file the crash cut short does not open, is moved
   * aside, and its records are indexed again; one the rename never reached leaves its records uncovered, and catch-up
   * indexes them.
   */
  readonly fsync?: boolean;
}

/**
 * The segment file being written, section by section in file order: times, then row groups (`rowGroups`), then
 * text dictionaries, then numeric ones, then `finish` (footer, fsync, rename). Both the string-based
 * `writeSegment` and the byte-level builders and merges write through it, so every path produces the same layout.
 * Sections are collected into a buffer of WRITE_BUFFER bytes and written when it fills (a build wrote thousands of
 * small sections, one write call each).
 */
export class SegmentFileWriter {
  private readonly tmp: string;
  private fd: number;
  private offset = 0;
  /** Bytes collected, not yet written: they belong at `offset - pending`. */
  private readonly buf = Buffer.allocUnsafeSlow(WRITE_BUFFER);
  private pending = 0;
  readonly level: number;
  readonly groupRows: number;
  readonly groupDictBytes: number;
  private groupDict: ByteRange | undefined;
  private n = 0;
  private minTime = 0;
  private maxTime = 0;
  private timesRange: ByteRange = { off: 0, len: 0 };
  private columns: ColumnFooter[] = [];
  private groups: (ByteRange | null)[] = [];
  private readonly dicts: DictFooter[] = [];
  private readonly numberFooters: NumberFooter[] = [];
  private readonly fsync: boolean;

  constructor(
    readonly path: string,
    options: SegmentWriterOptions = {},
  ) {
    this.level = options.level ?? 3;
    this.groupRows = options.groupRows ?? GROUP_ROWS;
    if (BLOCK_ROWS % this.groupRows !== 0 || this.groupRows > MAX_GROUP_ROWS)
      throw new Error(`${this.groupRows} rows per group: must divide ${BLOCK_ROWS} and be at most ${MAX_GROUP_ROWS}`);
    this.groupDictBytes = options.groupDict ?? GROUP_DICT_BYTES;
    this.fsync = options.fsync ?? true;
    this.tmp = `${path}.tmp`;
    // Read as well as written: a shared dictionary reads back the dictionaries written before it (`dict`).
    this.fd = openSync(this.tmp, 'w+');
    this.put(MAGIC);
  }

  put(b: Uint8Array): ByteRange {
    const r = { off: this.offset, len: b.length };
    if (this.pending + b.length > WRITE_BUFFER) this.flush();
    if (b.length >= WRITE_BUFFER) this.writeAt(b, this.offset);
    else {
      this.buf.set(b, this.pending);
      this.pending += b.length;
    }
    this.offset += b.length;
    return r;
  }

  /** Bytes written so far: where the next `put` goes. */
  get position(): number {
    return this.offset;
  }

  /** `len` bytes at `off` of what was already put (flushing what is collected first when the range reaches it). */
  readBack(off: number, len: number): Buffer {
    if (off + len > this.offset - this.pending) this.flush();
    const buf = Buffer.allocUnsafe(len);
    for (let done = 0; done < len; ) {
      const got = readSync(this.fd, buf, done, len - done, off + done);
      if (got === 0) throw new Error(`segment ${this.tmp}: nothing to read back at ${off + done}`);
      done += got;
    }
    return buf;
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.writeAt(this.buf.subarray(0, this.pending), this.offset - this.pending);
    this.pending = 0;
  }

  private writeAt(b: Uint8Array, at: number): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, at + done);
  }

  /** A column block: compressed and written. */
  block(raw: Uint8Array): ByteRange {
    return this.put(compressInto(2, raw, this.level));
  }

  /** The sorted log times (first section). */
  times(times: Uint32Array, n: number): void {
    const tw = new ByteWriter(n + 16);
    let prev = 0;
    for (let i = 0; i < n; i++) {
      tw.varint(times[i]! - prev);
      prev = times[i]!;
    }
    this.n = n;
    if (n > 0) {
      this.minTime = times[0]!;
      this.maxTime = times[n - 1]!;
    }
    this.timesRange = this.put(compressInto(2, tw.finish(), this.level));
  }

  /** The row groups (after the times): every column's cells, `groupRows` rows at a time. */
  rowGroups(names: readonly string[]): GroupAppender {
    return new GroupAppender(this, names.length, (groups, dict) => {
      this.columns = names.map((name) => ({ name }));
      this.groups = groups;
      this.groupDict = dict;
    });
  }

  /**
   * A text dictionary: tokens must be added in `compareTokens` order. `packed`: in the packed form
   * (`DictFooter.packed`); the full-text dictionary then points at the postings of the dictionaries written before it
   * wherever theirs are byte for byte its own, instead of storing a copy (merges write it last, after the fields').
   */
  dict(name: string, packed = false): DictAppender {
    const shares = packed && name === FULL_TEXT_DICT ? this.dicts.map((d) => new WrittenDict(this, d)) : undefined;
    return new DictAppender(this, name, this.n, (f) => this.dicts.push(f), packed, shares);
  }

  /** A numeric dictionary: values must be added in ascending order. */
  numbers(name: string): NumberAppender {
    return new NumberAppender(this, name, this.n, (f) => this.numberFooters.push(f));
  }

  finish(meta: {
    readonly id: string;
    readonly shards: Readonly<Record<string, readonly (readonly [number, number])[]>>;
    readonly replaces: readonly string[];
    readonly configVersion: number;
  }): SegmentFooter {
    const footer: SegmentFooter = {
      id: meta.id,
      n: this.n,
      minTime: this.minTime,
      maxTime: this.maxTime,
      shards: meta.shards,
      replaces: meta.replaces,
      configVersion: meta.configVersion,
      createdMs: Date.now(),
      times: this.timesRange,
      format: 5,
      groupRows: this.groupRows,
      ...(this.groupDict ? { groupDict: this.groupDict } : {}),
      groupTable: this.groupTable(),
      groupCount: this.groups.length,
      columns: this.columns,
      dicts: this.dicts,
      numbers: this.numberFooters,
    };
    const fj = Buffer.from(JSON.stringify(footer), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(fj.length);
    this.put(fj);
    this.put(len);
    this.put(MAGIC);
    this.flush();
    if (this.fsync) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
    return footer;
  }

  /** The groups' ranges as the footer's `groupTable`, written: they lie back to back (GroupAppender writes them so). */
  private groupTable(): ByteRange {
    const w = new ByteWriter(16 + this.groups.length * 3);
    const first = this.groups.find((r) => r !== null);
    let at = first?.off ?? 0;
    w.varint(at);
    for (const r of this.groups) {
      if (!r) {
        w.varint(0);
        continue;
      }
      if (r.off !== at || r.len === 0) throw new Error(`row group at ${r.off} (${r.len} bytes) is not at ${at}`);
      w.varint(r.len);
      at += r.len;
    }
    return this.put(zstdCompress(w.finish()));
  }

  /** Closes and removes the temp file after a failure. */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = -1;
    }
    rmSync(this.tmp, { force: true });
  }
}

/**
 * A section longer than this many bytes per row (16 bytes per cell) goes to the wide frame, the others to the narrow
 * one: a scan of a narrow column (status, method, sizes, IPs) then decodes a few KB per group, not the user agents
 * and paths beside them. A frame per wide section measured no better for one-column scans (the cost per group is
 * mostly fixed: read, header, one zstd call) and worse for pages (more zstd calls per row).
 */
const WIDE_BYTES_PER_ROW = 16;
const EMPTY = new Uint8Array(0);

/** A group held until the segment's dictionary exists: its header so far and its two decoded frames. */
interface HeldGroup {
  readonly head: Buffer;
  readonly frames: readonly [Buffer, Buffer];
  readonly slot: number;
}

/**
 * Row groups: for each group, append each column's cells to `out` in column order, calling `endColumn` after each
 * column (with whether any cell was present: an all-absent column keeps no bytes) and `endGroup` after the last.
 *
 * With a dictionary (the writer's `groupDictBytes` > 0), the first groups are held decoded until their frames reach
 * that many bytes; their frames, concatenated, become the segment's raw-content dictionary (written compressed before
 * the groups), and every group is compressed against it. Those first groups then cost a few bytes each (their data is
 * the dictionary), and the later ones find their repeated values (user agents, paths) in it: 32-row groups take the
 * disk of 128-row ones without it (docs/benchmarks.md, session 6), 16-row groups ~7 % more (session 9). A segment
 * whose groups never reach the size uses no dictionary.
 */
export class GroupAppender {
  readonly out = new ByteWriter(1 << 18);
  /** Rows per group: the caller ends a group every `rows` rows. */
  readonly rows: number;
  private readonly head = new ByteWriter(64);
  private readonly frames = [new ByteWriter(1 << 16), new ByteWriter(1 << 18)];
  private readonly lens: number[] = [];
  private colStart = 0;
  private any = false;
  private readonly groups: (ByteRange | null)[] = [];
  /** Groups held for the dictionary (while `held` is defined), and their frames' bytes. */
  private held: HeldGroup[] | undefined;
  private heldBytes = 0;
  private cdict: InstanceType<typeof zstdBinding.CDict> | undefined;
  private dictRange: ByteRange | undefined;

  constructor(
    private readonly file: SegmentFileWriter,
    private readonly columns: number,
    private readonly done: (groups: (ByteRange | null)[], dict: ByteRange | undefined) => void,
  ) {
    this.rows = file.groupRows;
    if (file.groupDictBytes > 0) this.held = [];
  }

  endColumn(present: boolean): void {
    if (!present) this.out.length = this.colStart;
    else this.any = true;
    this.lens.push(this.out.length - this.colStart);
    this.colStart = this.out.length;
  }

  /**
   * A whole group from cells laid out column after column in `src` (column c's lens[c] bytes; -1: no cell present),
   * as endColumn for each column and then endGroup would write it (the native build's groups).
   */
  putCells(src: Uint8Array, lens: Int32Array): void {
    let at = 0;
    for (let c = 0; c < this.columns; c++) {
      const l = lens[c]!;
      if (l >= 0) {
        this.out.bytesOf(src, at, at + l);
        at += l;
      }
      this.endColumn(l >= 0);
    }
    this.endGroup();
  }

  endGroup(): void {
    const columns = this.columns;
    if (this.lens.length !== columns) throw new Error(`row group of ${this.lens.length} columns, expected ${columns}`);
    if (this.any) {
      // Header (see segment-format.ts), then the narrow frame, then the wide one.
      const cells = this.out.finish();
      const head = this.head;
      const frames = this.frames;
      head.reset();
      frames[0]!.reset();
      frames[1]!.reset();
      for (const l of this.lens) head.varint(l);
      const mask = head.length;
      for (let i = 0; i < (columns + 7) >>> 3; i++) head.u8(0);
      const hb = head.finish();
      const wideOver = WIDE_BYTES_PER_ROW * this.rows;
      let at = 0;
      for (let c = 0; c < columns; c++) {
        const l = this.lens[c]!;
        const wide = l > wideOver ? 1 : 0;
        if (wide) hb[mask + (c >>> 3)]! |= 1 << (c & 7);
        frames[wide]!.bytesOf(cells, at, at + l);
        at += l;
      }
      if (this.held) {
        const narrow = Buffer.from(frames[0]!.finish());
        const wide = Buffer.from(frames[1]!.finish());
        this.held.push({ head: Buffer.from(hb), frames: [narrow, wide], slot: this.groups.length });
        this.groups.push(null);
        this.heldBytes += narrow.length + wide.length;
        if (this.heldBytes >= this.file.groupDictBytes) this.makeDict();
      } else this.putGroup(hb, frames[0]!.finish(), frames[1]!.finish(), this.groups.length);
    } else this.groups.push(null);
    this.out.reset();
    this.lens.length = 0;
    this.colStart = 0;
    this.any = false;
  }

  end(): void {
    // Too few bytes for a dictionary: the held groups are written without one.
    if (this.held) this.flushHeld();
    this.done(this.groups, this.dictRange);
  }

  /** The held groups' frames become the dictionary; it is written, then the held groups against it. */
  private makeDict(): void {
    const parts: Buffer[] = [];
    for (const g of this.held!) parts.push(g.frames[0], g.frames[1]);
    const dict = Buffer.concat(parts);
    this.dictRange = this.file.put(zstdCompress(dict));
    this.cdict = new zstdBinding.CDict(dict, this.file.level);
    this.flushHeld();
  }

  private flushHeld(): void {
    const held = this.held!;
    this.held = undefined;
    for (const g of held) this.putGroup(g.head, g.frames[0], g.frames[1], g.slot);
  }

  /** Writes a group: `head` (the section lengths and mask), the frame lengths, the compressed frames. */
  private putGroup(hb: Uint8Array, narrowRaw: Uint8Array, wideRaw: Uint8Array, slot: number): void {
    const narrow = narrowRaw.length > 0 ? this.compressFrame(narrowRaw, 0) : EMPTY;
    const wide = wideRaw.length > 0 ? this.compressFrame(wideRaw, 1) : EMPTY;
    const r = this.file.put(hb);
    const head = this.head;
    head.reset();
    head.varint(narrow.length);
    head.varint(wide.length);
    let len = r.len + this.file.put(head.finish()).len;
    len += this.file.put(narrow).len;
    len += this.file.put(wide).len;
    this.groups[slot] = { off: r.off, len };
  }

  /**
   * Frame `f` (0 narrow, 1 wide) compressed at the file's level, against the dictionary when there is one; valid until
   * the next frame `f`.
   */
  private compressFrame(raw: Uint8Array, f: 0 | 1): Uint8Array {
    return compressInto(f, raw, this.file.level, this.cdict);
  }
}

/** Token blocks of DICT_BLOCK tokens, each preceded by its tokens' postings. */
export class DictAppender {
  private readonly first: string[] = [];
  private readonly blocks: (ByteRange & { postings: number })[] = [];
  private count = 0;
  private pw = new ByteWriter(1 << 12);
  private kw = new ByteWriter(1 << 10);
  private blockFirst = '';
  /** The entry being added: its token's bytes (`tokenBytes`), for the search of a posting to share. */
  private tokBuf: Uint8Array = EMPTY;
  private tokStart = 0;
  private tokEnd = 0;
  /** Packed: the previous token of the block (front coding). */
  private prevTok = Buffer.alloc(256);
  private prevLen = 0;

  constructor(
    private readonly out: SegmentFileWriter,
    private readonly name: string,
    private readonly n: number,
    private readonly done: (f: DictFooter) => void,
    private readonly packed = false,
    private readonly shares?: readonly WrittenDict[],
  ) {}

  addString(token: string, ids: ArrayLike<number>): void {
    if (this.packed) {
      const bytes = Buffer.from(token, 'utf8');
      this.addBytes(bytes, 0, bytes.length, ids);
      return;
    }
    if (this.count % DICT_BLOCK === 0) {
      if (this.count > 0) this.flush();
      this.blockFirst = token;
    }
    this.kw.string(token);
    this.posting(ids);
  }

  /** A token given as its UTF-8 bytes `buf[start, end)`, with the row ids `ids[from, to)`. */
  addBytes(buf: Uint8Array, start: number, end: number, ids: ArrayLike<number>, from = 0, to = ids.length): void {
    this.tokenBytes(buf, start, end);
    this.posting(ids, from, to);
  }

  /** A token given as bytes with its posting as a bitset of the segment's rows (a dense list, see writePosting). */
  addBitset(buf: Uint8Array, start: number, end: number, words: Uint32Array): void {
    this.tokenBytes(buf, start, end);
    const at = this.pw.length;
    writeBitset(this.pw, words);
    this.postingWritten(at);
  }

  /** A token whose posting is already encoded (`writePosting` bytes for this segment's n). */
  addEncoded(buf: Uint8Array, start: number, end: number, posting: Uint8Array, pStart: number, pEnd: number): void {
    this.tokenBytes(buf, start, end);
    const at = this.pw.length;
    this.pw.bytesOf(posting, pStart, pEnd);
    this.postingWritten(at);
  }

  /**
   * Whole blocks already laid out as `flush` writes them (the native build writes them): `bytes[at, ...)` holds, per
   * block, its postings then its entries; `blocks` has per block the postings' length, the entries' length and the
   * index of its first token, whose bytes are `tokenBytes[tokStart[i], tokStart[i] + tokLen[i])`. Only on an empty
   * dictionary; `tokens` tokens in all, DICT_BLOCK per block but the last.
   */
  addBlocks(
    bytes: Uint8Array,
    at: number,
    blocks: Int32Array,
    tokens: number,
    tokenBytes: Uint8Array,
    tokStart: Int32Array,
    tokLen: Int32Array,
  ): void {
    if (this.count !== 0 || this.packed) throw new Error('DictAppender.addBlocks: only on an empty plain dictionary');
    for (let b = 0; b < blocks.length; b += 3) {
      const pLen = blocks[b]!;
      const kLen = blocks[b + 1]!;
      const t = blocks[b + 2]!;
      const p = this.out.put(bytes.subarray(at, at + pLen));
      const k = this.out.put(bytes.subarray(at + pLen, at + pLen + kLen));
      at += pLen + kLen;
      const s = tokStart[t]!;
      this.first.push(Buffer.from(tokenBytes.buffer, tokenBytes.byteOffset + s, tokLen[t]!).toString('utf8'));
      this.blocks.push({ ...k, postings: p.off });
    }
    this.count = tokens;
  }

  /** Starts a dictionary entry: a new block every DICT_BLOCK tokens, then the token's length and bytes. */
  private tokenBytes(buf: Uint8Array, start: number, end: number): void {
    if (this.count % DICT_BLOCK === 0) {
      if (this.count > 0) this.flush();
      this.blockFirst = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
    }
    this.tokBuf = buf;
    this.tokStart = start;
    this.tokEnd = end;
    if (!this.packed) {
      this.kw.varint(end - start);
      this.kw.bytesOf(buf, start, end);
      return;
    }
    // Front coding against the block's previous token (none for a block's first).
    const len = end - start;
    const prev = this.prevTok;
    const max = this.count % DICT_BLOCK === 0 ? 0 : Math.min(len, this.prevLen);
    let same = 0;
    while (same < max && prev[same] === buf[start + same]) same++;
    this.kw.varint(same);
    this.kw.varint(len - same);
    this.kw.bytesOf(buf, start + same, end);
    if (prev.length < len) this.prevTok = Buffer.alloc(2 * len);
    for (let i = 0; i < len; i++) this.prevTok[i] = buf[start + i]!;
    this.prevLen = len;
  }

  /**
   * Ends a dictionary entry whose posting was written to `pw` from `at`: plain, its offset and length. Packed
   * (DictFooter.packed), a single row's posting is taken back out of `pw` and its row written in the entry; sharing,
   * so is a posting found in a dictionary written before, and the entry says how far before this block's postings it
   * is (they go at the file's current end when the block is flushed: nothing else is written while a dictionary is).
   */
  private postingWritten(at: number): void {
    const len = this.pw.length - at;
    this.count++;
    if (!this.packed) {
      this.kw.varint(at);
      this.kw.varint(len);
      return;
    }
    const posting = this.pw.reserve(0);
    // A delta-varint list (kind 0) of one id: [0, 1, id].
    if (posting[at] === 0 && posting[at + 1] === 1) {
      let id = 0;
      let mul = 1;
      for (let p = at + 2; p < at + len; p++, mul *= 128) id += (posting[p]! & 0x7f) * mul;
      this.pw.length = at;
      this.kw.varint(0);
      this.kw.varint(id);
      return;
    }
    for (const other of this.shares ?? []) {
      const found = other.find(this.tokBuf, this.tokStart, this.tokEnd, posting, at, at + len);
      if (found < 0) continue;
      this.pw.length = at;
      this.kw.varint(1);
      this.kw.varint(this.out.position - found);
      this.kw.varint(len);
      return;
    }
    this.kw.varint(len + 2);
  }

  private posting(ids: ArrayLike<number>, from = 0, to = ids.length): void {
    const at = this.pw.length;
    writePosting(this.pw, ids, this.n, from, to);
    this.postingWritten(at);
  }

  private flush(): void {
    const p = this.out.put(this.pw.finish());
    const k = this.out.put(this.kw.finish());
    this.first.push(this.blockFirst);
    this.blocks.push({ ...k, postings: p.off });
    this.pw.reset();
    this.kw.reset();
  }

  end(): void {
    // A block is pending when it holds an entry (addBlocks leaves none).
    if (this.kw.length > 0) this.flush();
    this.done({
      name: this.name,
      tokens: this.count,
      first: this.first,
      blocks: this.blocks,
      ...(this.packed ? { packed: true } : {}),
    });
  }
}

/**
 * A dictionary already written to the file, walked alongside a shared one being written (both in token order, so the
 * walk is one pass): where its posting of a token is, when the bytes are the same.
 */
class WrittenDict {
  private readonly walk: DictWalk;

  constructor(file: SegmentFileWriter, d: DictFooter) {
    this.walk = new DictWalk((off, len) => file.readBack(off, len), d);
  }

  /** The file offset of this dictionary's posting of token `tok[ts, te)` if it equals `posting[ps, pe)`, else -1. */
  find(tok: Uint8Array, ts: number, te: number, posting: Uint8Array, ps: number, pe: number): number {
    const w = this.walk;
    while (!w.done) {
      const c = compareUtf8Tokens(w.tokBuf, w.tokStart, w.tokEnd, tok, ts, te);
      if (c > 0) return -1;
      if (c < 0) {
        w.next();
        continue;
      }
      // Only postings stored in this dictionary's own blocks.
      if (w.postingLen !== pe - ps || w.postingOff < 0) return -1;
      const at = w.postingOff;
      for (let i = 0; i < pe - ps; i++) if (w.buf[at + i] !== posting[ps + i]) return -1;
      return w.postingAt;
    }
    return -1;
  }
}

/**
 * `compareTokens` of two tokens given as UTF-8 bytes: byte order is code point order, which is UTF-16's except
 * between U+E000..U+FFFF (lead bytes 0xEE, 0xEF) and supplementary characters (0xF0+), where UTF-16 puts the
 * surrogates first: there the strings are compared.
 */
export function compareUtf8Tokens(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): number {
  const al = ae - as;
  const bl = be - bs;
  const m = Math.min(al, bl);
  for (let i = 0; i < m; i++) {
    const x = a[as + i]!;
    const y = b[bs + i]!;
    if (x !== y) {
      if (x >= 0xee && y >= 0xee) {
        const decoder = new TextDecoder();
        return compareTokens(decoder.decode(a.subarray(as, ae)), decoder.decode(b.subarray(bs, be)));
      }
      return x - y;
    }
  }
  return al - bl;
}

export class NumberAppender {
  private readonly values: number[] = [];
  private readonly offs: number[] = [];
  /** addAllEncoded's values and offsets (before the base), as end() writes them. */
  private table: Float64Array | undefined;
  private readonly pw = new ByteWriter(1 << 12);

  constructor(
    private readonly out: SegmentFileWriter,
    private readonly name: string,
    private readonly n: number,
    private readonly done: (f: NumberFooter) => void,
  ) {}

  add(value: number, ids: ArrayLike<number>, from = 0, to = ids.length): void {
    this.values.push(value);
    this.offs.push(this.pw.length);
    writePosting(this.pw, ids, this.n, from, to);
  }

  /** A value whose posting is already encoded (`writePosting` bytes for this segment's n). */
  addEncoded(value: number, posting: Uint8Array, pStart: number, pEnd: number): void {
    this.values.push(value);
    this.offs.push(this.pw.length);
    this.pw.bytesOf(posting, pStart, pEnd);
  }

  addBitset(value: number, words: Uint32Array): void {
    this.values.push(value);
    this.offs.push(this.pw.length);
    writeBitset(this.pw, words);
  }

  /**
   * Every value at once, into an empty appender: `values` ascending, value k's posting the encoded bytes
   * posting[starts[toks[k]], starts[toks[k]] + sizes[toks[k]]) (the native build's numeric dictionaries).
   */
  addAllEncoded(
    values: Float64Array,
    toks: Int32Array,
    posting: Uint8Array,
    starts: Int32Array,
    sizes: Int32Array,
  ): void {
    if (this.values.length > 0 || this.table) throw new Error('NumberAppender.addAllEncoded: values already added');
    const count = values.length;
    const table = new Float64Array(2 * count + 1);
    table.set(values);
    const pw = this.pw;
    for (let k = 0; k < count; k++) {
      table[count + k] = pw.length;
      const t = toks[k]!;
      const start = starts[t]!;
      pw.bytesOf(posting, start, start + sizes[t]!);
    }
    table[2 * count] = pw.length;
    this.table = table;
  }

  end(): void {
    if (this.table) {
      const table = this.table;
      const count = (table.length - 1) / 2;
      const base = this.out.put(this.pw.finish()).off;
      for (let i = count; i < table.length; i++) table[i]! += base;
      this.done({ name: this.name, count, table: this.out.put(new Uint8Array(table.buffer)) });
      return;
    }
    const values = this.values;
    const offs = this.offs;
    const count = values.length;
    offs.push(this.pw.length);
    const base = this.out.put(this.pw.finish()).off;
    // The values, then each one's posting offset (and the end): filled in plain loops (Float64Array.from with a map
    // function took ~4 ms for the ~40k values of a build's numeric fields).
    const table = new Float64Array(2 * count + 1);
    for (let i = 0; i < count; i++) table[i] = values[i]!;
    for (let i = 0; i <= count; i++) table[count + i] = offs[i]! + base;
    this.done({ name: this.name, count, table: this.out.put(new Uint8Array(table.buffer)) });
  }
}

/** Byte order of UTF-16 code units, the same order the reader's binary search uses. */
export function compareTokens(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Row ids stably ordered by time. Log times of a head usually span a small range of seconds, so a counting sort
 * (O(n + range)) replaces a comparator sort that measured ~3 µs per row; wide ranges fall back to the sort.
 */
export function timeOrder(times: Uint32Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  if (n === 0) return order;
  let min = times[0]!;
  let max = times[0]!;
  for (let i = 1; i < n; i++) {
    const t = times[i]!;
    if (t < min) min = t;
    else if (t > max) max = t;
  }
  const range = max - min + 1;
  if (range <= 4 * n + 65_536) {
    const counts = new Uint32Array(range + 1);
    for (let i = 0; i < n; i++) counts[times[i]! - min + 1]!++;
    for (let r = 1; r <= range; r++) counts[r]! += counts[r - 1]!;
    for (let i = 0; i < n; i++) order[counts[times[i]! - min]!++] = i;
    return order;
  }
  const ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
  order.set(ids);
  return order;
}
