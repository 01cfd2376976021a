import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import zstdBinding from 'zstd-napi/binding.js';
import {
  ByteReader,
  ChunkedReads,
  checkRange,
  DamagedBytesError,
  readExact,
  readFully,
  zstdDecompress,
} from './bytes.js';
import { TokenEntries } from './dict-walk.js';
import { andMany, clearPast, type DocSet, EMPTY, fromIds, isEmpty, orMany, UnionBuilder, windowOf } from './doc-set.js';
import { readGroup } from './group-reads.js';
import { LruMap } from './lru.js';
import { type GroupDict, type NativeRows, nativeRows, placeNativeRows } from './native-rows.js';
import type { SearchPart, StoredRow } from './part.js';
import { checkLastId, postingCount, readPosting } from './postings.js';
import {
  BLOCK_ROWS,
  type ByteRange,
  type DictFooter,
  FIRST_GROUP_ROWS,
  GroupTable,
  MAGIC,
  MAGIC_V1,
  MAGIC_V2,
  MAGIC_V3,
  MAGIC_V4,
  type NumberFooter,
  type SegmentFooter,
} from './segment-format.js';

interface NumberTable {
  readonly values: Float64Array;
  readonly offsets: Float64Array;
}

/**
 * An open segment file. Reads are synchronous `pread`s of a few KiB (a token block, a posting list, a column
 * block): they come from the page cache in the common case and cost less than scheduling async I/O per read. The
 * exception is a server's page of rows (`rowsAsync`): its ~100 row groups are read off the event loop, side by side,
 * since those the page cache misses cost ~200-400 µs of disk each: by the addon's page-row reader (native-rows.ts, one
 * job per segment and page that also decodes and walks them), or where it is not built by reads on libuv's pool
 * decoded here (group-reads.ts).
 */
