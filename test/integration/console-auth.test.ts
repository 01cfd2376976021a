/**
 * The console's way in: login (access key or configured user), the signed expiring session cookie, the CSRF token
 * and the same-origin checks. Every refused request is also checked to have written nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  removeDir,
  type ServerProcess,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { testClient } from '../helpers/sls-kit.js';

const TTL_SECONDS = 2;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({
    config: {
      storage: { fsync: false },
      console: { sessionTtlSeconds: TTL_SECONDS, users: [{ name: 'ops', password: 'correct horse' }] },
    },
  });
});

after(async () => {
  await server.stop();
  await removeDir(server.dataDir);
});

interface Login {
  readonly cookie: string;
  readonly csrf: string;
  readonly setCookie: string;
  readonly json: { user: string; kind: string; expires: number; csrfToken: string };
}

async function login(body: unknown): Promise<Login> {
  const res = await fetch(`${server.url}/console/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const setCookie = res.headers.get('set-cookie') ?? '';
  const json = (await res.json()) as Login['json'];
  return { cookie: setCookie.split(';')[0]!, csrf: json.csrfToken, setCookie, json };
}

function api(
  path: string,
  s: { cookie?: string; csrf?: string },
  init: { method?: string; body?: unknown; project?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'x-log-bodyrawsize': '0', ...init.headers };
  if (s.cookie !== undefined) headers['cookie'] = s.cookie;
  if (s.csrf !== undefined) headers['x-sluice-csrf'] = s.csrf;
  if (init.project !== undefined) headers['x-sluice-project'] = init.project;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${server.url}/console/api${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

async function refused(res: Response, pattern: RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 401, text);
  const json = JSON.parse(text) as { errorCode: string; errorMessage: string };
  assert.equal(json.errorCode, 'Unauthorized');
  assert.match(json.errorMessage, pattern);
}

/** Projects as the signed API sees them: what was really written. */
async function projectNames(): Promise<string[]> {
  const client = testClient(server.url);
  try {
    const res = await client.call({ method: 'GET', path: '/' });
    return (JSON.parse(res.body.toString('utf8')) as { projects: { projectName: string }[] }).projects.map(
      (p) => p.projectName,
    );
  } finally {
    client.close();
  }
}

