import type { AgentHeartbeats } from '../../backend/agent-heartbeats.js';
import type { Router } from '../router.js';
import { jsonBody } from './json-body.js';
import { page } from './paging.js';
import { requireHostProject } from './projects.js';

/** A heartbeat carries at most 1,000 file entries; this bounds the body before it is buffered. */
const MAX_HEARTBEAT_BYTES = 1024 * 1024;

/** The agent heartbeat and the agents' status (Sluice extensions, docs/api.md "Agent heartbeat"). */
export function registerAgentHeartbeatRoutes(router: Router, heartbeats: AgentHeartbeats): void {
  router.add({
    method: 'POST',
    pattern: '/logtail/heartbeat',
    maxBodyBytes: MAX_HEARTBEAT_BYTES,
    async handle(ctx) {
      return { json: await heartbeats.heartbeat(requireHostProject(ctx), jsonBody(ctx), ctx.clientIp) };
    },
  });

  router.add({
    method: 'GET',
    pattern: '/logtail/machines',
    maxBodyBytes: 0,
    handle(ctx) {
      const project = requireHostProject(ctx);
      const all = heartbeats.list(project);
      const machines = page(all, ctx.query).map((m) => ({
        ...heartbeats.machineJson(m),
        groups: heartbeats.groupsOfMachine(project, m),
      }));
      return { json: { count: machines.length, total: all.length, machines } };
    },
  });

  router.add({
    method: 'GET',
    pattern: '/logtail/machines/:instance',
    maxBodyBytes: 0,
    handle(ctx) {
      const project = requireHostProject(ctx);
      const m = heartbeats.get(project, ctx.params['instance']!);
      return { json: { ...heartbeats.machineJson(m, true), groups: heartbeats.groupsOfMachine(project, m) } };
    },
  });
}
