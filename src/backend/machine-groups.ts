/**
 * Machine groups and Logtail configs (sls-api.md §5.10), kept as project-scoped documents in the MetaStore so they go
 * with their project. A group's applied configs live inside the group's document: one atomic write applies or
 * removes a config, and a key of `<project>/<name>` never falls under a logstore's delete prefix.
 */
import { ConfigFieldError } from '../agent/config/config-error.js';
import { parseCollectionConfig } from '../agent/config/logtail-config.js';
import type { MetaStore } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';

export const MACHINE_GROUP_KIND = 'machinegroup';
export const LOGTAIL_CONFIG_KIND = 'logtailconfig';

export type MachineIdentifyType = 'ip' | 'userdefined';

/** A machine group as GetMachineGroup answers it (plus the applied configs, which it does not show). */
export interface MachineGroupDoc {
  readonly groupName: string;
  readonly groupType: string;
  readonly machineIdentifyType: MachineIdentifyType;
  readonly groupAttribute: { readonly externalName: string; readonly groupTopic: string };
  readonly machineList: readonly string[];
  readonly createTime: number;
  readonly lastModifyTime: number;
  /** Applied config names, sorted. */
  readonly configs: readonly string[];
}

/** A Logtail config as posted (validated by the agent's parser), with its times. */
export interface LogtailConfigDoc {
  readonly configName: string;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly createTime: number;
  readonly lastModifyTime: number;
}

