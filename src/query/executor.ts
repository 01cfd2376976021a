import type { CompiledIndex } from '../index/index-config.js';
import { SlsError } from '../protocol/errors.js';
import {
  clip,
  countIn,
  cursor,
  type DocSet,
  eachAscending,
  eachDescending,
  lowerBound,
  rangeOf,
} from '../storage/segment/doc-set.js';
import { type SearchPart, type StoredRow, timeRangeIds } from '../storage/segment/part.js';
import { SegmentReader } from '../storage/segment/segment-reader.js';
import type { QueryNode } from './parser/ast.js';
import { parseSearch, splitStatement } from './parser/parser.js';
import { PartWindow } from './part-window.js';
import { Planner } from './planner.js';

export interface SearchOptions {
  /** Unix seconds, inclusive. */
  readonly from: number;
  /** Unix seconds, exclusive. */
  readonly to: number;
  readonly offset: number;
  readonly line: number;
  /** true = newest first; false (the SLS default) = oldest first. */
  readonly reverse: boolean;
  readonly signal?: AbortSignal;
  /** Absolute time (ms) after which the query stops with what it has. */
  readonly deadlineMs?: number;
  /**
   * Evaluate every segment whole instead of by windows at the page's end (`pageOf`): the reference the windowed pages
   * are tested against.
   */
  readonly wholeParts?: boolean;
}

export interface SearchResult {
  readonly rows: StoredRow[];
  /** Rows in the time range that the search looked at. */
  readonly processedRows: number;
  readonly complete: boolean;
}

