import type { Indexer } from '../../index/indexer.js';
import { decodeRequestBody, encodeResponseBody } from '../../protocol/body-codec.js';
import { SlsError } from '../../protocol/errors.js';
import { histogram, listTopics, parseQuery, searchAsync } from '../../query/executor.js';
import type { QueryNode } from '../../query/parser/ast.js';
import type { SqlEngine } from '../../query/sql/sql-engine.js';
import { DamagedBytesError } from '../../storage/segment/bytes.js';
import type { StoredRow } from '../../storage/segment/part.js';
import type { Handler, RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { requireHostProject } from './projects.js';
import { analyticPart, rowObjects, runAnalytic, v1Headers, v2Meta } from './sql-logs.js';

/** Most rows one GetLogs page returns (SLS: 100). */
const MAX_LINE = 100;
/** A query that runs longer stops and answers `Incomplete` with what it has. */
const QUERY_DEADLINE_MS = 20_000;
/** GetHistograms without `interval` aims at about this many buckets. */
const DEFAULT_BUCKETS = 60;
const MAX_BUCKETS = 100_000;

interface LogsParams {
  readonly from: number;
  readonly to: number;
  readonly query: string;
  readonly line: number;
  readonly offset: number;
  readonly reverse: boolean;
  readonly topic: string;
}

/**
 * GetLogs v1 (`GET /logstores/{ls}?type=log`), GetHistograms (`type=histogram`), ListTopics (`type=topic`) — the
 * returned handler is mounted by the logstore route, which owns that path — and GetLogs v2
 * (`POST /logstores/{ls}/logs`). Shapes and headers as sls-api.md §5.5.
 */
export function registerGetLogsRoutes(router: Router, deps: RouteDeps, indexer: Indexer, sql?: SqlEngine): Handler {
  router.add({
    method: 'POST',
    pattern: '/logstores/:logstore/logs',
    maxBodyBytes: deps.limits.maxJsonBodyBytes,
    handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      return reporting(indexer, project, logstore, () => getLogsV2(ctx, project, logstore));
    },
  });

  async function getLogsV2(ctx: RequestContext, project: string, logstore: string) {
    deps.service.getLogstore(project, logstore);
    const { raw } = decodeRequestBody(ctx.body, header(ctx, 'x-log-compresstype'), header(ctx, 'x-log-bodyrawsize'), {
      maxRawBytes: deps.limits.maxJsonBodyBytes,
    });
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new SlsError('PostBodyInvalid', `GetLogs body is not valid JSON: ${(err as Error).message}`);
      }
    }
    const params = logsParams((k) => body[k]);
    if (sql && analyticPart(params.query)) {
      // `search | SQL`: the analytic engine (src/query/sql/) answers in the same envelope.
      const r = await runAnalytic(sql, indexer, project, logstore, params, ctx.signal);
      const rawSql = Buffer.from(JSON.stringify({ meta: v2Meta(r), data: rowObjects(r) }));
      const enc = encodeResponseBody(rawSql, header(ctx, 'accept-encoding'));
      const h: Record<string, string | number> = {
        'content-type': 'application/json',
        'x-log-bodyrawsize': rawSql.length,
        'x-log-progress': 'Complete',
        'x-log-count': r.rows.length,
      };
      if (enc.compressType !== undefined) h['x-log-compresstype'] = enc.compressType;
      return { headers: h, body: enc.body };
    }
    const started = Date.now();
    const cpu = process.cpuUsage();
    const result = await runSearch(indexer, project, logstore, params, ctx.signal);
    const data = result.rows.map(rowJson);
    const keys = new Set<string>();
    for (const r of result.rows)
      for (let i = 0; i < r.fields.length; i++) {
        const k = r.fields[i]![0];
        if (!k.startsWith('__')) keys.add(k);
      }
    const used = process.cpuUsage(cpu);
    const json = {
      meta: {
        progress: result.complete ? 'Complete' : 'Incomplete',
        count: data.length,
        processedRows: result.processedRows,
        elapsedMillisecond: Date.now() - started,
        hasSQL: false,
        whereQuery: params.query,
        aggQuery: '',
        cpuSec: (used.user + used.system) / 1e6,
        cpuCores: 1,
        keys: [...keys],
        terms: [],
        mode: 0,
        isAccurate: true,
        columnTypes: [],
        telementryType: 'logs',
        powerSql: false,
        insertedSQL: '',
      },
      data,
    };
    const rawBody = Buffer.from(JSON.stringify(json));
    const encoded = encodeResponseBody(rawBody, header(ctx, 'accept-encoding'));
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'x-log-progress': json.meta.progress,
      'x-log-count': data.length,
    };
    // The Go SDK treats a positive x-log-bodyrawsize as "compressed" and then requires lz4 or zstd: send the raw
    // size only with a compressed body.
    if (encoded.compressType !== undefined) {
      headers['x-log-compresstype'] = encoded.compressType;
      headers['x-log-bodyrawsize'] = rawBody.length;
    }
    return { headers, body: encoded.body };
  }

  return (ctx) => {
    const project = requireHostProject(ctx);
    const logstore = ctx.params['logstore']!;
    return reporting(indexer, project, logstore, () => readLogs(ctx, project, logstore));
  };

  async function readLogs(ctx: RequestContext, project: string, logstore: string) {
    deps.service.getLogstore(project, logstore);
    const type = ctx.query['type'];
    if (type === 'log' && sql && analyticPart(ctx.query['query'] ?? '')) {
      const r = await runAnalytic(
        sql,
        indexer,
        project,
        logstore,
        logsParams((k) => ctx.query[k]),
        ctx.signal,
      );
      return { headers: v1Headers(r), json: rowObjects(r) };
    }
    if (type === 'log') return getLogsV1(ctx, indexer, project, logstore);
    if (type === 'histogram') return getHistograms(ctx, indexer, project, logstore);
    if (type === 'topic') {
      const { parts } = indexer.searchable(project, logstore);
      const line = intParam(ctx.query['line'], 'line', 0, 1000, 'InvalidLine') ?? 100;
      const topics = listTopics(parts, ctx.query['token'] ?? '', line);
      return { headers: { 'x-log-count': topics.length, 'x-log-progress': 'Complete' }, json: topics };
    }
    throw new SlsError('ParameterInvalid', `type must be log, histogram or topic, got ${JSON.stringify(type)}`);
  }
}

