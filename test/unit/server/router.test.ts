/**
 * The exact-segment router: literal segments beat parameters, a path known under another method answers 'method'
 * (405), parameters are percent-decoded, unknown paths are undefined (404).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Handler, Router, type RouteSpec } from '../../../src/server/router.js';

const noop: Handler = () => ({});

function route(method: RouteSpec['method'], pattern: string): RouteSpec {
  return { method, pattern, maxBodyBytes: 1024, handle: noop };
}

function routerOf(specs: readonly [RouteSpec['method'], string][]): Router {
  const router = new Router();
  for (const [method, pattern] of specs) router.add(route(method, pattern));
  return router;
}

/** What `match` chose, as `METHOD pattern` plus the params, or the bare 'method' / undefined answer. */
function resolve(
  router: Router,
  method: string,
  path: string,
): { route: string; params: Record<string, string> } | 'method' | undefined {
  const m = router.match(method, path);
  if (m === undefined || m === 'method') return m;
  return { route: `${m.route.method} ${m.route.pattern}`, params: m.params };
}

/** The shard API's routes, registered parameter-first to show order does not matter. */
const SHARD_ROUTES: readonly [RouteSpec['method'], string][] = [
  ['POST', '/logstores/:logstore/shards/:shard'],
  ['POST', '/logstores/:logstore/shards/lb'],
  ['POST', '/logstores/:logstore/shards/route'],
  ['GET', '/logstores/:logstore/shards'],
  ['GET', '/logstores/:logstore/shards/:shard'],
  ['DELETE', '/logstores/:logstore/shards/:shard'],
];

describe('Router', () => {
  test('a literal segment beats a parameter, whatever the registration order', () => {
    for (const specs of [SHARD_ROUTES, [...SHARD_ROUTES].reverse()]) {
      const router = routerOf(specs);
      assert.deepEqual(resolve(router, 'POST', '/logstores/ls1/shards/lb'), {
        route: 'POST /logstores/:logstore/shards/lb',
        params: { logstore: 'ls1' },
      });
      assert.deepEqual(resolve(router, 'POST', '/logstores/ls1/shards/route'), {
        route: 'POST /logstores/:logstore/shards/route',
        params: { logstore: 'ls1' },
      });
      assert.deepEqual(resolve(router, 'POST', '/logstores/ls1/shards/3'), {
        route: 'POST /logstores/:logstore/shards/:shard',
        params: { logstore: 'ls1', shard: '3' },
      });
    }
  });

  test("a known path under another method answers 'method'", () => {
    const router = routerOf(SHARD_ROUTES);
    assert.equal(resolve(router, 'PUT', '/logstores/ls1/shards/lb'), 'method');
    assert.equal(resolve(router, 'DELETE', '/logstores/ls1/shards'), 'method');
    assert.equal(resolve(router, 'PATCH', '/logstores/ls1/shards/2'), 'method');
  });

  test('the same path under different methods picks the matching one', () => {
    const router = routerOf(SHARD_ROUTES);
    assert.deepEqual(resolve(router, 'GET', '/logstores/ls1/shards'), {
      route: 'GET /logstores/:logstore/shards',
      params: { logstore: 'ls1' },
    });
    assert.deepEqual(resolve(router, 'DELETE', '/logstores/ls1/shards/2'), {
      route: 'DELETE /logstores/:logstore/shards/:shard',
      params: { logstore: 'ls1', shard: '2' },
    });
    // GET on /shards/lb: only the GET parameter route matches, with shard = 'lb'.
    assert.deepEqual(resolve(router, 'GET', '/logstores/ls1/shards/lb'), {
      route: 'GET /logstores/:logstore/shards/:shard',
      params: { logstore: 'ls1', shard: 'lb' },
    });
  });

  test('parameters are percent-decoded', () => {
    const router = routerOf(SHARD_ROUTES);
    assert.deepEqual(resolve(router, 'GET', '/logstores/my%2Dstore%20x/shards/0'), {
      route: 'GET /logstores/:logstore/shards/:shard',
      params: { logstore: 'my-store x', shard: '0' },
    });
    assert.deepEqual(
      resolve(router, 'GET', '/logstores/a%2Fb/shards'),
      { route: 'GET /logstores/:logstore/shards', params: { logstore: 'a/b' } },
      'an encoded slash stays inside one segment',
    );
  });

  test('a malformed percent escape matches nothing', () => {
    assert.equal(resolve(routerOf(SHARD_ROUTES), 'GET', '/logstores/%E0%A4%A/shards'), undefined);
  });

  test('unknown paths are undefined', () => {
    const router = routerOf(SHARD_ROUTES);
    assert.equal(resolve(router, 'GET', '/nope'), undefined);
    assert.equal(resolve(router, 'GET', '/logstores'), undefined);
    assert.equal(resolve(router, 'GET', '/logstores/ls1/shards/0/extra'), undefined);
    assert.equal(resolve(router, 'GET', '/'), undefined);
    assert.equal(resolve(new Router(), 'GET', '/logstores/ls1/shards'), undefined);
  });

  test('empty segments and trailing slashes are ignored', () => {
    const router = routerOf([
      ['GET', '/'],
      ['GET', '/logstores'],
    ]);
    assert.deepEqual(resolve(router, 'GET', '/'), { route: 'GET /', params: {} });
    assert.deepEqual(resolve(router, 'GET', '//logstores/'), { route: 'GET /logstores', params: {} });
  });
});
