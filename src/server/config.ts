import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ProjectQuota } from '../meta/meta-store.js';
import { DEFAULT_COMPACT_DELAY_MS, DEFAULT_COMPACT_LEVEL } from '../storage/shard-log/embedded/options.js';

/**
 * Server configuration: defaults, then the config file, then flags and environment. Validated once at start; every
 * error names the field and what it accepts. Components get the frozen result, never `process.env`.
 */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Host suffixes under which `<project>.<suffix>` names a project (virtual-host addressing). */
  readonly endpoints: readonly string[];
  /** Access key from the environment; when absent one is generated on first start and kept in the data folder. */
  readonly accessKey?: { readonly id: string; readonly secret: string };
  readonly auth: {
    /** Largest allowed difference between the request's Date and the server clock. */
    readonly maxClockSkewMs: number;
  };
  readonly limits: ServerLimits;
  /** Quota given to projects created without one. Unlimited when empty. */
  readonly defaultProjectQuota: ProjectQuota;
  /** Quotas for named projects, applied at start (created projects keep what the API set later). */
  readonly projectQuotas: Readonly<Record<string, ProjectQuota>>;
  readonly console: {
    /** How long a console login lasts. */
    readonly sessionTtlMs: number;
    /** Console users besides access keys (any access key id + secret also logs in). */
    readonly users: readonly { readonly name: string; readonly password: string }[];
  };
  readonly storage: {
    /** fsync before acknowledging. Turning this off gives up durability; only for throwaway test data. */
    readonly fsync: boolean;
    readonly maxFileBytes: number;
    /** zstd level sealed shard-log files are rewritten at, 0 = keep payloads as sent (options.ts). */
    readonly compactLevel: number;
    /** How long after sealing a shard-log file is rewritten, in ms. */
    readonly compactDelayMs: number;
  };
}

export interface ServerLimits {
  /** Largest request body as sent (compressed), bytes. */
  readonly maxBodyBytes: number;
  /** Largest PutLogs body once decompressed, bytes. */
  readonly maxRawBodyBytes: number;
  readonly maxLogsPerGroup: number;
  /** Largest value of one log field, bytes. */
  readonly maxValueBytes: number;
  /** PullLogs `count` upper bound (LogGroups per call). */
  readonly maxPullCount: number;
  /** PullLogs response size bound before compression, bytes. */
  readonly maxPullBytes: number;
  /** Management JSON bodies, bytes. */
  readonly maxJsonBodyBytes: number;
  readonly maxShardsPerLogstore: number;
  /** Time allowed to receive a whole request; a slow client is cut off after it. */
  readonly requestTimeoutMs: number;
  /** Analytic statements (`search | SQL`) executing at once; more wait in line. */
  readonly sqlMaxConcurrent: number;
  /** Analytic statements waiting in line before new ones get ServerBusy. */
  readonly sqlMaxQueued: number;
  /** An analytic statement running longer is interrupted. */
  readonly sqlTimeoutMs: number;
  /** DuckDB memory for all running analytic statements together, MiB. */
  readonly sqlMemoryMiB: number;
  /** DuckDB worker threads. */
  readonly sqlThreads: number;
  /** An agent with no heartbeat for this long shows as `stale` in ListMachines. */
  readonly agentStaleMs: number;
}

export const DEFAULT_PORT = 7000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = './sluice-data';
export const DEFAULT_ENDPOINTS = ['localhost', '127.0.0.1', 'sls.local'] as const;

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxBodyBytes: 10 * 1024 * 1024,
  maxRawBodyBytes: 10 * 1024 * 1024,
  maxLogsPerGroup: 10_000,
  maxValueBytes: 1024 * 1024,
  maxPullCount: 1000,
  maxPullBytes: 32 * 1024 * 1024,
  maxJsonBodyBytes: 1024 * 1024,
  maxShardsPerLogstore: 256,
  requestTimeoutMs: 60_000,
  sqlMaxConcurrent: 2,
  sqlMaxQueued: 32,
  sqlTimeoutMs: 30_000,
  sqlMemoryMiB: 2048,
  sqlThreads: 2,
  agentStaleMs: 30_000,
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** What the CLI collected: flags (already split) and the environment. */
export interface ConfigSources {
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function loadServerConfig(sources: ConfigSources): Promise<ServerConfig> {
  const file = sources.flags['config'];
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`--config: cannot read ${file}: ${(err as Error).message}`);
    }
    fromFile = parseConfigText(text, file);
  }
  return buildServerConfig(fromFile, sources);
}

