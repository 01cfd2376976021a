import { type DocSet, EMPTY, fromIds, orMany } from '../storage/segment/doc-set.js';
import type { SearchPart, StoredRow } from '../storage/segment/part.js';
import { type SegmentSource, timeOrder } from '../storage/segment/segment-writer.js';
import type { CompiledIndex } from './index-config.js';
import { type IndexSink, indexLog } from './row-indexer.js';
import { TokenTable } from './token-table.js';
import { Tokenizer } from './tokenizer.js';

export interface HeadLog {
  readonly time: number;
  readonly contents: readonly { readonly key: string; readonly value: string }[];
}

/**
 * The in-memory head: the newest logs, searchable as soon as they are indexed, until they are sealed into a
 * segment. Rows keep arrival order; columns are arrays indexed by row id; postings are arrays of ids in ascending
 * order (a row's duplicate tokens are skipped by comparing with the last id pushed).
 */
export class HeadPart implements SearchPart, IndexSink {
  readonly timeSorted = false;
  n = 0;
  minTime = Number.POSITIVE_INFINITY;
  maxTime = 0;
  readonly createdMs = Date.now();
  /** Per shard log, records [from, to) held here. */
  readonly shards = new Map<string, [number, number]>();
  private times = new Uint32Array(1024);
  private readonly columns = new Map<string, (string | undefined)[]>();
  private readonly dicts = new Map<string, TokenTable>();
  private readonly nums = new Map<string, Map<number, number[]>>();
  private cur = 0;

  constructor(
    readonly id: string,
    private readonly index: CompiledIndex,
  ) {}

  /** Adds the logs of one LogGroup read from `shardKey` at record `seq`. */
  addGroup(
    shardKey: string,
    seq: number,
    logs: readonly HeadLog[],
    topic: string,
    source: string,
    tags: readonly { readonly key: string; readonly value: string }[],
  ): void {
    for (const log of logs) {
      const id = this.n;
      this.cur = id;
      if (id >= this.times.length) {
        const next = new Uint32Array(this.times.length * 2);
        next.set(this.times);
        this.times = next;
      }
      this.times[id] = log.time;
      if (log.time < this.minTime) this.minTime = log.time;
      if (log.time > this.maxTime) this.maxTime = log.time;
      if (topic !== '') this.set('__topic__', id, topic);
      if (source !== '') this.set('__source__', id, source);
      for (const c of log.contents) this.set(c.key, id, c.value);
      for (const t of tags) this.set(`__tag__:${t.key}`, id, t.value);
      indexLog(this.index, log.contents, topic, source, tags, this);
      this.n = id + 1;
    }
    const range = this.shards.get(shardKey);
    if (range) range[1] = seq + 1;
    else this.shards.set(shardKey, [seq, seq + 1]);
  }

  text(dict: string, text: string, tokenizer: Tokenizer): void {
    const table = this.table(dict);
    // Chinese segmentation (Han characters as tokens) is the Tokenizer's; the table's fast scan knows delimiters only.
    if (tokenizer.chn) tokenizer.each(text, (t) => table.addString(t, this.cur));
    else table.addText(text, tokenizer.delim, !tokenizer.caseSensitive, Tokenizer.MAX_TOKEN, this.cur);
  }

  raw(dict: string, token: string): void {
    this.table(dict).addString(token, this.cur);
  }

  private table(dict: string): TokenTable {
    let d = this.dicts.get(dict);
    if (!d) {
      d = new TokenTable();
      this.dicts.set(dict, d);
    }
    return d;
  }

  number(field: string, value: number): void {
    let d = this.nums.get(field);
    if (!d) {
      d = new Map();
      this.nums.set(field, d);
    }
    const ids = d.get(value);
    if (!ids) d.set(value, [this.cur]);
    else if (ids[ids.length - 1] !== this.cur) ids.push(this.cur);
  }

  private set(key: string, id: number, value: string): void {
    let col = this.columns.get(key);
    if (!col) {
      col = [];
      this.columns.set(key, col);
    }
    // The first value of a duplicated key wins, as in the columns of a segment.
    if (col.length <= id) {
      while (col.length < id) col.push(undefined);
      col.push(value);
    }
  }

