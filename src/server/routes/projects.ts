import type { ProjectMeta, ProjectQuota } from '../../meta/meta-store.js';
import { SlsError } from '../../protocol/errors.js';
import { checkProjectName } from '../../protocol/names.js';
import { ConfigError, parseQuota } from '../config.js';
import type { RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody, optionalString } from './json-body.js';
import { page } from './paging.js';

const MAX_DESCRIPTION = 512;

/** Projects: `/` on `<project>.<endpoint>` (Get/Update/Delete) or on the bare endpoint (List; Create either way). */
export function registerProjectRoutes(router: Router, deps: RouteDeps): void {
  const { service, limits } = deps;
  const maxBodyBytes = limits.maxJsonBodyBytes;

  router.add({
    method: 'POST',
    pattern: '/',
    maxBodyBytes,
    async handle(ctx) {
      const body = jsonBody(ctx);
      // The Node SDK sends CreateProject to the bare endpoint and aliyun-sdk to `undefined.<endpoint>`: the body
      // names the project.
      const name = checkProjectName(body['projectName'] ?? ctx.hostProject);
      const description =
        optionalString(body['description'], 'description', MAX_DESCRIPTION, 'ProjectInfoInvalid') ?? '';
      const quota = body['quota'] === undefined ? undefined : quotaFrom(body['quota']);
      await service.createProject(name, description, quota);
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: '/',
    maxBodyBytes: 0,
    handle(ctx) {
      if (ctx.hostProject === undefined) return listProjects(ctx, deps);
      return { json: projectJson(service.getProject(ctx.hostProject), deps.region) };
    },
  });

  router.add({
    method: 'PUT',
    pattern: '/',
    maxBodyBytes,
    async handle(ctx) {
      const name = requireHostProject(ctx);
      const body = jsonBody(ctx);
      const description = optionalString(body['description'], 'description', MAX_DESCRIPTION, 'ProjectInfoInvalid');
      const quota = body['quota'] === undefined ? undefined : quotaFrom(body['quota']);
      await service.updateProject(name, {
        ...(description !== undefined ? { description } : {}),
        ...(quota !== undefined ? { quota } : {}),
      });
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/',
    maxBodyBytes,
    async handle(ctx) {
      await service.deleteProject(requireHostProject(ctx));
      return {};
    },
  });
}

function listProjects(ctx: RequestContext, deps: RouteDeps) {
  const filter = ctx.query['projectName'] ?? '';
  const all = deps.service
    .listProjects()
    .filter((p) => filter === '' || p.name.includes(filter))
    .sort((a, b) => a.name.localeCompare(b.name));
  const items = page(all, ctx.query, 100);
  return { json: { count: items.length, total: all.length, projects: items.map((p) => projectJson(p, deps.region)) } };
}

export function requireHostProject(ctx: RequestContext): string {
  if (ctx.hostProject === undefined) {
    throw new SlsError(
      'ProjectNotExist',
      'The Project does not exist : (no project in the Host header; use <project>.<endpoint>)',
    );
  }
  return ctx.hostProject;
}

function projectJson(p: ProjectMeta, region: string) {
  return {
    projectName: p.name,
    description: p.description,
    status: 'Normal',
    region,
    owner: '',
    // SLS (and the Go SDK's struct) carry project times as strings.
    createTime: String(p.createTime),
    lastModifyTime: String(p.lastModifyTime),
    resourceGroupId: '',
    dataRedundancyType: 'LRS',
    quota: p.quota,
  };
}

function quotaFrom(value: unknown): ProjectQuota {
  try {
    return parseQuota(value, 'quota');
  } catch (err) {
    if (err instanceof ConfigError) throw new SlsError('ProjectInfoInvalid', err.message);
    throw err;
  }
}