/**
 * Runs a read of `logstore`. Damaged segment bytes met on the way (DamagedBytesError) are reported to the indexer,
 * which reads the logstore's segments whole and moves the damaged ones aside; the error still answers this request.
 */
async function reporting<T>(indexer: Indexer, project: string, logstore: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof DamagedBytesError) indexer.suspectDamage(project, logstore);
    throw err;
  }
}

async function getLogsV1(ctx: RequestContext, indexer: Indexer, project: string, logstore: string) {
  const params = logsParams((k) => ctx.query[k]);
  const started = Date.now();
  const cpu = process.cpuUsage();
  const result = await runSearch(indexer, project, logstore, params, ctx.signal);
  const used = process.cpuUsage(cpu);
  const progress = result.complete ? 'Complete' : 'Incomplete';
  return {
    headers: {
      'x-log-progress': progress,
      'x-log-count': result.rows.length,
      'x-log-processed-rows': result.processedRows,
      'x-log-elapsed-millisecond': Date.now() - started,
      'x-log-has-sql': 'False',
      'x-log-where-query': encodeURIComponent(params.query),
      'x-log-agg-query': '',
      'x-log-cpu-sec': ((used.user + used.system) / 1e6).toFixed(6),
      'x-log-cpu-cores': 1,
      'x-log-query-info': JSON.stringify({ mode: 0, isAccurate: 1, keys: [], terms: [] }),
    },
    json: result.rows.map(rowJson),
  };
}

