/**
 * Feature documents in the MetaStore (index configs, consumer groups, …): atomic update, listing by prefix,
 * persistence, and cascade on project/logstore deletion — without the cascade, a logstore recreated under the same
 * name would inherit its predecessor's index config or consumer checkpoints.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freshStore(): Promise<{ dir: string; store: FileMetaStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-meta-res-'));
  dirs.push(dir);
  const store = await FileMetaStore.open(dir);
  const now = 1_700_000_000;
  await store.createProject({ name: 'p1', description: '', createTime: now, lastModifyTime: now, quota: {} });
  const ls = {
    project: 'p1',
    ttl: 30,
    enableTracking: false,
    autoSplit: false,
    maxSplitShard: 64,
    appendMeta: false,
    telemetryType: '',
    mode: 'standard',
    createTime: now,
    lastModifyTime: now,
  };
  await store.createLogstore({ ...ls, name: 'a1' }, []);
  await store.createLogstore({ ...ls, name: 'a11' }, []);
  return { dir, store };
}

test('resources are updated atomically, listed by prefix in key order, and persist', async () => {
  const { dir, store } = await freshStore();
  await store.updateResource('index', 'p1/a1/', () => ({ line: { token: [' '] } }));
  await store.updateResource('cg', 'p1/a1/zeta', () => ({ timeout: 10 }));
  await store.updateResource('cg', 'p1/a1/alpha', () => ({ timeout: 20 }));
  await store.updateResource('cg', 'p1/a11/other', () => ({ timeout: 30 }));
  assert.deepEqual(
    store.listResources('cg', 'p1/a1/').map((r) => r.key),
    ['p1/a1/alpha', 'p1/a1/zeta'],
  );
  await store.updateResource<{ timeout: number }>('cg', 'p1/a1/alpha', (cur) => ({ timeout: (cur?.timeout ?? 0) + 1 }));
  await store.close();
  const reopened = await FileMetaStore.open(dir);
  assert.deepEqual(reopened.getResource('cg', 'p1/a1/alpha'), { timeout: 21 });
  assert.deepEqual(reopened.getResource('index', 'p1/a1/'), { line: { token: [' '] } });
  await reopened.updateResource('cg', 'p1/a1/alpha', () => undefined);
  assert.equal(reopened.getResource('cg', 'p1/a1/alpha'), undefined);
  await reopened.close();
});

test('a refused update changes nothing', async () => {
  const { store } = await freshStore();
  await store.updateResource('cg', 'p1/a1/g', () => ({ v: 1 }));
  await assert.rejects(
    store.updateResource('cg', 'p1/a1/g', () => {
      throw new SlsError('ParameterInvalid', 'no');
    }),
    (err: unknown) => err instanceof SlsError && err.code === 'ParameterInvalid',
  );
  assert.deepEqual(store.getResource('cg', 'p1/a1/g'), { v: 1 });
  await store.close();
});

test('deleting a logstore or project deletes exactly the documents under its prefix', async () => {
  const { store } = await freshStore();
  await store.updateResource('cg', 'p1/a1/g', () => ({ v: 1 }));
  await store.updateResource('cg', 'p1/a11/g', () => ({ v: 2 }));
  await store.updateResource('mg', 'p1/group', () => ({ v: 3 }));
  await store.deleteLogstore('p1', 'a1');
  assert.equal(store.getResource('cg', 'p1/a1/g'), undefined);
  assert.deepEqual(store.getResource('cg', 'p1/a11/g'), { v: 2 }, 'a sibling whose name shares the prefix survives');
  await store.deleteProject('p1');
  assert.equal(store.getResource('cg', 'p1/a11/g'), undefined);
  assert.equal(store.getResource('mg', 'p1/group'), undefined);
  await store.close();
});

test('open removes a temp snapshot left by a process killed mid-write, keeping meta.json', async () => {
  const { dir, store } = await freshStore();
  await store.close();
  const { readdir, writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'meta.json.tmp-424242'), '{"half":');
  const reopened = await FileMetaStore.open(dir);
  assert.deepEqual(await readdir(dir), ['meta.json']);
  assert.ok(reopened.getLogstore('p1', 'a1'), 'the committed state is intact');
  await reopened.close();
});
