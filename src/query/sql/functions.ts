/**
 * SLS (Presto-derived) function names mapped onto DuckDB. Two mechanisms, chosen per function:
 *
 * - Renames: the rewriter replaces the name of a call (`approx_distinct(` → `approx_count_distinct(`) — free at run
 *   time and no shadowing of DuckDB built-ins (a macro named like a built-in is not reliably preferred).
 * - Macros (`sls_*`), created once per DuckDB instance before its configuration is locked: for functions whose
 *   semantics differ (Presto's `regexp_extract` is NULL on no match, `regexp_replace` replaces every match, `url_*`
 *   parsing). A macro is expanded at bind time, so it costs the same as writing the expression by hand.
 *
 * Functions whose DuckDB form takes a pattern in another syntax (`date_format`/`date_parse` MySQL patterns,
 * `time_series` steps, `$1` back-references) are rewritten at the call site from their literal argument
 * (sql-rewrite.ts), because a macro cannot translate a pattern at bind time.
 */
export const RENAMES: ReadonlyMap<string, string> = new Map([
  ['approx_distinct', 'approx_count_distinct'],
  // Exact quantile_disc, not DuckDB's t-digest approx_quantile: on 5M rows by method it took 390 ms against 778 ms
  // (reservoir_quantile: 100–140 ms but p99 off by up to 20%). Memory is 8 bytes per value of a group.
  ['approx_percentile', 'quantile_disc'],
  ['arbitrary', 'any_value'],
  ['regexp_like', 'regexp_matches'],
  ['split', 'string_split'],
  ['json_extract_scalar', 'json_extract_string'],
  ['from_unixtime', 'sls_from_unixtime'],
  ['to_unixtime', 'epoch'],
  ['regexp_extract', 'sls_regexp_extract'],
  ['regexp_replace', 'sls_regexp_replace'],
  ['url_extract_host', 'sls_url_extract_host'],
  ['url_extract_path', 'sls_url_extract_path'],
  ['url_extract_parameter', 'sls_url_extract_parameter'],
  ['map_agg', 'sls_map_agg'],
  ['date_format', 'strftime'],
  ['date_parse', 'strptime'],
]);

// Same name and meaning in DuckDB, so no mapping: count, count_if, sum, avg, min, max, histogram, split_part, strpos,
// json_extract, try_cast, if, coalesce, round, length, lower, upper, now, current_date (docs/query.md lists them all).

const SCHEME = "'^[A-Za-z][A-Za-z0-9+.-]*://'";

/** Macro definitions, run once per instance. Names start with `sls_` so they never collide with DuckDB's. */
export const MACROS: readonly string[] = [
  // Unix seconds (BIGINT or DOUBLE) → TIMESTAMP (UTC). make_timestamp on microseconds is plain integer work;
  // to_timestamp returns TIMESTAMPTZ and goes through ICU time zones (measured ~10x slower on 1M rows).
  'CREATE MACRO sls_from_unixtime(t) AS make_timestamp(CAST(round(CAST(t AS DOUBLE) * 1000000) AS BIGINT))',
  // In a time zone: a fixed offset in seconds, a named zone (ICU rules, daylight saving included), or Presto's
  // (hours, minutes) form. The result is the zone's wall-clock time as a TIMESTAMP.
  'CREATE MACRO sls_from_unixtime_off(t, secs) AS make_timestamp(CAST(round((CAST(t AS DOUBLE) + secs) * 1000000) AS BIGINT))',
  'CREATE MACRO sls_from_unixtime_zone(t, z) AS timezone(z, to_timestamp(CAST(t AS DOUBLE)))',
  'CREATE MACRO sls_from_unixtime_hm(t, h, m) AS sls_from_unixtime_off(t, h * 3600 + m * 60)',
  // date_trunc on unix seconds returns unix seconds (SLS: the result has the type of x). Fixed-width units are
  // integer arithmetic; calendar units go through a TIMESTAMP.
  `CREATE MACRO sls_date_trunc_n(u, t) AS CASE lower(u)
     WHEN 'second' THEN CAST(floor(t) AS BIGINT)
     WHEN 'minute' THEN CAST(floor(t) AS BIGINT) // 60 * 60
     WHEN 'hour' THEN CAST(floor(t) AS BIGINT) // 3600 * 3600
     WHEN 'day' THEN CAST(floor(t) AS BIGINT) // 86400 * 86400
     ELSE CAST(epoch(date_trunc(u, make_timestamp(CAST(floor(t) AS BIGINT) * 1000000))) AS BIGINT) END`,
  // time_series(t, step, format, pad): the bucket of t formatted (`step` seconds, `fmt` a strftime pattern; both
  // translated by the rewriter). Filling empty buckets with `pad` is not done.
  'CREATE MACRO sls_time_series(t, step, fmt) AS strftime(make_timestamp(CAST(floor(t) AS BIGINT) // step * step * 1000000), fmt)',
  `CREATE MACRO sls_regexp_extract(s, p) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, 0) END,
     (s, p, g) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END`,
  `CREATE MACRO sls_regexp_replace(s, p) AS regexp_replace(s, p, '', 'g'),
     (s, p, r) AS regexp_replace(s, p, r, 'g')`,
  `CREATE MACRO sls_url_extract_host(u) AS nullif(regexp_extract(u, ${SCHEME.slice(0, -1)}(?:[^@/?#]*@)?(\\[[^\\]]*\\]|[^:/?#]*)', 1), '')`,
  `CREATE MACRO sls_url_extract_path(u) AS regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)`,
  `CREATE MACRO sls_url_extract_parameter(u, name) AS CASE WHEN regexp_matches(u, '[?&]' || regexp_escape(name) || '=')
     THEN url_decode(regexp_extract(u, '[?&]' || regexp_escape(name) || '=([^&#]*)', 1)) END`,
  // Presto keeps one value per key; DuckDB's map() refuses duplicate keys, so keep the first value of each key.
  'CREATE MACRO sls_map_agg(k, v) AS map_from_entries(list_distinct(list(struct_pack(key := k, value := v))))',
];

/** strftime/strptime pattern for a MySQL-style one (`%i` minutes, `%s` seconds, `%M` month name, …). */
export function mysqlToStrftime(pattern: string): string {
  const map: Record<string, string> = {
    a: '%a',
    b: '%b',
    c: '%-m',
    d: '%d',
    e: '%-d',
    f: '%f',
    H: '%H',
    h: '%I',
    I: '%I',
    i: '%M',
    j: '%j',
    k: '%-H',
    l: '%-I',
    M: '%B',
    m: '%m',
    p: '%p',
    r: '%I:%M:%S %p',
    S: '%S',
    s: '%S',
    T: '%H:%M:%S',
    u: '%V',
    v: '%V',
    W: '%A',
    w: '%w',
    Y: '%Y',
    y: '%y',
    '%': '%%',
  };
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '%' || i + 1 >= pattern.length) {
      out += c;
      continue;
    }
    const n = pattern[++i]!;
    out += map[n] ?? n;
  }
  return out;
}

/** Seconds in a time_series step such as `1m`, `30s`, `2h`, `1d`. */
export function stepSeconds(step: string): number | undefined {
  const m = /^\s*(\d+)\s*(s|m|h|d)\s*$/i.exec(step);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : undefined;
}
