import { BLOCK_ROWS } from '../../storage/segment/segment-format.js';
import { SegmentReader } from '../../storage/segment/segment-reader.js';
import type { FastResult, Selected } from './fast-aggregate.js';

/**
 * Exact top-k of `select <text key>, count(*) … group by <key> order by count desc limit k` without a hash
 * aggregation over every row.
 *
 * Why: DuckDB's hash aggregation of ~1.5M distinct request URIs in 5M rows costs ~320 ms on this machine before any
 * I/O, while the answer is 10 rows. Segments are immutable, so each one's value → count table for a column is
 * computed once (lazily, on first use, then cached with the segment) and kept compactly: values seen at least
 * twice as strings sorted by count, values seen once only as a sorted 53-bit hash with the row that holds them
 * (a hash hit is confirmed by reading that cell, so lookups stay exact). At query time the per-segment lists are
 * combined with Fagin's threshold algorithm: walk all lists in count order in lock step, resolve each newly seen
 * value's exact total by lookups in every list, and stop once the k-th best total exceeds the sum of the counts at
 * the current depth (no unseen value can reach it). Skewed keys (paths, hosts, users) stop after a few hundred
 * steps. Parts that are not whole segments (a search's hits, the edges of a time range, the in-memory head) are
 * counted exactly from their cells and join as extra lists. When the walk cannot decide (flat distributions where
 * the answer lies among values seen once) it gives up and DuckDB answers.
 */

/** A whole segment's counts for one column. */
export interface SegmentValueCounts {
  /** Values seen at least twice, by count descending (then value). */
  readonly values: readonly string[];
  readonly counts: Uint32Array;
  readonly index: ReadonlyMap<string, number>;
  /** Values seen once: their hashes ascending, and the row holding each. */
  readonly singleHashes: Float64Array;
  readonly singleRows: Uint32Array;
  /** Rows where the column is absent (NULL in SQL). */
  readonly nulls: number;
  /**
   * For a column of at most MAX_CODES distinct values: every row's value as a code (0 = absent, c = dict[c - 1]), so
   * a GROUP BY over any selection of rows counts codes instead of reading cells.
   */
  readonly dict?: readonly string[];
  readonly codes?: Uint16Array;
  /** Approximate bytes held. */
  readonly bytes: number;
}

/** Distinct values up to which a segment's column also keeps a code per row. */
export const MAX_CODES = 4096;

/** Rows counted from cells per statement (search hits, partial segments, the head) before DuckDB is preferred. */
export const MAX_LOOSE_ROWS = 400_000;
/** Threshold-algorithm steps (lookups) before giving up on a flat distribution. */
const MAX_STEPS = 2_000_000;

const cache = new WeakMap<SegmentReader, Map<string, SegmentValueCounts>>();

/** The counts of column `column` (exact name) over the whole of `seg`, computed on first use. */
export function segmentValueCounts(seg: SegmentReader, column: string): SegmentValueCounts {
  return cache.get(seg)?.get(column) ?? putValueCounts(seg, column, computeValueCounts(seg, column));
}

/** Whether the counts of `column` in `seg` are already computed. */
export function hasValueCounts(seg: SegmentReader, column: string): boolean {
  return cache.get(seg)?.has(column) ?? false;
}

/** Caches counts computed elsewhere (the worker thread) for `seg`. */
export function putValueCounts(seg: SegmentReader, column: string, data: ValueCountsData): SegmentValueCounts {
  let byColumn = cache.get(seg);
  if (!byColumn) {
    byColumn = new Map();
    cache.set(seg, byColumn);
  }
  const index = new Map<string, number>();
  for (let i = 0; i < data.values.length; i++) index.set(data.values[i]!, data.counts[i]!);
  let bytes = 64 + data.singleHashes.length * 12 + (data.codes?.byteLength ?? 0);
  for (const v of data.values) bytes += 48 + v.length * 2;
  const vc: SegmentValueCounts = { ...data, index, bytes };
  byColumn.set(column, vc);
  return vc;
}

/** What a worker thread sends back: plain arrays (the typed ones transferable). */
export type ValueCountsData = Omit<SegmentValueCounts, 'index' | 'bytes'>;

/**
 * One pass over the column's blocks (a Map of the distinct values). Measured on 1M generated nginx logs (~300k
 * distinct request URIs): ~1.4 s, so it runs in the sidecar worker thread, once per segment and column.
 */
