import {
  DuckDBArrayValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

/** SLS returns every cell as a string; NULL is the string "null" (Presto's rendering). */
export function cellString(v: DuckDBValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof DuckDBTimestampValue) return timestampString(v.toString());
  return JSON.stringify(jsonOf(v));
}

/** Presto prints timestamps with milliseconds: `2026-01-01 00:01:00.000`. */
function timestampString(s: string): string {
  const m = /^(\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))?$/.exec(s);
  if (!m) return s;
  return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}`;
}

function jsonOf(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(jsonOf);
  if (v instanceof DuckDBMapValue) {
    const o: Record<string, unknown> = {};
    for (const e of v.entries) o[cellString(e.key)] = jsonOf(e.value);
    return o;
  }
  if (v instanceof DuckDBStructValue) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = jsonOf(x);
    return o;
  }
  if (v instanceof DuckDBTimestampValue) return timestampString(v.toString());
  return v.toString();
}

/** A column type in Presto's words (`bigint`, `varchar`, `array(double)`, `map(bigint,bigint)`). */
export function prestoType(t: DuckDBType): string {
  const s = t.toString().toUpperCase();
  const list = /^(.*)\[\d*\]$/.exec(s);
  if (list) return `array(${prestoName(list[1]!)})`;
  const map = /^MAP\((.*), (.*)\)$/.exec(s);
  if (map) return `map(${prestoName(map[1]!)},${prestoName(map[2]!)})`;
  return prestoName(s);
}

function prestoName(s: string): string {
  if (s === 'BIGINT' || s === 'HUGEINT' || s === 'UBIGINT' || s === 'UINTEGER') return 'bigint';
  if (s === 'INTEGER' || s === 'SMALLINT' || s === 'TINYINT' || s === 'USMALLINT' || s === 'UTINYINT') return 'integer';
  if (s === 'DOUBLE' || s === 'FLOAT') return 'double';
  if (s === 'VARCHAR') return 'varchar';
  if (s.startsWith('TIMESTAMP')) return 'timestamp';
  if (s.startsWith('DECIMAL')) return s.toLowerCase();
  return s.toLowerCase();
}
