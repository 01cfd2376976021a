import { SlsError } from '../../protocol/errors.js';
import type { Shippers } from '../../shipper/shippers.js';
import type { RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody, optionalInt } from './json-body.js';
import { page } from './paging.js';
import { requireHostProject } from './projects.js';

/** Create/Get/Update/Delete/List shippers, their tasks, and retrying failed tasks (sls-api.md §5.11). */
export function registerShipperRoutes(router: Router, deps: RouteDeps, shippers: Shippers): void {
  const { limits } = deps;
  const base = '/logstores/:logstore/shipper';
  const where = (ctx: RequestContext) => [requireHostProject(ctx), ctx.params['logstore']!] as const;

  router.add({
    method: 'POST',
    pattern: base,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await shippers.create(...where(ctx), jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: base,
    maxBodyBytes: 0,
    handle(ctx) {
      const all = shippers.list(...where(ctx)).map((s) => s.shipperName);
      const names = page(all, ctx.query);
      return { json: { count: names.length, total: all.length, shipper: names } };
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:shipper`,
    maxBodyBytes: 0,
    async handle(ctx) {
      const [project, logstore] = where(ctx);
      const name = ctx.params['shipper']!;
      const doc = shippers.get(project, logstore, name);
      // `status` (progress and lag) is a Sluice addition; SDKs ignore keys they do not know.
      return { json: { ...doc, status: await shippers.status(project, logstore, name) } };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:shipper`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await shippers.update(...where(ctx), ctx.params['shipper']!, jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: `${base}/:shipper`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await shippers.delete(...where(ctx), ctx.params['shipper']!);
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:shipper/tasks`,
    maxBodyBytes: 0,
    handle(ctx) {
      const from = optionalInt(ctx.query['from'], 'from', 0, 2 ** 40);
      const to = optionalInt(ctx.query['to'], 'to', 0, 2 ** 40);
      const status = ctx.query['status'];
      const all = shippers
        .tasks(...where(ctx), ctx.params['shipper']!)
        .filter((t) => (from === undefined || t.taskCreateTime >= from) && (to === undefined || t.taskCreateTime < to));
      const statistics = {
        running: all.filter((t) => t.taskStatus === 'running').length,
        success: all.filter((t) => t.taskStatus === 'success').length,
        fail: all.filter((t) => t.taskStatus === 'fail').length,
      };
      const matching = status && status !== '' ? all.filter((t) => t.taskStatus === status) : all;
      // SLS keys first, then ours (shard, cursor range, size, attempts).
      const tasks = page(matching, ctx.query, 100).map((t) => ({
        id: t.id,
        taskStatus: t.taskStatus,
        taskMessage: t.taskMessage,
        taskCreateTime: t.taskCreateTime,
        taskLastDataReceiveTime: t.taskLastDataReceiveTime,
        taskFinishTime: t.taskFinishTime,
        shard: t.shard,
        fromCursor: t.fromCursor,
        toCursor: t.toCursor,
        logCount: t.logCount,
        attempts: t.attempts,
      }));
      return { json: { count: tasks.length, total: matching.length, statistics, tasks } };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:shipper/tasks`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    handle(ctx) {
      let ids: unknown;
      try {
        ids = JSON.parse(ctx.body.toString('utf8') || '[]');
      } catch (err) {
        throw new SlsError('PostBodyInvalid', `body is not valid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
        throw new SlsError('PostBodyInvalid', 'body must be a JSON array of task ids');
      }
      shippers.retry(...where(ctx), ctx.params['shipper']!, ids as string[]);
      return {};
    },
  });
}
