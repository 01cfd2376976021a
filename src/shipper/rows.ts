import type { PulledGroup } from '../consumer/consumer-source.js';

/** The columns every shipped row has, before tags and keys. */
export const TIME_COLUMN = '__time__';
export const TOPIC_COLUMN = '__topic__';
export const SOURCE_COLUMN = '__source__';
export const TAG_PREFIX = '__tag__:';

/** One log as a row: its time, and text values by column name (topic, source, `__tag__:<key>` tags, keys). */
export interface Row {
  readonly time: number;
  readonly values: ReadonlyMap<string, string>;
}

/** Rows of one hive partition (`dt=YYYY-MM-DD/hh=HH`, UTC, by log time). */
export interface Partition {
  /** `dt=2025-01-10/hh=08` */
  readonly path: string;
  readonly rows: readonly Row[];
  /** Text columns present in these rows, in a stable order: topic, source, tags, then keys, each sorted. */
  readonly columns: readonly string[];
}

/**
 * Flattens LogGroups into rows as SLS exports them: `__time__`, `__topic__`, `__source__`, one `__tag__:<key>`
 * column per tag, one column per key (a key repeated within a log keeps its last value).
 */
export function toRows(groups: readonly PulledGroup[]): Row[] {
  const rows: Row[] = [];
  for (const { group } of groups) {
    const shared: [string, string][] = [
      [TOPIC_COLUMN, group.topic ?? ''],
      [SOURCE_COLUMN, group.source ?? ''],
    ];
    for (const t of group.tags) shared.push([`${TAG_PREFIX}${t.key}`, t.value]);
    for (const log of group.logs) {
      const values = new Map(shared);
      for (const c of log.contents) values.set(c.key, c.value);
      rows.push({ time: log.time, values });
    }
  }
  return rows;
}

export function columnsOf(rows: readonly Row[]): string[] {
  const tags = new Set<string>();
  const keys = new Set<string>();
  for (const r of rows) {
    for (const k of r.values.keys()) {
      // A key named __time__ cannot shadow the log time column: it is not shipped as a column of its own.
      if (k === TOPIC_COLUMN || k === SOURCE_COLUMN || k === TIME_COLUMN) continue;
      (k.startsWith(TAG_PREFIX) ? tags : keys).add(k);
    }
  }
  return [TOPIC_COLUMN, SOURCE_COLUMN, ...[...tags].sort(), ...[...keys].sort()];
}

/** Splits rows by the UTC hour of their log time, partitions in time order. */
export function partitionByHour(rows: readonly Row[]): Partition[] {
  const byHour = new Map<number, Row[]>();
  for (const r of rows) {
    const hour = Math.floor(r.time / 3600);
    let list = byHour.get(hour);
    if (!list) {
      list = [];
      byHour.set(hour, list);
    }
    list.push(r);
  }
  return [...byHour.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([hour, list]) => ({ path: hourPath(hour), rows: list, columns: columnsOf(list) }));
}

function hourPath(hour: number): string {
  const iso = new Date(hour * 3600 * 1000).toISOString();
  return `dt=${iso.slice(0, 10)}/hh=${iso.slice(11, 13)}`;
}
