import type { IndexRegistry, RebuildSeqs } from '../../index/index-registry.js';
import type { Indexer } from '../../index/indexer.js';
import { SlsError } from '../../protocol/errors.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody, optionalInt } from './json-body.js';
import { requireHostProject } from './projects.js';

/** CreateIndex / UpdateIndex / GetIndex / DeleteIndex on `/logstores/{ls}/index` (sls-api.md §5.3). */
export function registerIndexRoutes(router: Router, deps: RouteDeps, registry: IndexRegistry, indexer: Indexer): void {
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

  // Reindex (rebuild) of a receive-time range [from, to), with progress: a Sluice call standing in for SLS's
  // rebuild-index jobs. Without `to` the range runs to the end (logs still arriving are indexed as usual).
  router.add({
    method: 'POST',
    pattern: `${pattern}/rebuild`,
    maxBodyBytes,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      service.getLogstore(project, logstore);
      registry.get(project, logstore);
      const body = jsonBody(ctx);
      const from = optionalInt(body['from'], 'from', 0, 2 ** 32) ?? 0;
      const to = optionalInt(body['to'], 'to', 0, 2 ** 32);
      if (to !== undefined && to <= from)
        throw new SlsError('ParameterInvalid', `to (${to}) must be greater than from (${from})`);
      const seqs: RebuildSeqs = {};
      for (const s of service.listShards(project, logstore)) {
        const f = await service.cursorAt(project, logstore, s.id, from);
        const t = to === undefined ? null : await service.cursorAt(project, logstore, s.id, to);
        seqs[`${s.id}-${s.baseSeq}`] = [f, t === null ? null : Math.max(f, t)];
      }
      await registry.rebuild(project, logstore, from, to, seqs);
      return { json: await rebuildStatus(indexer, registry, project, logstore) };
    },
  });

  router.add({
    method: 'GET',
    pattern: `${pattern}/rebuild`,
    maxBodyBytes: 0,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const logstore = ctx.params['logstore']!;
      service.getLogstore(project, logstore);
      return { json: await rebuildStatus(indexer, registry, project, logstore) };
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

async function rebuildStatus(indexer: Indexer, registry: IndexRegistry, project: string, logstore: string) {
  const doc = registry.get(project, logstore);
  const p = await indexer.progress(project, logstore);
  return {
    from: doc.rebuildFrom ?? null,
    to: doc.rebuildTo ?? null,
    status: p.indexedRecords >= p.totalRecords ? 'Done' : 'Running',
    indexedRecords: p.indexedRecords,
    totalRecords: p.totalRecords,
    progress: p.totalRecords === 0 ? 1 : p.indexedRecords / p.totalRecords,
  };
}
