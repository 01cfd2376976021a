/**
 * Console sessions: a signed, expiring cookie instead of per-request signatures (a browser cannot hold the secret
 * safely). The cookie is `v1.<payload>.<mac>`, payload = base64url JSON {u: who, k: how, exp: unix ms, n: nonce},
 * mac = HMAC-SHA256 over `v1.<payload>` with a key kept in the data folder (sessions survive restarts). The CSRF token
 * is derived from the nonce with the same key, so it needs no server state; the page receives it from login (or
 * `GET /console/auth/session`, readable same-origin only) and must echo it in `x-sluice-csrf` on every API call.
 * Logout revokes the nonce until the cookie would have expired anyway.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const SESSION_COOKIE = 'sluice_console';
export const CSRF_HEADER = 'x-sluice-csrf';

export interface Session {
  /** Who logged in: the user name, or the access key id. */
  readonly user: string;
  readonly kind: 'user' | 'accessKey';
  /** Expiry, unix ms. */
  readonly exp: number;
  readonly nonce: string;
}

export interface ConsoleUser {
  readonly name: string;
  readonly password: string;
}

export class SessionKeys {
  private readonly revoked = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key in `file` (32 random bytes, created on first use, readable by the owner only). */
  static async open(file: string, ttlMs: number, now: () => number = Date.now): Promise<SessionKeys> {
    let key: Buffer;
    try {
      key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
      if (key.length < 32) throw new Error(`${file}: session key too short`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      key = randomBytes(32);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${key.toString('base64url')}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
    }
    return new SessionKeys(key, ttlMs, now);
  }

  issue(user: string, kind: Session['kind']): { cookie: string; session: Session } {
    const session: Session = { user, kind, exp: this.now() + this.ttlMs, nonce: randomBytes(16).toString('base64url') };
    const payload = Buffer.from(JSON.stringify({ u: user, k: kind, exp: session.exp, n: session.nonce })).toString(
      'base64url',
    );
    const signed = `v1.${payload}`;
    return { cookie: `${signed}.${this.mac(signed)}`, session };
  }

  /** The session a cookie value stands for, or why not. Constant-time on the MAC. */
  verify(cookie: string | undefined): Session | 'missing' | 'invalid' | 'expired' {
    if (cookie === undefined || cookie === '') return 'missing';
    const parts = cookie.split('.');
    if (parts.length !== 3 || parts[0] !== 'v1') return 'invalid';
    const signed = `${parts[0]}.${parts[1]}`;
    if (!equalText(this.mac(signed), parts[2]!)) return 'invalid';
    let p: { u?: unknown; k?: unknown; exp?: unknown; n?: unknown };
    try {
      p = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof p;
    } catch {
      return 'invalid';
    }
    if (
      typeof p.u !== 'string' ||
      (p.k !== 'user' && p.k !== 'accessKey') ||
      typeof p.exp !== 'number' ||
      typeof p.n !== 'string'
    ) {
      return 'invalid';
    }
    if (p.exp <= this.now() || this.revoked.has(p.n)) return 'expired';
    return { user: p.u, kind: p.k, exp: p.exp, nonce: p.n };
  }

  csrfToken(session: Session): string {
    return this.mac(`csrf.${session.nonce}`);
  }

  checkCsrf(session: Session, token: string | undefined): boolean {
    return token !== undefined && equalText(this.csrfToken(session), token);
  }

  revoke(session: Session): void {
    const now = this.now();
    for (const [n, exp] of this.revoked) if (exp <= now) this.revoked.delete(n);
    this.revoked.set(session.nonce, session.exp);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/**
 * Compares two secrets in time independent of where they differ and of their lengths (both are hashed first, so
 * `timingSafeEqual` always sees 32 bytes).
 */
export function equalText(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Checks a login. Access key: the secret of that id; user: the configured password. An unknown id or user is
 * compared against a random value, so a miss costs the same as a wrong secret.
 */
export function checkLogin(
  body: unknown,
  secretOf: (accessKeyId: string) => string | undefined,
  users: readonly ConsoleUser[],
): { user: string; kind: Session['kind'] } | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'send {"accessKeyId","accessKeySecret"} or {"user","password"}' };
  }
  const b = body as Record<string, unknown>;
  const dummy = randomBytes(24).toString('base64url');
  if (typeof b['accessKeyId'] === 'string' || typeof b['accessKeySecret'] === 'string') {
    const id = typeof b['accessKeyId'] === 'string' ? b['accessKeyId'].trim() : '';
    const given = typeof b['accessKeySecret'] === 'string' ? b['accessKeySecret'] : '';
    if (id === '' || given === '') return { error: 'enter both the access key id and its secret' };
    const secret = secretOf(id);
    const ok = equalText(secret ?? dummy, given) && secret !== undefined;
    return ok ? { user: id, kind: 'accessKey' } : { error: 'wrong access key id or secret' };
  }
  if (typeof b['user'] === 'string' || typeof b['password'] === 'string') {
    const name = typeof b['user'] === 'string' ? b['user'].trim() : '';
    const given = typeof b['password'] === 'string' ? b['password'] : '';
    if (name === '' || given === '') return { error: 'enter both the user name and the password' };
    if (users.length === 0) {
      return { error: 'no console users are configured on this server; log in with an access key' };
    }
    const user = users.find((u) => u.name === name);
    const ok = equalText(user?.password ?? dummy, given) && user !== undefined;
    return ok ? { user: name, kind: 'user' } : { error: 'wrong user name or password' };
  }
  return { error: 'send {"accessKeyId","accessKeySecret"} or {"user","password"}' };
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
