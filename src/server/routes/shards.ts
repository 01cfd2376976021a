import type { ShardMeta } from '../../meta/meta-store.js';
import { encodeResponseBody } from '../../protocol/body-codec.js';
import { decodeCursor, encodeCursor } from '../../protocol/cursor.js';
import { SlsError } from '../../protocol/errors.js';
import { midKey, parseHashKey } from '../../protocol/hash-range.js';
import { encodeLogGroupList } from '../../protocol/log-group.js';
import { storedLogGroupBytes } from '../../storage/shard-log/stored-payload.js';
import type { RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { optionalInt } from './json-body.js';
import { requireHostProject } from './projects.js';

/** ListShards, Split/Merge/DeleteShard, GetCursor, GetCursorTime and PullLogs. */
export function registerShardRoutes(router: Router, deps: RouteDeps): void {
  const { service, limits } = deps;

  router.add({
    method: 'GET',
    pattern: '/logstores/:logstore/shards',
    maxBodyBytes: 0,
    handle(ctx) {
      const shards = service.listShards(requireHostProject(ctx), ctx.params['logstore']!);
      return { json: shards.map(shardJson) };
    },
  });

  router.add({
    method: 'POST',
    pattern: '/logstores/:logstore/shards/:shard',
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      const shardId = shardIdParam(ctx);
      const action = ctx.query['action'];
      if (action === 'split') {
        let key = ctx.query['key'];
        if (key === undefined || key === '') {
          // `shardCount=2` (Go SDK) splits at the middle of the shard's range.
          const count = optionalInt(ctx.query['shardCount'], 'shardCount', 2, 2);
          if (count === undefined)
            throw new SlsError('ParameterInvalid', 'split needs key=<32 hex chars> or shardCount=2');
          const shard = service.listShards(project, logstore).find((s) => s.id === shardId);
          if (!shard) throw new SlsError('ShardNotExist', `shard ${shardId} does not exist`);
          key = midKey(shard.beginKey, shard.endKey);
        }
        const shards = await service.splitShard(project, logstore, shardId, parseHashKey(key));
        return { json: shards.map(shardJson) };
      }
      if (action === 'merge') {
        const shards = await service.mergeShard(project, logstore, shardId);
        return { json: shards.map(shardJson) };
      }
      throw new SlsError('ParameterInvalid', `action must be split or merge, got ${JSON.stringify(action ?? '')}`);
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/logstores/:logstore/shards/:shard',
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await service.deleteShard(requireHostProject(ctx), ctx.params['logstore']!, shardIdParam(ctx));
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: '/logstores/:logstore/shards/:shard',
    maxBodyBytes: 0,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      const shardId = shardIdParam(ctx);
      const type = ctx.query['type'];
      switch (type) {
        case 'cursor': {
          const from = ctx.query['from'];
          let at: 'begin' | 'end' | number;
          if (from === 'begin' || from === 'end') at = from;
          else {
            const t = optionalInt(from, 'from', 0, 2 ** 40);
            if (t === undefined)
              throw new SlsError('ParameterInvalid', 'from must be begin, end or a unix time in seconds');
            at = t;
          }
          const seq = await service.cursorAt(project, logstore, shardId, at);
          return { json: { cursor: encodeCursor(seq) } };
        }
        case 'cursor_time': {
          const seq = decodeCursor(ctx.query['cursor'] ?? '');
          const time = await service.cursorTime(project, logstore, shardId, seq);
          return { json: { cursor_time: time } };
        }
        case 'log':
        case 'logs':
          return pullLogs(ctx, deps, project, logstore, shardId);
        default:
          throw new SlsError(
            'ParameterInvalid',
            `type must be cursor, cursor_time or log, got ${JSON.stringify(type ?? '')}`,
          );
      }
    },
  });
}

async function pullLogs(ctx: RequestContext, deps: RouteDeps, project: string, logstore: string, shardId: number) {
  const from = decodeCursor(ctx.query['cursor'] ?? '');
  const count = optionalInt(ctx.query['count'], 'count', 1, deps.limits.maxPullCount) ?? 100;
  const endParam = ctx.query['end_cursor'];
  const end = endParam !== undefined && endParam !== '' ? decodeCursor(endParam) : undefined;
  const result = await deps.service.pull(project, logstore, shardId, from, {
    maxCount: count,
    maxBytes: deps.limits.maxPullBytes,
    ...(end !== undefined ? { endSeq: end } : {}),
  });
  const groups = result.records.map((r) => storedLogGroupBytes(r));
  const raw = encodeLogGroupList(groups);
  const headers: Record<string, string | number> = {
    'content-type': 'application/x-protobuf',
    'x-log-cursor': encodeCursor(result.nextSeq),
    'x-log-count': result.records.length,
    'x-log-bodyrawsize': raw.length,
    'x-log-end-of-cursor': result.nextSeq >= result.endSeq ? 1 : 0,
  };
  const last = result.records[result.records.length - 1];
  if (last) {
    headers['x-log-read-last-cursor'] = String(last.seq);
    headers['x-log-cursor-time'] = Math.floor(last.receiveTimeMs / 1000);
  }
  if (raw.length === 0) return { headers };
  const encoded = encodeResponseBody(raw, headerText(ctx.headers['accept-encoding']));
  if (encoded.compressType !== undefined) headers['x-log-compresstype'] = encoded.compressType;
  return { headers, body: encoded.body };
}

function shardIdParam(ctx: RequestContext): number {
  const text = ctx.params['shard']!;
  const id = Number(text);
  if (!/^\d{1,9}$/.test(text) || !Number.isSafeInteger(id)) {
    throw new SlsError('ParameterInvalid', `invalid shard id ${JSON.stringify(text)}`);
  }
  return id;
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function shardJson(s: ShardMeta) {
  return {
    shardID: s.id,
    status: s.status,
    inclusiveBeginKey: s.beginKey,
    exclusiveEndKey: s.endKey,
    createTime: s.createTime,
  };
}
