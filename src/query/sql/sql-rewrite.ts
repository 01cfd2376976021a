import { SlsError } from '../../protocol/errors.js';
import { mysqlToStrftime, RENAMES, stepSeconds } from './functions.js';
import { identName, lexSql, quoteString, SqlSyntaxError, type SqlToken, stringValue } from './sql-lexer.js';

/** SLS bounds on LIMIT (sls-api.md §7.3). */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000_000;
export const MAX_PAGE_LIMIT = 10_000;

/** The relation every rewritten statement reads (a view over the selected rows, created by the runner). */
export const LOG_RELATION = 'log';

export interface RewriteOptions {
  /** Column name (lower case) → SQL type, of the columns the statement may reference. */
  readonly columns: ReadonlyMap<string, string>;
  /** Table names that denote the log table besides `log` (the logstore name in project-level SQL). */
  readonly tableNames?: readonly string[];
}

export interface RewrittenSql {
  /** The DuckDB statement; reads `log`. */
  readonly sql: string;
  /** Columns (lower case names) the statement references: only these are materialized. */
  readonly columns: readonly string[];
  /** `select count(*) [as x]` and nothing else: answerable from the search's hit count. */
  readonly countOnly?: { readonly name: string };
  /** A top-level `time_series(…, padding)` item: the runner fills the buckets the result lacks. */
  readonly timeSeries?: TimeSeriesFill;
}

export interface TimeSeriesFill {
  /** Bucket width in seconds. */
  readonly step: number;
  /** strftime pattern of the bucket label. */
  readonly format: string;
  /** `0`, `null`, `last`, `next`, `avg` or a literal value. */
  readonly padding: string;
  /** Position of the item in the outer select list. */
  readonly column: number;
  /** The outer LIMIT's count (the implicit 100 when none). */
  readonly limit: number;
  /** Whether the outer LIMIT has an offset (then nothing is filled). */
  readonly paged: boolean;
}

/** Statements and clauses that never run: SQL may only read the log table. */
const FORBIDDEN_WORDS = new Set([
  'copy',
  'attach',
  'detach',
  'install',
  'load',
  'pragma',
  'set',
  'reset',
  'create',
  'drop',
  'alter',
  'insert',
  'update',
  'delete',
  'merge',
  'upsert',
  'export',
  'import',
  'call',
  'checkpoint',
  'vacuum',
  'use',
  'truncate',
  'grant',
  'revoke',
  'begin',
  'commit',
  'rollback',
  'prepare',
  'execute',
  'deallocate',
  'summarize',
  'describe',
  'show',
]);

/** Functions that reach files, the network, the catalog or the configuration. */
const FORBIDDEN_FUNCTION =
  /^(read_|glob$|query$|query_table$|sniff_csv$|.*_scan$|parquet_|iceberg_|delta_|duckdb_|pragma_|sqlite_|postgres_|mysql_|json_execute|getenv$|current_setting$|which_secret$|load_|install_|enable_|disable_|checkpoint$|force_checkpoint$|icu_|test_)/;

/** Table functions that generate rows from their arguments only. */
const ALLOWED_TABLE_FUNCTIONS = new Set(['unnest', 'range', 'generate_series']);

/** Keywords that end a SELECT's select list (where a missing FROM is inserted). */
const CLAUSE_END = new Set([
  'from',
  'where',
  'group',
  'having',
  'order',
  'limit',
  'offset',
  'window',
  'qualify',
  'union',
  'intersect',
  'except',
]);

/** Words that end an expression rather than name it (`case … end`, `x is null`, `interval '1' day`). */
const NOT_ALIAS = new Set([
  'end',
  'null',
  'true',
  'false',
  'second',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'quarter',
  'year',
  'and',
  'or',
  'not',
  'is',
  'in',
  'like',
  'then',
  'else',
  'when',
  'case',
  'distinct',
]);

/** Keywords that end a FROM list. */
const FROM_END = new Set([
  'where',
  'group',
  'having',
  'order',
  'limit',
  'offset',
  'window',
  'qualify',
  'union',
  'intersect',
  'except',
  'on',
  'using',
]);

/** Words after which `(` is not a function call. */
const NOT_CALL = new Set([
  'in',
  'as',
  'over',
  'filter',
  'exists',
  'values',
  'and',
  'or',
  'not',
  'from',
  'join',
  'select',
  'where',
  'on',
  'using',
  'within',
  'by',
  'then',
  'else',
  'when',
  'case',
  'array',
  'lateral',
  'any',
  'all',
  'some',
  'is',
  'like',
  'between',
  'with',
]);

