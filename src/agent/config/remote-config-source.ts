/**
 * Configs from the server (docs/api.md "Agent heartbeat"): the agent posts its identity and status to
 * `POST /logtail/heartbeat` and gets back the configs of every machine group it belongs to, with an etag so an
 * unchanged set is answered without them. The last set received is cached in the data folder, so an agent restarted
 * while the server is down still collects.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlsClient, SlsClientError } from '../../client/sls-client.js';
import { writeFileDurable } from '../checkpoint/durable-file.js';
import { ConfigFieldError } from './config-error.js';
import { type CollectionConfig, parseCollectionConfig } from './logtail-config.js';

/** Reported in heartbeats (ListMachines' `version`). */
export const AGENT_VERSION = 'sluice-agent/0.1';

/** Where Logtail reads its user-defined ids from (one per line); `--user-defined-id-file` overrides it. */
export const LOGTAIL_USER_DEFINED_ID_FILE = '/etc/ilogtail/user_defined_id';

export interface RemoteConfigOptions {
  readonly endpoint: string;
  readonly project: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly dataDir: string;
  readonly ip: string;
  readonly hostname: string;
  /** Ids given on the command line. */
  readonly userDefinedIds: readonly string[];
  /** Read at every heartbeat (so editing it takes effect without a restart); a missing file adds no ids. */
  readonly userDefinedIdFile?: string;
  readonly version: string;
  readonly timeoutMs: number;
}

/** One config as the server sent it: `key` changes exactly when the config does. */
export interface RemoteConfig {
  readonly name: string;
  readonly key: string;
  /** Undefined when the agent's parser refused it (the server checks with the same parser, so rarely). */
  readonly config?: CollectionConfig;
  readonly error?: string;
}

export interface RemoteConfigSet {
  readonly etag: string;
  readonly configs: readonly RemoteConfig[];
}

interface CacheFile {
  readonly etag: string;
  readonly configs: readonly Record<string, unknown>[];
}

/** What the server keeps for the console (docs/api.md); built by the agent. */
export interface HeartbeatStatus {
  readonly configs: readonly Record<string, unknown>[];
  readonly files: readonly Record<string, unknown>[];
  readonly counters: Readonly<Record<string, unknown>>;
}

export class RemoteConfigSource {
  readonly instanceId: string;
  private readonly client: SlsClient;
  private readonly cachePath: string;
  private etag = '';

  constructor(private readonly o: RemoteConfigOptions) {
    this.cachePath = join(o.dataDir, 'remote-configs.json');
    // The data folder may not exist yet (`--data ./agent-data` on a first start): the id is written before the agent
    // itself creates the folder.
    mkdirSync(o.dataDir, { recursive: true });
    this.instanceId = loadInstanceId(join(o.dataDir, 'instance-id'));
    this.client = new SlsClient({
      endpoint: o.endpoint,
      accessKeyId: o.accessKeyId,
      accessKeySecret: o.accessKeySecret,
      maxSockets: 1,
      timeoutMs: o.timeoutMs,
    });
  }

  /** The set cached by the last successful heartbeat, or undefined when there is none. */
  cached(): RemoteConfigSet | undefined {
    let file: CacheFile;
    try {
      file = JSON.parse(readFileSync(this.cachePath, 'utf8')) as CacheFile;
    } catch {
      return undefined;
    }
    if (typeof file.etag !== 'string' || !Array.isArray(file.configs)) return undefined;
    this.etag = file.etag;
    return { etag: file.etag, configs: file.configs.map(toRemoteConfig) };
  }

  userDefinedIds(): string[] {
    const ids = [...this.o.userDefinedIds];
    const file = this.o.userDefinedIdFile;
    if (file !== undefined && existsSync(file)) {
      try {
        for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) if (line.trim() !== '') ids.push(line.trim());
      } catch {
        // unreadable: no ids from it this time
      }
    }
    return [...new Set(ids)];
  }

  /**
   * One heartbeat. Resolves with the new set when it changed (and caches it), undefined when unchanged; rejects when
   * the server is unreachable or refuses.
   */
  async heartbeat(status: HeartbeatStatus): Promise<RemoteConfigSet | undefined> {
    const body = {
      instanceId: this.instanceId,
      ip: this.o.ip,
      hostname: this.o.hostname,
      userDefinedIds: this.userDefinedIds(),
      version: this.o.version,
      configEtag: this.etag,
      status,
    };
    const res = await this.client.send({
      method: 'POST',
      project: this.o.project,
      path: '/logtail/heartbeat',
      body: Buffer.from(JSON.stringify(body)),
    });
    if (res.status !== 200) throw SlsClientError.from(res);
    const answer = JSON.parse(res.body.toString('utf8')) as {
      etag?: unknown;
      changed?: unknown;
      configs?: unknown;
    };
    if (typeof answer.etag !== 'string') throw new Error('heartbeat answer without an etag');
    if (answer.changed === false && answer.etag === this.etag) return undefined;
    if (!Array.isArray(answer.configs)) throw new Error('heartbeat answer without configs');
    const raw = answer.configs as Record<string, unknown>[];
    writeFileDurable(this.cachePath, JSON.stringify({ etag: answer.etag, configs: raw } satisfies CacheFile));
    this.etag = answer.etag;
    return { etag: answer.etag, configs: raw.map(toRemoteConfig) };
  }

  close(): void {
    this.client.close();
  }
}

function toRemoteConfig(raw: Record<string, unknown>): RemoteConfig {
  // The server's times are not part of the config: a PUT of the same body must not reload it.
  const { lastModifyTime: _m, createTime: _c, ...detail } = raw;
  const name = typeof detail['configName'] === 'string' ? detail['configName'] : '?';
  const key = JSON.stringify(detail);
  try {
    return { name, key, config: parseCollectionConfig(detail) };
  } catch (err) {
    const msg = err instanceof ConfigFieldError ? err.message : String(err);
    return { name, key, error: msg };
  }
}

/** The agent's `machine-uniqueid`: made once, kept in the data folder. */
function loadInstanceId(path: string): string {
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_.:-]{1,128}$/.test(id)) return id;
  } catch {
    // first start
  }
  const id = randomUUID();
  writeFileDurable(path, id);
  return id;
}