export class SegmentReader implements SearchPart {
  readonly id: string;
  readonly n: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly timeSorted = true;
  readonly footer: SegmentFooter;
  readonly bytes: number;
  private readonly fd: number;
  private readonly times: Uint32Array;
  private readonly dicts = new Map<string, DictFooter>();
  private readonly numbers = new Map<string, NumberFooter>();
  private readonly numberTables = new Map<string, NumberTable>();
  /** Formats 2 to 5 (row groups): the groups' ranges; undefined for format 1 (per-column blocks). */
  private readonly groups: GroupTable | undefined;
  private readonly format: number;
  /** Rows per row group (formats 2 to 4). */
  private readonly rowsPerGroup: number;
  /** Format 4: the dictionary the group frames were compressed against (footer.groupDict). */
  private readonly ddict: InstanceType<typeof zstdBinding.DDict> | undefined;
  private readonly columnIndex = new Map<string, number>();
  /** Token → where its posting list is (null: absent), for terms queried recently. */
  private readonly termRefs = new LruMap<string, PostingRef | null>();
  private closed = false;
  /** The addon's copy of the group dictionary (native-rows.ts; undefined until first used, null: none). */
  private groupDictNative: GroupDict | null | undefined;
  private names: string[] | undefined;
  /** Reads on the group reader threads in flight: the descriptor is closed when the last one settles. */
  private pins = 0;
  /** Bulk reads of row groups in chunks (readAhead), when on. */
  private ahead: ChunkedReads | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    footer: SegmentFooter,
    size: number,
  ) {
    this.fd = fd;
    this.footer = footer;
    this.bytes = size;
    this.id = footer.id;
    this.n = footer.n;
    this.minTime = footer.minTime;
    this.maxTime = footer.maxTime;
    for (const d of footer.dicts) this.dicts.set(d.name, d);
    for (const nf of footer.numbers) this.numbers.set(nf.name, nf);
    this.format = footer.format ?? 1;
    this.rowsPerGroup = footer.groupRows ?? FIRST_GROUP_ROWS;
    const table = footer.groupTable;
    this.groups =
      this.format < 2
        ? undefined
        : table
          ? GroupTable.decode(zstdDecompress(this.read(table.off, table.len)), footer.groupCount ?? 0)
          : GroupTable.fromRanges(footer.groups ?? []);
    // Block-sized reads (columnBlockBytes) are whole groups.
    if (this.groups && BLOCK_ROWS % this.rowsPerGroup !== 0)
      throw new Error(`segment ${path}: ${this.rowsPerGroup} rows per group do not divide ${BLOCK_ROWS}`);
    footer.columns.forEach((c, i) => {
      if (!this.columnIndex.has(c.name)) this.columnIndex.set(c.name, i);
    });
    const gd = footer.groupDict;
    this.ddict = gd ? new zstdBinding.DDict(zstdDecompress(this.read(gd.off, gd.len))) : undefined;
    const tr = new ByteReader(zstdDecompress(this.read(footer.times.off, footer.times.len)));
    this.times = new Uint32Array(footer.n);
    let t = 0;
    for (let i = 0; i < footer.n; i++) {
      t += tr.varint();
      this.times[i] = t;
    }
  }

  /** Opens and checks a segment file; throws if it is truncated or not a segment. */
  static open(path: string): SegmentReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < MAGIC.length * 2 + 4) throw new Error(`segment ${path} is truncated (${size} bytes)`);
      const tail = Buffer.alloc(MAGIC.length + 4);
      readSync(fd, tail, 0, tail.length, size - tail.length);
      const magic = tail.subarray(4);
      const known = [MAGIC, MAGIC_V4, MAGIC_V3, MAGIC_V2, MAGIC_V1];
      if (!known.some((m) => magic.equals(m))) throw new Error(`segment ${path} has no end marker`);
      const flen = tail.readUInt32LE(0);
      const fbuf = readExact(fd, size - tail.length - flen, flen, size, `segment ${path}'s footer`);
      const footer = JSON.parse(fbuf.toString('utf8')) as SegmentFooter;
      return new SegmentReader(path, fd, footer, size);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A merge or TTL drop may close a segment while a page's reads of it run on the group readers, which `pread` on
    // this descriptor: closing it then could let them read whatever file reuses the number.
    if (this.pins === 0) closeSync(this.fd);
  }

  private unpin(): void {
    if (--this.pins === 0 && this.closed) closeSync(this.fd);
  }

  /** Row groups (formats 2 to 5; 0 for format 1). */
  get groupCount(): number {
    return this.groups?.length ?? 0;
  }

  /** Where row group `g` is in the file (null: it has no bytes, or the segment has no row groups). */
  groupRange(g: number): ByteRange | null {
    return this.groups?.at(g) ?? null;
  }

  time(id: number): number {
    return this.times[id]!;
  }

  term(dict: string, token: string): DocSet {
    const ref = this.termRef(dict, token);
    return ref ? this.posting(ref, true) : EMPTY;
  }

  /**
   * `term` over rows [base, end) only, renumbered from 0 (`base` a multiple of 32): a page that needs the newest rows
   * evaluates its query over windows of a segment (executor.ts, `pageOf`). A dense posting's words of the window are
   * read, not its whole bitset; a sparse one is decoded whole (through the posting cache) and clipped.
   */
  termWindow(dict: string, token: string, base: number, end: number): DocSet {
    const ref = this.termRef(dict, token);
    return ref ? this.postingWindow(ref, base, end) : EMPTY;
  }

  /** Where `token`'s posting list is in `dict` (null: absent), remembered per segment. */
  private termRef(dict: string, token: string): PostingRef | null {
    const d = this.dicts.get(dict);
    if (!d) return null;
    const b = blockFor(d, token);
    if (b < 0) return null;
    const key = `${dict}\0${token}`;
    let ref = this.termRefs.get(key);
    if (ref === undefined) {
      const found = this.scanBlock(d, b, (t) => (t === token ? 0 : t < token ? -1 : 1));
      ref = found[0] ?? null;
      if (this.termRefs.size >= TERM_REFS) this.termRefs.shift();
      this.termRefs.set(key, ref);
    }
    return ref;
  }

  /**
   * Read-ahead for lookups of `tokens` in `dict` (Planner.termLookups): asks the kernel for the token blocks that
   * hold them (`postings` false: no read here), or, the blocks being read now, for their postings of up to
   * READ_AHEAD_POSTING bytes not in the posting cache. A query asks every segment first, then evaluates them one by
   * one: blocks and postings the page cache lost (the kernel's reclaim drops idle file pages within a minute here)
   * come from disk side by side instead of one synchronous read after another. No-op without the addon.
   */
  willNeedTerms(dict: string, tokens: readonly string[], postings: boolean): void {
    const native = nativeRows();
    const d = this.dicts.get(dict);
    if (!native || !d || this.closed) return;
    const ranges: number[] = [];
    for (const token of tokens) {
      if (!postings) {
        const b = blockFor(d, token);
        if (b >= 0 && !this.termRefs.has(`${dict}\0${token}`)) ranges.push(d.blocks[b]!.off, d.blocks[b]!.len);
        continue;
      }
      const ref = this.termRef(dict, token);
      if (ref && ref.row === undefined && ref.len <= READ_AHEAD_POSTING && !cachedSet(`${this.path}#${ref.off}`))
        ranges.push(ref.off, ref.len);
    }
    if (ranges.length > 0) native.willNeed(this.fd, new Float64Array(ranges));
  }

  /** Rows [base, end) of the posting at `p`, renumbered from 0 (see termWindow). */
  private postingWindow(p: Posting, base: number, end: number): DocSet {
    if (p.row !== undefined) return windowOf(this.posting(p), base, end);
    const cached = cachedSet(`${this.path}#${p.off}`);
    if (cached) return windowOf(cached, base, end);
    // A small posting (a rare token's few ids) is read whole at once: a separate read of its kind byte first cost a
    // second pread per segment of every distinct needle.
    if (p.len <= SMALL_POSTING || this.read(p.off, 1)[0] !== 1) return windowOf(this.posting(p, true), base, end);
    // A bitset: the words of the window only.
    const words = new Uint32Array(((end + 31) >>> 5) - (base >>> 5));
    const bytes = Buffer.from(words.buffer, 0, words.length * 4);
    this.readInto(bytes, p.off + 1 + (base >>> 5) * 4);
    clearPast(words, end - base);
    return { kind: 'bits', words, n: end - base };
  }

  /**
   * Rows holding every one of `tokens` in `dict` (the candidates of a phrase), cached like a term's posting list: a
   * long phrase of common tokens is an intersection of many dense lists per segment.
   */
  allTerms(dict: string, tokens: readonly string[]): DocSet {
    if (tokens.length === 1) return this.term(dict, tokens[0]!);
    const key = `${this.path}#a:${dict}\0${tokens.join('\0')}`;
    return (
      cachedSet(key) ??
      cacheSet(
        key,
        andMany(
          tokens.map((t) => this.term(dict, t)),
          this.n,
        ),
      )
    );
  }

  /**
   * `allTerms` over rows [base, end) only (see termWindow), cached like `allTerms`: a repeated phrase page meets the
   * same windows (their sizes depend only on the range and the matches), so it finds its candidates cached.
   */
  allTermsWindow(dict: string, tokens: readonly string[], base: number, end: number): DocSet {
    if (tokens.length === 1) return this.termWindow(dict, tokens[0]!, base, end);
    const whole = cachedSet(`${this.path}#a:${dict}\0${tokens.join('\0')}`);
    if (whole) return windowOf(whole, base, end);
    const key = `${this.path}#a:${dict}\0${tokens.join('\0')}@${base}-${end}`;
    return (
      cachedSet(key) ??
      cacheSet(
        key,
        andMany(
          tokens.map((t) => this.termWindow(dict, t, base, end)),
          end - base,
        ),
      )
    );
  }

  prefix(dict: string, prefix: string, test?: (token: string) => boolean): DocSet {
    // A plain prefix's union is cached like a term's posting list (its expansion costs a scan of many token blocks).
    if (test) return this.prefixUnion(dict, prefix, test);
    const key = `${this.path}#p:${dict}\0${prefix}`;
    return cachedSet(key) ?? cacheSet(key, this.prefixUnion(dict, prefix));
  }

  private prefixUnion(dict: string, prefix: string, test?: (token: string) => boolean): DocSet {
    const all = this.prefixRanges(dict, prefix, Number.POSITIVE_INFINITY, test);
    // Single rows of packed entries need no read.
    const refs = all.filter((p) => p.row === undefined);
    if (all.length <= 2)
      return orMany(
        all.map((p) => this.posting(p)),
        this.n,
      );
    const union = new UnionBuilder(this.n);
    for (const p of all) if (p.row !== undefined) union.add(p.row);
    // Postings of neighbouring tokens are contiguous in the file: read the span once instead of one pread per
    // token (a prefix like `9*` expands to thousands of tokens).
    let i = 0;
    const SPAN = 4 * 1024 * 1024;
    while (i < refs.length) {
      const start = refs[i]!.off;
      let j = i;
      // Only postings in file order: a packed full-text dictionary's entries may point back at another dictionary's.
      while (
        j + 1 < refs.length &&
        refs[j + 1]!.off + refs[j + 1]!.len - start <= SPAN &&
        refs[j + 1]!.off >= refs[j]!.off + refs[j]!.len
      )
        j++;
      const end = refs[j]!.off + refs[j]!.len;
      const buf = this.read(start, end - start);
      for (let k = i; k <= j; k++) postingInto(buf, refs[k]!.off - start, this.n, union);
      i = j + 1;
    }
    return union.finish();
  }

  tokens(dict: string, prefix: string, limit: number): string[] {
    return this.prefixRanges(dict, prefix, limit).map((p) => p.token);
  }

  /** With `cache` false (bulk per-value counting), the shared posting cache is not used. */
  numeric(field: string, lo: number, loInclusive: boolean, hi: number, hiInclusive: boolean, cache = true): DocSet {
    if (!cache) return this.numericRange(field, lo, loInclusive, hi, hiInclusive);
    const key = `${this.path}#n:${field}\0${lo}${loInclusive ? '[' : '('}${hi}${hiInclusive ? ']' : ')'}`;
    return cachedSet(key) ?? cacheSet(key, this.numericRange(field, lo, loInclusive, hi, hiInclusive));
  }

  /**
   * `numeric` over rows [base, end) only, renumbered from 0 (`base` a multiple of 32; see termWindow): each value's
   * posting is read for the window (a dense one's words of the window, a sparse one whole), up to
   * NUMERIC_WINDOW_VALUES values.
   */
  numericWindow(
    field: string,
    lo: number,
    loInclusive: boolean,
    hi: number,
    hiInclusive: boolean,
    base: number,
    end: number,
  ): DocSet {
    const range = this.valueRange(field, lo, loInclusive, hi, hiInclusive);
    if (!range) return EMPTY;
    // Many values (a range of a double field): their union over the whole segment, computed once and cached, is
    // cheaper than a read per value per window.
    if (range[1] - range[0] > NUMERIC_WINDOW_VALUES)
      return windowOf(this.numeric(field, lo, loInclusive, hi, hiInclusive), base, end);
    const { offsets } = this.numberTable(field)!;
    const sets: DocSet[] = [];
    for (let i = range[0]; i < range[1]; i++) {
      const s = this.postingWindow({ off: offsets[i]!, len: offsets[i + 1]! - offsets[i]! }, base, end);
      if (!isEmpty(s)) sets.push(s);
    }
    return orMany(sets, end - base);
  }

  /** Indexes [start, end) of the field's values in the range, or undefined when none is. */
  private valueRange(
    field: string,
    lo: number,
    loInclusive: boolean,
    hi: number,
    hiInclusive: boolean,
  ): [number, number] | undefined {
    const table = this.numberTable(field);
    if (!table) return undefined;
    const { values } = table;
    let a = 0;
    let z = values.length;
    while (a < z) {
      const m = (a + z) >>> 1;
      if (values[m]! < lo || (!loInclusive && values[m] === lo)) a = m + 1;
      else z = m;
    }
    const start = a;
    z = values.length;
    while (a < z) {
      const m = (a + z) >>> 1;
      if (values[m]! < hi || (hiInclusive && values[m] === hi)) a = m + 1;
      else z = m;
    }
    return a > start ? [start, a] : undefined;
  }

  private numericRange(field: string, lo: number, loInclusive: boolean, hi: number, hiInclusive: boolean): DocSet {
    const range = this.valueRange(field, lo, loInclusive, hi, hiInclusive);
    if (!range) return EMPTY;
    const { offsets } = this.numberTable(field)!;
    const [start, end] = range;
    // Postings of consecutive values are contiguous: one read covers the whole range.
    const base = offsets[start]!;
    const buf = this.read(base, offsets[end]! - base);
    if (end - start <= 4) {
      const r = new ByteReader(buf);
      const sets: DocSet[] = [];
      for (let i = start; i < end; i++) sets.push(readPosting(r, this.n));
      return orMany(sets, this.n);
    }
    const union = new UnionBuilder(this.n);
    let pos = 0;
    for (let i = start; i < end; i++) pos = postingInto(buf, pos, this.n, union);
    return union.finish();
  }

  /**
   * The rows of `ids`, in their order. Rows are read group by group (format 1: block by block, for each 1,024-row
   * block holding some of them, each column's block): each is decoded once and the cells of all those rows taken
   * from it. A block that serves one row
   * of a page (a sparse query's rows are spread over the day) is decoded into a reused scratch buffer and not kept
   * (allocating ~250 KB per row of decoded blocks, and the GC of it, was about half the cost of a distinct page);
   * blocks serving several rows of a page, or missed a second time lately (phrase checks read candidates one row at a
   * time, often from the same blocks), go through the shared block cache, where later reads find them.
   */
  rows(ids: readonly number[], only?: ReadonlySet<string>): StoredRow[] {
    const out: StoredRow[] = new Array(ids.length);
    const todo = this.fromRowCache(ids, out);
    if (todo.length === 0) return out;
    todo.sort((a, b) => ids[a]! - ids[b]!);
    const fields: [string, string][][] = todo.map(() => []);
    const cols = this.footer.columns;
    const page = ids.length <= ROW_CACHE_PAGE;
    const ats: number[] = [];
    let s = 0;
    if (this.groups) this.groupRows(ids, todo, fields, page, only);
    while (!this.groups && s < todo.length) {
      const b = Math.floor(ids[todo[s]!]! / BLOCK_ROWS);
      let e = s + 1;
      while (e < todo.length && Math.floor(ids[todo[e]!]! / BLOCK_ROWS) === b) e++;
      ats.length = 0;
      for (let k = s; k < e; k++) ats.push(ids[todo[k]!]! - b * BLOCK_ROWS);
      for (let c = 0; c < cols.length; c++) {
        const range = cols[c]!.blocks?.[b];
        if (!range) continue;
        const name = cols[c]!.name;
        if (only && !only.has(name)) continue;
        const key = `${this.path}#${range.off}`;
        const cached = cachedBlock(key) ?? smallBlock(this, key, range.off, range.len);
        if (cached || (page && (e - s > 1 || missedBefore(key)))) {
          const block = cached ?? this.columnBlock(range.off, range.len);
          for (let k = s; k < e; k++) {
            const v = block.cell(ats[k - s]!);
            if (v !== undefined) fields[k]!.push([name, v]);
          }
          continue;
        }
        const len = this.decodeScratch(range.off, range.len);
        cellsAt(scratchOut!, 0, len, ats, (k, v) => {
          if (v !== undefined) fields[s + k]!.push([name, v]);
        });
      }
      s = e;
    }
    this.finishRows(ids, todo, fields, out, page && !only);
    return out;
  }

  /**
   * `rows` of a page, with the row groups not in the caches read side by side on libuv's thread pool: the same rows,
   * the same caching as `rows` (see pageRows, which reads the pages of several segments at once).
   */
  async rowsAsync(ids: readonly number[]): Promise<StoredRow[]> {
    return (await SegmentReader.pageRows([{ seg: this, ids }]))[0]!;
  }

  /**
   * The rows of a page that spans segments (`ids` of each segment, as `rows` takes them), with the row groups not in
   * the caches read off the event loop. Through the addon (native-rows.ts), every segment is planned first, then all
   * their groups are read, decoded and walked by at most a job per core (PAGE_JOB_GROUPS groups at least each): a job
   * per segment woke a pool thread per segment while the event loop was still planning the others, and on two cores
   * those threads took its core. Without the addon, each segment's groups are read in JS (asyncGroupRows). Formats 3
   * and 4 only, at most a page of rows per segment; otherwise the same as `rows`.
   */
  static async pageRows(
    reads: readonly { readonly seg: SegmentReader; readonly ids: readonly number[] }[],
  ): Promise<StoredRow[][]> {
    const results: StoredRow[][] = new Array(reads.length);
    const native = nativeRows();
    const pending: PendingRows[] = [];
    const js: Promise<void>[] = [];
    for (let i = 0; i < reads.length; i++) {
      const { seg, ids } = reads[i]!;
      if (seg.format < 3 || ids.length > ROW_CACHE_PAGE) {
        results[i] = seg.rows(ids);
        continue;
      }
      const out: StoredRow[] = new Array(ids.length);
      results[i] = out;
      const todo = seg.fromRowCache(ids, out);
      if (todo.length === 0) continue;
      todo.sort((a, b) => ids[a]! - ids[b]!);
      const fields: [string, string][][] = new Array(todo.length);
      if (!native) {
        js.push(seg.jsPageRows(ids, todo, fields, out));
        continue;
      }
      const job = seg.nativePlan(ids, todo, fields);
      if (job) pending.push({ seg, ids, todo, fields, out, job });
      else seg.finishRows(ids, todo, fields, out, true);
    }
    if (js.length > 0) await settleAll(js);
    if (pending.length === 0 || !native) return results;
    for (const p of pending) p.seg.pins++;
    try {
      const jobs = SegmentReader.pageJobs(native, pending);
      // async: a call that throws becomes a rejection, settled with the jobs already running.
      const got = await settleAll(
        jobs.map(async (j) => {
          try {
            return await native.readRows(
              new Int32Array(j.fds),
              new Uint32Array(j.columns),
              j.dicts,
              new Float64Array(j.plan),
              new Uint8Array(j.ats),
            );
          } catch (err) {
            // rows.cc names a group it cannot decode "row group at <offset> …"; a failed read says so otherwise.
            if (err instanceof Error && err.message.startsWith('row group at '))
              throw new DamagedBytesError(err.message);
            throw err;
          }
        }),
      );
      for (let b = 0; b < jobs.length; b++) {
        const j = jobs[b]!;
        placeNativeRows(got[b]!, j.names, j.rowSeg, j.rowDest, j.fields);
      }
    } finally {
      for (const p of pending) p.seg.unpin();
    }
    for (const p of pending) p.seg.finishRows(p.ids, p.todo, p.fields, p.out, true);
    return results;
  }

  /** pageRows without the addon: this segment's groups read in JS, then the rows finished into `out`. */
  private async jsPageRows(
    ids: readonly number[],
    todo: readonly number[],
    fields: [string, string][][],
    out: StoredRow[],
  ): Promise<void> {
    this.pins++;
    try {
      await this.asyncGroupRows(ids, todo, fields);
    } finally {
      this.unpin();
    }
    this.finishRows(ids, todo, fields, out, true);
  }

  /**
   * nativeGroupRows' plan: fills `fields` of the rows whose groups are in the decoded-data cache (or absent), and
   * returns the others' groups ([offset, length, rows] each), their rows within them, and where each goes in `fields`.
   */
  private nativePlan(
    ids: readonly number[],
    todo: readonly number[],
    fields: [string, string][][],
  ): NativePlan | undefined {
    const groups = this.groups!;
    const cols = this.footer.columns;
    const plan: number[] = [];
    const rowsAt: number[] = [];
    const dest: number[] = [];
    const ats: number[] = [];
    let s = 0;
    while (s < todo.length) {
      const g = Math.floor(ids[todo[s]!]! / this.rowsPerGroup);
      const e = this.groupRun(ids, todo, s, g, ats);
      const range = groups.at(g);
      const group = range ? cachedGroup(`${this.path}#${range.off}`) : undefined;
      if (!range || group) {
        for (let k = s; k < e; k++) fields[k] = [];
        if (group) groupCells(group, cols, ats, fields, s);
      } else {
        plan.push(range.off, range.len, e - s);
        for (let k = s; k < e; k++) {
          rowsAt.push(ats[k - s]!);
          dest.push(k);
        }
      }
      s = e;
    }
    if (plan.length === 0) return undefined;
    return { plan, ats: rowsAt, dest };
  }

  /**
   * pageRows' jobs: the planned groups of every segment in order, cut into at most a job per core of at least
   * PAGE_JOB_GROUPS groups each (a segment's groups may fall in two jobs), with where each output row goes.
   */
  private static pageJobs(native: NativeRows, pending: readonly PendingRows[]): PageJob[] {
    let groups = 0;
    for (const p of pending) groups += p.job.plan.length / 3;
    const count = Math.max(1, Math.min(CORES, Math.floor(groups / PAGE_JOB_GROUPS)));
    const per = Math.ceil(groups / count);
    const jobs: PageJob[] = [];
    let job: PageJob | undefined;
    for (const p of pending) {
      const { plan, ats, dest } = p.job;
      let seg = -1;
      let row = 0;
      for (let g = 0; g < plan.length; g += 3) {
        if (!job || job.plan.length / 4 >= per) {
          job = { fds: [], columns: [], dicts: [], plan: [], ats: [], names: [], fields: [], rowSeg: [], rowDest: [] };
          jobs.push(job);
          seg = -1;
        }
        if (seg < 0) {
          seg = job.fds.length;
          job.fds.push(p.seg.fd);
          job.columns.push(p.seg.footer.columns.length);
          job.dicts.push(p.seg.nativeDict(native));
          job.names.push(p.seg.columnNames());
          job.fields.push(p.fields);
        }
        const rows = plan[g + 2]!;
        job.plan.push(seg, plan[g]!, plan[g + 1]!, rows);
        for (let k = 0; k < rows; k++, row++) {
          job.ats.push(ats[row]!);
          job.rowSeg.push(seg);
          job.rowDest.push(dest[row]!);
        }
      }
    }
    return jobs;
  }

  /** The addon's copy of the group dictionary (format 4), made on first use; null when the segment has none. */
  private nativeDict(native: NativeRows): GroupDict | null {
    if (this.groupDictNative === undefined) {
      const gd = this.footer.groupDict;
      this.groupDictNative = gd ? new native.GroupDict(zstdDecompress(this.read(gd.off, gd.len))) : null;
    }
    return this.groupDictNative;
  }

  /** The footer's column names, in column order. */
  private columnNames(): string[] {
    this.names ??= this.footer.columns.map((c) => c.name);
    return this.names;
  }

  /**
   * rowsAsync's groups in JS: those not in the caches read side by side on libuv's thread pool (group-reads.ts), each
   * decoded as its bytes arrive.
   */
  private async asyncGroupRows(ids: readonly number[], todo: readonly number[], fields: [string, string][][]) {
    for (let k = 0; k < todo.length; k++) fields[k] = [];
    const groups = this.groups!;
    const cols = this.footer.columns;
    const reads: Promise<void>[] = [];
    const ats: number[] = [];
    let s = 0;
    while (s < todo.length) {
      const g = Math.floor(ids[todo[s]!]! / this.rowsPerGroup);
      const e = this.groupRun(ids, todo, s, g, ats);
      const range = groups.at(g);
      if (range) {
        const key = `${this.path}#${range.off}`;
        const group = cachedGroup(key) ?? (key === scratchKey ? scratchHeld : undefined);
        const base = s;
        if (group) groupCells(group, cols, ats, fields, base);
        else {
          const rowsAt = ats.slice();
          // As in `rows`: a group serving several rows of the page, or missed before, goes into the decoded-data
          // cache (distinct pages of common terms keep meeting the same newest groups); the others are decoded
          // into the scratch buffers and not kept.
          const keep = e - s > 1 || missedBefore(key);
          const decode = (span: Buffer): void =>
            groupCells(
              keep ? this.cacheGroup(key, range, span) : this.scratchGroup(key, range, true, span),
              cols,
              rowsAt,
              fields,
              base,
            );
          reads.push(readGroup({ fd: this.fd, off: range.off, len: range.len, decode }));
        }
      }
      s = e;
    }
    // Every read settles before the descriptor may close (a failed one must not leave others reading it).
    const settled = await Promise.allSettled(reads);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * The run of `todo` (sorted by row id) from `s` whose rows lie in group `g`: sets `ats` to their rows within the
   * group and returns where the run ends.
   */
  private groupRun(ids: readonly number[], todo: readonly number[], s: number, g: number, ats: number[]): number {
    const first = g * this.rowsPerGroup;
    const next = first + this.rowsPerGroup;
    ats.length = 0;
    let e = s;
    for (; e < todo.length; e++) {
      const id = ids[todo[e]!]!;
      if (id >= next) break;
      ats.push(id - first);
    }
    return e;
  }

  /** Fills `out` from the row cache (marking hits recently used); returns the indexes of `ids` still to read. */
  private fromRowCache(ids: readonly number[], out: StoredRow[]): number[] {
    const todo: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const key = `${this.path}#${ids[i]}`;
      const hit = rowCache.get(key);
      if (hit) out[i] = hit;
      else todo.push(i);
    }
    return todo;
  }

  /** Puts the rows read (fields[k] of ids[todo[k]]) into `out`, and into the row cache when `cache`. */
  private finishRows(
    ids: readonly number[],
    todo: readonly number[],
    fields: [string, string][][],
    out: StoredRow[],
    cache: boolean,
  ): void {
    for (let k = 0; k < todo.length; k++) {
      const i = todo[k]!;
      const id = ids[i]!;
      const row = { time: this.times[id]!, fields: fields[k]! };
      if (cache) {
        rowCache.set(`${this.path}#${id}`, row);
        if (rowCache.size > ROW_CACHE_ROWS) rowCache.shift();
      }
      out[i] = row;
    }
  }

  /**
   * `rows` over row groups: one frame per group holding rows of the page. A group serving several rows, or missed
   * twice lately, goes through the group cache; a one-row group is decoded into the scratch buffer.
   */
  private groupRows(
    ids: readonly number[],
    todo: readonly number[],
    fields: [string, string][][],
    page: boolean,
    only: ReadonlySet<string> | undefined,
  ): void {
    const groups = this.groups!;
    const cols = this.footer.columns;
    const ats: number[] = [];
    let s = 0;
    while (s < todo.length) {
      const g = Math.floor(ids[todo[s]!]! / this.rowsPerGroup);
      const e = this.groupRun(ids, todo, s, g, ats);
      const range = groups.at(g);
      if (!range) {
        s = e;
        continue;
      }
      const key = `${this.path}#${range.off}`;
      // The group decoded last into the scratch buffers serves the next read of it again: phrase checks read their
      // candidates one row at a time, and consecutive candidates often share a group. Reads of some fields only
      // (checks of a field's phrase) decode only the frames holding them, into the scratch buffers.
      const group =
        cachedGroup(key) ??
        (key === scratchKey ? scratchHeld : undefined) ??
        (!only && page && (e - s > 1 || missedBefore(key))
          ? this.cacheGroup(key, range)
          : this.scratchGroup(key, range, !only));
      groupCells(group, cols, ats, fields, s, only);
      s = e;
    }
  }

  /** Decodes every frame of group `range` and adds it to the group cache. */
  private cacheGroup(key: string, range: ByteRange, span?: Buffer): RowGroup {
    const group = this.rowGroup(range, span);
    group.decodeAll();
    cacheDecoded(key, group);
    return group;
  }

  /** Group `range` with nothing decoded yet (format 2: decoded whole). */
  private rowGroup(range: ByteRange, span?: Buffer): RowGroup {
    return new RowGroup(
      span ?? this.read(range.off, range.len),
      this.footer.columns.length,
      this.format,
      this.path,
      this.ddict,
    );
  }

  /**
   * Group `range` read into the shared scratch buffers (valid until the next scratch read), every frame decoded, or
   * with `all` false each frame on first use.
   */
  private scratchGroup(key: string, range: ByteRange, all: boolean, span?: Buffer): RowGroup {
    scratchKey = undefined;
    scratchHeld = undefined;
    const group = this.rowGroup(range, span ?? this.readScratch(range.off, range.len));
    if (all) group.decodeAll(true);
    else group.scratchFrames();
    scratchKey = key;
    scratchHeld = group;
    return group;
  }

  /**
   * Group `g` for bulk reads (scans, merges, SQL row ids), through a small cache of recent groups apart from the page
   * cache: callers reading several columns of the same rows one column at a time read each group once, and decode
   * only the frames (narrow or wide columns) they ask for.
   */
  private bulkGroup(g: number): RowGroup | undefined {
    const range = this.groups!.at(g);
    if (!range) return undefined;
    const key = `${this.path}#${range.off}`;
    const cached = decodedCache.get(key);
    const hit = bulkGroups.get(key)?.group ?? (cached instanceof RowGroup ? cached : undefined);
    if (hit) return hit;
    const group = this.rowGroup(range, this.ahead?.read(range.off, range.len));
    const bytes = group.fullBytes();
    bulkGroups.set(key, { group, bytes });
    bulkBytes += bytes;
    if (bulkGroups.size > BULK_GROUPS) dropBulk();
    evictDecoded();
    return group;
  }

  /**
   * Bulk reads of row groups walking the segment front to back (merges) read `bytes` at once, the following groups
   * with them (0: off, the default, and the chunk held is dropped). See ChunkedReads.
   */
  readAhead(bytes: number): void {
    this.ahead = bytes > 0 ? new ChunkedReads(this.fd, this.bytes, bytes, `segment ${this.path}`) : undefined;
  }

  /**
   * The cells of column `c` (footer index; -1 = none) around row `row`: `buf[start, end)` holds the cells of rows
   * [first, first + rows) in order (rows past `end` are absent), or `buf` is undefined when none is present. Merges
   * walk columns front to back with it.
   */
  cellSpan(c: number, row: number): CellSpan {
    if (c < 0) return { first: 0, rows: this.n, buf: undefined, start: 0, end: 0 };
    if (this.groups) {
      const g = Math.floor(row / this.rowsPerGroup);
      const group = this.bulkGroup(g);
      const first = g * this.rowsPerGroup;
      const buf = group?.col(c);
      if (!group || !buf) return { first, rows: this.rowsPerGroup, buf: undefined, start: 0, end: 0 };
      return { first, rows: this.rowsPerGroup, buf, start: group.from[c]!, end: group.to[c]! };
    }
    const b = Math.floor(row / BLOCK_ROWS);
    const range = this.footer.columns[c]!.blocks![b];
    const buf = range ? zstdDecompress(this.read(range.off, range.len)) : undefined;
    return { first: b * BLOCK_ROWS, rows: BLOCK_ROWS, buf, start: 0, end: buf?.length ?? 0 };
  }

  /** Footer index of column `name`, or -1. */
  columnAt(name: string): number {
    return this.columnIndex.get(name) ?? -1;
  }

  /**
   * The cells of columns `names` (undefined: no such column) of rows `ids` (ascending): out[k][i] is the cell of
   * names[k] in row ids[i]. With row groups each group is decoded once for all the columns.
   */
  cellsOfRows(names: readonly (string | undefined)[], ids: ArrayLike<number>): (string | undefined)[][] {
    const out = names.map(() => new Array<string | undefined>(ids.length).fill(undefined));
    if (!this.groups) {
      names.forEach((name, k) => {
        if (name === undefined) return;
        let i = 0;
        this.eachCell(name, ids, (_, v) => {
          out[k]![i++] = v;
        });
      });
      return out;
    }
    const cs = names.map((name) => (name === undefined ? -1 : this.columnAt(name)));
    const ats: number[] = [];
    let i = 0;
    while (i < ids.length) {
      const g = Math.floor(ids[i]! / this.rowsPerGroup);
      const end = (g + 1) * this.rowsPerGroup;
      let j = i;
      ats.length = 0;
      while (j < ids.length && ids[j]! < end) ats.push(ids[j++]! - g * this.rowsPerGroup);
      const group = this.bulkGroup(g);
      if (group) {
        for (let k = 0; k < cs.length; k++) {
          const c = cs[k]!;
          if (c < 0) continue;
          const col = out[k]!;
          const base = i;
          const buf = group.col(c);
          if (!buf) continue;
          cellsAt(buf, group.from[c]!, group.to[c]!, ats, (x, v) => {
            col[base + x] = v;
          });
        }
      }
      i = j;
    }
    return out;
  }

  /** Decodes the zstd block at `off` into the shared scratch buffer; returns its length. */
  private decodeScratch(off: number, len: number): number {
    scratchKey = undefined;
    scratchHeld = undefined;
    const src = this.readScratch(off, len);
    const size = zstdBinding.getFrameContentSize(src);
    if (size === null) {
      scratchOut = zstdDecompress(src);
      return scratchOut.length;
    }
    if (!scratchOut || scratchOut.length < size) scratchOut = Buffer.allocUnsafe(Math.max(size, SCRATCH_OUT));
    const n = decompressInto(() => scratchDctx.decompress(scratchOut!, src));
    if (n !== size) throw new DamagedBytesError(`${this.path}: block at ${off} decoded to ${n} bytes, not ${size}`);
    return n;
  }

  /** One cell of column `name` (undefined when absent), through the block cache. */
  cell(name: string, id: number): string | undefined {
    if (this.groups) {
      const c = this.columnAt(name);
      const g = Math.floor(id / this.rowsPerGroup);
      const range = this.groups.at(g);
      if (c < 0 || !range) return undefined;
      const key = `${this.path}#${range.off}`;
      const group = cachedGroup(key) ?? this.cacheGroup(key, range);
      const buf = group.col(c);
      let v: string | undefined;
      if (buf)
        cellsAt(buf, group.from[c]!, group.to[c]!, [id - g * this.rowsPerGroup], (_, x) => {
          v = x;
        });
      return v;
    }
    const b = Math.floor(id / BLOCK_ROWS);
    const range = this.footer.columns.find((c) => c.name === name)?.blocks?.[b];
    return range ? this.columnBlock(range.off, range.len).cell(id - b * BLOCK_ROWS) : undefined;
  }

  /**
   * Calls `visit(id, value)` for each of `ids` (ascending) with its cell of column `name` (undefined when absent).
   * Each touched block is decompressed once and walked in order; bulk reads bypass the block cache so they do not
   * evict what pages of rows use.
   */
  eachCell(name: string, ids: ArrayLike<number>, visit: (id: number, value: string | undefined) => void): void {
    if (this.groups) {
      const [cells] = this.cellsOfRows([name], ids);
      for (let i = 0; i < ids.length; i++) visit(ids[i]!, cells![i]);
      return;
    }
    const col = this.footer.columns.find((c) => c.name === name);
    let i = 0;
    while (i < ids.length) {
      const b = Math.floor(ids[i]! / BLOCK_ROWS);
      const range = col?.blocks?.[b];
      const end = (b + 1) * BLOCK_ROWS;
      if (!range) {
        for (; i < ids.length && ids[i]! < end; i++) visit(ids[i]!, undefined);
        continue;
      }
      const buf = zstdDecompress(this.read(range.off, range.len));
      const r = new ByteReader(buf);
      let row = b * BLOCK_ROWS;
      for (; i < ids.length && ids[i]! < end; i++) {
        const id = ids[i]!;
        while (row < id && !r.done) {
          const l = r.varint();
          if (l > 0) r.pos += l - 1;
          row++;
        }
        if (r.done) {
          visit(id, undefined);
          continue;
        }
        const l = r.varint();
        visit(id, l === 0 ? undefined : buf.toString('utf8', r.pos, r.pos + l - 1));
        if (l > 0) r.pos += l - 1;
        row++;
      }
    }
  }

  /** A decompressed column block, through the shared block cache. */
  private columnBlock(off: number, len: number): CachedBlock {
    const key = `${this.path}#${off}`;
    const hit = cachedBlock(key);
    if (hit) return hit;
    const block = new CachedBlock(zstdDecompress(this.read(off, len)));
    cacheDecoded(key, block);
    return block;
  }

  /**
   * Reads everything the file holds, as a merge would: every token and number with its posting, every cell of every
   * row group. Throws at the first thing that cannot be what its writer wrote. A whole segment decoded: for finding
   * which input of a failed merge is damaged (damagedSegments), not for reads.
   */
  verify(): void {
    for (const d of this.dictNames()) for (const _ of this.dictEntries(d));
    for (const f of this.numberNames()) for (const _ of this.numberEntries(f));
    const cols = this.footer.columns;
    if (!this.groups) {
      for (const c of cols) this.columnValues(c.name);
      return;
    }
    for (let g = 0; g < this.groups.length; g++) {
      const range = this.groups.at(g);
      if (!range) continue;
      const group = this.rowGroup(range);
      const rows = Math.min(this.rowsPerGroup, this.n - g * this.rowsPerGroup);
      for (let c = 0; c < cols.length; c++) {
        const buf = group.col(c);
        if (!buf) continue;
        const r = new ByteReader(buf, group.from[c]!);
        const end = group.to[c]!;
        let cells = 0;
        for (; r.pos < end; cells++) {
          const l = r.varint();
          if (l > 0) r.pos += l - 1;
        }
        if (cells !== rows || r.pos !== end)
          throw new DamagedBytesError(
            `${this.path}: row group ${g} has ${cells} cells of ${cols[c]!.name}, not ${rows}`,
          );
      }
    }
  }

  /** Every value of one column in row order (merges read segments a column at a time). */
  columnValues(name: string): (string | undefined)[] {
    const col = this.footer.columns.find((c) => c.name === name);
    const out: (string | undefined)[] = new Array(this.n);
    if (!col) return out;
    if (this.groups) {
      const c = this.columnAt(name);
      for (let g = 0; g < this.groups.length; g++) {
        const range = this.groups.at(g);
        if (!range) continue;
        const group = this.rowGroup(range);
        const buf = group.col(c);
        if (!buf) continue;
        const r = new ByteReader(buf, group.from[c]!);
        const end = group.to[c]!;
        for (let row = g * this.rowsPerGroup; r.pos < end; row++) {
          const l = r.varint();
          if (l > 0) out[row] = buf.toString('utf8', r.pos, r.pos + l - 1);
          if (l > 0) r.pos += l - 1;
        }
      }
      return out;
    }
    const blocks = col.blocks ?? [];
    for (let b = 0; b < blocks.length; b++) {
      const range = blocks[b];
      if (!range) continue;
      const vals = decodeColumnBlock(zstdDecompress(this.read(range.off, range.len)));
      for (let i = 0; i < vals.length; i++) out[b * BLOCK_ROWS + i] = vals[i];
    }
    return out;
  }

  /**
   * The decompressed cells of column `name` for rows [b*BLOCK_ROWS, …) (per row varint(len+1) + UTF-8, 0 = absent),
   * or undefined when the column is empty in that block. Bulk exports walk these bytes without building strings.
   */
  columnBlockBytes(name: string, b: number): Buffer | undefined {
    if (this.groups) return this.groupColumnBytes(name, b);
    const range = this.footer.columns.find((c) => c.name === name)?.blocks?.[b];
    return range ? zstdDecompress(this.read(range.off, range.len)) : undefined;
  }

  /** `columnBlockBytes` over row groups: the column's sections of the block's groups, absent rows as 0 bytes. */
  private groupColumnBytes(name: string, b: number): Buffer | undefined {
    const c = this.columnAt(name);
    if (c < 0) return undefined;
    const per = BLOCK_ROWS / this.rowsPerGroup;
    const parts: Buffer[] = [];
    let pending = 0;
    for (let g = b * per; g < (b + 1) * per && g * this.rowsPerGroup < this.n; g++) {
      const group = this.bulkGroup(g);
      const buf = group?.col(c);
      const from = group?.from[c] ?? 0;
      const to = group?.to[c] ?? 0;
      if (!group || !buf || from === to) {
        pending += Math.min(this.rowsPerGroup, this.n - g * this.rowsPerGroup);
        continue;
      }
      // Absent groups before a present one become one 0 byte per row, so cells stay at their rows.
      if (pending > 0) parts.push(Buffer.alloc(pending));
      pending = 0;
      // A present section holds a cell (maybe 0 = absent) for every row of its group.
      parts.push(buf.subarray(from, to));
    }
    return parts.length === 0 ? undefined : Buffer.concat(parts);
  }

  /** Every token of a dictionary with its row ids (for merges). */
  *dictEntries(name: string): Generator<[string, Uint32Array]> {
    const d = this.dicts.get(name);
    if (!d) return;
    for (let b = 0; b < d.blocks.length; b++) {
      for (const p of this.scanBlock(d, b, () => 0, true)) yield [p.token, toSortedIds(this.posting(p))];
    }
  }

  *numberEntries(name: string): Generator<[number, Uint32Array]> {
    const table = this.numberTable(name);
    if (!table) return;
    for (let i = 0; i < table.values.length; i++) {
      const r = new ByteReader(this.read(table.offsets[i]!, table.offsets[i + 1]! - table.offsets[i]!));
      yield [table.values[i]!, toSortedIds(readPosting(r, this.n))];
    }
  }

  /** The distinct values of a long/double field, ascending (SQL counts per value enumerate groups with them). */
  numberValues(field: string): Float64Array | undefined {
    return this.numberTable(field)?.values;
  }

  dictNames(): string[] {
    return [...this.dicts.keys()];
  }

  numberNames(): string[] {
    return [...this.numbers.keys()];
  }

  private numberTable(field: string): NumberTable | undefined {
    let t = this.numberTables.get(field);
    if (t) return t;
    const nf = this.numbers.get(`n:${field}`) ?? this.numbers.get(field);
    if (!nf) return undefined;
    const buf = this.read(nf.table.off, nf.table.len);
    const copy = new Uint8Array(buf).slice().buffer;
    t = {
      values: new Float64Array(copy, 0, nf.count),
      offsets: new Float64Array(copy, nf.count * 8, nf.count + 1),
    };
    this.numberTables.set(field, t);
    return t;
  }

  private prefixRanges(dict: string, prefix: string, limit: number, test?: (token: string) => boolean): PostingRef[] {
    const d = this.dicts.get(dict);
    if (!d) return [];
    const out: PostingRef[] = [];
    let b = Math.max(0, blockFor(d, prefix));
    for (; b < d.blocks.length && out.length < limit; b++) {
      if (b > 0 && d.first[b]! > prefix && !d.first[b]!.startsWith(prefix)) break;
      let past = false;
      for (const p of this.scanBlock(d, b, () => 0, true)) {
        if (p.token.startsWith(prefix)) {
          if (!test || test(p.token)) out.push(p);
          if (out.length >= limit) break;
        } else if (p.token > prefix) {
          past = true;
          break;
        }
      }
      if (past) break;
    }
    return out;
  }

  /**
   * Entries of token block `b`. With `all`, every entry; otherwise stops at the first entry where `cmp` is 0
   * (returning it) or positive (returning nothing).
   */
  private scanBlock(d: DictFooter, b: number, cmp: (t: string) => number, all = false): PostingRef[] {
    const range = d.blocks[b]!;
    const e = new TokenEntries(this.read(range.off, range.len), 0, range.postings, d.packed === true);
    const out: PostingRef[] = [];
    while (!e.done) {
      e.next();
      const token = e.tokBuf.toString('utf8', e.tokStart, e.tokEnd);
      const ref: PostingRef =
        e.row >= 0 ? { token, off: -1, len: 0, row: e.row } : { token, off: e.postingAt, len: e.postingLen };
      if (all) {
        out.push(ref);
        continue;
      }
      const c = cmp(token);
      if (c === 0) return [ref];
      if (c > 0) return [];
    }
    return out;
  }

  /** A posting list; with `cache`, through the shared posting cache (terms of queries, not bulk merges). */
  private posting(p: Posting, cache = false): DocSet {
    if (p.row !== undefined) return fromIds(Uint32Array.of(p.row), this.n);
    if (!cache) return readPosting(new ByteReader(this.read(p.off, p.len)), this.n);
    const key = `${this.path}#${p.off}`;
    return cachedSet(key) ?? cacheSet(key, readPosting(new ByteReader(this.read(p.off, p.len)), this.n));
  }

  /** `len` bytes of the file at `off` (a small block's compressed bytes). */
  rawBytes(off: number, len: number): Buffer {
    return this.read(off, len);
  }

  private read(off: number, len: number): Buffer {
    return readExact(this.fd, off, len, this.bytes, `segment ${this.path}`);
  }

  /** Fills `buf` from the file at `off`. */
  private readInto(buf: Buffer, off: number): void {
    checkRange(off, buf.length, this.bytes, `segment ${this.path}`);
    readFully(this.fd, buf, off, buf.length, `segment ${this.path}`);
  }

  /** `len` bytes at `off` into the shared scratchIn (grown as needed); returns them. */
  private readScratch(off: number, len: number): Buffer {
    checkRange(off, len, this.bytes, `segment ${this.path}`);
    if (scratchIn.length < len) scratchIn = Buffer.allocUnsafe(Math.max(len, scratchIn.length * 2));
    return readFully(this.fd, scratchIn, off, len, `segment ${this.path}`).subarray(0, len);
  }
}