describe('console login', () => {
  test('with an access key: an HttpOnly, SameSite=Strict, expiring cookie and a CSRF token', async () => {
    const s = await login({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
    assert.match(s.setCookie, /^sluice_console=v1\.[\w-]+\.[\w-]+; /);
    assert.match(s.setCookie, /; HttpOnly/);
    assert.match(s.setCookie, /; SameSite=Strict/);
    assert.match(s.setCookie, /; Path=\/console/);
    assert.match(s.setCookie, new RegExp(`; Max-Age=${TTL_SECONDS}`));
    assert.equal(s.json.user, TEST_ACCESS_KEY_ID);
    assert.equal(s.json.kind, 'accessKey');
    assert.ok(s.csrf.length >= 32);
    const res = await api('/', s);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), null, 'console answers are not for other origins');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('with a configured user', async () => {
    const s = await login({ user: 'ops', password: 'correct horse' });
    assert.equal(s.json.kind, 'user');
    const session = await fetch(`${server.url}/console/auth/session`, { headers: { cookie: s.cookie } });
    assert.equal(session.status, 200);
    assert.equal(((await session.json()) as { csrfToken: string }).csrfToken, s.csrf, 'a reload gets the same token');
  });

  test('bad logins get a clear 401 and no cookie', async () => {
    const cases: [unknown, RegExp][] = [
      [{ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: 'wrong' }, /wrong access key id or secret/],
      [{ accessKeyId: 'nobody', accessKeySecret: TEST_ACCESS_KEY_SECRET }, /wrong access key id or secret/],
      [{ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: '' }, /enter both/],
      [{ user: 'ops', password: 'Correct horse' }, /wrong user name or password/],
      [{ user: 'root', password: 'correct horse' }, /wrong user name or password/],
      [{ hello: 1 }, /send \{"accessKeyId"/],
    ];
    for (const [body, pattern] of cases) {
      const res = await fetch(`${server.url}/console/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.headers.get('set-cookie'), null);
      await refused(res, pattern);
    }
  });

  test('a login posted from another site is refused', async () => {
    const res = await fetch(`${server.url}/console/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET }),
    });
    assert.equal(res.headers.get('set-cookie'), null);
    await refused(res, /cross-site/);
  });
});

describe('console API gate', () => {
  test('nothing is readable without a session', async () => {
    await refused(await api('/', {}), /not logged in/);
    await refused(await fetch(`${server.url}/console/auth/session`), /not logged in/);
  });

  test('a signed request does not pass the console gate (signature auth and session auth stay apart)', async () => {
    const client = testClient(server.url);
    try {
      // The signed client addresses /console/api/ like any path: the gate wants a session, not a signature.
      const res = await client.send({ method: 'GET', path: '/console/api/' });
      assert.equal(res.status, 401);
    } finally {
      client.close();
    }
  });

  test('missing or wrong CSRF token, foreign Origin or cross-site fetch: refused, nothing written', async () => {
    const s = await login({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
    const create = { method: 'POST', body: { projectName: 'csrf-victim', description: '' } };
    await refused(await api('/', { cookie: s.cookie }, create), /x-sluice-csrf/);
    await refused(await api('/', { cookie: s.cookie, csrf: `${s.csrf.slice(0, -2)}xx` }, create), /x-sluice-csrf/);
    const other = await login({ user: 'ops', password: 'correct horse' });
    await refused(await api('/', { cookie: s.cookie, csrf: other.csrf }, create), /x-sluice-csrf/);
    await refused(await api('/', s, { ...create, headers: { origin: 'http://evil.example' } }), /cross-site/);
    await refused(await api('/', s, { ...create, headers: { 'sec-fetch-site': 'cross-site' } }), /cross-site/);
    await refused(await api('/', s, { ...create, headers: { origin: 'null' } }), /cross-site/);
    assert.ok(!(await projectNames()).includes('csrf-victim'), 'no refused request created the project');

    const ok = await api('/', s, { ...create, headers: { origin: server.url, 'sec-fetch-site': 'same-origin' } });
    assert.equal(ok.status, 200, await ok.text());
    assert.ok((await projectNames()).includes('csrf-victim'), 'the same request with the token is carried out');
  });

  test('a forged cookie is refused', async () => {
    const s = await login({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
    const [name, value] = s.cookie.split('=') as [string, string];
    const [v, payload, mac] = value.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, u: 'admin', exp: Date.now() + 86_400_000 })).toString(
      'base64url',
    );
    const forged = [
      `${name}=${v}.${forgedPayload}.${mac}`, // claims changed, old MAC
      `${name}=${v}.${payload}.${mac.slice(0, -3)}AAA`, // MAC changed
      `${name}=${v}.${payload}`, // MAC stripped
      `${name}=garbage`,
    ];
    for (const cookie of forged) {
      await refused(
        await api('/', { cookie, csrf: s.csrf }, { method: 'POST', body: { projectName: 'forged' } }),
        /not valid/,
      );
    }
    assert.ok(!(await projectNames()).includes('forged'));
  });

  test('an expired session and a logged-out one are refused', async () => {
    const s = await login({ user: 'ops', password: 'correct horse' });
    assert.equal((await api('/', s)).status, 200);
    await sleep(TTL_SECONDS * 1000 + 300);
    await refused(await api('/', s, { method: 'POST', body: { projectName: 'too-late' } }), /expired/);
    assert.ok(!(await projectNames()).includes('too-late'));

    const t = await login({ user: 'ops', password: 'correct horse' });
    const out = await fetch(`${server.url}/console/auth/logout`, {
      method: 'POST',
      headers: { cookie: t.cookie, 'x-sluice-csrf': t.csrf },
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /^sluice_console=; .*Max-Age=0/);
    await refused(await api('/', t), /expired/);
  });

  test('the project comes from x-sluice-project; a bad name is refused', async () => {
    const s = await login({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
    assert.equal((await api('/', s, { method: 'POST', body: { projectName: 'gate-demo' } })).status, 200);
    const ls = await api('/logstores', s, { method: 'POST', project: 'gate-demo', body: { logstoreName: 'app' } });
    assert.equal(ls.status, 200, await ls.text());
    const list = await api('/logstores', s, { project: 'gate-demo' });
    assert.deepEqual(((await list.json()) as { logstores: string[] }).logstores, ['app']);
    const bad = await api('/logstores', s, { project: 'Bad/Name' });
    assert.equal(bad.status, 400);
  });

  test('parse preview runs the agent parsers on a sample and suggests a regex', async () => {
    const s = await login({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
    const sample =
      '10.1.2.3 - - [22/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8"\nnot an nginx line';
    const res = await api('/sluice/parse-preview', s, {
      method: 'POST',
      body: { config: { inputDetail: { logType: 'nginx' } }, sample },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { logs: { status: string; fields?: [string, string][]; time?: number }[] };
    assert.equal(out.logs.length, 2);
    assert.equal(out.logs[0]!.status, 'parsed');
    assert.deepEqual(Object.fromEntries(out.logs[0]!.fields!).request_uri, '/a?b=1');
    assert.equal(out.logs[0]!.time, Date.UTC(2026, 10, 22, 10) / 1000);
    assert.equal(out.logs[1]!.status, 'unmatched');

    const regex = await api('/sluice/parse-preview', s, {
      method: 'POST',
      body: { config: { inputDetail: { logType: 'common_reg_log' } }, sample },
    });
    const r = (await regex.json()) as { suggestion: { regex: string; keys: string[] } };
    assert.deepEqual(r.suggestion.keys.slice(0, 4), ['ip', 'key_2', 'key_3', 'time']);
    assert.ok(new RegExp(`^(?:${r.suggestion.regex})$`).test(sample.split('\n')[0]!));

    const bad = await api('/sluice/parse-preview', s, {
      method: 'POST',
      body: { config: { inputDetail: { logType: 'common_reg_log', regex: '(a)(b)', key: ['a'] } }, sample: 'ab' },
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { errorMessage: string }).errorMessage, /inputDetail\.key/);
  });
});

describe('console static files', () => {
  test('index.html revalidated, SPA routes fall back to it, hashed assets cached for a year', async () => {
    const index = await fetch(`${server.url}/console`);
    assert.equal(index.status, 200, 'the bundle is built by npm run build');
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await index.text();
    const route = await fetch(`${server.url}/console/search`);
    assert.equal(route.status, 200);
    assert.equal(await route.text(), html);
    const asset = /src="\/console\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, `index.html names its script: ${html}`);
    const js = await fetch(`${server.url}/console/${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await fetch(`${server.url}/console/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.url}/console/../package.json`)).status, 404);
  });
});

// Last: it leaves this address locked out of logging in for the rest of the run.
describe('console login throttle', () => {
  test('after 10 failed logins from one address, even the right secret is refused for a while', async () => {
    const attempt = (secret: string) =>
      fetch(`${server.url}/console/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: secret }),
      });
    // A success clears the count, so earlier tests' failures do not carry over.
    assert.equal((await attempt(TEST_ACCESS_KEY_SECRET)).status, 200);
    for (let i = 0; i < 10; i++) await refused(await attempt(`wrong-${i}`), /wrong access key id or secret/);
    const locked = await attempt(TEST_ACCESS_KEY_SECRET);
    assert.equal(locked.headers.get('set-cookie'), null);
    await refused(locked, /too many failed logins from this address; try again in \d+ s/);
  });
});