/** What a machine says it is: membership is by IP or by any of its user-defined ids. */
export interface MachineIdentity {
  readonly ip: string;
  readonly userDefinedIds: readonly string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$/;
export const MAX_MACHINE_LIST = 10_000;
const MAX_MACHINE_ENTRY = 128;

export function checkResourceName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new SlsError(
      'ParameterInvalid',
      `${field} must be 2 to 128 characters of letters, digits, "_", "." or "-", starting with a letter or digit, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function objectField(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = body[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new SlsError('ParameterInvalid', `${key} must be an object`);
  return v as Record<string, unknown>;
}

function stringField(o: Record<string, unknown>, key: string, field: string, max = 256): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > max)
    throw new SlsError('ParameterInvalid', `${field} must be a string of at most ${max} characters`);
  return v;
}

/** Validates a CreateMachineGroup/UpdateMachineGroup body. */
function parseGroupBody(
  body: Record<string, unknown>,
): Omit<MachineGroupDoc, 'groupName' | 'createTime' | 'lastModifyTime' | 'configs'> {
  const type = body['machineIdentifyType'] ?? 'ip';
  if (type !== 'ip' && type !== 'userdefined')
    throw new SlsError(
      'ParameterInvalid',
      `machineIdentifyType must be "ip" or "userdefined", got ${JSON.stringify(type)}`,
    );
  const list = body['machineList'] ?? [];
  if (!Array.isArray(list) || list.some((m) => typeof m !== 'string' || m === '' || m.length > MAX_MACHINE_ENTRY))
    throw new SlsError(
      'ParameterInvalid',
      `machineList must be an array of non-empty strings of at most ${MAX_MACHINE_ENTRY} characters`,
    );
  if (list.length > MAX_MACHINE_LIST)
    throw new SlsError('ParameterInvalid', `machineList holds ${list.length} entries; at most ${MAX_MACHINE_LIST}`);
  const attr = objectField(body, 'groupAttribute');
  return {
    groupType: stringField(body, 'groupType', 'groupType'),
    machineIdentifyType: type,
    groupAttribute: {
      externalName: stringField(attr, 'externalName', 'groupAttribute.externalName'),
      groupTopic: stringField(attr, 'groupTopic', 'groupAttribute.groupTopic'),
    },
    machineList: [...new Set(list as string[])],
  };
}

/** Validates a config body with the agent's own parser; the error names the field. */
export function checkLogtailConfig(body: Record<string, unknown>): string {
  const name = checkResourceName(body['configName'], 'configName');
  try {
    parseCollectionConfig(body);
  } catch (err) {
    if (err instanceof ConfigFieldError) throw new SlsError('ParameterInvalid', err.message);
    if (err instanceof SlsError) throw err;
    throw new SlsError('ParameterInvalid', `config: ${(err as Error).message}`);
  }
  return name;
}

/** machineList as a Set, made once per stored list (documents are immutable, so the list identifies it). */
const listSets = new WeakMap<readonly string[], ReadonlySet<string>>();

export function groupMatches(group: MachineGroupDoc, m: MachineIdentity): boolean {
  let set = listSets.get(group.machineList);
  if (set === undefined) {
    set = new Set(group.machineList);
    listSets.set(group.machineList, set);
  }
  if (group.machineIdentifyType === 'ip') return m.ip !== '' && set.has(m.ip);
  return m.userDefinedIds.some((id) => set.has(id));
}

export class MachineGroups {
  constructor(
    private readonly meta: MetaStore,
    private readonly clock: () => number = Date.now,
  ) {}

  private now(): number {
    return Math.floor(this.clock() / 1000);
  }

  private requireProject(project: string): void {
    if (!this.meta.getProject(project)) throw new SlsError('ProjectNotExist', `project ${project} does not exist`);
  }

  // ---- machine groups

  listGroups(project: string, nameContains = ''): MachineGroupDoc[] {
    this.requireProject(project);
    return this.meta
      .listResources<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/`)
      .map((d) => d.value)
      .filter((g) => g.groupName.includes(nameContains));
  }

  getGroup(project: string, name: string): MachineGroupDoc {
    this.requireProject(project);
    const doc = this.meta.getResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${name}`);
    if (!doc) throw new SlsError('MachineGroupNotExist', `machine group ${name} does not exist`);
    return doc;
  }

  async createGroup(project: string, body: Record<string, unknown>): Promise<void> {
    this.requireProject(project);
    const name = checkResourceName(body['groupName'], 'groupName');
    const fields = parseGroupBody(body);
    const now = this.now();
    await this.meta.updateResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${name}`, (cur) => {
      if (cur) throw new SlsError('MachineGroupAlreadyExist', `machine group ${name} already exists`);
      return { groupName: name, ...fields, createTime: now, lastModifyTime: now, configs: [] };
    });
  }

  async updateGroup(project: string, name: string, body: Record<string, unknown>): Promise<void> {
    this.getGroup(project, name);
    if (body['groupName'] !== undefined && body['groupName'] !== name)
      throw new SlsError(
        'ParameterInvalid',
        `groupName in the body (${JSON.stringify(body['groupName'])}) is not ${name}`,
      );
    const fields = parseGroupBody(body);
    await this.meta.updateResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${name}`, (cur) => {
      if (!cur) throw new SlsError('MachineGroupNotExist', `machine group ${name} does not exist`);
      return { ...cur, ...fields, lastModifyTime: this.now() };
    });
  }

  async deleteGroup(project: string, name: string): Promise<void> {
    this.getGroup(project, name);
    await this.meta.updateResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${name}`, (cur) => {
      if (!cur) throw new SlsError('MachineGroupNotExist', `machine group ${name} does not exist`);
      return undefined;
    });
  }

  async applyConfig(project: string, group: string, config: string): Promise<void> {
    this.getGroup(project, group);
    this.getConfig(project, config);
    await this.meta.updateResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${group}`, (cur) => {
      if (!cur) throw new SlsError('MachineGroupNotExist', `machine group ${group} does not exist`);
      if (cur.configs.includes(config)) return cur;
      return { ...cur, configs: [...cur.configs, config].sort() };
    });
  }

  async removeConfig(project: string, group: string, config: string): Promise<void> {
    this.getGroup(project, group);
    await this.meta.updateResource<MachineGroupDoc>(MACHINE_GROUP_KIND, `${project}/${group}`, (cur) => {
      if (!cur) throw new SlsError('MachineGroupNotExist', `machine group ${group} does not exist`);
      if (!cur.configs.includes(config)) return cur;
      return { ...cur, configs: cur.configs.filter((c) => c !== config) };
    });
  }

  appliedConfigs(project: string, group: string): readonly string[] {
    return this.getGroup(project, group).configs;
  }

  appliedGroups(project: string, config: string): string[] {
    this.getConfig(project, config);
    return this.listGroups(project)
      .filter((g) => g.configs.includes(config))
      .map((g) => g.groupName);
  }

  /** The groups a machine belongs to. */
  groupsOf(project: string, machine: MachineIdentity): MachineGroupDoc[] {
    return this.listGroups(project).filter((g) => groupMatches(g, machine));
  }

  // ---- Logtail configs

  listConfigs(project: string, nameContains = ''): LogtailConfigDoc[] {
    this.requireProject(project);
    return this.meta
      .listResources<LogtailConfigDoc>(LOGTAIL_CONFIG_KIND, `${project}/`)
      .map((d) => d.value)
      .filter((c) => c.configName.includes(nameContains));
  }

  getConfig(project: string, name: string): LogtailConfigDoc {
    this.requireProject(project);
    const doc = this.meta.getResource<LogtailConfigDoc>(LOGTAIL_CONFIG_KIND, `${project}/${name}`);
    if (!doc) throw new SlsError('ConfigNotExist', `config ${name} does not exist`);
    return doc;
  }

  async createConfig(project: string, body: Record<string, unknown>): Promise<void> {
    this.requireProject(project);
    const name = checkLogtailConfig(body);
    const now = this.now();
    await this.meta.updateResource<LogtailConfigDoc>(LOGTAIL_CONFIG_KIND, `${project}/${name}`, (cur) => {
      if (cur) throw new SlsError('ConfigAlreadyExist', `config ${name} already exists`);
      return { configName: name, detail: stripTimes(body), createTime: now, lastModifyTime: now };
    });
  }

  async updateConfig(project: string, name: string, body: Record<string, unknown>): Promise<void> {
    this.getConfig(project, name);
    // SDKs send the whole config, name included; a body without a name updates the one in the path.
    const withName = body['configName'] === undefined ? { ...body, configName: name } : body;
    if (withName['configName'] !== name)
      throw new SlsError(
        'ParameterInvalid',
        `configName in the body (${JSON.stringify(body['configName'])}) is not ${name}`,
      );
    checkLogtailConfig(withName);
    await this.meta.updateResource<LogtailConfigDoc>(LOGTAIL_CONFIG_KIND, `${project}/${name}`, (cur) => {
      if (!cur) throw new SlsError('ConfigNotExist', `config ${name} does not exist`);
      return { ...cur, detail: stripTimes(withName), lastModifyTime: this.now() };
    });
  }

  /** Deletes the config and removes it from every group it was applied to. */
  async deleteConfig(project: string, name: string): Promise<void> {
    this.getConfig(project, name);
    for (const g of this.listGroups(project)) {
      if (g.configs.includes(name)) await this.removeConfig(project, g.groupName, name);
    }
    await this.meta.updateResource<LogtailConfigDoc>(LOGTAIL_CONFIG_KIND, `${project}/${name}`, (cur) => {
      if (!cur) throw new SlsError('ConfigNotExist', `config ${name} does not exist`);
      return undefined;
    });
  }

  /** GetConfig's answer: the config as posted plus its times. */
  static configJson(doc: LogtailConfigDoc): Record<string, unknown> {
    return {
      ...doc.detail,
      configName: doc.configName,
      createTime: doc.createTime,
      lastModifyTime: doc.lastModifyTime,
    };
  }

  /** GetMachineGroup's answer. */
  static groupJson(doc: MachineGroupDoc): Record<string, unknown> {
    const { configs: _configs, ...rest } = doc;
    return rest;
  }
}

/** A config read back with GetConfig and PUT again carries its old times; they are ours to set. */
function stripTimes(body: Record<string, unknown>): Record<string, unknown> {
  const { createTime: _c, lastModifyTime: _m, ...rest } = body;
  return rest;
}