export function parseConfigText(text: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = extname(name) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `${name}: not valid ${extname(name) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${name}: must be an object`);
  return value as Record<string, unknown>;
}

const KNOWN_KEYS = new Set([
  'host',
  'port',
  'data',
  'endpoints',
  'auth',
  'limits',
  'defaultProjectQuota',
  'projectQuotas',
  'storage',
  'console',
]);

export function buildServerConfig(file: Record<string, unknown>, sources: ConfigSources): ServerConfig {
  for (const key of Object.keys(file)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new ConfigError(`config: unknown field "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
    }
  }
  const { flags, env } = sources;
  const host = flags['host'] ?? optString(file, 'host') ?? DEFAULT_HOST;
  const portText = flags['port'];
  const port =
    portText !== undefined ? parsePort(portText, '--port') : (optInt(file, 'port', 0, 65535) ?? DEFAULT_PORT);
  const dataDir = flags['data'] ?? optString(file, 'data') ?? DEFAULT_DATA_DIR;

  const endpointsRaw = file['endpoints'];
  let endpoints: string[] = [...DEFAULT_ENDPOINTS];
  if (endpointsRaw !== undefined) {
    // A port, scheme or leading dot could never match a Host header (ports are stripped before matching).
    const hostName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
    if (!Array.isArray(endpointsRaw) || !endpointsRaw.every((e) => typeof e === 'string' && hostName.test(e))) {
      throw new ConfigError(
        'config: "endpoints" must be a list of host names without port or scheme, e.g. ["sls.example.com"]',
      );
    }
    endpoints = [...new Set([...endpoints, ...endpointsRaw.map((e) => e.toLowerCase())])];
  }
  if (!endpoints.includes(host.toLowerCase())) endpoints.push(host.toLowerCase());

  const keyId = env['SLUICE_ACCESS_KEY_ID'];
  const keySecret = env['SLUICE_ACCESS_KEY_SECRET'];
  if ((keyId === undefined) !== (keySecret === undefined)) {
    throw new ConfigError('SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET must be set together');
  }
  // An empty value is almost always an unset shell variable (`SLUICE_ACCESS_KEY_SECRET=$SECRET`); accepting it would
  // make the empty string the signing secret.
  if (keyId === '') throw new ConfigError('SLUICE_ACCESS_KEY_ID is set but empty; give it a value or unset both keys');
  if (keySecret === '') {
    throw new ConfigError('SLUICE_ACCESS_KEY_SECRET is set but empty; give it a value or unset both keys');
  }

  const auth = optObject(file, 'auth', ['maxClockSkewSeconds']);
  const maxClockSkewMs = (optInt(auth, 'maxClockSkewSeconds', 0, 86_400, 'auth.') ?? 15 * 60) * 1000;

  const limitsIn = optObject(file, 'limits', Object.keys(DEFAULT_LIMITS));
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    const v = optInt(limitsIn, key, 1, Number.MAX_SAFE_INTEGER, 'limits.');
    if (v !== undefined) limits[key] = v;
  }

  const storageIn = optObject(file, 'storage', ['fsync', 'maxFileBytes', 'compactLevel', 'compactAfterSeconds']);
  const fsync = storageIn['fsync'] === undefined ? true : requireBool(storageIn['fsync'], 'storage.fsync');
  const maxFileBytes = optInt(storageIn, 'maxFileBytes', 1024 * 1024, 2 ** 40, 'storage.') ?? 64 * 1024 * 1024;
  const compactLevel = optInt(storageIn, 'compactLevel', 0, 19, 'storage.') ?? DEFAULT_COMPACT_LEVEL;
  const compactDelayMs =
    (optInt(storageIn, 'compactAfterSeconds', 0, 86_400, 'storage.') ?? DEFAULT_COMPACT_DELAY_MS / 1000) * 1000;

  const consoleIn = optObject(file, 'console', ['sessionTtlSeconds', 'users']);
  const sessionTtlMs = (optInt(consoleIn, 'sessionTtlSeconds', 1, 30 * 86_400, 'console.') ?? 12 * 3600) * 1000;
  const consoleUsers = parseConsoleUsers(consoleIn['users']);

  const defaultProjectQuota = parseQuota(file['defaultProjectQuota'], 'defaultProjectQuota');
  const projectQuotasIn = optObject(file, 'projectQuotas');
  const projectQuotas: Record<string, ProjectQuota> = {};
  for (const [name, q] of Object.entries(projectQuotasIn)) {
    projectQuotas[name] = parseQuota(q, `projectQuotas.${name}`);
  }

  const config: ServerConfig = {
    host,
    port,
    dataDir,
    endpoints,
    ...(keyId !== undefined && keySecret !== undefined ? { accessKey: { id: keyId, secret: keySecret } } : {}),
    auth: { maxClockSkewMs },
    limits: limits as unknown as ServerLimits,
    defaultProjectQuota,
    projectQuotas,
    console: { sessionTtlMs, users: consoleUsers },
    storage: { fsync, maxFileBytes, compactLevel, compactDelayMs },
  };
  return deepFreeze(config);
}

function parseConsoleUsers(value: unknown): { name: string; password: string }[] {
  if (value === undefined) return [];
  const shape = 'config: "console.users" must be a list of {name, password} with non-empty strings';
  if (!Array.isArray(value)) throw new ConfigError(shape);
  const users = value.map((u: unknown) => {
    if (typeof u !== 'object' || u === null) throw new ConfigError(shape);
    const { name, password, ...rest } = u as Record<string, unknown>;
    if (typeof name !== 'string' || name === '' || typeof password !== 'string' || password === '') {
      throw new ConfigError(shape);
    }
    if (Object.keys(rest).length > 0)
      throw new ConfigError(`config: unknown field "console.users[].${Object.keys(rest)[0]}"`);
    return { name, password };
  });
  if (new Set(users.map((u) => u.name)).size !== users.length) {
    throw new ConfigError('config: "console.users" names a user twice');
  }
  return users;
}

const QUOTA_KEYS = ['writeBytesPerSec', 'writeRequestsPerSec', 'shardWriteBytesPerSec'] as const;

/** Validates a quota object (config file or API body). Missing or null fields mean unlimited. */
export function parseQuota(value: unknown, where: string): ProjectQuota {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${where} must be an object with any of ${QUOTA_KEYS.join(', ')}`);
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of Object.keys(obj)) {
    if (!(QUOTA_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`${where}: unknown field "${key}" (known: ${QUOTA_KEYS.join(', ')})`);
    }
    const v = obj[key];
    if (v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${where}.${key} must be a positive number (or null for unlimited)`);
    }
    out[key] = v;
  }
  return out;
}

function parsePort(text: string, where: string): number {
  // Decimal digits only: Number() would read '' and ' ' as 0 (any free port, so `--port "$PORT"` with PORT unset
  // silently listens somewhere random) and accept '0x1f90' or '1e3'.
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${where} must be a port number 0-65535`);
  return n;
}

function optString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`config: "${key}" must be a non-empty string`);
  return v;
}

function optInt(obj: Record<string, unknown>, key: string, min: number, max: number, prefix = ''): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`config: "${prefix}${key}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

function requireBool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`config: "${where}" must be true or false`);
  return v;
}

function optObject(obj: Record<string, unknown>, key: string, allowed?: readonly string[]): Record<string, unknown> {
  const v = obj[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(`config: "${key}" must be an object`);
  const out = v as Record<string, unknown>;
  if (allowed) {
    for (const k of Object.keys(out)) {
      if (!allowed.includes(k)) {
        throw new ConfigError(`config: unknown field "${key}.${k}" (known: ${allowed.join(', ')})`);
      }
    }
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
