import { type ConsumerGroups, checkGroupName, MAX_GROUP_TIMEOUT_SEC } from '../../consumer/consumer-groups.js';
import { decodeCursor, encodeCursor } from '../../protocol/cursor.js';
import { SlsError } from '../../protocol/errors.js';
import type { RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody, optionalBool, optionalInt } from './json-body.js';
import { requireHostProject } from './projects.js';

/** Create/List/Update/Delete consumer groups, Heartbeat, UpdateCheckpoint and GetCheckpoint (sls-api.md §5.9). */
export function registerConsumerGroupRoutes(router: Router, deps: RouteDeps, groups: ConsumerGroups): void {
  const { limits } = deps;
  const base = '/logstores/:logstore/consumergroups';

  router.add({
    method: 'POST',
    pattern: base,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      const body = jsonBody(ctx);
      const name = checkGroupName(body['consumerGroup']);
      const timeout = optionalInt(body['timeout'], 'timeout', 1, MAX_GROUP_TIMEOUT_SEC);
      if (timeout === undefined) throw new SlsError('ParameterInvalid', 'timeout (seconds) is required');
      const order = optionalBool(body['order'], 'order') ?? false;
      await groups.create(requireHostProject(ctx), ctx.params['logstore']!, { name, timeout, order });
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: base,
    maxBodyBytes: 0,
    handle(ctx) {
      const list = groups.list(requireHostProject(ctx), ctx.params['logstore']!);
      return { json: list.map((g) => ({ name: g.name, timeout: g.timeout, order: g.order })) };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:group`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      const body = jsonBody(ctx);
      const timeout = optionalInt(body['timeout'], 'timeout', 1, MAX_GROUP_TIMEOUT_SEC);
      const order = optionalBool(body['order'], 'order');
      await groups.update(requireHostProject(ctx), ctx.params['logstore']!, ctx.params['group']!, {
        ...(timeout !== undefined ? { timeout } : {}),
        ...(order !== undefined ? { order } : {}),
      });
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: `${base}/:group`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.delete(requireHostProject(ctx), ctx.params['logstore']!, ctx.params['group']!);
      return {};
    },
  });

  router.add({
    method: 'POST',
    pattern: `${base}/:group`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      const group = ctx.params['group']!;
      const consumer = consumerParam(ctx);
      const type = ctx.query['type'];
      if (type === 'heartbeat') {
        const held = shardArray(ctx);
        return { json: await groups.heartbeat(project, logstore, group, consumer, held) };
      }
      if (type === 'checkpoint') {
        const body = jsonBody(ctx);
        const shard = optionalInt(body['shard'], 'shard', 0, 2 ** 31);
        if (shard === undefined) throw new SlsError('ParameterInvalid', 'shard is required');
        if (typeof body['checkpoint'] !== 'string') throw new SlsError('ParameterInvalid', 'checkpoint is required');
        const seq = decodeCursor(body['checkpoint']);
        // Absent means true: the Python SDK always sends it, others default to forcing.
        const force = optionalBool(ctx.query['forceSuccess'], 'forceSuccess') ?? true;
        await groups.updateCheckpoint(project, logstore, group, { shard, seq, consumer, force });
        return {};
      }
      throw new SlsError('ParameterInvalid', `type must be heartbeat or checkpoint, got ${JSON.stringify(type ?? '')}`);
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:group`,
    maxBodyBytes: 0,
    async handle(ctx) {
      const shard = optionalInt(ctx.query['shard'], 'shard', -1, 2 ** 31);
      const list = await groups.getCheckpoints(
        requireHostProject(ctx),
        ctx.params['logstore']!,
        ctx.params['group']!,
        // The Python SDK sends shard=-1 for "all shards".
        shard === undefined || shard < 0 ? undefined : shard,
      );
      return {
        json: list.map((c) => ({
          shard: c.shard,
          checkpoint: encodeCursor(c.seq),
          updateTime: c.updateTimeUs,
          consumer: c.consumer,
        })),
      };
    },
  });
}

function consumerParam(ctx: RequestContext): string {
  const consumer = ctx.query['consumer'];
  if (consumer === undefined || consumer === '' || consumer.length > 256) {
    throw new SlsError('ParameterInvalid', 'consumer (1 to 256 characters) is required');
  }
  return consumer;
}

function shardArray(ctx: RequestContext): number[] {
  if (ctx.body.length === 0) return [];
  let value: unknown;
  try {
    value = JSON.parse(ctx.body.toString('utf8'));
  } catch (err) {
    throw new SlsError('PostBodyInvalid', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new SlsError('PostBodyInvalid', 'heartbeat body must be a JSON array of shard ids');
  }
  return value as number[];
}