export interface HistogramBucket {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** Parses the search statement; refuses `| SQL` (analytics are a separate issue) with a clear 400. */
export function parseQuery(query: string): QueryNode {
  const { search, sql, pipePos } = splitStatement(query);
  if (sql !== undefined) {
    throw new SlsError(
      'InvalidQueryString',
      `analytic statements (the "| ${sql.trim().slice(0, 40)}" part at position ${pipePos}) are not supported yet: send the search statement alone`,
    );
  }
  return parseSearch(search.trim());
}

/**
 * Runs a search over a logstore's parts. Each part yields its matching row ids (posting-list algebra); only the
 * newest (or oldest) `offset + line` ids of each part are considered for the page, so a query stops early instead
 * of materializing every hit; only the rows of the page are read from their column blocks.
 */
export function search(
  index: CompiledIndex,
  parts: readonly SearchPart[],
  node: QueryNode,
  o: SearchOptions,
): SearchResult {
  const sel = selectPage(index, parts, node, o);
  const rows: StoredRow[] = new Array(sel.page.length);
  for (const [p, slots] of pageByPart(sel)) placeRows(sel, p, slots, parts[p]!.rows(pageIds(sel, p, slots)), rows);
  return { rows, processedRows: sel.processed, complete: sel.complete };
}

/**
 * `search` for a server: the page is chosen the same way (postings, phrase checks), then the row groups of its rows
 * are read from every segment at once off the event loop (SegmentReader.pageRows), so groups the page cache misses
 * wait for the disk side by side instead of one after the other. Same rows, same order.
 */
export async function searchAsync(
  index: CompiledIndex,
  parts: readonly SearchPart[],
  node: QueryNode,
  o: SearchOptions,
): Promise<SearchResult> {
  const sel = selectPage(index, parts, node, o);
  const rows: StoredRow[] = new Array(sel.page.length);
  // Every segment's rows are read at once (SegmentReader.pageRows); other parts (the memory head) answer at once.
  const reads: { seg: SegmentReader; ids: number[]; p: number; slots: number[] }[] = [];
  for (const [p, slots] of pageByPart(sel)) {
    const part = parts[p]!;
    const ids = pageIds(sel, p, slots);
    if (part instanceof SegmentReader) reads.push({ seg: part, ids, p, slots });
    else placeRows(sel, p, slots, part.rows(ids), rows);
  }
  if (reads.length > 0) {
    const got = await SegmentReader.pageRows(reads);
    for (let i = 0; i < reads.length; i++) placeRows(sel, reads[i]!.p, reads[i]!.slots, got[i]!, rows);
  }
  if (o.signal?.aborted) throw new SlsError('ParameterInvalid', 'the client closed the connection; query cancelled');
  return { rows, processedRows: sel.processed, complete: sel.complete };
}

interface Cand {
  readonly time: number;
  readonly part: number;
  readonly id: number;
}

/** The page of a search: its rows' places, the rows phrase checks already read, and the counts. */
interface Selection {
  readonly page: Cand[];
  /** Rows already read to check a phrase (key `part:id`), reused for the page. */
  readonly seen: Map<string, StoredRow>;
  readonly processed: number;
  readonly complete: boolean;
}

/** Page slots by part, in the order parts first appear in the page. */
function pageByPart(sel: Selection): Map<number, number[]> {
  const byPart = new Map<number, number[]>();
  sel.page.forEach((c, i) => {
    let list = byPart.get(c.part);
    if (!list) {
      list = [];
      byPart.set(c.part, list);
    }
    list.push(i);
  });
  return byPart;
}

/** Ids of part `p`'s page slots that phrase checks did not read already. */
function pageIds(sel: Selection, p: number, slots: readonly number[]): number[] {
  const ids: number[] = [];
  for (const i of slots) if (!sel.seen.has(`${p}:${sel.page[i]!.id}`)) ids.push(sel.page[i]!.id);
  return ids;
}

/** Puts `got` (the rows of pageIds(sel, p, slots), in that order) and the rows already seen into their page slots. */
function placeRows(sel: Selection, p: number, slots: readonly number[], got: readonly StoredRow[], rows: StoredRow[]) {
  let k = 0;
  for (const slot of slots) {
    const id = sel.page[slot]!.id;
    rows[slot] = sel.seen.get(`${p}:${id}`) ?? got[k++]!;
  }
}

/**
 * Chooses the page: each part's matching ids (posting algebra), phrase candidates verified lazily in global result
 * order until the page is full, then the page's (time, part, id) in result order. Rows are not read here, except
 * those phrase checks read.
 */
function selectPage(index: CompiledIndex, parts: readonly SearchPart[], node: QueryNode, o: SearchOptions): Selection {
  const planner = new Planner(index);
  planner.validate(node);
  const want = o.offset + o.line;
  const cands: Cand[] = [];
  /** Rows already read to check a phrase, reused for the page. */
  const seen = new Map<string, StoredRow>();
  /** Phrase candidates of one part in result order, pulled one at a time (`next` = -1 when done). */
  const streams: {
    p: number;
    pull: () => number;
    next: number;
    check: (row: StoredRow) => boolean;
    /** The fields the check reads (undefined: all): only those are read, and the row is read again for the page. */
    fields?: ReadonlySet<string>;
  }[] = [];
  let processed = 0;
  let complete = true;
  // Parts in result order of their time span (newest end first for `reverse`), so a page can stop at the first
  // parts that fill it when later ones lie wholly past its last row (logs arriving in time order give disjoint
  // segments; a bulk load of a whole day gives overlapping ones, where every part is still read).
  const order = parts.map((_, i) => i);
  order.sort((a, b) =>
    o.reverse ? parts[b]!.maxTime - parts[a]!.maxTime || a - b : parts[a]!.minTime - parts[b]!.minTime || a - b,
  );
  // Segments are read by windows at the page's end (pageOf) unless a phrase among the top-level AND is verified
  // lazily across parts (the streams below).
  const windows = !o.wholeParts && node.kind !== 'all' && !planner.defersPhrase(node);
  if (want > 0 && node.kind !== 'all') readAhead(planner, node, parts, order, o);
  for (let k = 0; k < order.length; k++) {
    const p = order[k]!;
    const part = parts[p]!;
    if (part.n === 0 || part.maxTime < o.from || part.minTime >= o.to) continue;
    if (checkStop(o)) {
      complete = false;
      break;
    }
    if (want === 0) continue;
    /** The time of the page's want-th row so far: a later part's rows past it cannot enter the page. */
    let last: number | undefined;
    if (streams.length === 0 && cands.length >= want) {
      // The page so far: its want-th row bounds what a later part could still contribute.
      cands.sort(byTimeAsc);
      if (o.reverse) cands.reverse();
      cands.length = want;
      last = cands[want - 1]!.time;
      if (o.reverse ? part.maxTime < last : part.minTime > last) break;
    }
    if (windows && part instanceof SegmentReader) {
      let [lo, hi] = timeRangeIds(part, o.from, o.to);
      processed += hi - lo;
      // Rows tied with the bound may still enter the page (ties order by part and row): only rows past it are cut.
      if (last !== undefined && o.reverse) lo = Math.max(lo, timeRangeIds(part, last, last)[0]);
      if (last !== undefined && !o.reverse) hi = Math.min(hi, timeRangeIds(part, last + 1, last + 1)[0]);
      for (const id of pageOf(planner, node, part, lo, hi, want, o.reverse))
        cands.push({ time: part.time(id), part: p, id });
      continue;
    }
    if (!o.wholeParts && !windows && node.kind !== 'all' && part instanceof SegmentReader) {
      // A phrase verified lazily: its candidates are pulled from windows of the segment, evaluated as the pulls
      // reach them, instead of the whole segment's AND of every phrase token.
      const [lo, hi] = timeRangeIds(part, o.from, o.to);
      processed += hi - lo;
      const stream = windowStream(planner, node, part, lo, hi, o.reverse);
      if (stream) streams.push({ p, ...stream });
      continue;
    }
    const { ids, check, fields, inRange } = matching(planner, node, part, o.from, o.to);
    processed += inRange;
    if (part.timeSorted && check) {
      // Phrase candidates are verified lazily below, in global order: pull them one at a time.
      const pull = cursor(ids, o.reverse);
      streams.push({ p, pull, next: pull(), check, ...(fields ? { fields } : {}) });
      continue;
    }
    // Ids in result order for this part (newest or oldest first).
    const ordered: number[] = [];
    if (part.timeSorted) {
      const visit = (id: number): boolean => {
        ordered.push(id);
        return ordered.length < want;
      };
      if (o.reverse) eachDescending(ids, visit);
      else eachAscending(ids, visit);
    } else {
      const local: { time: number; id: number }[] = [];
      eachAscending(ids, (id) => {
        const t = part.time(id);
        if (t >= o.from && t < o.to) local.push({ time: t, id });
        return true;
      });
      local.sort((a, b) => a.time - b.time || a.id - b.id);
      if (o.reverse) local.reverse();
      for (const c of local) ordered.push(c.id);
    }
    if (!check) {
      for (let i = 0; i < ordered.length && i < want; i++)
        cands.push({ time: part.time(ordered[i]!), part: p, id: ordered[i]! });
      continue;
    }
    let at = 0;
    streams.push({
      p,
      pull: () => (at < ordered.length ? ordered[at++]! : -1),
      next: -1,
      check,
      ...(fields ? { fields } : {}),
    });
    streams[streams.length - 1]!.next = streams[streams.length - 1]!.pull();
  }
  // Phrase checks: walk every part's candidates in global result order and verify only until the page is full
  // (per-part verification would read `want` rows from every segment).
  let verified = 0;
  while (verified < want && streams.length > 0) {
    if (checkStop(o)) {
      complete = false;
      break;
    }
    let best: (typeof streams)[number] | undefined;
    let bestCand: Cand | undefined;
    for (const st of streams) {
      if (st.next < 0) continue;
      const id = st.next;
      const c = { time: parts[st.p]!.time(id), part: st.p, id };
      if (!bestCand || (o.reverse ? byTimeAsc(c, bestCand) > 0 : byTimeAsc(c, bestCand) < 0)) {
        best = st;
        bestCand = c;
      }
    }
    if (!best || !bestCand) break;
    best.next = best.pull();
    const row = parts[best.p]!.rows([bestCand.id], best.fields)[0]!;
    if (!best.check(row)) continue;
    cands.push(bestCand);
    if (!best.fields) seen.set(`${best.p}:${bestCand.id}`, row);
    verified++;
  }
  cands.sort(byTimeAsc);
  if (o.reverse) cands.reverse();
  const page = cands.slice(o.offset, o.offset + o.line);
  return { page, seen, processed, complete };
}

/**
 * Counts matches per time bucket without reading rows: in a time-ordered part a bucket is an id range, so the count
 * is a popcount (bitset) or two binary searches (id list) per bucket.
 */
export function histogram(
  index: CompiledIndex,
  parts: readonly SearchPart[],
  node: QueryNode,
  o: { from: number; to: number; interval: number; signal?: AbortSignal; deadlineMs?: number },
): { buckets: HistogramBucket[]; complete: boolean } {
  const planner = new Planner(index);
  planner.validate(node);
  const nb = Math.max(0, Math.ceil((o.to - o.from) / o.interval));
  const counts = new Float64Array(nb);
  let complete = true;
  const all = node.kind === 'all';
  for (const part of parts) {
    if (part.n === 0 || part.maxTime < o.from || part.minTime >= o.to) continue;
    if (checkStop(o)) {
      complete = false;
      break;
    }
    const table = all && part instanceof SegmentReader ? secondTable(part) : undefined;
    if (table && part instanceof SegmentReader) {
      // `*` over a segment with a per-second table: two lookups per bucket, whatever the range covers of it.
      const last = table.length - 1;
      const b0 = Math.max(0, Math.floor((part.minTime - o.from) / o.interval));
      const b1 = Math.min(nb - 1, Math.floor((part.maxTime - o.from) / o.interval));
      for (let b = b0; b <= b1; b++) {
        const start = o.from + b * o.interval;
        const end = Math.min(o.to, start + o.interval);
        const lo = Math.min(last, Math.max(0, start - part.minTime));
        const hi = Math.min(last, Math.max(0, end - part.minTime));
        counts[b]! += table[hi]! - table[lo]!;
      }
      continue;
    }
    if (all && part instanceof SegmentReader && part.minTime >= o.from && part.maxTime < o.to) {
      // `*` over a whole immutable segment: its bucket counts for this width and phase are computed once.
      const { first, counts: c } = segmentBuckets(part, o.interval, o.from);
      const shift = (first - o.from) / o.interval;
      for (let b = 0; b < c.length; b++) if (c[b]! > 0) counts[b + shift]! += c[b]!;
      continue;
    }
    if (part.timeSorted) {
      const set = all ? undefined : planner.evaluate(node, part);
      if (set?.kind === 'ids' && set.ids.length < nb * 8) {
        // Fewer hits than boundary searches would cost: bucket each hit by its time.
        const [lo, hi] = timeRangeIds(part, o.from, o.to);
        const ids = set.ids;
        for (let i = lowerBound(ids, lo); i < ids.length && ids[i]! < hi; i++)
          counts[Math.floor((part.time(ids[i]!) - o.from) / o.interval)]!++;
        continue;
      }
      let lo = timeRangeIds(part, o.from, o.from)[0];
      for (let b = 0; b < nb; b++) {
        const end = Math.min(o.to, o.from + (b + 1) * o.interval);
        const hi = timeRangeIds(part, end, end)[0];
        counts[b]! += set === undefined ? hi - lo : countIn(set, lo, hi);
        lo = hi;
      }
    } else {
      const set = planner.evaluate(node, part);
      eachAscending(set, (id) => {
        const t = part.time(id);
        if (t >= o.from && t < o.to) counts[Math.floor((t - o.from) / o.interval)]!++;
        return true;
      });
    }
  }
  const buckets: HistogramBucket[] = [];
  for (let b = 0; b < nb; b++) {
    buckets.push({
      from: o.from + b * o.interval,
      to: Math.min(o.to, o.from + (b + 1) * o.interval),
      count: counts[b]!,
    });
  }
  return { buckets, complete };
}

/** Per segment: bucket counts of every row by (width, phase), at most a few kept per segment. */
const bucketCache = new WeakMap<SegmentReader, Map<string, { first: number; counts: Uint32Array }>>();

/**
 * Per segment: the first row id of each second of its span (`at[t - minTime]`, plus the end), when the span is at
 * most SECOND_TABLE_ROWS seconds or twice the rows. Any bucket width and phase is then two lookups per bucket: a new
 * phase or width (another `from`, another interval) no longer walks every row of every segment again.
 */
const secondTables = new WeakMap<SegmentReader, Uint32Array | null>();
const SECOND_TABLE_ROWS = 4 * 86_400; // seconds

function secondTable(seg: SegmentReader): Uint32Array | undefined {
  let t = secondTables.get(seg);
  if (t === undefined) {
    const span = seg.maxTime - seg.minTime + 1;
    if (span > Math.max(SECOND_TABLE_ROWS, 2 * seg.n)) t = null;
    else {
      t = new Uint32Array(span + 1);
      let k = 0;
      for (let i = 0; i < seg.n; i++) {
        const s = seg.time(i) - seg.minTime;
        while (k <= s) t[k++] = i;
      }
      while (k <= span) t[k++] = seg.n;
    }
    secondTables.set(seg, t);
  }
  return t ?? undefined;
}

/**
 * Counts of a segment's rows per bucket of `width` seconds aligned like `from`; `first` is the start of the bucket
 * holding the segment's first row. A day of logs spread over every segment made the per-bucket binary searches cost
 * buckets × segments × 2 log n per histogram; this is one pass per segment, once per width and phase (for segments
 * spanning too many seconds for a per-second table).
 */
function segmentBuckets(seg: SegmentReader, width: number, from: number): { first: number; counts: Uint32Array } {
  const phase = ((from % width) + width) % width;
  let byKey = bucketCache.get(seg);
  if (!byKey) {
    byKey = new Map();
    bucketCache.set(seg, byKey);
  }
  const key = `${width}:${phase}`;
  let b = byKey.get(key);
  if (!b) {
    const first = Math.floor((seg.minTime - phase) / width) * width + phase;
    const counts = new Uint32Array(Math.floor((seg.maxTime - first) / width) + 1);
    for (let i = 0; i < seg.n; i++) counts[Math.floor((seg.time(i) - first) / width)]!++;
    if (byKey.size >= 4) byKey.delete(byKey.keys().next().value as string);
    b = { first, counts };
    byKey.set(key, b);
  }
  return b;
}

/** Distinct `__topic__` values, sorted, after `token` (exclusive), at most `limit`. */
export function listTopics(parts: readonly SearchPart[], token: string, limit: number): string[] {
  const all = new Set<string>();
  for (const part of parts) for (const t of part.tokens('f:__topic__', '', 100_000)) all.add(t);
  return [...all]
    .sort()
    .filter((t) => t > token)
    .slice(0, limit);
}

/** Segments (the first in result order) whose term lookups a page reads ahead. */
const READ_AHEAD_PARTS = 32;

/**
 * Asks the kernel to read ahead what the page's term lookups will read in its first READ_AHEAD_PARTS segments in
 * range (SegmentReader.willNeedTerms): every token block first, then, those read, every posting. The evaluation then
 * reads them one segment after another, synchronously, and finds them in the page cache or already on their way,
 * instead of waiting for the disk once per segment (a distinct needle read a block and a posting in each of 15).
 */
function readAhead(
  planner: Planner,
  node: QueryNode,
  parts: readonly SearchPart[],
  order: readonly number[],
  o: SearchOptions,
): void {
  const lookups = planner.termLookups(node);
  if (lookups.length === 0) return;
  const segs: SegmentReader[] = [];
  for (const p of order) {
    const part = parts[p]!;
    if (!(part instanceof SegmentReader) || part.n === 0 || part.maxTime < o.from || part.minTime >= o.to) continue;
    segs.push(part);
    if (segs.length === READ_AHEAD_PARTS) break;
  }
  for (const postings of [false, true])
    for (const seg of segs) for (const { dict, tokens } of lookups) seg.willNeedTerms(dict, tokens, postings);
}

/** Rows of the first window of a page (pageOf); later windows are sized from the matches found so far. */
const FIRST_WINDOW = 4096;

/**
 * Rows [lo, hi) of a segment taken by windows from the page's end (newest first for `reverse`). `step(size, evaluate,
 * visit)` evaluates the next window of about `size` rows (it starts on a multiple of 32: whole bitset words), visits
 * its rows in result order (only rows of [lo, hi) not in an earlier window) until `visit` returns false, and returns
 * the number of rows the window added.
 */
function windowWalk(lo: number, hi: number, reverse: boolean) {
  let start = lo;
  let end = hi;
  return {
    done: (): boolean => start >= end,
    step(size: number, evaluate: (base: number, stop: number) => DocSet, visit: (row: number) => boolean): number {
      const base = reverse ? Math.max(start, end - size) & ~31 : start & ~31;
      const stop = reverse ? end : Math.min(end, base + size);
      const set = evaluate(base, stop);
      const from = start;
      if (reverse) eachDescending(set, (id) => id + base >= from && visit(id + base));
      else eachAscending(set, (id) => id + base < from || visit(id + base));
      const rows = stop - Math.max(start, base);
      if (reverse) end = Math.max(start, base);
      else start = stop;
      return rows;
    },
  };
}

/**
 * The first `want` matches of `node` among rows [lo, hi) of a segment, in result order (newest first for `reverse`):
 * the query is evaluated over windows of rows from that end (PartWindow), each sized from the density of matches in
 * the windows before (at least doubling), until `want` are found or the range ends. A page of a frequent term reads a
 * few KB of its postings per segment; a rare one grows its windows to the whole range in a few steps.
 */
function pageOf(
  planner: Planner,
  node: QueryNode,
  seg: SegmentReader,
  lo: number,
  hi: number,
  want: number,
  reverse: boolean,
): number[] {
  const out: number[] = [];
  const walk = windowWalk(lo, hi, reverse);
  let size = FIRST_WINDOW;
  let seen = 0;
  while (!walk.done() && out.length < want) {
    seen += walk.step(
      size,
      (base, stop) => planner.evaluate(node, new PartWindow(seg, base, stop)),
      (row) => out.push(row) < want,
    );
    // The next window: enough rows for the matches still wanted at the density seen so far, at least twice this one.
    // None seen yet: the density is below about one per `seen` rows, so `want` matches need `want` times as many (a
    // rare term's page then evaluates the rest of the segment at once instead of in three more windows).
    const need = out.length === 0 ? want * seen : (((want - out.length) * seen) / out.length) * 1.25;
    size = Math.max(2 * size, Math.ceil(need / 32) * 32);
  }
  return out;
}

/**
 * The candidates of a lazily verified phrase query (Planner.evaluateDeferred) among rows [lo, hi) of a segment, pulled
 * one at a time in result order: windows of rows from the page's end are evaluated as the pulls reach them, each four
 * times the last. Undefined when the range holds no candidate.
 */
function windowStream(
  planner: Planner,
  node: QueryNode,
  seg: SegmentReader,
  lo: number,
  hi: number,
  reverse: boolean,
): { pull: () => number; next: number; check: (row: StoredRow) => boolean; fields?: ReadonlySet<string> } | undefined {
  const walk = windowWalk(lo, hi, reverse);
  let size = FIRST_WINDOW;
  let ids: number[] = [];
  let at = 0;
  let check: ((row: StoredRow) => boolean) | undefined;
  let fields: ReadonlySet<string> | undefined;
  const evaluate = (base: number, stop: number): DocSet => {
    const r = planner.evaluateDeferred(node, new PartWindow(seg, base, stop));
    check ??= r.check;
    fields ??= r.fields;
    return r.set;
  };
  /** Evaluates windows until one holds candidates (into `ids`); false once the range is done. */
  const fill = (): boolean => {
    while (!walk.done()) {
      ids = [];
      at = 0;
      walk.step(size, evaluate, (row) => ids.push(row) > 0);
      size *= 4;
      if (ids.length > 0) return true;
    }
    return false;
  };
  const pull = (): number => (at < ids.length || fill() ? ids[at++]! : -1);
  const next = pull();
  if (next < 0 || !check) return undefined;
  return { pull, next, check, ...(fields ? { fields } : {}) };
}

function matching(
  planner: Planner,
  node: QueryNode,
  part: SearchPart,
  from: number,
  to: number,
): { ids: DocSet; check?: (row: StoredRow) => boolean; fields?: ReadonlySet<string>; inRange: number } {
  if (part.timeSorted) {
    const [lo, hi] = timeRangeIds(part, from, to);
    if (hi <= lo) return { ids: rangeOf(0, 0, part.n), inRange: 0 };
    if (node.kind === 'all') return { ids: rangeOf(lo, hi, part.n), inRange: hi - lo };
    const { set, ...rest } = planner.evaluateDeferred(node, part);
    return { ids: clip(set, lo, hi, part.n), inRange: hi - lo, ...rest };
  }
  const { set, ...rest } = planner.evaluateDeferred(node, part);
  return { ids: set, inRange: part.n, ...rest };
}

function checkStop(o: { signal?: AbortSignal; deadlineMs?: number }): boolean {
  if (o.signal?.aborted) throw new SlsError('ParameterInvalid', 'the client closed the connection; query cancelled');
  return o.deadlineMs !== undefined && Date.now() > o.deadlineMs;
}

function byTimeAsc(
  a: { time: number; part: number; id: number },
  b: { time: number; part: number; id: number },
): number {
  return a.time - b.time || a.part - b.part || a.id - b.id;
}
