import type { LogGroup } from '../protocol/log-group.js';

/** The columns every shipped row has, before tags and keys. */
export const TIME_COLUMN = '__time__';
export const TOPIC_COLUMN = '__topic__';
export const SOURCE_COLUMN = '__source__';
export const TAG_PREFIX = '__tag__:';

/**
 * A batch of logs as columns, the shape both targets load fastest (DuckDB data chunks, COPY lines): one entry per
 * log in `times`, and per text column one value per log (`null` where a log lacks the key).
 */
export interface ColumnBatch {
  readonly count: number;
  /** Columns typed by the logstore's index config (`long`, `double`); the others are text. */
  readonly types: ReadonlyMap<string, NumericType>;
  /** `__time__`, unix seconds. */
  readonly times: readonly number[];
  /** `__topic__`, `__source__`, `__tag__:<key>` (sorted), then keys (sorted). */
  readonly columns: ReadonlyMap<string, readonly (string | null)[]>;
}

export type NumericType = 'long' | 'double';

/** What the index config says of the keys (json and text keys are shipped as text). */
export type DeclaredColumns = ReadonlyMap<string, NumericType | 'text'>;

/**
 * Flattens LogGroups into columns as SLS exports them: `__time__`, `__topic__`, `__source__`, one `__tag__:<key>`
 * column per tag, one column per key (a key repeated within a log keeps its last value; a key named `__time__`
 * cannot shadow the log time and is dropped).
 *
 * Built column by column rather than as row objects: a Map per log cost more than the rest of the pipeline.
 */
export function toColumns(
  groups: readonly { readonly group: LogGroup }[],
  declared: DeclaredColumns = new Map(),
): ColumnBatch {
  const times: number[] = [];
  const cols = new Map<string, (string | null)[]>();
  // Keys of the index config are columns of every batch, so the schema does not depend on which keys a batch has.
  for (const k of declared.keys()) if (k !== TIME_COLUMN) cols.set(k, []);
  const column = (key: string): (string | null)[] => {
    let c = cols.get(key);
    if (!c) {
      // A column first seen at row n is null for the n rows before it.
      c = new Array<string | null>(times.length - 1).fill(null);
      cols.set(key, c);
    }
    return c;
  };
  const set = (key: string, value: string) => {
    const c = column(key);
    if (c.length === times.length) c[c.length - 1] = value;
    else c.push(value);
  };
  for (const { group } of groups) {
    for (const log of group.logs) {
      times.push(log.time);
      set(TOPIC_COLUMN, group.topic ?? '');
      set(SOURCE_COLUMN, group.source ?? '');
      for (const t of group.tags) set(`${TAG_PREFIX}${t.key}`, t.value);
      for (const c of log.contents) if (c.key !== TIME_COLUMN) set(c.key, c.value);
      // Columns this log did not have.
      for (const c of cols.values()) if (c.length < times.length) c.push(null);
    }
  }
  const ordered = new Map<string, (string | null)[]>();
  for (const k of [TOPIC_COLUMN, SOURCE_COLUMN]) {
    const c = cols.get(k);
    if (c) ordered.set(k, c);
  }
  const rest = [...cols.keys()].filter((k) => k !== TOPIC_COLUMN && k !== SOURCE_COLUMN);
  const tags = rest.filter((k) => k.startsWith(TAG_PREFIX)).sort();
  const keys = rest.filter((k) => !k.startsWith(TAG_PREFIX)).sort();
  for (const k of [...tags, ...keys]) ordered.set(k, cols.get(k)!);
  const types = new Map<string, NumericType>();
  for (const [k, t] of declared) if (t !== 'text' && ordered.has(k)) types.set(k, t);
  return { count: times.length, times, columns: ordered, types };
}

const LONG = /^[+-]?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A `long` value as a 64-bit integer, or null when the text is not one (it is shipped as NULL, not as an error). */
export function parseLong(v: string | null): bigint | null {
  if (v === null || !LONG.test(v.trim())) return null;
  const n = BigInt(v.trim());
  return n >= INT64_MIN && n <= INT64_MAX ? n : null;
}

/** A `double` value, or null when the text is not a finite number. */
export function parseDouble(v: string | null): number | null {
  if (v === null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Hive partition of a log time: `dt=YYYY-MM-DD` and `hh=HH`, UTC. */
export function hourPartition(time: number): { dt: string; hh: string } {
  const iso = new Date(Math.floor(time / 3600) * 3600 * 1000).toISOString();
  return { dt: iso.slice(0, 10), hh: iso.slice(11, 13) };
}
