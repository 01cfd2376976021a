import type { DocSet } from './doc-set.js';

/**
 * A searchable part of a logstore: an immutable segment on disk or the in-memory head. Rows are numbered 0..n-1.
 *
 * Dictionaries are named: `''` is the full-text (line) index, `f:<field>` a text field's tokens (and the whole
 * values of `__topic__`, `__source__`, `__tag__:<k>`), `n:<field>` a long/double field's values.
 */
export interface SearchPart {
  readonly id: string;
  readonly n: number;
  readonly minTime: number;
  readonly maxTime: number;
  /** Segments hold rows in time order, so a time range is an id range; the head does not. */
  readonly timeSorted: boolean;
  /** Log time (unix seconds) of row `id`. */
  time(id: number): number;
  /** Rows whose token in `dict` equals `token`. */
  term(dict: string, token: string): DocSet;
  /** Union over the tokens of `dict` starting with `prefix` (and passing `test`, when given). */
  prefix(dict: string, prefix: string, test?: (token: string) => boolean): DocSet;
  /** Tokens of `dict` starting with `prefix`, in order, at most `limit`. */
  tokens(dict: string, prefix: string, limit: number): string[];
  /** Rows whose numeric value in `n:<field>` lies in the range. */
  numeric(field: string, lo: number, loInclusive: boolean, hi: number, hiInclusive: boolean): DocSet;
  /**
   * The rows, in the order of `ids`. With `only`, a part may leave out fields not in it (phrase checks of one field
   * read only what they test); such rows are not whole and must not be shown.
   */
  rows(ids: readonly number[], only?: ReadonlySet<string>): StoredRow[];
}

/**
 * One log as stored: its time and its fields in output order (`__topic__`, `__source__`, contents, `__tag__:<k>`).
 */
export interface StoredRow {
  readonly time: number;
  readonly fields: readonly (readonly [string, string])[];
}

/** Id range [lo, hi) of rows with time in [from, to) in a time-sorted part. */
export function timeRangeIds(part: SearchPart, from: number, to: number): [number, number] {
  let lo = 0;
  let hi = part.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (part.time(mid) < from) lo = mid + 1;
    else hi = mid;
  }
  const start = lo;
  hi = part.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (part.time(mid) < to) lo = mid + 1;
    else hi = mid;
  }
  return [start, lo];
}