/**
 * A segment's groups a page reads through the addon: [offset, length, rows asked] per group, then each asked row's
 * index within its group and its place in the page's `fields`.
 */
interface NativePlan {
  readonly plan: number[];
  readonly ats: number[];
  readonly dest: number[];
}

/** A segment's part of pageRows: what its rows need from the addon, and where they go. */
interface PendingRows {
  readonly seg: SegmentReader;
  readonly ids: readonly number[];
  readonly todo: readonly number[];
  readonly fields: [string, string][][];
  readonly out: StoredRow[];
  readonly job: NativePlan;
}

/** One readRows call of a page (NativeRows.readRows' arguments, as arrays), and where each of its output rows goes. */
interface PageJob {
  readonly fds: number[];
  readonly columns: number[];
  readonly dicts: (GroupDict | null)[];
  /** [segment in the job, offset, length, rows asked] per group. */
  readonly plan: number[];
  readonly ats: number[];
  /** Per segment of the job: its column names and its rows' fields. */
  readonly names: (readonly string[])[];
  readonly fields: [string, string][][][];
  /** Per output row: its segment in the job, and its index in that segment's `fields`. */
  readonly rowSeg: number[];
  readonly rowDest: number[];
}

/** Fewest groups a page-row job is given: a job wakes a pool thread; ~16 groups are ~0.15 ms of decoding. */
const PAGE_JOB_GROUPS = 16;
const CORES = Math.max(1, availableParallelism());

