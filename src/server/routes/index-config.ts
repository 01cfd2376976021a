import type { IndexRegistry } from '../../index/index-registry.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody } from './json-body.js';
import { requireHostProject } from './projects.js';

/** CreateIndex / UpdateIndex / GetIndex / DeleteIndex on `/logstores/{ls}/index` (sls-api.md §5.3). */
export function registerIndexRoutes(router: Router, deps: RouteDeps, registry: IndexRegistry): void {
  const { service } = deps;
  const maxBodyBytes = deps.limits.maxJsonBodyBytes;
  const pattern = '/logstores/:logstore/index';

  router.add({
    method: 'POST',
    pattern,
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      service.getLogstore(project, logstore);
      const body = jsonBody(ctx);
      await registry.create(project, logstore, body, async () => {
        const ends: Record<string, number> = {};
        for (const s of service.listShards(project, logstore)) {
          ends[`${s.id}-${s.baseSeq}`] = (await service.cursorRange(project, logstore, s.id)).end;
        }
        return ends;
      });
      return {};
    },
  });

  router.add({
    method: 'PUT',
    pattern,
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      service.getLogstore(project, logstore);
      await registry.update(project, logstore, jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern,
    maxBodyBytes: 0,
    handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      const ls = service.getLogstore(project, logstore);
      const doc = registry.get(project, logstore);
      const ttl = typeof doc.config['ttl'] === 'number' ? doc.config['ttl'] : ls.ttl;
      return {
        json: {
          index_mode: 'v2',
          storage: 'pg',
          ...doc.config,
          ttl,
          lastModifyTime: doc.lastModifyTime,
        },
      };
    },
  });

  router.add({
    method: 'DELETE',
    pattern,
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      service.getLogstore(project, logstore);
      await registry.delete(project, logstore);
      return {};
    },
  });
}
