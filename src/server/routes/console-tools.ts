/**
 * Sluice additions the web console needs (and any signed client may use): the live parse preview of a collection
 * config, and per-logstore usage of a project. Under `/sluice/…` so they can never collide with an SLS path.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SlsError } from '../../protocol/errors.js';
import { ConfigFieldError, previewParse } from '../console/parse-preview.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody } from './json-body.js';
import { requireHostProject } from './projects.js';

export function registerConsoleToolRoutes(router: Router, deps: RouteDeps, dataDir: string): void {
  const { service } = deps;

  /** `POST /sluice/parse-preview` `{config, sample}` → `{logs, suggestion?}` (see parse-preview.ts). */
  router.add({
    method: 'POST',
    pattern: '/sluice/parse-preview',
    maxBodyBytes: deps.limits.maxJsonBodyBytes,
    handle(ctx) {
      const body = jsonBody(ctx);
      if (typeof body['sample'] !== 'string') throw new SlsError('ParameterInvalid', 'sample must be a string');
      try {
        return { json: previewParse(body['config'] ?? {}, body['sample']) };
      } catch (err) {
        if (err instanceof ConfigFieldError) throw new SlsError('ParameterInvalid', err.message);
        throw err;
      }
    },
  });

  /** `GET /sluice/usage` on a project → its quota and, per logstore, shards, LogGroups stored and bytes on disk. */
  router.add({
    method: 'GET',
    pattern: '/sluice/usage',
    maxBodyBytes: 0,
    async handle(ctx) {
      const project = requireHostProject(ctx);
      const meta = service.getProject(project);
      const logstores = [];
      for (const ls of service.listLogstores(project)) {
        const shards = service.listShards(project, ls.name);
        let logGroups = 0;
        for (const s of shards) {
          const r = await service.cursorRange(project, ls.name, s.id);
          logGroups += r.end - r.begin;
        }
        logstores.push({
          logstoreName: ls.name,
          ttl: ls.ttl,
          readwriteShards: shards.filter((s) => s.status === 'readwrite').length,
          readonlyShards: shards.filter((s) => s.status !== 'readwrite').length,
          logGroups,
          storedBytes: await bytesUnder(join(dataDir, 'shards', project, ls.name)),
          indexBytes: await bytesUnder(join(dataDir, 'index', project, ls.name)),
        });
      }
      return { json: { projectName: project, quota: meta.quota, logstores } };
    },
  });
}

/** Bytes of the files under `dir` (0 when it does not exist). */
async function bytesUnder(dir: string): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await bytesUnder(p);
    else if (e.isFile())
      total += await stat(p).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}
