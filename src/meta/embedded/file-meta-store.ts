import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SlsError } from '../../protocol/errors.js';
import type { AccessKey, LogstoreMeta, MetaStore, ProjectMeta, ShardMeta, ShardMutation } from '../meta-store.js';
import { readFileIfExists, writeFileAtomic } from './snapshot-file.js';

const SNAPSHOT_FILE = 'meta.json';
const FORMAT_VERSION = 1;

interface LogstoreEntry {
  readonly meta: LogstoreMeta;
  readonly shards: readonly ShardMeta[];
}

interface ProjectEntry {
  readonly meta: ProjectMeta;
  readonly logstores: ReadonlyMap<string, LogstoreEntry>;
}

type Resources = ReadonlyMap<string, ReadonlyMap<string, unknown>>;

interface State {
  readonly projects: ReadonlyMap<string, ProjectEntry>;
  readonly accessKeys: ReadonlyMap<string, AccessKey>;
  /** kind → key → document. */
  readonly resources: Resources;
}

interface SnapshotJson {
  version: number;
  projects: { meta: ProjectMeta; logstores: LogstoreEntry[] }[];
  accessKeys: AccessKey[];
  resources?: Record<string, Record<string, unknown>>;
}

/**
 * MetaStore on one JSON snapshot in the data folder, rewritten atomically on every change. Metadata is small
 * (projects, logstores, shards: kilobytes to a few megabytes) and changes rarely, so a whole-file rewrite keeps
 * recovery trivial: the file on disk is always one complete, consistent state.
 *
 * Changes are serialized; each builds a new immutable state, persists it, and only then becomes visible, so readers
 * never see a change that a crash could take back.
 */