function getHistograms(ctx: RequestContext, indexer: Indexer, project: string, logstore: string) {
  const from = intParam(ctx.query['from'], 'from', 0, 2 ** 32, 'InvalidTimeRange');
  const to = intParam(ctx.query['to'], 'to', 0, 2 ** 32, 'InvalidTimeRange');
  if (from === undefined || to === undefined || to < from) {
    throw new SlsError('InvalidTimeRange', 'from and to (unix seconds) are required, with from <= to');
  }
  let interval = intParam(ctx.query['interval'], 'interval', 1, 2 ** 32, 'ParameterInvalid');
  interval ??= Math.max(1, Math.ceil((to - from) / DEFAULT_BUCKETS));
  if ((to - from) / interval > MAX_BUCKETS) {
    throw new SlsError(
      'ParameterInvalid',
      `interval ${interval} gives more than ${MAX_BUCKETS} buckets; use a larger one`,
    );
  }
  const node = withTopic(parseQuery(ctx.query['query'] ?? ''), ctx.query['topic'] ?? '');
  const { config, parts } = indexer.searchable(project, logstore);
  const { buckets, complete } = histogram(config, parts, node, {
    from,
    to,
    interval,
    signal: ctx.signal,
    deadlineMs: Date.now() + QUERY_DEADLINE_MS,
  });
  const progress = complete ? 'Complete' : 'Incomplete';
  let total = 0;
  for (const b of buckets) total += b.count;
  return {
    headers: { 'x-log-progress': progress, 'x-log-count': total },
    json: buckets.map((b) => ({ from: b.from, to: b.to, count: b.count, progress })),
  };
}

function runSearch(indexer: Indexer, project: string, logstore: string, p: LogsParams, signal: AbortSignal) {
  const node = withTopic(parseQuery(p.query), p.topic);
  const { config, parts } = indexer.searchable(project, logstore);
  return searchAsync(config, parts, node, {
    from: p.from,
    to: p.to,
    offset: p.offset,
    line: p.line,
    reverse: p.reverse,
    signal,
    deadlineMs: Date.now() + QUERY_DEADLINE_MS,
  });
}

function logsParams(get: (name: string) => unknown): LogsParams {
  const from = intParam(get('from'), 'from', 0, 2 ** 32, 'InvalidTimeRange');
  const to = intParam(get('to'), 'to', 0, 2 ** 32, 'InvalidTimeRange');
  if (from === undefined || to === undefined || to < from) {
    throw new SlsError('InvalidTimeRange', 'from and to (unix seconds) are required, with from <= to');
  }
  const query = get('query');
  if (query !== undefined && query !== null && typeof query !== 'string') {
    throw new SlsError('InvalidQueryString', 'query must be a string');
  }
  const reverseRaw = get('reverse');
  let reverse = false;
  if (reverseRaw !== undefined && reverseRaw !== null && reverseRaw !== '') {
    const r = String(reverseRaw).toLowerCase();
    if (r !== 'true' && r !== 'false') throw new SlsError('InvalidReverse', 'reverse must be true or false');
    reverse = r === 'true';
  }
  const topic = get('topic');
  return {
    from,
    to,
    query: typeof query === 'string' ? query : '',
    line: intParam(get('line'), 'line', 0, MAX_LINE, 'InvalidLine') ?? MAX_LINE,
    offset: intParam(get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER, 'InvalidOffset') ?? 0,
    reverse,
    topic: typeof topic === 'string' ? topic : '',
  };
}

function withTopic(node: QueryNode, topic: string): QueryNode {
  if (topic === '') return node;
  const t: QueryNode = { kind: 'term', field: '__topic__', pieces: [topic], phrase: false, pos: 0 };
  return node.kind === 'all' ? t : { kind: 'and', children: [t, node] };
}

/**
 * A row as SLS returns it: every value a string, reserved fields first. An indexed loop, not `for (const [k, v] of
 * ...)`: until V8 optimizes it (the first dozens of pages after a start), destructuring each pair through the array
 * iterator cost ~3 µs per row, the loop below ~0.7 µs.
 */
export function rowJson(row: StoredRow): Record<string, string> {
  const out: Record<string, string> = { __time__: String(row.time), __source__: '', __topic__: '' };
  const fields = row.fields;
  for (let i = 0; i < fields.length; i++) {
    const pair = fields[i]!;
    out[pair[0]] = pair[1];
  }
  return out;
}

function intParam(
  value: unknown,
  name: string,
  min: number,
  max: number,
  code: 'InvalidTimeRange' | 'InvalidLine' | 'InvalidOffset' | 'ParameterInvalid',
): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SlsError(code, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
