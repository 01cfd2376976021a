/**
 * Everything under `/console`: the static bundle (web/, built into dist/console), the login endpoints, and the gate
 * through which the console reaches the ordinary API routes.
 *
 * - `/console/auth/login|logout|session`: session cookie in and out (see session.ts).
 * - `/console/api/<path>`: the SLS route at `<path>`, run as the session's user. The browser cannot choose the Host
 *   header, so the project comes from `x-sluice-project` instead of the virtual host. Requires the session cookie,
 *   the CSRF token in `x-sluice-csrf`, and — when the browser says where the request comes from (`Origin`,
 *   `Sec-Fetch-Site`) — the same origin. Signed API requests are untouched: this is a second way in, not a weaker one.
 * - anything else under `/console`: a file of the bundle; paths without a file fall back to index.html (client-side
 *   routes). Hashed assets are cached for a year, index.html is revalidated every time.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlsError } from '../../protocol/errors.js';
import { isValidProjectName } from '../../protocol/names.js';
import type { Reply } from '../router.js';
import {
  type ConsoleUser,
  CSRF_HEADER,
  checkLogin,
  cookieValue,
  SESSION_COOKIE,
  type Session,
  type SessionKeys,
} from './session.js';

export const PROJECT_HEADER = 'x-sluice-project';
const LOGIN_BODY_MAX = 16 * 1024;
/** Failed logins allowed from one address per window before further attempts are refused unchecked. */
const LOGIN_FAILURES_MAX = 10;
const LOGIN_WINDOW_MS = 5 * 60_000;
const LOGIN_TRACKED_MAX = 10_000;

/** dist/console, beside the compiled server (dist/src/server/console/ → dist/console/). */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

export interface ConsoleRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readBody(maxBytes: number): Promise<Buffer>;
}

export type ConsoleOutcome =
  | { readonly reply: Reply }
  | { readonly api: { readonly path: string; readonly project: string | undefined; readonly session: Session } };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

export class ConsoleFront {
  /** Failed logins per client address: guessing a password or secret online is slowed to 10 tries per 5 minutes. */
  private readonly failures = new Map<string, { count: number; since: number }>();

  private constructor(
    private readonly keys: SessionKeys,
    private readonly files: ReadonlyMap<string, Buffer>,
    private readonly secretOf: (accessKeyId: string) => string | undefined,
    private readonly users: readonly ConsoleUser[],
  ) {}

  /** Loads the bundle into memory (a few hundred KiB); an unbuilt bundle leaves only the API gate working. */
  static async open(options: {
    readonly keys: SessionKeys;
    readonly bundleDir?: string;
    readonly secretOf: (accessKeyId: string) => string | undefined;
    readonly users: readonly ConsoleUser[];
  }): Promise<ConsoleFront> {
    const dir = options.bundleDir ?? DEFAULT_BUNDLE_DIR;
    const files = new Map<string, Buffer>();
    for (const file of await listFiles(dir)) {
      files.set(relative(dir, file).split(sep).join('/'), await readFile(file));
    }
    return new ConsoleFront(options.keys, files, options.secretOf, options.users);
  }

  async handle(req: ConsoleRequest): Promise<ConsoleOutcome> {
    const { method, path } = req;
    if (path === '/console/auth/login') {
      if (method !== 'POST') throw new SlsError('MethodNotAllowed', `method ${method} is not allowed on ${path}`);
      return { reply: await this.login(req) };
    }
    if (path === '/console/auth/logout') {
      if (method !== 'POST') throw new SlsError('MethodNotAllowed', `method ${method} is not allowed on ${path}`);
      const session = this.session(req.headers);
      this.checkCsrf(req.headers, session);
      this.keys.revoke(session);
      return { reply: { json: {}, headers: { 'set-cookie': cookieHeader('', 0), 'cache-control': 'no-store' } } };
    }
    if (path === '/console/auth/session') {
      if (method !== 'GET') throw new SlsError('MethodNotAllowed', `method ${method} is not allowed on ${path}`);
      this.checkOrigin(req.headers);
      const session = this.session(req.headers);
      return { reply: { json: this.sessionJson(session), headers: { 'cache-control': 'no-store' } } };
    }
    if (path.startsWith('/console/api/')) {
      const session = this.session(req.headers);
      this.checkCsrf(req.headers, session);
      const projectHeader = req.headers[PROJECT_HEADER];
      const project = typeof projectHeader === 'string' && projectHeader !== '' ? projectHeader : undefined;
      if (project !== undefined && !isValidProjectName(project)) {
        throw new SlsError('ParameterInvalid', `${PROJECT_HEADER}: ${JSON.stringify(project)} is not a project name`);
      }
      return { api: { path: path.slice('/console/api'.length), project, session } };
    }
    if (method !== 'GET' && method !== 'HEAD') {
      throw new SlsError('MethodNotAllowed', `method ${method} is not allowed on ${path}`);
    }
    return { reply: this.staticFile(path) };
  }

