import type { Indexer } from '../../index/indexer.js';
import { SlsError } from '../../protocol/errors.js';
import type { QueryNode } from '../../query/parser/ast.js';
import { parseSearch, splitStatement } from '../../query/parser/parser.js';
import { SegmentGoneError } from '../../query/sql/sidecar-cache.js';
import type { SqlEngine, SqlResult } from '../../query/sql/sql-engine.js';
import { identName, lexSql } from '../../query/sql/sql-lexer.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { requireHostProject } from './projects.js';

/** The analytic part of a query, or undefined when it is a plain search. */
export function analyticPart(query: string): { search: string; sql: string } | undefined {
  const { search, sql } = splitStatement(query);
  return sql === undefined ? undefined : { search: search.trim(), sql: sql.trim() };
}

export interface AnalyticParams {
  readonly from: number;
  readonly to: number;
  readonly query: string;
  readonly topic: string;
}

/**
 * Logstores that ran SQL or enable analytics (`doc_value`), per engine: their new segments get sidecars in the
 * background.
 */
const analyticStores = new WeakMap<SqlEngine, Set<string>>();
const PREWARM_MS = 5_000;

function keepWarm(indexer: Indexer, engine: SqlEngine): void {
  const stores = new Set<string>();
  analyticStores.set(engine, stores);
  const timer = setInterval(() => {
    if (engine.isClosed) {
      clearInterval(timer);
      return;
    }
    for (const { project, logstore } of indexer.analyticLogstores()) stores.add(`${project}\0${logstore}`);
    for (const key of stores) {
      const [project, logstore] = key.split('\0') as [string, string];
      try {
        const { config, parts } = indexer.searchable(project, logstore);
        engine.prewarm(config, parts);
      } catch {
        stores.delete(key);
      }
    }
  }, PREWARM_MS);
  timer.unref();
}

/** Runs `search | SQL` on one logstore. */
export async function runAnalytic(
  engine: SqlEngine,
  indexer: Indexer,
  project: string,
  logstore: string,
  p: AnalyticParams,
  signal: AbortSignal,
  tableNames?: readonly string[],
): Promise<SqlResult & { elapsedMs: number; cpuSec: number; search: string; sql: string }> {
  const parts = analyticPart(p.query) ?? { search: '*', sql: p.query };
  let node: QueryNode = parseSearch(parts.search === '' ? '*' : parts.search);
  if (p.topic !== '') {
    const t: QueryNode = { kind: 'term', field: '__topic__', pieces: [p.topic], phrase: false, pos: 0 };
    node = node.kind === 'all' ? t : { kind: 'and', children: [t, node] };
  }
  analyticStores.get(engine)?.add(`${project}\0${logstore}`);
  const started = Date.now();
  const cpu = process.cpuUsage();
  let r: SqlResult | undefined;
  // A merge can replace segments between listing the parts and reading them: list again (bounded).
  for (let attempt = 1; r === undefined; attempt++) {
    const { config, parts: searchParts } = indexer.searchable(project, logstore);
    try {
      r = await engine.run({
        config,
        parts: searchParts,
        search: node,
        sql: parts.sql,
        from: p.from,
        to: p.to,
        signal,
        ...(tableNames ? { tableNames } : {}),
      });
    } catch (err) {
      if (!(err instanceof SegmentGoneError) || attempt >= 3) throw err;
    }
  }
  const used = process.cpuUsage(cpu);
  return { ...r, elapsedMs: Date.now() - started, cpuSec: (used.user + used.system) / 1e6, ...parts };
}

/** SQL rows as SLS returns them: one object per row keyed by column name, every cell a string. */
export function rowObjects(r: SqlResult): Record<string, string>[] {
  return r.rows.map((row) => {
    const o: Record<string, string> = {};
    r.columns.forEach((c, i) => {
      o[c] = row[i]!;
    });
    return o;
  });
}

/** GetLogs v1 headers for an analytic result. */
export function v1Headers(r: Awaited<ReturnType<typeof runAnalytic>>): Record<string, string | number> {
  return {
    'x-log-progress': 'Complete',
    'x-log-count': r.rows.length,
    'x-log-processed-rows': r.processedRows,
    'x-log-elapsed-millisecond': r.elapsedMs,
    'x-log-has-sql': 'True',
    'x-log-where-query': encodeURIComponent(r.search),
    'x-log-agg-query': encodeURIComponent(r.sql),
    'x-log-cpu-sec': r.cpuSec.toFixed(6),
    'x-log-cpu-cores': 1,
    'x-log-query-info': JSON.stringify({ mode: 0, isAccurate: 1, keys: r.columns, terms: [] }),
  };
}

/** GetLogs v2 `meta` for an analytic result. */
export function v2Meta(r: Awaited<ReturnType<typeof runAnalytic>>): Record<string, unknown> {
  return {
    progress: 'Complete',
    count: r.rows.length,
    processedRows: r.processedRows,
    elapsedMillisecond: r.elapsedMs,
    hasSQL: true,
    whereQuery: r.search,
    aggQuery: r.sql,
    cpuSec: r.cpuSec,
    cpuCores: 1,
    keys: r.columns,
    terms: [],
    mode: 0,
    isAccurate: true,
    columnTypes: r.columnTypes,
    telementryType: 'logs',
    powerSql: false,
    insertedSQL: '',
  };
}

/**
 * Project-level SQL (`GET /logs?query=SELECT … FROM <logstore> …`, sls-api.md §5.1): the logstore is the table named
 * in the first FROM; `from`/`to` (unix seconds) are optional and default to all time.
 */
export function registerProjectLogsRoute(router: Router, deps: RouteDeps, indexer: Indexer, engine: SqlEngine): void {
  keepWarm(indexer, engine);
  router.add({
    method: 'GET',
    pattern: '/logs',
    maxBodyBytes: 0,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const query = ctx.query['query'] ?? '';
      const logstore = firstTable(query);
      deps.service.getLogstore(project, logstore);
      const from = timeParam(ctx.query['from'], 0);
      const to = timeParam(ctx.query['to'], 2 ** 32);
      const r = await runAnalytic(engine, indexer, project, logstore, { from, to, query, topic: '' }, ctx.signal, [
        logstore,
      ]);
      return { headers: v1Headers(r), json: rowObjects(r) };
    },
  });
}

function firstTable(sql: string): string {
  let tokens: ReturnType<typeof lexSql>;
  try {
    tokens = lexSql(sql).filter((t) => t.kind !== 'space');
  } catch (err) {
    throw new SlsError('InvalidQueryString', `project SQL: ${(err as Error).message}`, { cause: err });
  }
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i]!.kind === 'word' && tokens[i]!.text.toLowerCase() === 'from') {
      const name = identName(tokens[i + 1]!);
      if (name !== undefined && tokens[i + 1]!.kind === 'quoted') return name;
      if (name !== undefined) return tokens[i + 1]!.text;
    }
  }
  throw new SlsError('InvalidQueryString', 'project SQL needs FROM <logstore>');
}

function timeParam(v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32) {
    throw new SlsError('InvalidTimeRange', `from and to must be unix seconds, got ${JSON.stringify(v)}`);
  }
  return n;
}
