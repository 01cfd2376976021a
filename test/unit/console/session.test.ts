import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkLogin, cookieValue, equalText, SessionKeys } from '../../../src/server/console/session.js';

const KEY = Buffer.alloc(32, 7);

describe('console sessions', () => {
  test('a cookie verifies until it expires, then says so', () => {
    let now = 1_000_000;
    const keys = new SessionKeys(KEY, 60_000, () => now);
    const { cookie, session } = keys.issue('ops', 'user');
    assert.deepEqual(keys.verify(cookie), session);
    now += 59_999;
    assert.equal(typeof keys.verify(cookie), 'object');
    now += 1;
    assert.equal(keys.verify(cookie), 'expired');
  });

  test('any change to the cookie, or another key, makes it invalid', () => {
    const keys = new SessionKeys(KEY, 60_000);
    const other = new SessionKeys(Buffer.alloc(32, 8), 60_000);
    const { cookie } = keys.issue('ops', 'user');
    const [v, payload, mac] = cookie.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const admin = Buffer.from(JSON.stringify({ ...claims, u: 'admin' })).toString('base64url');
    assert.equal(keys.verify(`${v}.${admin}.${mac}`), 'invalid');
    assert.equal(keys.verify(`${v}.${payload}.${mac.slice(1)}`), 'invalid');
    assert.equal(keys.verify(`v2.${payload}.${mac}`), 'invalid');
    assert.equal(keys.verify('garbage'), 'invalid');
    assert.equal(keys.verify(''), 'missing');
    assert.equal(keys.verify(undefined), 'missing');
    assert.equal(other.verify(cookie), 'invalid');
  });

  test('the CSRF token belongs to one session', () => {
    const keys = new SessionKeys(KEY, 60_000);
    const a = keys.issue('ops', 'user').session;
    const b = keys.issue('ops', 'user').session;
    assert.ok(keys.checkCsrf(a, keys.csrfToken(a)));
    assert.ok(!keys.checkCsrf(a, keys.csrfToken(b)));
    assert.ok(!keys.checkCsrf(a, undefined));
    assert.ok(!keys.checkCsrf(a, ''));
  });

  test('a revoked session is refused', () => {
    const keys = new SessionKeys(KEY, 60_000);
    const { cookie, session } = keys.issue('ops', 'user');
    keys.revoke(session);
    assert.equal(keys.verify(cookie), 'expired');
  });

  test('the key is created once, private, and reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-session-'));
    try {
      const file = join(dir, 'console', 'session.key');
      const a = await SessionKeys.open(file, 60_000);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const text = await readFile(file, 'utf8');
      const b = await SessionKeys.open(file, 60_000);
      assert.equal(await readFile(file, 'utf8'), text);
      const { cookie } = a.issue('ops', 'user');
      assert.equal(typeof b.verify(cookie), 'object', 'a restart keeps sessions valid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('console login check', () => {
  const secretOf = (id: string) => (id === 'AK1' ? 'secret-1' : undefined);
  const users = [{ name: 'ops', password: 'pw' }];

  test('access keys and users', () => {
    assert.deepEqual(checkLogin({ accessKeyId: 'AK1', accessKeySecret: 'secret-1' }, secretOf, users), {
      user: 'AK1',
      kind: 'accessKey',
    });
    assert.deepEqual(checkLogin({ user: 'ops', password: 'pw' }, secretOf, users), { user: 'ops', kind: 'user' });
  });

  test('wrong, unknown, empty and malformed logins say what is wrong', () => {
    const error = (body: unknown, u = users) => {
      const r = checkLogin(body, secretOf, u);
      assert.ok('error' in r, JSON.stringify(r));
      return r.error;
    };
    assert.match(error({ accessKeyId: 'AK1', accessKeySecret: 'secret-2' }), /wrong access key/);
    assert.match(error({ accessKeyId: 'AK2', accessKeySecret: 'secret-1' }), /wrong access key/);
    assert.match(error({ accessKeyId: 'AK1' }), /enter both/);
    assert.match(error({ user: 'ops', password: 'PW' }), /wrong user name or password/);
    assert.match(error({ user: 'root', password: 'pw' }), /wrong user name or password/);
    assert.match(error({ user: 'ops', password: 'pw' }, []), /no console users/);
    assert.match(error(null), /send/);
    assert.match(error([]), /send/);
  });

  test('helpers', () => {
    assert.ok(equalText('abc', 'abc'));
    assert.ok(!equalText('abc', 'abd'));
    assert.ok(!equalText('abc', 'abcd'));
    assert.equal(cookieValue('a=1; sluice_console=v1.x.y; b=2', 'sluice_console'), 'v1.x.y');
    assert.equal(cookieValue('a=1', 'sluice_console'), undefined);
    assert.equal(cookieValue(undefined, 'sluice_console'), undefined);
  });
});