/**
 * Waits for every promise (a job still running may read a descriptor its segment would close), then fails with the
 * first failure, if any.
 */
async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Decoded posting lists of query terms, shared by all segments, least recently used first. A many-token phrase over
 * a day reads ~15 dense lists (62 KB bitsets of a 500k-row segment) per segment, ~10 MB of preads and copies per
 * statement; a console repeating or paging the query reads them again. DocSets are never mutated in place.
 */
const POSTING_CACHE_BYTES = 24 * 1024 * 1024;
const postingCache = new LruMap<string, DocSet>();
let postingCacheBytes = 0;
function setBytes(set: DocSet): number {
  return 64 + (set.kind === 'ids' ? set.ids.byteLength : set.words.byteLength);
}

function cachedSet(key: string): DocSet | undefined {
  return postingCache.get(key);
}

function cacheSet(key: string, set: DocSet): DocSet {
  const bytes = setBytes(set);
  if (bytes > POSTING_CACHE_BYTES / 8) return set;
  const old = postingCache.peek(key);
  if (old) postingCacheBytes -= setBytes(old);
  postingCache.set(key, set);
  postingCacheBytes += bytes;
  while (postingCacheBytes > POSTING_CACHE_BYTES) postingCacheBytes -= setBytes(postingCache.shift()![1]);
  return set;
}

