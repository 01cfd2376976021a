import { type DocSet, windowOf } from '../storage/segment/doc-set.js';
import type { SearchPart, StoredRow } from '../storage/segment/part.js';
import type { SegmentReader } from '../storage/segment/segment-reader.js';

/**
 * Rows [base, end) of a segment as a part of their own, ids renumbered from 0 (`base` a multiple of 32, so a dense
 * posting's window is whole words). A page wants only the newest (or oldest) `offset + line` matches: evaluating its
 * query over windows at that end of each segment (executor.ts: `pageOf`, and `windowStream` for phrases verified
 * lazily) reads and combines a few KB of each posting instead of whole bitsets of every segment (`status >= 500 and
 * method:POST` over a 5M-row day combined ~15 bitsets of 40 KB per segment for a page of 100 rows).
 */
export class PartWindow implements SearchPart {
  readonly id: string;
  readonly n: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly timeSorted = true;

  constructor(
    private readonly seg: SegmentReader,
    readonly base: number,
    readonly end: number,
  ) {
    if (base % 32 !== 0 || end <= base || end > seg.n) throw new Error(`bad window [${base}, ${end}) of ${seg.n} rows`);
    this.id = seg.id;
    this.n = end - base;
    this.minTime = seg.time(base);
    this.maxTime = seg.time(end - 1);
  }

  time(id: number): number {
    return this.seg.time(id + this.base);
  }

  term(dict: string, token: string): DocSet {
    return this.seg.termWindow(dict, token, this.base, this.end);
  }

  /** Rows holding every one of `tokens` (a phrase's candidates), through the segment's cache of windows. */
  allTerms(dict: string, tokens: readonly string[]): DocSet {
    return this.seg.allTermsWindow(dict, tokens, this.base, this.end);
  }

  prefix(dict: string, prefix: string, test?: (token: string) => boolean): DocSet {
    // A prefix expands to many tokens: its union over the segment (cached for plain prefixes), then the window.
    return windowOf(this.seg.prefix(dict, prefix, test), this.base, this.end);
  }

  tokens(dict: string, prefix: string, limit: number): string[] {
    return this.seg.tokens(dict, prefix, limit);
  }

  numeric(field: string, lo: number, loInclusive: boolean, hi: number, hiInclusive: boolean): DocSet {
    return this.seg.numericWindow(field, lo, loInclusive, hi, hiInclusive, this.base, this.end);
  }

  rows(ids: readonly number[], only?: ReadonlySet<string>): StoredRow[] {
    return this.seg.rows(
      ids.map((id) => id + this.base),
      only,
    );
  }
}