  time(id: number): number {
    return this.times[id]!;
  }

  term(dict: string, token: string): DocSet {
    const d = this.dicts.get(dict);
    const idx = d ? d.find(token) : -1;
    return idx >= 0 ? this.set_(d!.postings(idx)) : EMPTY;
  }

  prefix(dict: string, prefix: string, test?: (token: string) => boolean): DocSet {
    const d = this.dicts.get(dict);
    if (!d) return EMPTY;
    const sets: DocSet[] = [];
    d.tokens.forEach((t, i) => {
      if (t.startsWith(prefix) && (!test || test(t))) sets.push(this.set_(d.postings(i)));
    });
    return orMany(sets, this.n);
  }

  tokens(dict: string, prefix: string, limit: number): string[] {
    const d = this.dicts.get(dict);
    if (!d) return [];
    return d.tokens
      .filter((t) => t.startsWith(prefix))
      .sort()
      .slice(0, limit);
  }

  numeric(field: string, lo: number, loInclusive: boolean, hi: number, hiInclusive: boolean): DocSet {
    const d = this.nums.get(field);
    if (!d) return EMPTY;
    const sets: DocSet[] = [];
    for (const [v, ids] of d) {
      if ((v > lo || (loInclusive && v === lo)) && (v < hi || (hiInclusive && v === hi))) sets.push(this.set_(ids));
    }
    return orMany(sets, this.n);
  }

  rows(ids: readonly number[]): StoredRow[] {
    const cols = [...this.columns];
    return ids.map((id) => {
      const fields: [string, string][] = [];
      for (const [name, values] of cols) {
        const v = values[id];
        if (v !== undefined) fields.push([name, v]);
      }
      return { time: this.times[id]!, fields };
    });
  }

  /**
   * The head as a segment source: rows stably sorted by time, ids remapped, so the segment is time-ordered.
   */
  toSource(segmentId: string, configVersion: number): SegmentSource {
    const n = this.n;
    const sortedOrder = timeOrder(this.times, n);
    const newId = new Uint32Array(n);
    const sortedTimes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      newId[sortedOrder[i]!] = i;
      sortedTimes[i] = this.times[sortedOrder[i]!]!;
    }
    const remap = (ids: ArrayLike<number>): Uint32Array => {
      const out = new Uint32Array(ids.length);
      for (let i = 0; i < ids.length; i++) out[i] = newId[ids[i]!]!;
      return out.sort();
    };
    const dicts = new Map<string, () => Iterable<readonly [string, Uint32Array]>>();
    // Dictionaries in name order (SegmentBuild writes them so too; readers find them by name).
    for (const [name, d] of [...this.dicts].sort(byName)) {
      dicts.set(name, function* () {
        // A native sort of the strings (UTF-16 order, as compareTokens) beats an index sort with a JS comparator.
        const sorted = d.tokens.slice().sort();
        for (const t of sorted) yield [t, remap(d.postings(d.find(t)))] as const;
      });
    }
    const numbers = new Map<string, () => Iterable<readonly [number, Uint32Array]>>();
    for (const [name, d] of [...this.nums].sort(byName)) {
      numbers.set(name, function* () {
        for (const v of Float64Array.from(d.keys()).sort()) yield [v, remap(d.get(v)!)] as const;
      });
    }
    const columns = [...this.columns].map(([name, values]) => ({
      name,
      values: () => {
        const out: (string | undefined)[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = values[sortedOrder[i]!];
        return out;
      },
    }));
    const shards: Record<string, [number, number][]> = {};
    for (const [k, r] of this.shards) shards[k] = [[r[0], r[1]]];
    return { id: segmentId, n, times: sortedTimes, columns, dicts, numbers, shards, replaces: [], configVersion };
  }

  private set_(ids: ArrayLike<number>): DocSet {
    // Ids beyond n belong to a row being added right now (a query never runs mid-row, but stay exact anyway).
    let end = ids.length;
    while (end > 0 && ids[end - 1]! >= this.n) end--;
    const arr = ids instanceof Uint32Array ? ids : Uint32Array.from(ids as number[]);
    return fromIds(end === arr.length ? arr : arr.subarray(0, end), this.n);
  }
}

function byName(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