export function computeValueCounts(seg: SegmentReader, column: string): ValueCountsData {
  const counts = new Map<string, number>();
  const firstRow = new Map<string, number>();
  let nulls = 0;
  const codeOf = new Map<string, number>();
  const dict: string[] = [];
  let codes: Uint16Array | undefined = new Uint16Array(seg.n);
  const blocks = Math.ceil(seg.n / BLOCK_ROWS);
  for (let b = 0; b < blocks; b++) {
    const buf = seg.columnBlockBytes(column, b);
    const rowsInBlock = Math.min(BLOCK_ROWS, seg.n - b * BLOCK_ROWS);
    if (!buf) {
      nulls += rowsInBlock;
      continue;
    }
    let pos = 0;
    let row = 0;
    for (; row < rowsInBlock && pos < buf.length; row++) {
      // varint(len + 1), 0 = absent
      let l = 0;
      let shift = 0;
      let byte: number;
      do {
        byte = buf[pos++]!;
        l += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      if (l === 0) {
        nulls++;
        continue;
      }
      const v = buf.toString('utf8', pos, pos + l - 1);
      pos += l - 1;
      const c = counts.get(v);
      if (c === undefined) {
        counts.set(v, 1);
        firstRow.set(v, b * BLOCK_ROWS + row);
      } else counts.set(v, c + 1);
      if (codes) {
        let code = codeOf.get(v);
        if (code === undefined) {
          if (dict.length >= MAX_CODES) codes = undefined;
          else {
            dict.push(v);
            code = dict.length;
            codeOf.set(v, code);
          }
        }
        if (codes && code !== undefined) codes[b * BLOCK_ROWS + row] = code;
      }
    }
    nulls += rowsInBlock - row;
  }
  const heavy: [string, number][] = [];
  const singles: [number, number][] = [];
  for (const [v, c] of counts) {
    if (c >= 2) heavy.push([v, c]);
    else singles.push([hash53(v), firstRow.get(v)!]);
  }
  heavy.sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
  singles.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    values: heavy.map((h) => h[0]),
    counts: Uint32Array.from(heavy, (h) => h[1]),
    singleHashes: Float64Array.from(singles, (s) => s[0]),
    singleRows: Uint32Array.from(singles, (s) => s[1]),
    nulls,
    ...(codes ? { dict, codes } : {}),
  };
}

/** One input of the walk: values in count order, with exact random access. */
interface List {
  /** Values by count descending. */
  readonly values: readonly string[];
  readonly counts: ArrayLike<number>;
  /** Count bound for values not among `values`. */
  readonly rest: number;
  lookup(v: string): number;
}

/**
 * The top `offset + limit` groups by count (ties by key ascending, NULL last), then the page; undefined when the
 * walk cannot decide or the loose rows are too many (DuckDB answers).
 */
