/**
 * Agent heartbeats (a Sluice extension, docs/api.md "Agent heartbeat"): an agent posts its identity and status, and
 * gets back the configs of every machine group it belongs to with an etag, so an unchanged set costs one hash.
 *
 * The last heartbeat of each agent is kept in memory, and written to the MetaStore (project-scoped, so it goes with
 * the project) when the agent is new, its identity or config set changed, or a minute passed: a restart of the server
 * keeps the machine list without one metadata write per heartbeat.
 */
import { createHash } from 'node:crypto';
import type { MetaStore } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import { groupMatches, type MachineGroups, type MachineIdentity } from './machine-groups.js';

export const MACHINE_KIND = 'logtailmachine';

export interface AgentHeartbeatOptions {
  /** No heartbeat for this long: the machine shows as `stale`. */
  readonly staleAfterMs: number;
  /** What the server asks agents to use. */
  readonly heartbeatIntervalSec: number;
  /** A fresh heartbeat is written to the metadata store at most this often (identity changes always are). */
  readonly persistEveryMs: number;
}

export const DEFAULT_HEARTBEAT_OPTIONS: AgentHeartbeatOptions = Object.freeze({
  staleAfterMs: 30_000,
  heartbeatIntervalSec: 5,
  persistEveryMs: 60_000,
});

const INSTANCE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_IDS = 32;
const MAX_STATUS_FILES = 1000;
const MAX_STATUS_CONFIGS = 1000;

/** The agent's status as posted; kept as is (bounded) for the console. */
export interface AgentStatus {
  readonly configs: readonly Readonly<Record<string, unknown>>[];
  readonly files: readonly Readonly<Record<string, unknown>>[];
  readonly counters: Readonly<Record<string, unknown>>;
}

export interface MachineRecord {
  readonly instanceId: string;
  readonly ip: string;
  readonly hostname: string;
  readonly userDefinedIds: readonly string[];
  readonly version: string;
  /** Unix milliseconds. */
  readonly lastHeartbeatMs: number;
  readonly configEtag: string;
  readonly status: AgentStatus;
}

export interface HeartbeatAnswer {
  readonly etag: string;
  readonly changed: boolean;
  readonly groups: readonly string[];
  readonly heartbeatIntervalSec: number;
  readonly configs?: readonly Record<string, unknown>[];
}

function optString(body: Record<string, unknown>, key: string, max: number): string {
  const v = body[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > max)
    throw new SlsError('ParameterInvalid', `${key} must be a string of at most ${max} characters`);
  return v;
}

function objArray(v: unknown, field: string, max: number): Record<string, unknown>[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x)))
    throw new SlsError('ParameterInvalid', `${field} must be an array of objects`);
  return (v as Record<string, unknown>[]).slice(0, max);
}

function parseStatus(v: unknown): AgentStatus {
  if (v === undefined || v === null) return { configs: [], files: [], counters: {} };
  if (typeof v !== 'object' || Array.isArray(v)) throw new SlsError('ParameterInvalid', 'status must be an object');
  const s = v as Record<string, unknown>;
  const counters = s['counters'] ?? {};
  if (typeof counters !== 'object' || counters === null || Array.isArray(counters))
    throw new SlsError('ParameterInvalid', 'status.counters must be an object');
  return {
    configs: objArray(s['configs'], 'status.configs', MAX_STATUS_CONFIGS),
    files: objArray(s['files'], 'status.files', MAX_STATUS_FILES),
    counters: counters as Record<string, unknown>,
  };
}

/**
 * SLS's `topicFormat: "group_topic"` gives a config's logs the `groupTopic` of the machine group it reached the agent
 * through: the agent receives it as a fixed topic. (A config in two groups takes the first group's, by name.)
 */