/** Token lookups remembered per segment. */
const TERM_REFS = 4096;
/** Postings up to this many bytes are read whole by a window (one pread, the cost of reading one byte of them). */
const SMALL_POSTING = 1024;
/** Most values of a numeric range read value by value for a window (numericWindow). */
const NUMERIC_WINDOW_VALUES = 16;

/**
 * Rows recently returned in pages, shared by all segments, least recently used first. A page of 100 rows spread over
 * a day touches ~100 distinct 1,024-row blocks per column (~1,300 zstd block decodes, ~40 MB decompressed, more than
 * the block cache holds), so repeating or refreshing a query (a console) decoded every block again; the rows
 * themselves are ~1 KB each. Only reads of at most ROW_CACHE_PAGE rows are kept (bulk reads such as phrase
 * verification would flush it). Segments are immutable, so a cached row never goes stale.
 */
const ROW_CACHE_ROWS = 8192;
const ROW_CACHE_PAGE = 1024;
const rowCache = new LruMap<string, StoredRow>();

/**
 * Decoded data of pages shared by all segments, least recently used first, under one byte budget: format 1's
 * decompressed column blocks and formats 2/3's decoded row groups (keyed by file and offset, so the two never
 * collide). Reading a page of rows touches one block per column per distinct 1,024-row block, or one group per row;
 * repeated and nearby queries (paging, refreshing a console) then skip the zstd decode. Bounded by bytes; a
 * merged-away segment's entries simply age out. (Two caches of 32 MB each, one per format, held up to 64 MB while a
 * data dir converted, and the budget of each was sized for the whole server.)
 */
