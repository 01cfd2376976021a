/**
 * The console's one way to the server: `/console/api/<SLS path>` with the session cookie (sent by the browser), the
 * CSRF token in `x-sluice-csrf`, and the project in `x-sluice-project` (a browser cannot set the SLS Host header).
 * Errors arrive as SLS error JSON and are thrown as ApiError with the code and message.
 */

export interface SessionInfo {
  readonly user: string;
  readonly kind: 'user' | 'accessKey';
  readonly expires: number;
  readonly csrfToken: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onLoggedOut: () => void = () => {};

export function setSession(session: SessionInfo | undefined, loggedOut?: () => void): void {
  csrfToken = session?.csrfToken ?? '';
  if (loggedOut) onLoggedOut = loggedOut;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { errorCode?: string; errorMessage?: string };
    return new ApiError(res.status, j.errorCode ?? String(res.status), j.errorMessage ?? text);
  } catch {
    return new ApiError(res.status, String(res.status), text || res.statusText);
  }
}

export async function login(body: Record<string, string>): Promise<SessionInfo> {
  const res = await fetch('/console/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as SessionInfo;
}

export async function currentSession(): Promise<SessionInfo | undefined> {
  const res = await fetch('/console/auth/session');
  if (res.status === 401) return undefined;
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as SessionInfo;
}

export async function logout(): Promise<void> {
  await fetch('/console/auth/logout', { method: 'POST', headers: { 'x-sluice-csrf': csrfToken } });
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly project?: string | undefined;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

export interface ApiResponse<T> {
  readonly data: T;
  readonly headers: Headers;
}

export async function call<T>(path: string, o: CallOptions = {}): Promise<ApiResponse<T>> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) qs.set(k, String(v));
  const headers: Record<string, string> = { 'x-sluice-csrf': csrfToken };
  if (o.project) headers['x-sluice-project'] = o.project;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const q = qs.toString();
  const res = await fetch(`/console/api${path}${q ? `?${q}` : ''}`, {
    method: o.method ?? 'GET',
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401) onLoggedOut();
    throw err;
  }
  const text = await res.text();
  return { data: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

export async function get<T>(path: string, o: CallOptions = {}): Promise<T> {
  return (await call<T>(path, o)).data;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

// ---- SLS shapes used by the pages ----

export interface ProjectInfo {
  readonly projectName: string;
  readonly description: string;
  readonly quota?: Record<string, number>;
}

export interface LogstoreInfo {
  readonly logstoreName: string;
  readonly ttl: number;
  readonly shardCount: number;
  readonly autoSplit?: boolean;
  readonly maxSplitShard?: number;
}

export interface ShardInfo {
  readonly shardID: number;
  readonly status: string;
  readonly inclusiveBeginKey: string;
  readonly exclusiveEndKey: string;
  readonly createTime: number;
}

export interface IndexKey {
  type: 'text' | 'long' | 'double' | 'json';
  token?: string[];
  caseSensitive?: boolean;
  doc_value?: boolean;
  alias?: string;
  chn?: boolean;
}

export interface IndexConfig {
  line?: { token: string[]; caseSensitive?: boolean; chn?: boolean; include_keys?: string[]; exclude_keys?: string[] };
  keys?: Record<string, IndexKey>;
}

export interface HistogramBucket {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly progress: string;
}

export interface MachineInfo {
  readonly ip: string;
  readonly 'machine-uniqueid': string;
  readonly 'userdefined-id': string;
  readonly lastHeartbeatTime: number;
  readonly hostname?: string;
  readonly state?: string;
  readonly heartbeatAgeSec?: number;
  readonly version?: string;
  readonly groups?: string[];
  readonly status?: { configs: number; files: number; lagBytes: number; errors: number; droppedBytes: number };
}

export interface MachineDetail extends MachineInfo {
  readonly detail?: {
    configs?: {
      configName: string;
      logstore?: string;
      /** running, starting (waiting for its logstore), refused (the agent could not use it) */
      state?: string;
      files?: number;
      readBytes?: number;
      lagBytes?: number;
      errors?: number;
      lastError?: string;
      droppedBytes?: number;
    }[];
    files?: {
      configName: string;
      path: string;
      size?: number;
      offset?: number;
      committed?: number;
      lagBytes?: number;
      rotated?: boolean;
      errors?: number;
      lastError?: string;
    }[];
    counters?: Record<string, number>;
  };
}

export interface MachineGroupInfo {
  groupName: string;
  groupType?: string;
  machineIdentifyType: 'ip' | 'userdefined';
  groupAttribute?: { externalName?: string; groupTopic?: string };
  machineList: string[];
}

export interface LogtailConfig {
  configName: string;
  inputType: 'file';
  inputDetail: Record<string, unknown>;
  outputDetail: { logstoreName: string; compressType?: string };
  logSample?: string;
}

export interface PreviewLog {
  readonly raw: string;
  readonly status: 'parsed' | 'unmatched' | 'filtered';
  readonly fields?: readonly (readonly [string, string])[];
  readonly time?: number;
  readonly timeError?: string;
}

export interface PreviewResult {
  readonly logs: readonly PreviewLog[];
  readonly suggestion?: {
    readonly regex: string;
    readonly keys: readonly string[];
    readonly timeKey?: string;
    readonly timeFormat?: string;
  };
}

export interface UsageInfo {
  readonly projectName: string;
  readonly quota: Record<string, number>;
  readonly logstores: readonly {
    logstoreName: string;
    ttl: number;
    readwriteShards: number;
    readonlyShards: number;
    logGroups: number;
    storedBytes: number;
    indexBytes: number;
  }[];
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
