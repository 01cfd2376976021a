import { MachineGroups } from '../../backend/machine-groups.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody } from './json-body.js';
import { page } from './paging.js';
import { requireHostProject } from './projects.js';

/** Logtail configs (sls-api.md §5.10): Create/Get/List/Update/Delete and GetAppliedMachineGroups. */
export function registerLogtailConfigRoutes(router: Router, deps: RouteDeps, groups: MachineGroups): void {
  const { limits } = deps;
  const base = '/configs';

  router.add({
    method: 'POST',
    pattern: base,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.createConfig(requireHostProject(ctx), jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: base,
    maxBodyBytes: 0,
    handle(ctx) {
      const all = groups.listConfigs(requireHostProject(ctx), ctx.query['configName'] ?? '').map((c) => c.configName);
      const names = page(all, ctx.query);
      return { json: { count: names.length, total: all.length, configs: names } };
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:config`,
    maxBodyBytes: 0,
    handle(ctx) {
      return { json: MachineGroups.configJson(groups.getConfig(requireHostProject(ctx), ctx.params['config']!)) };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:config`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.updateConfig(requireHostProject(ctx), ctx.params['config']!, jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: `${base}/:config`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.deleteConfig(requireHostProject(ctx), ctx.params['config']!);
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:config/machinegroups`,
    maxBodyBytes: 0,
    handle(ctx) {
      const names = groups.appliedGroups(requireHostProject(ctx), ctx.params['config']!);
      return { json: { count: names.length, machinegroups: names } };
    },
  });
}