export const DECODED_CACHE_BYTES = 32 * 1024 * 1024;
let decodedBudget = DECODED_CACHE_BYTES;
const decodedCache = new LruMap<string, CachedBlock | RowGroup>();
let decodedBytes = 0;

function cachedDecoded(key: string): CachedBlock | RowGroup | undefined {
  return decodedCache.get(key);
}

/** Adds a decoded block or group (charged its bytes once) and evicts the least recently used past the budget. */
function cacheDecoded(key: string, value: CachedBlock | RowGroup): void {
  const old = decodedCache.peek(key);
  if (old) decodedBytes -= old.bytes;
  decodedCache.set(key, value);
  decodedBytes += value.bytes;
  evictDecoded();
}

/** Evicts past the budget: pages' decoded data first (least recently used), then the oldest bulk groups. */
function evictDecoded(): void {
  while (decodedBytes + bulkBytes > decodedBudget && decodedCache.size > 0)
    decodedBytes -= decodedCache.shift()![1].bytes;
  // The group a bulk read is using now stays (the newest): its caller holds it anyway.
  while (decodedBytes + bulkBytes > decodedBudget && bulkGroups.size > 1) dropBulk();
}

/** Drops the oldest bulk group. */
function dropBulk(): void {
  bulkBytes -= bulkGroups.shift()![1].bytes;
}

