import type { CreateLogstoreInput } from '../../backend/log-service.js';
import type { LogstoreMeta } from '../../meta/meta-store.js';
import { SlsError } from '../../protocol/errors.js';
import { checkLogstoreName } from '../../protocol/names.js';
import type { Handler, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody, optionalBool, optionalInt, optionalString } from './json-body.js';
import { page } from './paging.js';
import { requireHostProject } from './projects.js';

const FOREVER_DAYS = 3650;
const DEFAULT_SHARD_COUNT = 2;
const DEFAULT_TTL_DAYS = 30;

/**
 * `typed` answers `GET /logstores/{ls}?type=…` (GetLogs, GetHistograms, ListTopics), which shares the GetLogStore
 * path; without it those requests are refused.
 */
export function registerLogstoreRoutes(router: Router, deps: RouteDeps, typed?: Handler): void {
  const { service, limits } = deps;
  const maxBodyBytes = limits.maxJsonBodyBytes;

  router.add({
    method: 'POST',
    pattern: '/logstores',
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const body = jsonBody(ctx);
      const name = checkLogstoreName(body['logstoreName']);
      const input: CreateLogstoreInput = {
        name,
        ...logstoreFields(body, limits.maxShardsPerLogstore),
        ttl: optionalInt(body['ttl'], 'ttl', 1, FOREVER_DAYS, 'LogStoreInfoInvalid') ?? DEFAULT_TTL_DAYS,
        shardCount:
          optionalInt(body['shardCount'], 'shardCount', 1, limits.maxShardsPerLogstore, 'LogStoreInfoInvalid') ??
          DEFAULT_SHARD_COUNT,
      };
      await service.createLogstore(project, input);
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: '/logstores',
    maxBodyBytes: 0,
    handle(ctx) {
      const project = requireHostProject(ctx);
      const filter = ctx.query['logstoreName'] ?? '';
      const all = service
        .listLogstores(project)
        .map((l) => l.name)
        .filter((n) => filter === '' || n.includes(filter))
        .sort();
      const items = page(all, ctx.query);
      return { json: { count: items.length, total: all.length, logstores: items } };
    },
  });

  router.add({
    method: 'GET',
    pattern: '/logstores/:logstore',
    maxBodyBytes: 0,
    handle(ctx) {
      const project = requireHostProject(ctx);
      // GetLogs / GetHistograms / ListTopics share this path (`?type=log|histogram|topic`). Answering them with the
      // logstore description made N1's getLogs resolve with an object instead of failing: refuse them instead.
      const type = ctx.query['type'];
      if (type !== undefined && type !== '') {
        if (typed) return typed(ctx);
        throw new SlsError('NotFound', `GET /logstores/{logstore}?type=${type} is not supported by this server`);
      }
      const ls = service.getLogstore(project, ctx.params['logstore']!);
      const shardCount = service.listShards(project, ls.name).filter((s) => s.status === 'readwrite').length;
      return { json: logstoreJson(ls, shardCount) };
    },
  });

  router.add({
    method: 'PUT',
    pattern: '/logstores/:logstore',
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const body = jsonBody(ctx);
      const ttl = optionalInt(body['ttl'], 'ttl', 1, FOREVER_DAYS, 'LogStoreInfoInvalid');
      // shardCount in an update is accepted and ignored, as in SLS: shards change only by split and merge.
      optionalInt(body['shardCount'], 'shardCount', 1, limits.maxShardsPerLogstore, 'LogStoreInfoInvalid');
      await service.updateLogstore(project, ctx.params['logstore']!, {
        ...logstoreFields(body, limits.maxShardsPerLogstore),
        ...(ttl !== undefined ? { ttl } : {}),
      });
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/logstores/:logstore',
    maxBodyBytes,
    async handle(ctx) {
      await service.deleteLogstore(requireHostProject(ctx), ctx.params['logstore']!);
      return {};
    },
  });
}

/** The optional logstore fields SLS clients send; unknown keys are ignored (the Python SDK sends many). */
function logstoreFields(body: Record<string, unknown>, maxShards: number) {
  const code = 'LogStoreInfoInvalid' as const;
  const enableTracking = optionalBool(body['enable_tracking'], 'enable_tracking', code);
  const autoSplit = optionalBool(body['autoSplit'], 'autoSplit', code);
  const maxSplitShard = optionalInt(body['maxSplitShard'], 'maxSplitShard', 1, maxShards, code);
  const appendMeta = optionalBool(body['appendMeta'], 'appendMeta', code);
  const telemetryType = optionalString(body['telemetryType'], 'telemetryType', 32, code);
  const mode = optionalString(body['mode'], 'mode', 32, code);
  const hotTtl = optionalInt(body['hot_ttl'], 'hot_ttl', 1, FOREVER_DAYS, code);
  return {
    ...(enableTracking !== undefined ? { enableTracking } : {}),
    ...(autoSplit !== undefined ? { autoSplit } : {}),
    ...(maxSplitShard !== undefined ? { maxSplitShard } : {}),
    ...(appendMeta !== undefined ? { appendMeta } : {}),
    ...(telemetryType !== undefined ? { telemetryType: telemetryType === 'None' ? '' : telemetryType } : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(hotTtl !== undefined ? { hotTtl } : {}),
  };
}

function logstoreJson(ls: LogstoreMeta, shardCount: number) {
  return {
    logstoreName: ls.name,
    ttl: ls.ttl,
    shardCount,
    enable_tracking: ls.enableTracking,
    autoSplit: ls.autoSplit,
    maxSplitShard: ls.maxSplitShard,
    appendMeta: ls.appendMeta,
    telemetryType: ls.telemetryType,
    mode: ls.mode,
    ...(ls.hotTtl !== undefined ? { hot_ttl: ls.hotTtl } : {}),
    createTime: ls.createTime,
    lastModifyTime: ls.lastModifyTime,
  };
}
