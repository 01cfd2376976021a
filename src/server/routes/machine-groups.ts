import type { AgentHeartbeats } from '../../backend/agent-heartbeats.js';
import { MachineGroups } from '../../backend/machine-groups.js';
import type { Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { jsonBody } from './json-body.js';
import { page } from './paging.js';
import { requireHostProject } from './projects.js';

/**
 * Machine groups (sls-api.md §5.10): Create/Get/List/Update/Delete, ListMachines, and applying configs to a group
 * (ApplyConfigToMachineGroup, RemoveConfigFromMachineGroup, GetAppliedConfigs).
 */
export function registerMachineGroupRoutes(
  router: Router,
  deps: RouteDeps,
  groups: MachineGroups,
  heartbeats: AgentHeartbeats,
): void {
  const { limits } = deps;
  const base = '/machinegroups';

  router.add({
    method: 'POST',
    pattern: base,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.createGroup(requireHostProject(ctx), jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: base,
    maxBodyBytes: 0,
    handle(ctx) {
      const all = groups.listGroups(requireHostProject(ctx), ctx.query['groupName'] ?? '').map((g) => g.groupName);
      const names = page(all, ctx.query);
      return { json: { count: names.length, total: all.length, machinegroups: names } };
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:group`,
    maxBodyBytes: 0,
    handle(ctx) {
      return { json: MachineGroups.groupJson(groups.getGroup(requireHostProject(ctx), ctx.params['group']!)) };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:group`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.updateGroup(requireHostProject(ctx), ctx.params['group']!, jsonBody(ctx));
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: `${base}/:group`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.deleteGroup(requireHostProject(ctx), ctx.params['group']!);
      return {};
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:group/machines`,
    maxBodyBytes: 0,
    handle(ctx) {
      const all = heartbeats.machinesOf(requireHostProject(ctx), ctx.params['group']!);
      const machines = page(all, ctx.query).map((m) => heartbeats.machineJson(m));
      return { json: { count: machines.length, total: all.length, machines } };
    },
  });

  router.add({
    method: 'GET',
    pattern: `${base}/:group/configs`,
    maxBodyBytes: 0,
    handle(ctx) {
      const configs = groups.appliedConfigs(requireHostProject(ctx), ctx.params['group']!);
      return { json: { count: configs.length, configs } };
    },
  });

  router.add({
    method: 'PUT',
    pattern: `${base}/:group/configs/:config`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.applyConfig(requireHostProject(ctx), ctx.params['group']!, ctx.params['config']!);
      return {};
    },
  });

  router.add({
    method: 'DELETE',
    pattern: `${base}/:group/configs/:config`,
    maxBodyBytes: limits.maxJsonBodyBytes,
    async handle(ctx) {
      await groups.removeConfig(requireHostProject(ctx), ctx.params['group']!, ctx.params['config']!);
      return {};
    },
  });
}