export class FileMetaStore implements MetaStore {
  private state: State;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly path: string,
    state: State,
  ) {
    this.state = state;
  }

  static async open(dir: string): Promise<FileMetaStore> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, SNAPSHOT_FILE);
    // A process killed between writing its temp snapshot and renaming it leaves the temp file behind; the rename
    // never happened, so meta.json is the whole truth and the leftover is garbage.
    for (const name of await readdir(dir)) {
      if (name.startsWith(`${SNAPSHOT_FILE}.tmp-`)) await unlink(join(dir, name)).catch(() => {});
    }
    const text = await readFileIfExists(path);
    return new FileMetaStore(path, text === undefined ? emptyState() : parseSnapshot(text, path));
  }

  listProjects(): readonly ProjectMeta[] {
    return [...this.state.projects.values()].map((p) => p.meta);
  }

  getProject(name: string): ProjectMeta | undefined {
    return this.state.projects.get(name)?.meta;
  }

  createProject(project: ProjectMeta): Promise<void> {
    return this.change((s) => {
      if (s.projects.has(project.name)) {
        throw new SlsError('ProjectAlreadyExist', `Project ${project.name} already exist`);
      }
      return withProject(s, project.name, { meta: project, logstores: new Map() });
    });
  }

  updateProject(name: string, change: Partial<Pick<ProjectMeta, 'description' | 'quota'>>): Promise<ProjectMeta> {
    let updated: ProjectMeta | undefined;
    return this.change((s) => {
      const entry = requireProject(s, name);
      updated = { ...entry.meta, ...change, lastModifyTime: nowSec() };
      return withProject(s, name, { ...entry, meta: updated });
    }).then(() => updated!);
  }

  deleteProject(name: string): Promise<void> {
    return this.change((s) => {
      requireProject(s, name);
      const projects = new Map(s.projects);
      projects.delete(name);
      return { ...s, projects, resources: withoutPrefix(s.resources, `${name}/`) };
    });
  }

  listLogstores(project: string): readonly LogstoreMeta[] {
    const entry = this.state.projects.get(project);
    return entry ? [...entry.logstores.values()].map((l) => l.meta) : [];
  }

  getLogstore(project: string, name: string): LogstoreMeta | undefined {
    return this.state.projects.get(project)?.logstores.get(name)?.meta;
  }

  createLogstore(logstore: LogstoreMeta, shards: readonly ShardMeta[]): Promise<void> {
    return this.change((s) => {
      const entry = requireProject(s, logstore.project);
      if (entry.logstores.has(logstore.name)) {
        throw new SlsError('LogStoreAlreadyExist', `logstore ${logstore.name} already exists`);
      }
      return withLogstore(s, entry, logstore.name, { meta: logstore, shards });
    });
  }

  updateLogstore(
    project: string,
    name: string,
    change: Partial<Omit<LogstoreMeta, 'project' | 'name' | 'createTime'>>,
  ): Promise<LogstoreMeta> {
    let updated: LogstoreMeta | undefined;
    return this.change((s) => {
      const entry = requireProject(s, project);
      const ls = requireLogstore(entry, name);
      updated = { ...ls.meta, ...change, lastModifyTime: nowSec() };
      return withLogstore(s, entry, name, { ...ls, meta: updated });
    }).then(() => updated!);
  }

  deleteLogstore(project: string, name: string): Promise<void> {
    return this.change((s) => {
      const entry = requireProject(s, project);
      requireLogstore(entry, name);
      const logstores = new Map(entry.logstores);
      logstores.delete(name);
      const next = withProject(s, project, { ...entry, logstores });
      return { ...next, resources: withoutPrefix(s.resources, `${project}/${name}/`) };
    });
  }

  listShards(project: string, logstore: string): readonly ShardMeta[] {
    return this.state.projects.get(project)?.logstores.get(logstore)?.shards ?? [];
  }

  mutateShards(project: string, logstore: string, mutate: ShardMutation): Promise<readonly ShardMeta[]> {
    let shards: readonly ShardMeta[] = [];
    return this.change((s) => {
      const entry = requireProject(s, project);
      const ls = requireLogstore(entry, logstore);
      shards = mutate(ls.shards);
      return withLogstore(s, entry, logstore, { ...ls, shards });
    }).then(() => shards);
  }

  getResource<T>(kind: string, key: string): T | undefined {
    return this.state.resources.get(kind)?.get(key) as T | undefined;
  }

  listResources<T>(kind: string, prefix: string): readonly { readonly key: string; readonly value: T }[] {
    const docs = this.state.resources.get(kind);
    if (!docs) return [];
    const out: { key: string; value: T }[] = [];
    for (const [key, value] of docs) if (key.startsWith(prefix)) out.push({ key, value: value as T });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  updateResource<T>(
    kind: string,
    key: string,
    update: (current: T | undefined) => T | undefined,
  ): Promise<T | undefined> {
    let result: T | undefined;
    return this.change((s) => {
      const docs = new Map(s.resources.get(kind));
      result = update(docs.get(key) as T | undefined);
      if (result === undefined) docs.delete(key);
      else docs.set(key, result);
      const resources = new Map(s.resources);
      resources.set(kind, docs);
      return { ...s, resources };
    }).then(() => result);
  }

  listAccessKeys(): readonly AccessKey[] {
    return [...this.state.accessKeys.values()];
  }

  getAccessKey(id: string): AccessKey | undefined {
    return this.state.accessKeys.get(id);
  }

  putAccessKey(key: AccessKey): Promise<void> {
    return this.change((s) => {
      const accessKeys = new Map(s.accessKeys);
      accessKeys.set(key.id, key);
      return { ...s, accessKeys };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => {});
  }

  /** Serializes changes: compute the next state, persist it, then publish it. */
  private change(apply: (s: State) => State): Promise<void> {
    // Refuse at call time, not when the queued change runs: close() drains the queue, so a change accepted before
    // close() must still complete rather than fail with ServerBusy.
    if (this.closed) return Promise.reject(new SlsError('ServerBusy', 'metadata store is closed'));
    const run = async (): Promise<void> => {
      const next = apply(this.state);
      await writeFileAtomic(this.path, serialize(next));
      this.state = next;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function emptyState(): State {
  return { projects: new Map(), accessKeys: new Map(), resources: new Map() };
}

function withoutPrefix(resources: Resources, prefix: string): Resources {
  const out = new Map<string, ReadonlyMap<string, unknown>>();
  for (const [kind, docs] of resources) {
    out.set(kind, new Map([...docs].filter(([key]) => !key.startsWith(prefix))));
  }
  return out;
}

function requireProject(s: State, name: string): ProjectEntry {
  const entry = s.projects.get(name);
  if (!entry) throw new SlsError('ProjectNotExist', `The Project does not exist : ${name}`);
  return entry;
}

function requireLogstore(project: ProjectEntry, name: string): LogstoreEntry {
  const entry = project.logstores.get(name);
  if (!entry) throw new SlsError('LogStoreNotExist', `logstore ${name} does not exist`);
  return entry;
}

function withProject(s: State, name: string, entry: ProjectEntry): State {
  const projects = new Map(s.projects);
  projects.set(name, entry);
  return { ...s, projects };
}

function withLogstore(s: State, project: ProjectEntry, name: string, entry: LogstoreEntry): State {
  const logstores = new Map(project.logstores);
  logstores.set(name, entry);
  return withProject(s, project.meta.name, { ...project, logstores });
}

function serialize(s: State): string {
  const json: SnapshotJson = {
    version: FORMAT_VERSION,
    projects: [...s.projects.values()].map((p) => ({ meta: p.meta, logstores: [...p.logstores.values()] })),
    accessKeys: [...s.accessKeys.values()],
    resources: Object.fromEntries([...s.resources].map(([kind, docs]) => [kind, Object.fromEntries(docs)])),
  };
  return JSON.stringify(json);
}

function parseSnapshot(text: string, path: string): State {
  let json: SnapshotJson;
  try {
    json = JSON.parse(text) as SnapshotJson;
  } catch (err) {
    throw new Error(`metadata file ${path} is not valid JSON; restore it from a backup`, { cause: err });
  }
  // Valid JSON of the wrong shape (`null`, `[]`, a hand-edited file) would otherwise fail below with a bare TypeError
  // that does not say which file is damaged.
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`metadata file ${path} is not a metadata snapshot object; restore it from a backup`);
  }
  if (json.version !== FORMAT_VERSION) {
    throw new Error(`metadata file ${path} has format version ${json.version}, this build reads ${FORMAT_VERSION}`);
  }
  if (!Array.isArray(json.projects) || !Array.isArray(json.accessKeys)) {
    throw new Error(`metadata file ${path} lacks its "projects" or "accessKeys" list; restore it from a backup`);
  }
  const projects = new Map<string, ProjectEntry>();
  for (const p of json.projects) {
    projects.set(p.meta.name, { meta: p.meta, logstores: new Map(p.logstores.map((l) => [l.meta.name, l])) });
  }
  const resources = new Map<string, ReadonlyMap<string, unknown>>();
  for (const [kind, docs] of Object.entries(json.resources ?? {})) resources.set(kind, new Map(Object.entries(docs)));
  return { projects, accessKeys: new Map(json.accessKeys.map((k) => [k.id, k])), resources };
}