function withGroupTopic(detail: Readonly<Record<string, unknown>>, groupTopic: string): Record<string, unknown> {
  const input = detail['inputDetail'];
  if (
    typeof input !== 'object' ||
    input === null ||
    (input as Record<string, unknown>)['topicFormat'] !== 'group_topic'
  )
    return { ...detail };
  return {
    ...detail,
    inputDetail: { ...input, topicFormat: groupTopic === '' ? 'none' : `customized://${groupTopic}` },
  };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export class AgentHeartbeats {
  private readonly live = new Map<string, MachineRecord>();
  private readonly persistedAt = new Map<string, number>();

  constructor(
    private readonly meta: MetaStore,
    private readonly groups: MachineGroups,
    private readonly options: AgentHeartbeatOptions = DEFAULT_HEARTBEAT_OPTIONS,
    private readonly clock: () => number = Date.now,
  ) {}

  async heartbeat(project: string, body: Record<string, unknown>, peerIp: string): Promise<HeartbeatAnswer> {
    if (!this.meta.getProject(project)) throw new SlsError('ProjectNotExist', `project ${project} does not exist`);
    const instanceId = body['instanceId'];
    if (typeof instanceId !== 'string' || !INSTANCE_ID.test(instanceId))
      throw new SlsError('ParameterInvalid', 'instanceId must be 1 to 128 characters of [A-Za-z0-9_.:-]');
    const ids = body['userDefinedIds'] ?? [];
    if (!Array.isArray(ids) || ids.length > MAX_IDS || ids.some((x) => typeof x !== 'string' || x.length > 128))
      throw new SlsError('ParameterInvalid', `userDefinedIds must be at most ${MAX_IDS} strings`);
    const identity: MachineIdentity = {
      ip: optString(body, 'ip', 64) || peerIp.replace(/^::ffff:/, ''),
      userDefinedIds: (ids as string[]).filter((x) => x !== ''),
    };
    const member = this.groups.groupsOf(project, identity);
    const wanted = new Map<string, Record<string, unknown>>();
    for (const g of member) {
      for (const name of g.configs) {
        if (wanted.has(name)) continue;
        try {
          const doc = this.groups.getConfig(project, name);
          wanted.set(name, {
            ...withGroupTopic(doc.detail, g.groupAttribute.groupTopic),
            configName: name,
            lastModifyTime: doc.lastModifyTime,
          });
        } catch (err) {
          if (!(err instanceof SlsError && err.code === 'ConfigNotExist')) throw err;
        }
      }
    }
    const configs = [...wanted.keys()].sort().map((n) => wanted.get(n)!);
    const etag = createHash('sha256').update(JSON.stringify(configs)).digest('hex').slice(0, 32);
    const now = this.clock();
    const record: MachineRecord = {
      instanceId,
      ip: identity.ip,
      hostname: optString(body, 'hostname', 256),
      userDefinedIds: identity.userDefinedIds,
      version: optString(body, 'version', 128),
      lastHeartbeatMs: now,
      configEtag: optString(body, 'configEtag', 128),
      status: parseStatus(body['status']),
    };
    const key = `${project}/${instanceId}`;
    const stored = this.meta.getResource<MachineRecord>(MACHINE_KIND, key);
    const before = this.live.get(key) ?? stored;
    this.live.set(key, record);
    const identityChanged =
      stored === undefined ||
      before === undefined ||
      before.ip !== record.ip ||
      before.hostname !== record.hostname ||
      before.configEtag !== record.configEtag ||
      before.userDefinedIds.join('\n') !== record.userDefinedIds.join('\n');
    if (identityChanged || now - (this.persistedAt.get(key) ?? 0) >= this.options.persistEveryMs) {
      this.persistedAt.set(key, now);
      await this.meta.updateResource<MachineRecord>(MACHINE_KIND, key, () => record);
    }
    const common = {
      etag,
      groups: member.map((g) => g.groupName),
      heartbeatIntervalSec: this.options.heartbeatIntervalSec,
    };
    return body['configEtag'] === etag ? { ...common, changed: false } : { ...common, changed: true, configs };
  }

  /** Every agent that heartbeated to the project, newest heartbeat first. */
  list(project: string): MachineRecord[] {
    if (!this.meta.getProject(project)) throw new SlsError('ProjectNotExist', `project ${project} does not exist`);
    const byId = new Map<string, MachineRecord>();
    for (const d of this.meta.listResources<MachineRecord>(MACHINE_KIND, `${project}/`)) byId.set(d.key, d.value);
    for (const [key, r] of this.live) {
      // A project deleted and created again starts with no machines: the live copy must not outlive its document.
      if (key.startsWith(`${project}/`) && byId.has(key)) byId.set(key, r);
    }
    return [...byId.values()].sort((a, b) => b.lastHeartbeatMs - a.lastHeartbeatMs);
  }

  get(project: string, instanceId: string): MachineRecord {
    const r = this.list(project).find((m) => m.instanceId === instanceId);
    if (!r) throw new SlsError('MachineNotExist', `no agent ${instanceId} has heartbeated to project ${project}`);
    return r;
  }

  /** ListMachines: the agents of a group. */
  machinesOf(project: string, group: string): MachineRecord[] {
    const g = this.groups.getGroup(project, group);
    return this.list(project).filter((m) => groupMatches(g, m));
  }

  /** The names of the groups a machine belongs to. */
  groupsOfMachine(project: string, m: MachineRecord): string[] {
    return this.groups.groupsOf(project, m).map((g) => g.groupName);
  }

  /** ListMachines' entry: the SLS keys, then ours; `full` adds the posted status (`detail`) and `configEtag`. */
  machineJson(m: MachineRecord, full = false): Record<string, unknown> {
    const now = this.clock();
    const ageMs = Math.max(0, now - m.lastHeartbeatMs);
    const s = m.status;
    const summary = {
      configs: s.configs.length,
      files: s.files.length,
      lagBytes: s.configs.reduce((n, c) => n + num(c['lagBytes']), 0),
      errors: s.configs.reduce((n, c) => n + num(c['errors']), 0),
      droppedBytes: s.configs.reduce((n, c) => n + num(c['droppedBytes']), 0),
    };
    return {
      ip: m.ip,
      'machine-uniqueid': m.instanceId,
      'userdefined-id': m.userDefinedIds.join(','),
      lastHeartbeatTime: Math.floor(m.lastHeartbeatMs / 1000),
      hostname: m.hostname,
      state: ageMs > this.options.staleAfterMs ? 'stale' : 'ok',
      heartbeatAgeSec: Math.floor(ageMs / 1000),
      version: m.version,
      status: summary,
      ...(full ? { configEtag: m.configEtag, detail: s } : {}),
    };
  }
}