function invalid(message: string, pos?: number, cause?: unknown): SlsError {
  const where = pos === undefined ? '' : ` (at position ${pos} of the analytic statement)`;
  return new SlsError('InvalidQueryString', `${message}${where}`, cause === undefined ? undefined : { cause });
}

/**
 * Validates an analytic statement and rewrites it for DuckDB: SLS function names to DuckDB's, `LIMIT y, x` to
 * `LIMIT x OFFSET y`, the implicit `LIMIT 100`, an implicit `FROM log`, and the logstore name (project-level SQL) to
 * `log`. Refuses anything that is not a read of the log table with `InvalidQueryString`.
 */
export function rewriteSql(statement: string, o: RewriteOptions): RewrittenSql {
  let tokens: SqlToken[];
  try {
    tokens = lexSql(statement);
  } catch (err) {
    if (err instanceof SqlSyntaxError) throw invalid(err.message, err.pos, err);
    throw err;
  }
  const sig: number[] = [];
  for (let i = 0; i < tokens.length; i++) if (tokens[i]!.kind !== 'space') sig.push(i);
  if (sig.length === 0) throw invalid('the analytic statement after "|" is empty');
  const tok = (k: number): SqlToken | undefined => (k < sig.length ? tokens[sig[k]!] : undefined);
  const word = (k: number): string | undefined => {
    const t = tok(k);
    return t?.kind === 'word' ? t.text.toLowerCase() : undefined;
  };
  const isOp = (k: number, op: string): boolean => tok(k)?.kind === 'op' && tok(k)?.text === op;

  const first = word(0);
  if (first !== 'select' && first !== 'with' && !isOp(0, '(')) {
    throw invalid(
      `only SELECT statements over the log table are allowed, not ${JSON.stringify(tok(0)!.text)}`,
      tok(0)!.pos,
    );
  }

  // Depth of each significant token, and the matching parenthesis of each "(".
  const depth: number[] = new Array(sig.length);
  const match: number[] = new Array(sig.length).fill(-1);
  const open: number[] = [];
  for (let k = 0; k < sig.length; k++) {
    const t = tok(k)!;
    if (t.kind === 'op' && t.text === ';') {
      throw invalid('";" is not allowed: send one statement, without a trailing semicolon', t.pos);
    }
    if (t.kind === 'op' && t.text === ')') {
      const o2 = open.pop();
      if (o2 === undefined) throw invalid('unbalanced ")"', t.pos);
      match[o2] = k;
      match[k] = o2;
    }
    depth[k] = open.length;
    if (t.kind === 'op' && t.text === '(') open.push(k);
    if (t.kind === 'word' && FORBIDDEN_WORDS.has(t.text.toLowerCase())) {
      throw invalid(`${t.text.toUpperCase()} is not allowed: analytic statements may only read the log table`, t.pos);
    }
  }
  if (open.length > 0) throw invalid('unbalanced "("', tok(open[0]!)!.pos);

  // Names of common table expressions: `name AS (` or `name (cols) AS (`.
  const ctes = new Set<string>();
  for (let k = 0; k + 2 < sig.length; k++) {
    const name = identName(tok(k)!);
    if (name === undefined) continue;
    const prev = word(k - 1);
    const prevComma = isOp(k - 1, ',');
    if (prev !== 'with' && prev !== 'recursive' && !prevComma) continue;
    let j = k + 1;
    if (isOp(j, '(')) j = match[j]! + 1;
    if (word(j) === 'as' && (isOp(j + 1, '(') || word(j + 1) === 'materialized' || word(j + 1) === 'not'))
      ctes.add(name);
  }
  const logNames = new Set([LOG_RELATION, ...(o.tableNames ?? []).map((n) => n.toLowerCase())]);

  let timeSeriesAt: { k: number; step: number; format: string; padding: string } | undefined;
  let topLimitCount = DEFAULT_LIMIT;
  let topPaged = false;
  const insertBefore = new Map<number, string>();
  const append: string[] = [];
  const referenced = new Set<string>();
  let star = false;

  const checkTableRef = (k: number): void => {
    let j = k;
    if (word(j) === 'lateral') j++;
    const t = tok(j);
    if (!t) throw invalid('a table name is missing after FROM/JOIN');
    if (t.kind === 'op' && t.text === '(') return;
    if (t.kind === 'string') {
      throw invalid('reading files is not allowed: analytic statements may only read the log table', t.pos);
    }
    const name = identName(t);
    if (name === undefined) throw invalid(`unexpected ${JSON.stringify(t.text)} after FROM/JOIN`, t.pos);
    if (isOp(j + 1, '(')) {
      if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
        throw invalid(
          `the table function ${t.text} is not allowed: analytic statements may only read the log table`,
          t.pos,
        );
      }
      return;
    }
    if (isOp(j + 1, '.')) throw invalid(`${t.text}.… is not a table here: the only table is log`, t.pos);
    if (logNames.has(name)) {
      t.text = LOG_RELATION;
      return;
    }
    if (ctes.has(name)) return;
    throw invalid(`unknown table ${t.text}: the only table is log (or the logstore named in project-level SQL)`, t.pos);
  };

  for (let k = 0; k < sig.length; k++) {
    const t = tok(k)!;
    const w = word(k);
    if (w === 'from' || w === 'join') {
      // `extract(x FROM y)`, `substring(s FROM 2)`, `trim(BOTH FROM s)`: a FROM inside a call's parentheses.
      if (w === 'from' && insideCall(k)) continue;
      checkTableRef(k + 1);
      if (w === 'from') {
        // Further tables of a comma list, at this depth, until the FROM list ends.
        for (let j = k + 1; j < sig.length && depth[j]! >= depth[k]!; j++) {
          if (depth[j] !== depth[k]) continue;
          const wj = word(j);
          if (wj !== undefined && FROM_END.has(wj)) break;
          if (isOp(j, ',')) checkTableRef(j + 1);
        }
      }
      continue;
    }
    if (w === 'select') {
      // Find the end of the select list at this depth; insert FROM log there when the SELECT has none.
      let j = k + 1;
      let hasFrom = false;
      for (; j < sig.length; j++) {
        if (depth[j]! < depth[k]!) break;
        if (depth[j] !== depth[k]) continue;
        const wj = word(j);
        if (wj === 'select') break;
        if (wj !== undefined && CLAUSE_END.has(wj)) {
          hasFrom = wj === 'from';
          break;
        }
      }
      if (!hasFrom) {
        if (j < sig.length) insertBefore.set(sig[j]!, ` FROM ${LOG_RELATION} `);
        else append.push(` FROM ${LOG_RELATION}`);
      }
      if (isOp(k + 1, '*') || (word(k + 1) === 'distinct' && isOp(k + 2, '*'))) star = true;
      continue;
    }
    if (t.kind === 'op' && t.text === '*' && (isOp(k - 1, ',') || isOp(k - 1, '.'))) star = true;
    const name = identName(t);
    if (name === undefined) continue;
    const call = t.kind === 'word' && isOp(k + 1, '(') && !NOT_CALL.has(name) && !isOp(k - 1, '.');
    if (call) {
      rewriteCall(k, name);
      continue;
    }
    if (o.columns.has(name)) referenced.add(name);
  }

  function insideCall(k: number): boolean {
    for (let j = k - 1; j >= 0; j--) {
      if (isOp(j, '(') && match[j]! > k) {
        const n = tok(j - 1);
        return n?.kind === 'word' && !NOT_CALL.has(n.text.toLowerCase());
      }
    }
    return false;
  }

  /** Argument ranges [start, end) (significant-token indexes) of the call whose name is at k. */
  function args(k: number): [number, number][] {
    const openAt = k + 1;
    const close = match[openAt]!;
    const out: [number, number][] = [];
    let start = openAt + 1;
    for (let j = openAt + 1; j < close; j++) {
      if (depth[j] === depth[openAt]! + 1 && isOp(j, ',')) {
        out.push([start, j]);
        start = j + 1;
      }
    }
    if (start < close) out.push([start, close]);
    return out;
  }

  /** Whether an argument is unix seconds: a number, or a long/double column, alone. */
  function numericArg(a: [number, number] | undefined): boolean {
    if (!a) return false;
    if (a[1] - a[0] !== 1) {
      // `__time__ - __time__ % 60` and other arithmetic on __time__.
      return identName(tok(a[0])!) === '__time__' && tok(a[0] + 1)?.kind === 'op' && tok(a[0] + 1)?.text !== '::';
    }
    const t = tok(a[0])!;
    if (t.kind === 'number') return true;
    const n = identName(t);
    const type = n === undefined ? undefined : o.columns.get(n);
    return type === 'BIGINT' || type === 'DOUBLE';
  }

  function literalArg(fn: string, a: [number, number] | undefined, what: string): SqlToken {
    const t = a && a[1] - a[0] === 1 ? tok(a[0]) : undefined;
    if (t?.kind !== 'string') {
      throw invalid(`${fn}: the ${what} must be a string literal`, tok(a?.[0] ?? 0)?.pos);
    }
    return t;
  }

  function rewriteCall(k: number, name: string): void {
    const t = tok(k)!;
    if (FORBIDDEN_FUNCTION.test(name)) {
      throw invalid(`the function ${t.text} is not allowed: analytic statements may only read the log table`, t.pos);
    }
    const a = args(k);
    switch (name) {
      case 'date_trunc':
        if (numericArg(a[1])) t.text = 'sls_date_trunc_n';
        return;
      case 'date_format':
      case 'date_parse': {
        const p = literalArg(name, a[1], 'format');
        p.text = quoteString(mysqlToStrftime(stringValue(p)));
        if (name === 'date_format' && numericArg(a[0])) wrap(a[0]!, 'sls_from_unixtime');
        break;
      }
      case 'from_unixtime': {
        // Time zones (SLS/Presto): from_unixtime(t, 'Asia/Shanghai' | '+08:00') and from_unixtime(t, hours, minutes)
        // give the local wall-clock time in that zone (a TIMESTAMP without zone; see docs/query.md).
        if (a.length === 3) {
          t.text = 'sls_from_unixtime_hm';
          return;
        }
        if (a.length !== 2) break;
        const z = a[1]![1] - a[1]![0] === 1 ? tok(a[1]![0]) : undefined;
        const off =
          z?.kind === 'string' ? /^\s*(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$/i.exec(stringValue(z)) : null;
        if (z && off) {
          const secs = (Number(off[2]) * 3600 + Number(off[3] ?? 0) * 60) * (off[1] === '-' ? -1 : 1);
          if (Math.abs(secs) > 18 * 3600)
            throw invalid(`from_unixtime: time zone offset ${z.text} is out of range`, z.pos);
          z.text = String(secs);
          t.text = 'sls_from_unixtime_off';
        } else t.text = 'sls_from_unixtime_zone';
        return;
      }
      case 'time_series': {
        if (a.length < 3) throw invalid('time_series needs (time, step, format[, padding])', t.pos);
        const stepTok = literalArg(name, a[1], 'step');
        const secs = stepSeconds(stringValue(stepTok));
        if (secs === undefined)
          throw invalid(`time_series: step ${stepTok.text} must look like 30s, 1m, 2h or 1d`, stepTok.pos);
        stepTok.text = String(secs);
        const fmt = literalArg(name, a[2], 'format');
        fmt.text = quoteString(mysqlToStrftime(stringValue(fmt)));
        const strf = stringValue(fmt);
        // The padding argument is dropped here; a top-level time_series has its empty buckets filled by the runner
        // (TimeSeriesFill), as SLS does.
        if (a[3]) {
          const pad = a[3][1] - a[3][0] === 1 ? tok(a[3][0]) : undefined;
          if (pad?.kind === 'string' && depth[k] === 0)
            timeSeriesAt = { k, step: secs, format: strf, padding: stringValue(pad) };
          for (let j = a[2]![1]; j < a[3][1]; j++) tokens[sig[j]!]!.text = '';
        }
        t.text = 'sls_time_series';
        return;
      }
      case 'regexp_replace': {
        const r = a[2] && a[2][1] - a[2][0] === 1 ? tok(a[2][0]) : undefined;
        if (r?.kind === 'string') r.text = quoteString(stringValue(r).replace(/\$(\d)/g, '\\$1'));
        break;
      }
    }
    const to = RENAMES.get(name);
    if (to !== undefined) t.text = to;
  }

  function wrap(a: [number, number], fn: string): void {
    const first = tokens[sig[a[0]]!]!;
    const last = tokens[sig[a[1] - 1]!]!;
    first.text = `${fn}(${first.text}`;
    last.text = `${last.text})`;
  }

  // LIMIT: at the top level `LIMIT x` or `LIMIT y, x` within the SLS bounds; nested LIMIT y, x is refused.
  let topLimit = false;
  for (let k = 0; k < sig.length; k++) {
    const w = word(k);
    if (w === 'offset' && depth[k] === 0 && !isOp(k - 1, '(')) {
      throw invalid('OFFSET is not supported: write LIMIT offset, count', tok(k)!.pos);
    }
    if (w !== 'limit') continue;
    const a = tok(k + 1);
    if (a?.kind !== 'number' || !/^\d+$/.test(a.text)) throw invalid('LIMIT needs a whole number', tok(k)!.pos);
    const paged = isOp(k + 2, ',');
    if (paged) {
      const b = tok(k + 3);
      if (b?.kind !== 'number' || !/^\d+$/.test(b.text))
        throw invalid('LIMIT offset, count needs two whole numbers', tok(k)!.pos);
      if (depth[k] !== 0) throw invalid('LIMIT offset, count is not allowed inside subqueries', tok(k)!.pos);
      const y = Number(a.text);
      const x = Number(b.text);
      if (x > MAX_PAGE_LIMIT || y > MAX_LIMIT || x + y > MAX_LIMIT) {
        throw invalid(
          `LIMIT ${y}, ${x} is out of bounds: count ≤ ${MAX_PAGE_LIMIT}, offset ≤ ${MAX_LIMIT}, offset + count ≤ ${MAX_LIMIT}`,
          tok(k)!.pos,
        );
      }
      a.text = String(x);
      tok(k + 2)!.text = ' OFFSET';
      b.text = String(y);
    } else if (Number(a.text) > MAX_LIMIT) {
      throw invalid(`LIMIT ${a.text} is out of bounds: at most ${MAX_LIMIT}`, tok(k)!.pos);
    }
    if (depth[k] === 0) {
      topLimit = true;
      topLimitCount = Number(paged ? tok(k + 1)!.text : a.text);
      topPaged = paged;
    }
  }
  if (!topLimit) append.push(` LIMIT ${DEFAULT_LIMIT}`);
  const countOnly = countOnlyShape(tokens, sig);

  // Presto names an unaliased expression of the outer select list `_col<position>` (SLS charts refer to these).
  let timeSeriesColumn: number | undefined;
  const top = sig.findIndex((_, k) => word(k) === 'select' && depth[k] === 0);
  if (top >= 0) {
    let k = top + 1;
    if (word(k) === 'distinct' || word(k) === 'all') k++;
    let start = k;
    let position = 0;
    for (; ; k++) {
      const w = word(k);
      const end = k >= sig.length || (depth[k] === 0 && (isOp(k, ',') || (w !== undefined && CLAUSE_END.has(w))));
      if (!end) continue;
      if (k > start && !namedItem(start, k)) tokens[sig[k - 1]!]!.text += ` AS "_col${position}"`;
      if (timeSeriesAt && timeSeriesAt.k >= start && timeSeriesAt.k < k) timeSeriesColumn = position;
      position++;
      start = k + 1;
      if (!isOp(k, ',')) break;
    }
  }

  /** Whether a select-list item keeps a name of its own: a column, `*`, or an alias. */
  function namedItem(a: number, b: number): boolean {
    const last = tok(b - 1)!;
    if (last.kind === 'op') return last.text === '*';
    if (b - a === 1) return last.kind === 'word' || last.kind === 'quoted';
    if (b - a === 3 && isOp(a + 1, '.')) return true;
    if (last.kind !== 'quoted' && last.kind !== 'word') return false;
    if (last.kind === 'word' && NOT_ALIAS.has(last.text.toLowerCase())) return false;
    const before = tok(b - 2)!;
    if (before.kind === 'word') return before.text.toLowerCase() === 'as' || !NOT_ALIAS.has(before.text.toLowerCase());
    return before.kind !== 'op' || before.text === ')';
  }

  let sql = '';
  for (let i = 0; i < tokens.length; i++) {
    const pre = insertBefore.get(i);
    if (pre !== undefined) sql += pre;
    sql += tokens[i]!.text;
  }
  sql += append.join('');

  const columns = star ? [...o.columns.keys()] : [...referenced];
  const timeSeries: TimeSeriesFill | undefined =
    timeSeriesAt && timeSeriesColumn !== undefined
      ? {
          step: timeSeriesAt.step,
          format: timeSeriesAt.format,
          padding: timeSeriesAt.padding,
          column: timeSeriesColumn,
          limit: topLimitCount,
          paged: topPaged,
        }
      : undefined;
  return { sql, columns, ...(countOnly ? { countOnly } : {}), ...(timeSeries ? { timeSeries } : {}) };
}

/** `select count(*|1) [as name] [from log]`: the row count is the search's hit count. */
function countOnlyShape(tokens: readonly SqlToken[], sig: readonly number[]): { name: string } | undefined {
  const t = sig.map((i) => tokens[i]!);
  const text = t.map((x) => (x.kind === 'word' ? x.text.toLowerCase() : x.text));
  if (text[0] !== 'select' || text[1] !== 'count' || text[2] !== '(' || (text[3] !== '*' && text[3] !== '1'))
    return undefined;
  if (text[4] !== ')') return undefined;
  let k = 5;
  let name = '_col0';
  if (text[k] === 'as') k++;
  const alias = t[k];
  if (alias && (alias.kind === 'quoted' || (alias.kind === 'word' && text[k] !== 'from'))) {
    name = identName(alias) === undefined ? name : alias.kind === 'quoted' ? identName(alias)! : alias.text;
    k++;
  }
  if (text[k] === 'from' && text[k + 1] === LOG_RELATION) k += 2;
  return k === t.length ? { name } : undefined;
}
