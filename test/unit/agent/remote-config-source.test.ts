/**
 * RemoteConfigSource without a server: the machine-uniqueid survives a restart, user-defined ids come from the flags
 * and from Logtail's id file (re-read each time, so an edit applies without a restart), and the cached set is read
 * back with a refused config reported by field rather than dropped silently.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RemoteConfigSource } from '../../../src/agent/config/remote-config-source.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('identity, id file and cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-remote-src-'));
  dirs.push(dir);
  const idFile = join(dir, 'user_defined_id');
  const open = () =>
    new RemoteConfigSource({
      endpoint: 'http://127.0.0.1:1',
      project: 'p',
      accessKeyId: 'k',
      accessKeySecret: 's',
      dataDir: dir,
      ip: '10.0.0.1',
      hostname: 'h',
      userDefinedIds: ['from-flag', 'shared'],
      userDefinedIdFile: idFile,
      version: 'test',
      timeoutMs: 1000,
    });
  const a = open();
  assert.match(a.instanceId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(a.userDefinedIds(), ['from-flag', 'shared'], 'no id file: the flags only');
  await writeFile(idFile, 'shared\r\nfrom-file\n\n  spaced  \n');
  assert.deepEqual(a.userDefinedIds(), ['from-flag', 'shared', 'from-file', 'spaced']);
  assert.equal(a.cached(), undefined, 'nothing cached yet');
  a.close();

  const good = {
    configName: 'ok',
    inputDetail: { logPath: '/var/log', filePattern: '*.log' },
    outputDetail: { logstoreName: 'ls1' },
    lastModifyTime: 5,
  };
  const bad = { configName: 'bad', inputDetail: { logPath: 'relative', filePattern: '*.log' }, outputDetail: {} };
  await writeFile(join(dir, 'remote-configs.json'), JSON.stringify({ etag: 'e1', configs: [good, bad] }));
  const b = open();
  assert.equal(b.instanceId, a.instanceId, 'the machine-uniqueid is kept in the data folder');
  const set = b.cached();
  assert.equal(set?.etag, 'e1');
  assert.equal(set?.configs[0]?.config?.logstore, 'ls1');
  assert.doesNotMatch(set!.configs[0]!.key, /lastModifyTime/, 'server times do not make a config look changed');
  assert.equal(set?.configs[1]?.config, undefined);
  assert.match(set?.configs[1]?.error ?? '', /outputDetail\.logstoreName/);
  b.close();
});