  private async login(req: ConsoleRequest): Promise<Reply> {
    this.checkOrigin(req.headers);
    const now = Date.now();
    const seen = this.failures.get(req.clientIp);
    if (seen && now - seen.since > LOGIN_WINDOW_MS) this.failures.delete(req.clientIp);
    else if (seen && seen.count >= LOGIN_FAILURES_MAX) {
      const wait = Math.ceil((seen.since + LOGIN_WINDOW_MS - now) / 1000);
      throw new SlsError('Unauthorized', `too many failed logins from this address; try again in ${wait} s`);
    }
    const raw = await req.readBody(LOGIN_BODY_MAX);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SlsError('PostBodyInvalid', 'login body must be JSON');
    }
    const result = checkLogin(body, this.secretOf, this.users);
    if ('error' in result) {
      this.countFailure(req.clientIp, now);
      throw new SlsError('Unauthorized', result.error);
    }
    this.failures.delete(req.clientIp);
    const { cookie, session } = this.keys.issue(result.user, result.kind);
    return {
      json: this.sessionJson(session),
      headers: { 'set-cookie': cookieHeader(cookie, Math.floor(this.keys.ttlMs / 1000)), 'cache-control': 'no-store' },
    };
  }

  private countFailure(ip: string, now: number): void {
    const seen = this.failures.get(ip);
    if (seen) {
      seen.count++;
      return;
    }
    if (this.failures.size >= LOGIN_TRACKED_MAX) {
      for (const [k, v] of this.failures) if (now - v.since > LOGIN_WINDOW_MS) this.failures.delete(k);
      if (this.failures.size >= LOGIN_TRACKED_MAX) this.failures.delete(this.failures.keys().next().value!);
    }
    this.failures.set(ip, { count: 1, since: now });
  }

  private sessionJson(session: Session): unknown {
    return { user: session.user, kind: session.kind, expires: session.exp, csrfToken: this.keys.csrfToken(session) };
  }

  private session(headers: IncomingHttpHeaders): Session {
    const s = this.keys.verify(cookieValue(headers.cookie, SESSION_COOKIE));
    if (s === 'missing') throw new SlsError('Unauthorized', 'not logged in to the console');
    if (s === 'invalid') throw new SlsError('Unauthorized', 'the console session cookie is not valid; log in again');
    if (s === 'expired') throw new SlsError('Unauthorized', 'the console session has expired; log in again');
    return s;
  }

  private checkCsrf(headers: IncomingHttpHeaders, session: Session): void {
    this.checkOrigin(headers);
    const token = headers[CSRF_HEADER];
    if (!this.keys.checkCsrf(session, typeof token === 'string' ? token : undefined)) {
      throw new SlsError('Unauthorized', `missing or wrong ${CSRF_HEADER} token; reload the console`);
    }
  }

  /** Refuses requests a browser marks as coming from another site. */
  private checkOrigin(headers: IncomingHttpHeaders): void {
    const site = headers['sec-fetch-site'];
    if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
      throw new SlsError('Unauthorized', `cross-site console request refused (Sec-Fetch-Site: ${site})`);
    }
    const origin = headers.origin;
    if (typeof origin === 'string' && origin !== 'null') {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        throw new SlsError('Unauthorized', `cross-site console request refused (Origin: ${origin})`);
      }
      if (host !== headers.host) {
        throw new SlsError('Unauthorized', `cross-site console request refused (Origin: ${origin})`);
      }
    } else if (origin === 'null') {
      throw new SlsError('Unauthorized', 'cross-site console request refused (Origin: null)');
    }
  }

  private staticFile(path: string): Reply {
    const rel = path === '/console' ? '' : path.slice('/console/'.length);
    let name = rel === '' ? 'index.html' : decodeURIComponentSafe(rel);
    let file = name.includes('..') ? undefined : this.files.get(name);
    if (file === undefined && extname(name) === '') {
      name = 'index.html'; // a client-side route: the app decides what to show
      file = this.files.get(name);
    }
    if (file === undefined) {
      if (this.files.size === 0) {
        return {
          status: 503,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: Buffer.from('The console bundle is not built: run `npm run build`.\n'),
        };
      }
      return {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: Buffer.from('not found\n'),
      };
    }
    const immutable = name.startsWith('assets/');
    return {
      headers: {
        'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...SECURITY_HEADERS,
      },
      body: file,
    };
  }
}

function cookieHeader(value: string, maxAgeSec: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