/** Sets the decoded-data cache's budget in bytes (tests; the default is DECODED_CACHE_BYTES) and evicts past it. */
export function setDecodedCacheBudget(bytes: number): void {
  decodedBudget = bytes;
  evictDecoded();
}

/**
 * Entries and bytes held by the decoded-data cache, and the bytes of the recent groups of bulk reads charged to the
 * same budget (tests check the budget).
 */
export function decodedCacheStats(): { entries: number; bytes: number; bulkBytes: number } {
  return { entries: decodedCache.size, bytes: decodedBytes, bulkBytes };
}

/** A cached decompressed block, marked most recently used. */
function cachedBlock(key: string): CachedBlock | undefined {
  const hit = cachedDecoded(key);
  return hit instanceof CachedBlock ? hit : undefined;
}

/**
 * Blocks whose compressed form is a few bytes (a column with one value in the whole block: `__topic__`, `-` users,
 * tags) decode to the same bytes in every block and segment: kept by their compressed bytes, decoded once.
 */
const SMALL_BLOCK = 64;
const smallBlocks = new LruMap<string, CachedBlock>();
/** Where small blocks were found (segment path and offset), so a page does not read their bytes again. */
const smallRefs = new LruMap<string, CachedBlock>();
function smallBlock(seg: SegmentReader, ref: string, off: number, len: number): CachedBlock | undefined {
  if (len > SMALL_BLOCK) return undefined;
  let block = smallRefs.get(ref);
  if (block) return block;
  const key = seg.rawBytes(off, len).toString('latin1');
  block = smallBlocks.get(key);
  if (!block) {
    block = new CachedBlock(zstdDecompress(Buffer.from(key, 'latin1')));
    if (smallBlocks.size >= 1024) smallBlocks.shift();
    smallBlocks.set(key, block);
  }
  if (smallRefs.size >= 16_384) smallRefs.shift();
  smallRefs.set(ref, block);
  return block;
}

/**
 * Blocks decoded once into the scratch buffer lately (keys only): a second miss admits a block to the block cache,
 * so one-off rows of sparse pages do not evict what repeated reads use.
 */
const MISSED_KEYS = 8192;
/** Postings up to this size are read ahead whole (willNeedTerms); a larger one is a bitset read by windows. */
const READ_AHEAD_POSTING = 8 * 1024;
const missed = new LruMap<string, true>();
function missedBefore(key: string): boolean {
  if (missed.delete(key)) return true;
  missed.set(key, true);
  if (missed.size > MISSED_KEYS) missed.shift();
  return false;
}

/**
 * A row group read from its segment. Formats 3 and 4 (frames against the segment's dictionary): a header (per column varint(section length), a bit mask of the
 * columns in the wide frame, varint(compressed length) of the narrow and of the wide frame), then the two frames;
 * each frame is its columns' sections in column order. Frames are decoded on first use, so a scan of a narrow
 * column never decodes the wide one. Format 2: one frame of every section, then a u32 LE length per column.
 */
class RowGroup {
  /** Column c's cells are frames[frameOf[c]][from[c], to[c]). */
  readonly from: Uint32Array;
  readonly to: Uint32Array;
  private readonly frameOf: Uint8Array;
  private readonly frames: (Buffer | undefined)[];
  /** Compressed frames in the span, [start, end) of each, and their decoded sizes. */
  private readonly spans: number[] = [];
  private readonly raw: number[];
  /** Frames decoded on first use go into the shared scratch buffer (see scratchFrames). */
  private scratch = false;

  constructor(
    private span: Buffer | undefined,
    columns: number,
    format: number,
    private readonly path: string,
    private readonly ddict?: InstanceType<typeof zstdBinding.DDict>,
  ) {
    this.from = new Uint32Array(columns);
    this.to = new Uint32Array(columns);
    this.frameOf = new Uint8Array(columns);
    const buf = span!;
    if (format === 2) {
      const whole = zstdDecompress(buf);
      const starts = sectionStarts(whole, whole.length, columns, path);
      for (let c = 0; c < columns; c++) {
        this.from[c] = starts[c]!;
        this.to[c] = starts[c + 1]!;
      }
      this.frames = [whole];
      this.raw = [whole.length];
      this.span = undefined;
      return;
    }
    const r = new ByteReader(buf);
    const lens = new Array<number>(columns);
    for (let c = 0; c < columns; c++) lens[c] = r.varint();
    const mask = r.pos;
    r.pos += (columns + 7) >>> 3;
    this.raw = [0, 0];
    for (let c = 0; c < columns; c++) {
      const f = (buf[mask + (c >>> 3)]! >>> (c & 7)) & 1;
      this.frameOf[c] = f;
      this.from[c] = this.raw[f]!;
      this.raw[f]! += lens[c]!;
      this.to[c] = this.raw[f]!;
    }
    const frames = this.raw.length;
    const clens: number[] = [];
    for (let f = 0; f < frames; f++) clens.push(r.varint());
    let at = r.pos;
    for (let f = 0; f < frames; f++) {
      this.spans.push(at, at + clens[f]!);
      at += clens[f]!;
    }
    if (at !== buf.length)
      throw new DamagedBytesError(`segment ${path}: row group of ${buf.length} bytes, frames end at ${at}`);
    this.frames = new Array(frames).fill(undefined);
  }

  /** The decoded frame holding column c, or undefined when the column has no cells here. */
  col(c: number): Buffer | undefined {
    if (this.from[c] === this.to[c]) return undefined;
    const f = this.frameOf[c]!;
    if (this.frames[f]) return this.frames[f];
    let at = 0;
    if (this.scratch) for (let i = 0; i < f; i++) at += this.raw[i]!;
    return this.decode(f, this.scratch, at);
  }

  /** Frames decoded later go into the shared scratch buffer (a group read into the scratch buffers). */
  scratchFrames(): void {
    this.scratch = true;
    this.reserveScratch();
  }

  private reserveScratch(): void {
    let total = 0;
    for (const n of this.raw) total += n;
    if (scratchGroupOut.length < total)
      scratchGroupOut = Buffer.allocUnsafe(Math.max(total, 2 * scratchGroupOut.length));
  }

  /** Decodes every frame (with `scratch`, into the shared scratch buffer). */
  decodeAll(scratch = false): void {
    let at = 0;
    if (scratch) this.reserveScratch();
    for (let f = 0; f < this.frames.length; f++) {
      if (!this.frames[f] && this.raw[f]! > 0) this.decode(f, scratch, at);
      at += this.raw[f]!;
    }
    if (!scratch) this.span = undefined;
  }

  /** What the group holds once every frame is decoded, with its compressed span (fixed when read: bulk reads). */
  fullBytes(): number {
    let n = 64 + 8 * this.from.length + (this.span?.length ?? 0);
    for (let f = 0; f < this.raw.length; f++) if (!this.frames[f]) n += this.raw[f]!;
    for (const f of this.frames) n += f?.length ?? 0;
    return n;
  }

  get bytes(): number {
    let n = 64 + 8 * this.from.length + (this.span?.length ?? 0);
    for (const f of this.frames) n += f?.length ?? 0;
    return n;
  }

  private decode(f: number, scratch: boolean, at = 0): Buffer {
    const size = this.raw[f]!;
    const out = scratch ? scratchGroupOut.subarray(at, at + size) : Buffer.allocUnsafe(size);
    const src = this.span!.subarray(this.spans[2 * f]!, this.spans[2 * f + 1]!);
    const ddict = this.ddict;
    const n = decompressInto(() =>
      ddict ? scratchDctx.decompressUsingDDict(out, src, ddict) : scratchDctx.decompress(out, src),
    );
    if (n !== size) throw new DamagedBytesError(`${this.path}: row group frame decoded to ${n} bytes, not ${size}`);
    this.frames[f] = out;
    return out;
  }
}

export interface CellSpan {
  readonly first: number;
  readonly rows: number;
  readonly buf: Buffer | undefined;
  readonly start: number;
  readonly end: number;
}

/** Section starts of a decoded group `buf[0, len)` of `columns` columns (its trailer: one u32 LE length each). */
function sectionStarts(buf: Buffer, len: number, columns: number, path: string): Uint32Array {
  const starts = new Uint32Array(columns + 1);
  const trailer = len - 4 * columns;
  if (trailer < 0) throw new DamagedBytesError(`segment ${path}: row group of ${len} bytes for ${columns} columns`);
  let at = 0;
  for (let c = 0; c < columns; c++) {
    starts[c] = at;
    at += buf.readUInt32LE(trailer + 4 * c);
  }
  starts[columns] = at;
  if (at !== trailer)
    throw new DamagedBytesError(`segment ${path}: row group sections of ${at} bytes, expected ${trailer}`);
  return starts;
}

