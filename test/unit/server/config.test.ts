/**
 * Server configuration: defaults, then the file (YAML or JSON), then flags and environment; validated once, errors
 * name the field, the result is frozen.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildServerConfig,
  ConfigError,
  type ConfigSources,
  DEFAULT_LIMITS,
  loadServerConfig,
  parseConfigText,
  parseQuota,
} from '../../../src/server/config.js';

const NONE: ConfigSources = { flags: {}, env: {} };

function configError(fn: () => unknown, text: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(err.message.includes(text), `"${err.message}" mentions ${text}`);
    return true;
  });
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-config-test-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buildServerConfig', () => {
  test('defaults', () => {
    assert.deepEqual(buildServerConfig({}, NONE), {
      host: '127.0.0.1',
      port: 7000,
      dataDir: './sluice-data',
      endpoints: ['localhost', '127.0.0.1', 'sls.local'],
      auth: { maxClockSkewMs: 900_000 },
      limits: DEFAULT_LIMITS,
      defaultProjectQuota: {},
      projectQuotas: {},
      console: { sessionTtlMs: 12 * 3600 * 1000, users: [] },
      storage: { fsync: true, maxFileBytes: 64 * 1024 * 1024, compactLevel: 7, compactDelayMs: 30_000 },
    });
  });

  test('the file sets every section', () => {
    const config = buildServerConfig(
      {
        host: '0.0.0.0',
        port: 8000,
        data: '/var/lib/sluice',
        endpoints: ['SLS.Example.com', 'localhost'],
        auth: { maxClockSkewSeconds: 60 },
        limits: { maxPullCount: 10, maxShardsPerLogstore: 8 },
        storage: { fsync: false, maxFileBytes: 2 * 1024 * 1024, compactLevel: 0, compactAfterSeconds: 5 },
        defaultProjectQuota: { writeBytesPerSec: 1000, writeRequestsPerSec: null },
        projectQuotas: { hot: { shardWriteBytesPerSec: 500 } },
        console: { sessionTtlSeconds: 600, users: [{ name: 'ops', password: 'pw' }] },
      },
      NONE,
    );
    assert.deepEqual(config, {
      host: '0.0.0.0',
      port: 8000,
      dataDir: '/var/lib/sluice',
      endpoints: ['localhost', '127.0.0.1', 'sls.local', 'sls.example.com', '0.0.0.0'],
      auth: { maxClockSkewMs: 60_000 },
      limits: { ...DEFAULT_LIMITS, maxPullCount: 10, maxShardsPerLogstore: 8 },
      defaultProjectQuota: { writeBytesPerSec: 1000 },
      projectQuotas: { hot: { shardWriteBytesPerSec: 500 } },
      console: { sessionTtlMs: 600_000, users: [{ name: 'ops', password: 'pw' }] },
      storage: { fsync: false, maxFileBytes: 2 * 1024 * 1024, compactLevel: 0, compactDelayMs: 5000 },
    });
  });

  test('flags override the file', () => {
    const config = buildServerConfig(
      { host: '0.0.0.0', port: 8000, data: '/from-file' },
      { flags: { host: 'Sluice.Internal', port: '9000', data: '/from-flag' }, env: {} },
    );
    assert.equal(config.host, 'Sluice.Internal');
    assert.equal(config.port, 9000);
    assert.equal(config.dataDir, '/from-flag');
    assert.ok(config.endpoints.includes('sluice.internal'), 'the listen host is also an endpoint, lower-cased');
    assert.ok(!config.endpoints.includes('0.0.0.0'));
  });

  test('--port accepts 0 (any free port) and rejects what is not a port number', () => {
    assert.equal(buildServerConfig({}, { flags: { port: '0' }, env: {} }).port, 0);
    assert.equal(buildServerConfig({}, { flags: { port: '65535' }, env: {} }).port, 65535);
    for (const port of ['', ' ', 'abc', '-1', '65536', '7000.5', '0x1f90', '1e3', ' 7000']) {
      configError(() => buildServerConfig({}, { flags: { port }, env: {} }), '--port');
    }
  });

  test('the access key comes from the environment, both keys together', () => {
    const config = buildServerConfig(
      {},
      { flags: {}, env: { SLUICE_ACCESS_KEY_ID: 'ak', SLUICE_ACCESS_KEY_SECRET: 'sk' } },
    );
    assert.deepEqual(config.accessKey, { id: 'ak', secret: 'sk' });
    assert.equal('accessKey' in buildServerConfig({}, NONE), false);
    configError(
      () => buildServerConfig({}, { flags: {}, env: { SLUICE_ACCESS_KEY_ID: 'ak' } }),
      'SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET must be set together',
    );
    configError(
      () => buildServerConfig({}, { flags: {}, env: { SLUICE_ACCESS_KEY_SECRET: 'sk' } }),
      'SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET must be set together',
    );
  });

  test('an empty access key id or secret is refused rather than used', () => {
    // `SLUICE_ACCESS_KEY_SECRET=$SECRET` with SECRET unset would otherwise make the empty string the signing secret.
    configError(
      () => buildServerConfig({}, { flags: {}, env: { SLUICE_ACCESS_KEY_ID: 'ak', SLUICE_ACCESS_KEY_SECRET: '' } }),
      'SLUICE_ACCESS_KEY_SECRET',
    );
    configError(
      () => buildServerConfig({}, { flags: {}, env: { SLUICE_ACCESS_KEY_ID: '', SLUICE_ACCESS_KEY_SECRET: 'sk' } }),
      'SLUICE_ACCESS_KEY_ID',
    );
  });

  test('unknown fields are errors naming the field', () => {
    configError(() => buildServerConfig({ foo: 1 }, NONE), 'unknown field "foo"');
    configError(() => buildServerConfig({ limits: { foo: 1 } }, NONE), 'unknown field "limits.foo"');
    configError(() => buildServerConfig({ auth: { maxClockSkewMs: 1 } }, NONE), 'unknown field "auth.maxClockSkewMs"');
    configError(() => buildServerConfig({ storage: { sync: true } }, NONE), 'unknown field "storage.sync"');
    configError(
      () => buildServerConfig({ defaultProjectQuota: { bytesPerSec: 1 } }, NONE),
      'defaultProjectQuota: unknown field "bytesPerSec"',
    );
    configError(
      () => buildServerConfig({ projectQuotas: { p1: { qps: 1 } } }, NONE),
      'projectQuotas.p1: unknown field "qps"',
    );
  });

  test('bad types are errors naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ host: '' }, '"host" must be a non-empty string'],
      [{ host: 7 }, '"host" must be a non-empty string'],
      [{ port: '7000' }, '"port" must be an integer from 0 to 65535'],
      [{ port: 70_000 }, '"port" must be an integer from 0 to 65535'],
      [{ data: false }, '"data" must be a non-empty string'],
      [{ endpoints: 'sls.example.com' }, '"endpoints" must be a list of host names'],
      [{ endpoints: ['ok', ''] }, '"endpoints" must be a list of host names'],
      [{ auth: 'x' }, '"auth" must be an object'],
      [{ auth: { maxClockSkewSeconds: -1 } }, '"auth.maxClockSkewSeconds" must be an integer'],
      [{ limits: [] }, '"limits" must be an object'],
      [{ limits: { maxBodyBytes: 0 } }, '"limits.maxBodyBytes" must be an integer'],
      [{ limits: { maxBodyBytes: 1.5 } }, '"limits.maxBodyBytes" must be an integer'],
      [{ limits: { maxPullCount: '10' } }, '"limits.maxPullCount" must be an integer'],
      [{ storage: { fsync: 'yes' } }, '"storage.fsync" must be true or false'],
      [{ storage: { maxFileBytes: 1024 } }, '"storage.maxFileBytes" must be an integer'],
      [{ storage: { compactLevel: 20 } }, '"storage.compactLevel" must be an integer'],
      [{ storage: { compactLevel: -1 } }, '"storage.compactLevel" must be an integer'],
      [{ storage: { compactAfterSeconds: 1.5 } }, '"storage.compactAfterSeconds" must be an integer'],
      [{ storage: null }, '"storage" must be an object'],
      [{ defaultProjectQuota: 5 }, 'defaultProjectQuota must be an object'],
      [{ defaultProjectQuota: { writeBytesPerSec: 0 } }, 'defaultProjectQuota.writeBytesPerSec must be a positive'],
      [{ projectQuotas: { p1: { writeRequestsPerSec: 'many' } } }, 'projectQuotas.p1.writeRequestsPerSec'],
      [{ projectQuotas: [] }, '"projectQuotas" must be an object'],
      [{ console: { sessionTtlSeconds: 0 } }, '"console.sessionTtlSeconds" must be an integer'],
      [{ console: { users: [{ name: 'a' }] } }, '"console.users" must be a list of {name, password}'],
      [{ console: { users: [{ name: 'a', password: 'x', role: 'admin' }] } }, 'console.users[].role'],
      [
        {
          console: {
            users: [
              { name: 'a', password: 'x' },
              { name: 'a', password: 'y' },
            ],
          },
        },
        'names a user twice',
      ],
    ];
    for (const [file, text] of cases) configError(() => buildServerConfig(file, NONE), text);
  });

  test('the result is frozen all the way down', () => {
    const config = buildServerConfig(
      { projectQuotas: { p: { writeBytesPerSec: 1 } } },
      { flags: {}, env: { SLUICE_ACCESS_KEY_ID: 'ak', SLUICE_ACCESS_KEY_SECRET: 'sk' } },
    );
    for (const part of [
      config,
      config.endpoints,
      config.limits,
      config.auth,
      config.storage,
      config.defaultProjectQuota,
      config.projectQuotas,
      config.projectQuotas['p'],
      config.accessKey,
    ]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => (config.endpoints as string[]).push('x'), TypeError);
    // DEFAULT_LIMITS was copied, not shared: a later config with different limits leaves it alone.
    buildServerConfig({ limits: { maxPullCount: 3 } }, NONE);
    assert.equal(DEFAULT_LIMITS.maxPullCount, 1000);
  });
});

describe('parseConfigText', () => {
  test('YAML and JSON', () => {
    const yaml = 'port: 8000\nlimits:\n  maxPullCount: 10\nendpoints:\n  - sls.example.com\n';
    assert.deepEqual(parseConfigText(yaml, 'sluice.yaml'), {
      port: 8000,
      limits: { maxPullCount: 10 },
      endpoints: ['sls.example.com'],
    });
    assert.deepEqual(parseConfigText(yaml, 'sluice.yml'), parseConfigText(yaml, 'sluice.yaml'));
    assert.deepEqual(parseConfigText('{"port": 8000, "storage": {"fsync": false}}', 'sluice.json'), {
      port: 8000,
      storage: { fsync: false },
    });
  });

  test('an empty file is an empty config', () => {
    assert.deepEqual(parseConfigText('', 'empty.yaml'), {});
    assert.deepEqual(parseConfigText('# only a comment\n', 'c.yaml'), {});
    assert.deepEqual(parseConfigText('null', 'n.json'), {});
  });

  test('syntax errors name the file and the format', () => {
    configError(() => parseConfigText('{"port": 80', 'bad.json'), 'bad.json: not valid JSON');
    configError(() => parseConfigText('port: [1, 2', 'bad.yaml'), 'bad.yaml: not valid YAML');
  });

  test('a document that is not a mapping is refused', () => {
    configError(() => parseConfigText('- a\n- b\n', 'list.yaml'), 'list.yaml: must be an object');
    configError(() => parseConfigText('42', 'n.json'), 'n.json: must be an object');
    configError(() => parseConfigText('just text', 't.yaml'), 't.yaml: must be an object');
  });
});

describe('loadServerConfig', () => {
  test('reads a YAML or JSON file, then applies flags', async () => {
    const yamlPath = join(dir, 'sluice.yaml');
    await writeFile(yamlPath, 'port: 8001\ndata: /from-yaml\nstorage:\n  fsync: false\n');
    const fromYaml = await loadServerConfig({ flags: { config: yamlPath, port: '9001' }, env: {} });
    assert.equal(fromYaml.port, 9001);
    assert.equal(fromYaml.dataDir, '/from-yaml');
    assert.equal(fromYaml.storage.fsync, false);

    const jsonPath = join(dir, 'sluice.json');
    await writeFile(jsonPath, JSON.stringify({ port: 8002, limits: { maxPullCount: 5 } }));
    const fromJson = await loadServerConfig({ flags: { config: jsonPath }, env: {} });
    assert.equal(fromJson.port, 8002);
    assert.equal(fromJson.limits.maxPullCount, 5);
  });

  test('errors name the file', async () => {
    const missing = join(dir, 'missing.yaml');
    await assert.rejects(loadServerConfig({ flags: { config: missing }, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.startsWith(`--config: cannot read ${missing}`), err.message);
      return true;
    });
    const typo = join(dir, 'typo.yaml');
    await writeFile(typo, 'limits:\n  foo: 1\n');
    await assert.rejects(loadServerConfig({ flags: { config: typo }, env: {} }), {
      name: 'ConfigError',
      message: /unknown field "limits\.foo"/,
    });
  });

  test('no --config: defaults plus flags', async () => {
    const config = await loadServerConfig({ flags: { port: '0' }, env: {} });
    assert.equal(config.port, 0);
    assert.equal(config.host, '127.0.0.1');
  });
});

describe('parseQuota', () => {
  test('missing or null means unlimited', () => {
    assert.deepEqual(parseQuota(undefined, 'q'), {});
    assert.deepEqual(parseQuota(null, 'q'), {});
    assert.deepEqual(parseQuota({ writeBytesPerSec: null, writeRequestsPerSec: 10 }, 'q'), { writeRequestsPerSec: 10 });
  });

  test('all three fields', () => {
    assert.deepEqual(parseQuota({ writeBytesPerSec: 1e6, writeRequestsPerSec: 100, shardWriteBytesPerSec: 5e5 }, 'q'), {
      writeBytesPerSec: 1e6,
      writeRequestsPerSec: 100,
      shardWriteBytesPerSec: 5e5,
    });
  });

  test('errors name where the quota came from and the field', () => {
    configError(() => parseQuota([], 'body.quota'), 'body.quota must be an object');
    configError(() => parseQuota('fast', 'body.quota'), 'body.quota must be an object');
    configError(() => parseQuota({ x: 1 }, 'body.quota'), 'body.quota: unknown field "x"');
    configError(() => parseQuota({ writeBytesPerSec: -5 }, 'q'), 'q.writeBytesPerSec must be a positive number');
    configError(() => parseQuota({ writeBytesPerSec: Number.POSITIVE_INFINITY }, 'q'), 'q.writeBytesPerSec');
    configError(() => parseQuota({ writeRequestsPerSec: '5' }, 'q'), 'q.writeRequestsPerSec');
  });
});