export function textTopK(
  selected: readonly Selected[],
  column: (seg: SegmentReader) => string | undefined | null,
  cellsOf: (s: Selected) => Iterable<string | undefined> | undefined,
  wholeOf: (s: Selected) => SegmentReader | undefined,
  offset: number,
  limit: number,
): { key: string | null; count: number }[] | undefined {
  const lists: List[] = [];
  let nulls = 0;
  const loose = new Map<string, number>();
  let looseRows = 0;
  for (const s of selected) {
    const seg = wholeOf(s);
    if (seg) {
      const name = column(seg);
      if (name === null) return undefined;
      if (name === undefined) {
        nulls += seg.n;
        continue;
      }
      const vc = segmentValueCounts(seg, name);
      nulls += vc.nulls;
      lists.push({
        values: vc.values,
        counts: vc.counts,
        rest: vc.singleHashes.length > 0 ? 1 : 0,
        lookup: (v) => {
          const c = vc.index.get(v);
          if (c !== undefined) return c;
          const h = hash53(v);
          let lo = 0;
          let hi = vc.singleHashes.length;
          while (lo < hi) {
            const m = (lo + hi) >>> 1;
            if (vc.singleHashes[m]! < h) lo = m + 1;
            else hi = m;
          }
          for (; lo < vc.singleHashes.length && vc.singleHashes[lo] === h; lo++) {
            if (seg.cell(name, vc.singleRows[lo]!) === v) return 1;
          }
          return 0;
        },
      });
      continue;
    }
    looseRows += s.count;
    if (looseRows > MAX_LOOSE_ROWS) return undefined;
    const cells = cellsOf(s);
    if (!cells) return undefined;
    for (const v of cells) {
      if (v === undefined) nulls++;
      else loose.set(v, (loose.get(v) ?? 0) + 1);
    }
  }
  if (loose.size > 0) {
    const sorted = [...loose].sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
    lists.push({
      values: sorted.map((e) => e[0]),
      counts: sorted.map((e) => e[1]),
      rest: 0,
      lookup: (v) => loose.get(v) ?? 0,
    });
  }
  const k = offset + limit;
  if (k <= 0) return [];
  // Min-heap of the best k by (count desc, key asc with NULL last): the root is the worst kept.
  const heap: { key: string | null; count: number }[] = [];
  const worse = (a: { key: string | null; count: number }, b: { key: string | null; count: number }): boolean =>
    a.count !== b.count ? a.count < b.count : compareKeys(a.key, b.key) > 0;
  const offer = (e: { key: string | null; count: number }): void => {
    if (heap.length < k) {
      heap.push(e);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
      return;
    }
    if (!worse(heap[0]!, e)) return;
    heap[0] = e;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  if (nulls > 0) offer({ key: null, count: nulls });
  const seen = new Set<string>();
  let steps = 0;
  for (let depth = 0; ; depth++) {
    let threshold = 0;
    let any = false;
    for (const list of lists) {
      if (depth >= list.values.length) continue;
      any = true;
      const v = list.values[depth]!;
      if (seen.has(v)) continue;
      seen.add(v);
      let total = 0;
      for (const other of lists) total += other === list ? list.counts[depth]! : other.lookup(v);
      steps += lists.length;
      offer({ key: v, count: total });
    }
    for (const list of lists) threshold += depth + 1 < list.values.length ? list.counts[depth + 1]! : list.rest;
    // Unseen values total at most `threshold`; the page is decided once the k-th kept count is above it.
    if (heap.length >= k && heap[0]!.count > threshold) break;
    if (!any || threshold === 0) {
      if (threshold === 0) break;
      // Only values seen once per segment remain unseen, and they could still matter.
      return undefined;
    }
    if (steps > MAX_STEPS) return undefined;
  }
  const out = heap.sort((a, b) => b.count - a.count || compareKeys(a.key, b.key));
  return out.slice(offset, offset + limit);
}

/**
 * Every group of a text key with its count, over any selection, from the per-row codes of low-cardinality columns
 * (MAX_CODES): a search's hits count their codes, a whole segment or time range counts a code range. Parts that are
 * not segments (the head) count their cells. Undefined when a segment's column has too many distinct values.
 */
export function textGroups(
  selected: readonly Selected[],
  column: (seg: SegmentReader) => string | undefined | null,
  cellsOf: (s: Selected) => Iterable<string | undefined> | undefined,
): Map<string | null, number> | undefined {
  const out = new Map<string | null, number>();
  const add = (k: string | null, c: number): void => {
    if (c > 0) out.set(k, (out.get(k) ?? 0) + c);
  };
  for (const s of selected) {
    const seg = s.part instanceof SegmentReader ? s.part : undefined;
    if (!seg) {
      const cells = cellsOf(s);
      if (!cells) return undefined;
      for (const v of cells) add(v ?? null, 1);
      continue;
    }
    const name = column(seg);
    if (name === null) return undefined;
    if (name === undefined) {
      add(null, s.count);
      continue;
    }
    const vc = cache.get(seg)?.get(name);
    if (!vc?.codes || !vc.dict) return undefined;
    const per = new Uint32Array(vc.dict.length + 1);
    const codes = vc.codes;
    if (s.ids) for (let i = 0; i < s.ids.length; i++) per[codes[s.ids[i]!]!]!++;
    else for (let i = s.lo; i < s.hi; i++) per[codes[i]!]!++;
    add(null, per[0]!);
    for (let c = 1; c < per.length; c++) add(vc.dict[c - 1]!, per[c]!);
  }
  return out;
}

/** Builds the result table of a text top-k. */
export function topKResult(
  groups: readonly { key: string | null; count: number }[],
  keyName: string,
  countName: string,
  countFirst: boolean,
): FastResult {
  const cells = groups.map((g) => [g.key === null ? 'null' : g.key, String(g.count)]);
  return {
    columns: countFirst ? [countName, keyName] : [keyName, countName],
    columnTypes: countFirst ? ['bigint', 'varchar'] : ['varchar', 'bigint'],
    rows: countFirst ? cells.map(([k, c]) => [c!, k!]) : cells,
  };
}

/** NULL sorts after every value (DuckDB's default NULLS LAST for ascending keys). */
function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return compareStrings(a, b);
}

/**
 * Code point order (= UTF-8 byte order, DuckDB's VARCHAR order). JS `<` compares UTF-16 units, which puts
 * supplementary characters (surrogates, 0xD800–0xDFFF) before 0xE000–0xFFFF; shift those ranges to agree.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** cyrb53: a 53-bit string hash (a hit is confirmed against the stored cell, so collisions only cost a read). */
export function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