/**
 * A few recent row groups for bulk reads, apart from the decoded-data cache of pages (a merge holds each input's
 * current group; SQL and sidecars read several columns of the same groups in turn). Charged to the decoded-data budget
 * by what they hold once every frame is decoded (64 groups of wide rows were a few MB beside the 32 MB, unaccounted).
 */
const BULK_GROUPS = 64;
const bulkGroups = new LruMap<string, { readonly group: RowGroup; readonly bytes: number }>();
let bulkBytes = 0;

function cachedGroup(key: string): RowGroup | undefined {
  const hit = cachedDecoded(key);
  return hit instanceof RowGroup ? hit : undefined;
}

/** Reused buffers of pages' one-row block decodes (see SegmentReader.rows). */
const SCRATCH_OUT = 512 * 1024;
let scratchIn = Buffer.allocUnsafe(64 * 1024);
let scratchOut: Buffer | undefined;
let scratchGroupOut = Buffer.allocUnsafe(SCRATCH_OUT);
/** The group whose frames the scratch buffers hold now (see groupRows), and its cache key. */
let scratchKey: string | undefined;
let scratchHeld: RowGroup | undefined;
const scratchDctx = new zstdBinding.DCtx();

/**
 * Calls `visit(k, value)` for each `ats[k]` (ascending, repeats allowed) with that row's cell of decoded cells
 * `buf[from, len)` (a column block or a group's section; undefined when absent), walking the cells once.
 */
function cellsAt(
  buf: Buffer,
  from: number,
  len: number,
  ats: readonly number[],
  visit: (k: number, v: string | undefined) => void,
): void {
  let pos = from;
  let row = 0;
  for (let k = 0; k < ats.length; k++) {
    const at = ats[k]!;
    while (row < at && pos < len) {
      const l = cellCode(buf, pos);
      pos = cellCodeEnd;
      if (l > 0) pos += l - 1;
      row++;
    }
    if (pos >= len) {
      visit(k, undefined);
      continue;
    }
    const l = cellCode(buf, pos);
    const p = cellCodeEnd;
    visit(k, l === 0 ? undefined : buf.toString('utf8', p, p + l - 1));
  }
}

/** Appends the cells of rows `ats` of `group` to fields[base + k], column by column (columns in `only`, if given). */
function groupCells(
  group: RowGroup,
  cols: SegmentFooter['columns'],
  ats: readonly number[],
  fields: [string, string][][],
  base: number,
  only?: ReadonlySet<string>,
): void {
  for (let c = 0; c < cols.length; c++) {
    const name = cols[c]!.name;
    if (only && !only.has(name)) continue;
    const buf = group.col(c);
    if (!buf) continue;
    cellsAt(buf, group.from[c]!, group.to[c]!, ats, (k, v) => {
      if (v !== undefined) fields[base + k]!.push([name, v]);
    });
  }
}

/** Where the varint read by the last cellCode call ends (module state: no object per cell). */
let cellCodeEnd = 0;

/** The varint cell code at `buf[pos]` (0 = absent, else length + 1); sets cellCodeEnd. */
function cellCode(buf: Buffer, pos: number): number {
  let l = buf[pos++]!;
  if (l >= 0x80) {
    let x = l & 0x7f;
    let m = 128;
    for (;;) {
      const c = buf[pos++]!;
      x += (c & 0x7f) * m;
      if (c < 0x80) break;
      m *= 128;
    }
    l = x;
  }
  cellCodeEnd = pos;
  return l;
}

/**
 * A decompressed column block. The cell offsets are indexed on the second access: a page of rows usually reads
 * several cells of the same block, and walking up to 1,024 varints per cell measured as the largest cost of a warm
 * page.
 */
class CachedBlock {
  private offsets: Uint32Array | undefined;
  private reads = 0;

  constructor(readonly buf: Buffer) {}

  /** Charged to the cache once, with room for the cell index (1,025 offsets), so accounting never drifts. */
  get bytes(): number {
    return this.buf.length + 4 * 1025;
  }

  cell(at: number): string | undefined {
    if (!this.offsets && ++this.reads > 1) this.offsets = indexCells(this.buf);
    if (this.offsets) {
      if (at + 1 >= this.offsets.length) return undefined;
      const r = new ByteReader(this.buf, this.offsets[at]!);
      const l = r.varint();
      return l === 0 ? undefined : this.buf.toString('utf8', r.pos, r.pos + l - 1);
    }
    return cellAt(this.buf, at);
  }
}

/** Start offset of every cell, plus the end. */
function indexCells(buf: Buffer): Uint32Array {
  const out: number[] = [];
  const r = new ByteReader(buf);
  while (!r.done) {
    out.push(r.pos);
    const l = r.varint();
    if (l > 0) r.pos += l - 1;
  }
  out.push(r.pos);
  return Uint32Array.from(out);
}

/** The value of row `at` in a column block, skipping the cells before it without decoding them. */
function cellAt(buf: Buffer, at: number): string | undefined {
  const r = new ByteReader(buf);
  for (let i = 0; i < at; i++) {
    if (r.done) return undefined;
    const l = r.varint();
    if (l > 0) r.pos += l - 1;
  }
  if (r.done) return undefined;
  const l = r.varint();
  return l === 0 ? undefined : buf.toString('utf8', r.pos, r.pos + l - 1);
}

/**
 * Adds the posting list at `pos` of `buf` (the layout of postings.ts: kind 1 = bitset words, kind 0 = count and
 * delta varints) to `union`; returns the position after it.
 */
function postingInto(buf: Buffer, pos: number, n: number, union: UnionBuilder): number {
  const kind = buf[pos++];
  if (kind === 1) {
    const bytes = ((n + 31) >>> 5) * 4;
    if (pos + bytes > buf.length) throw new DamagedBytesError('a bitset posting runs past its bytes');
    union.addWords(buf, pos);
    return pos + bytes;
  }
  if (kind !== 0) throw new DamagedBytesError(`posting kind ${kind}`);
  const r = new ByteReader(buf, pos);
  const count = postingCount(r.varint(), n);
  pos = r.pos;
  let prev = 0;
  for (let i = 0; i < count; i++) {
    let c = buf[pos++]!;
    if (c < 0x80) prev += c;
    else {
      let x = c & 0x7f;
      let m = 128;
      for (;;) {
        c = buf[pos++]!;
        x += (c & 0x7f) * m;
        if (c < 0x80) break;
        m *= 128;
      }
      prev += x;
    }
    union.add(prev);
  }
  // Past the end, bytes read as undefined: each varint ends there, and this throws.
  if (pos > buf.length) throw new DamagedBytesError('a posting runs past its bytes');
  checkLastId(prev, n);
  return pos;
}

/** Where a posting is. */
interface Posting {
  /** In the file (-1 with `row`). */
  readonly off: number;
  readonly len: number;
  /** A packed dictionary entry's single row: no posting is stored. */
  readonly row?: number;
}

interface PostingRef extends Posting {
  readonly token: string;
}

/** Index of the last block whose first token is <= token, or -1. */
function blockFor(d: DictFooter, token: string): number {
  let lo = 0;
  let hi = d.first.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d.first[mid]! <= token) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function decodeColumnBlock(buf: Buffer): (string | undefined)[] {
  const r = new ByteReader(buf);
  const out: (string | undefined)[] = [];
  while (!r.done) {
    const l = r.varint();
    if (l === 0) out.push(undefined);
    else {
      out.push(buf.toString('utf8', r.pos, r.pos + l - 1));
      r.pos += l - 1;
    }
  }
  return out;
}

function toSortedIds(s: DocSet): Uint32Array {
  if (s.kind === 'ids') return s.ids;
  const out: number[] = [];
  const w = s.words;
  for (let wi = 0; wi < w.length; wi++) {
    let word = w[wi]!;
    while (word !== 0) {
      const low = word & -word;
      out.push((wi << 5) + 31 - Math.clz32(low));
      word ^= low;
    }
  }
  return Uint32Array.from(out);
}

/**
 * Which of the segment files `paths` are damaged: they do not open, or a whole read (SegmentReader.verify) fails.
 * A failed merge asks, and moves those aside. An error of the system (a missing file, too many open files) is not
 * damage: it is thrown.
 */
export function damagedSegments(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    let r: SegmentReader | undefined;
    try {
      r = SegmentReader.open(path);
      r.verify();
    } catch (err) {
      if (isSystemError(err)) throw err;
      out.push(path);
    } finally {
      r?.close();
    }
  }
  return out;
}

/** An error of the system (errno: ENOENT, EMFILE, …), not of the bytes read. EIO counts as damage. */
export function isSystemError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'EIO';
}

/** A zstd decode into a given buffer; a frame that does not decode is damaged bytes (segments are all we decode). */
function decompressInto(decode: () => number): number {
  try {
    return decode();
  } catch (err) {
    throw new DamagedBytesError(`a zstd frame does not decode (${err instanceof Error ? err.message : String(err)})`);
  }
}
