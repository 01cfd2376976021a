/**
 * FileMetaStore: the embedded metadata store on one atomically rewritten JSON snapshot. Covers CRUD, error codes,
 * persistence across reopen, atomicity of failed changes (memory and disk), serialization of concurrent changes, and
 * recovery from a crash mid-write (leftover temp file) or a damaged snapshot.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import type { LogstoreMeta, ProjectMeta, ShardMeta } from '../../../src/meta/meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';

let root: string;
let dirCount = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-meta-test-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh, empty data folder for one test. */
function freshDir(): string {
  dirCount += 1;
  return join(root, `store-${dirCount}`);
}

function project(name: string, extra: Partial<ProjectMeta> = {}): ProjectMeta {
  return {
    name,
    description: `${name} desc`,
    createTime: 1_700_000_000,
    lastModifyTime: 1_700_000_000,
    quota: {},
    ...extra,
  };
}

function logstore(projectName: string, name: string): LogstoreMeta {
  return {
    project: projectName,
    name,
    ttl: 30,
    enableTracking: false,
    autoSplit: false,
    maxSplitShard: 64,
    appendMeta: false,
    telemetryType: '',
    mode: 'standard',
    createTime: 1_700_000_000,
    lastModifyTime: 1_700_000_000,
  };
}

const TWO_SHARDS: readonly ShardMeta[] = [
  {
    id: 0,
    status: 'readwrite',
    beginKey: '00000000000000000000000000000000',
    endKey: '80000000000000000000000000000000',
    createTime: 1_700_000_000,
    baseSeq: 1_000_000,
    parents: [],
  },
  {
    id: 1,
    status: 'readwrite',
    beginKey: '80000000000000000000000000000000',
    endKey: 'ffffffffffffffffffffffffffffffff',
    createTime: 1_700_000_000,
    baseSeq: 2_000_000,
    parents: [],
  },
];

/** Asserts `promise` rejects with an SlsError of `code`. */
async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SlsError, `expected SlsError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('FileMetaStore projects', () => {
  test('create, get, list, update and delete a project', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      assert.deepEqual(store.listProjects(), []);
      assert.equal(store.getProject('p1'), undefined);

      await store.createProject(project('p1'));
      await store.createProject(project('p2'));
      assert.deepEqual(store.getProject('p1'), project('p1'));
      assert.deepEqual(
        store.listProjects().map((p) => p.name),
        ['p1', 'p2'],
      );

      const before = Math.floor(Date.now() / 1000);
      const updated = await store.updateProject('p1', { description: 'new', quota: { writeRequestsPerSec: 5 } });
      assert.equal(updated.description, 'new');
      assert.deepEqual(updated.quota, { writeRequestsPerSec: 5 });
      assert.equal(updated.createTime, 1_700_000_000);
      assert.ok(updated.lastModifyTime >= before, 'lastModifyTime is refreshed');
      assert.deepEqual(store.getProject('p1'), updated);

      await store.deleteProject('p1');
      assert.equal(store.getProject('p1'), undefined);
      assert.deepEqual(
        store.listProjects().map((p) => p.name),
        ['p2'],
      );
    } finally {
      await store.close();
    }
  });

  test('error codes: ProjectAlreadyExist and ProjectNotExist', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      await store.createProject(project('p1'));
      await rejectsWithCode(store.createProject(project('p1', { description: 'other' })), 'ProjectAlreadyExist');
      assert.equal(store.getProject('p1')?.description, 'p1 desc', 'the failed create changed nothing');
      await rejectsWithCode(store.updateProject('nope', { description: 'x' }), 'ProjectNotExist');
      await rejectsWithCode(store.deleteProject('nope'), 'ProjectNotExist');
      await rejectsWithCode(store.createLogstore(logstore('nope', 'ls'), TWO_SHARDS), 'ProjectNotExist');
    } finally {
      await store.close();
    }
  });

  test('deleting a project deletes its logstores; recreating it starts empty', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      await store.createProject(project('p1'));
      await store.createLogstore(logstore('p1', 'ls'), TWO_SHARDS);
      await store.deleteProject('p1');
      assert.deepEqual(store.listLogstores('p1'), []);
      assert.deepEqual(store.listShards('p1', 'ls'), []);
      await store.createProject(project('p1'));
      assert.deepEqual(store.listLogstores('p1'), []);
      assert.equal(store.getLogstore('p1', 'ls'), undefined);
    } finally {
      await store.close();
    }
  });
});

describe('FileMetaStore logstores and shards', () => {
  test('create, get, list, update and delete a logstore', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      await store.createProject(project('p1'));
      await store.createProject(project('p2'));
      await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
      await store.createLogstore(logstore('p1', 'b'), TWO_SHARDS.slice(0, 1));
      await store.createLogstore(logstore('p2', 'a'), TWO_SHARDS);

      assert.deepEqual(store.getLogstore('p1', 'a'), logstore('p1', 'a'));
      assert.deepEqual(
        store.listLogstores('p1').map((l) => l.name),
        ['a', 'b'],
      );
      assert.deepEqual(store.listLogstores('unknown'), []);
      assert.equal(store.getLogstore('p1', 'c'), undefined);
      assert.deepEqual(store.listShards('p1', 'a'), TWO_SHARDS);
      assert.deepEqual(store.listShards('p1', 'b'), TWO_SHARDS.slice(0, 1));
      assert.deepEqual(store.listShards('p1', 'nope'), []);

      const updated = await store.updateLogstore('p1', 'a', { ttl: 7, enableTracking: true });
      assert.equal(updated.ttl, 7);
      assert.equal(updated.enableTracking, true);
      assert.equal(updated.maxSplitShard, 64);
      assert.deepEqual(store.getLogstore('p1', 'a'), updated);
      assert.equal(store.getLogstore('p2', 'a')?.ttl, 30, 'same name in another project untouched');
      assert.deepEqual(store.listShards('p1', 'a'), TWO_SHARDS, 'update keeps the shards');

      await store.deleteLogstore('p1', 'a');
      assert.equal(store.getLogstore('p1', 'a'), undefined);
      assert.deepEqual(store.listShards('p1', 'a'), []);
      assert.deepEqual(
        store.listLogstores('p1').map((l) => l.name),
        ['b'],
      );
      assert.ok(store.getLogstore('p2', 'a'));
    } finally {
      await store.close();
    }
  });

  test('error codes: LogStoreAlreadyExist and LogStoreNotExist', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      await store.createProject(project('p1'));
      await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
      await rejectsWithCode(store.createLogstore(logstore('p1', 'a'), []), 'LogStoreAlreadyExist');
      assert.deepEqual(store.listShards('p1', 'a'), TWO_SHARDS);
      await rejectsWithCode(store.updateLogstore('p1', 'nope', { ttl: 1 }), 'LogStoreNotExist');
      await rejectsWithCode(store.deleteLogstore('p1', 'nope'), 'LogStoreNotExist');
      await rejectsWithCode(
        store.mutateShards('p1', 'nope', (s) => s),
        'LogStoreNotExist',
      );
      await rejectsWithCode(store.updateLogstore('nope', 'a', { ttl: 1 }), 'ProjectNotExist');
      await rejectsWithCode(store.deleteLogstore('nope', 'a'), 'ProjectNotExist');
      await rejectsWithCode(
        store.mutateShards('nope', 'a', (s) => s),
        'ProjectNotExist',
      );
    } finally {
      await store.close();
    }
  });

  test('mutateShards sees the current shards and commits what it returns', async () => {
    const store = await FileMetaStore.open(freshDir());
    try {
      await store.createProject(project('p1'));
      await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
      let seen: readonly ShardMeta[] = [];
      const next = await store.mutateShards('p1', 'a', (cur) => {
        seen = cur;
        return [{ ...cur[0]!, status: 'readonly' }, cur[1]!];
      });
      assert.deepEqual(seen, TWO_SHARDS);
      assert.deepEqual(next, [{ ...TWO_SHARDS[0]!, status: 'readonly' }, TWO_SHARDS[1]]);
      assert.deepEqual(store.listShards('p1', 'a'), next);
      assert.deepEqual(store.getLogstore('p1', 'a'), logstore('p1', 'a'), 'the logstore meta is untouched');
    } finally {
      await store.close();
    }
  });
});

describe('FileMetaStore access keys', () => {
  test('put, get, list and replace access keys, keeping the generated flag', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    await store.putAccessKey({ id: 'ak1', secret: 's1' });
    await store.putAccessKey({ id: 'ak2', secret: 's2', generated: true });
    assert.deepEqual(store.getAccessKey('ak1'), { id: 'ak1', secret: 's1' });
    assert.deepEqual(store.getAccessKey('ak2'), { id: 'ak2', secret: 's2', generated: true });
    assert.equal(store.getAccessKey('ak3'), undefined);
    await store.putAccessKey({ id: 'ak1', secret: 's1-rotated' });
    assert.deepEqual(store.listAccessKeys(), [
      { id: 'ak1', secret: 's1-rotated' },
      { id: 'ak2', secret: 's2', generated: true },
    ]);
    await store.close();

    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(reopened.listAccessKeys(), [
        { id: 'ak1', secret: 's1-rotated' },
        { id: 'ak2', secret: 's2', generated: true },
      ]);
      assert.equal(reopened.listAccessKeys().find((k) => k.generated)?.id, 'ak2');
    } finally {
      await reopened.close();
    }
  });
});

describe('FileMetaStore durability', () => {
  test('everything survives a close and reopen', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    await store.createProject(project('p1', { quota: { writeBytesPerSec: 1000 } }));
    await store.createProject(project('gone'));
    await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
    await store.createLogstore(logstore('p1', 'b'), TWO_SHARDS);
    await store.mutateShards('p1', 'a', (cur) => cur.slice(1));
    await store.updateLogstore('p1', 'b', { ttl: 3650 });
    await store.deleteProject('gone');
    await store.putAccessKey({ id: 'ak', secret: 'sk', generated: true });
    const snapshot = {
      projects: store.listProjects(),
      logstores: store.listLogstores('p1'),
      shardsA: store.listShards('p1', 'a'),
      shardsB: store.listShards('p1', 'b'),
      keys: store.listAccessKeys(),
    };
    await store.close();

    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        {
          projects: reopened.listProjects(),
          logstores: reopened.listLogstores('p1'),
          shardsA: reopened.listShards('p1', 'a'),
          shardsB: reopened.listShards('p1', 'b'),
          keys: reopened.listAccessKeys(),
        },
        snapshot,
      );
      assert.deepEqual(reopened.listShards('p1', 'a'), [TWO_SHARDS[1]]);
      assert.equal(reopened.getLogstore('p1', 'b')?.ttl, 3650);
      assert.equal(reopened.getProject('gone'), undefined);
    } finally {
      await reopened.close();
    }
  });

  test('a mutate that throws leaves the state unchanged in memory and on disk', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    try {
      await store.createProject(project('p1'));
      await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
      const onDisk = await readFile(join(dir, 'meta.json'), 'utf8');

      await assert.rejects(
        store.mutateShards('p1', 'a', () => {
          throw new SlsError('ParameterInvalid', 'refused');
        }),
        (err: unknown) => err instanceof SlsError && err.code === 'ParameterInvalid',
      );
      assert.deepEqual(store.listShards('p1', 'a'), TWO_SHARDS);
      assert.equal(await readFile(join(dir, 'meta.json'), 'utf8'), onDisk);

      // The store keeps working after the failure.
      await store.mutateShards('p1', 'a', (cur) => cur.slice(0, 1));
      assert.deepEqual(store.listShards('p1', 'a'), TWO_SHARDS.slice(0, 1));
    } finally {
      await store.close();
    }
  });

  test('a change whose write fails is not published, and later changes still work', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    try {
      await store.createProject(project('p1'));
      const onDisk = await readFile(join(dir, 'meta.json'), 'utf8');
      // A directory where the temp file must go makes the snapshot write fail (EISDIR), like a full or broken disk.
      const blocker = join(dir, `meta.json.tmp-${process.pid}`);
      await mkdir(blocker);
      await assert.rejects(store.createProject(project('p2')), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
      assert.equal(store.getProject('p2'), undefined, 'not visible in memory');
      assert.deepEqual(
        store.listProjects().map((p) => p.name),
        ['p1'],
      );
      assert.equal(await readFile(join(dir, 'meta.json'), 'utf8'), onDisk, 'not written to disk');

      await rm(blocker, { recursive: true });
      await store.createProject(project('p3'));
      assert.deepEqual(
        store.listProjects().map((p) => p.name),
        ['p1', 'p3'],
      );
    } finally {
      await store.close();
    }
    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        reopened.listProjects().map((p) => p.name),
        ['p1', 'p3'],
      );
    } finally {
      await reopened.close();
    }
  });

  test('50 parallel createLogstore calls serialize without losing any', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    await store.createProject(project('p1'));
    const names = Array.from({ length: 50 }, (_, i) => `ls-${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((n) => store.createLogstore(logstore('p1', n), TWO_SHARDS)));
    assert.deepEqual(
      store
        .listLogstores('p1')
        .map((l) => l.name)
        .sort(),
      names,
    );
    await store.close();

    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        reopened
          .listLogstores('p1')
          .map((l) => l.name)
          .sort(),
        names,
      );
      for (const n of names) assert.deepEqual(reopened.listShards('p1', n), TWO_SHARDS);
    } finally {
      await reopened.close();
    }
  });

  test('parallel changes where some fail: the failures change nothing, the others all land', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    await store.createProject(project('p1'));
    // Every even name is created twice; exactly one of each pair must fail with LogStoreAlreadyExist.
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      calls.push(store.createLogstore(logstore('p1', `ls-${i}`), TWO_SHARDS));
      if (i % 2 === 0) calls.push(store.createLogstore(logstore('p1', `ls-${i}`), []));
    }
    const results = await Promise.allSettled(calls);
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 10);
    for (const r of failed)
      assert.equal(((r as PromiseRejectedResult).reason as SlsError).code, 'LogStoreAlreadyExist');
    await store.close();
    const reopened = await FileMetaStore.open(dir);
    try {
      assert.equal(reopened.listLogstores('p1').length, 20);
      for (let i = 0; i < 20; i++) assert.deepEqual(reopened.listShards('p1', `ls-${i}`), TWO_SHARDS);
    } finally {
      await reopened.close();
    }
  });

  test('close lets changes issued before it finish, and they are on disk', async () => {
    // Regression: close() set the closed flag before the queued changes ran, so they failed with ServerBusy although
    // they had been accepted before close was called.
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    const pending = [store.createProject(project('p1')), store.createProject(project('p2'))];
    await store.close();
    assert.deepEqual(
      (await Promise.allSettled(pending)).map((r) => r.status),
      ['fulfilled', 'fulfilled'],
    );
    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        reopened.listProjects().map((p) => p.name),
        ['p1', 'p2'],
      );
    } finally {
      await reopened.close();
    }
  });

  test('changes after close are refused with ServerBusy', async () => {
    const store = await FileMetaStore.open(freshDir());
    await store.close();
    await rejectsWithCode(store.createProject(project('p1')), 'ServerBusy');
  });

  test('the snapshot is written whole: no temp file is left behind after changes', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    try {
      await store.createProject(project('p1'));
      await store.createLogstore(logstore('p1', 'a'), TWO_SHARDS);
      assert.deepEqual(await readdir(dir), ['meta.json']);
      const json = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { version: number };
      assert.equal(json.version, 1);
    } finally {
      await store.close();
    }
  });

  test('a leftover meta.json.tmp-* from a crash mid-write is ignored, and overwritten by the next change', async () => {
    const dir = freshDir();
    const store = await FileMetaStore.open(dir);
    await store.createProject(project('p1'));
    await store.close();
    // A crash between writing the temp file and renaming it leaves a partial snapshot behind.
    await writeFile(join(dir, 'meta.json.tmp-99999'), '{"version":1,"projects":[{"meta":{"na');
    await writeFile(join(dir, `meta.json.tmp-${process.pid}`), '{"version":1,"proj');

    const reopened = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        reopened.listProjects().map((p) => p.name),
        ['p1'],
      );
      await reopened.createProject(project('p2'));
    } finally {
      await reopened.close();
    }
    const again = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(
        again.listProjects().map((p) => p.name),
        ['p1', 'p2'],
      );
    } finally {
      await again.close();
    }
  });

  test('a missing meta.json opens as an empty store and creates the folder', async () => {
    const dir = join(freshDir(), 'nested', 'meta');
    const store = await FileMetaStore.open(dir);
    try {
      assert.deepEqual(store.listProjects(), []);
      assert.deepEqual(store.listAccessKeys(), []);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await store.close();
    }
  });

  for (const [label, content] of [
    ['truncated JSON', '{"version":1,"projects":[{"meta":'],
    ['an empty file', ''],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a snapshot without its lists', '{"version":1}'],
    ['a snapshot whose projects is not a list', '{"version":1,"projects":{},"accessKeys":[]}'],
  ] as const) {
    test(`a corrupt meta.json (${label}) fails to open with an error naming the file`, async () => {
      const dir = freshDir();
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'meta.json');
      await writeFile(path, content);
      await assert.rejects(FileMetaStore.open(dir), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(err.message.includes(path), `message names the file: ${err.message}`);
        return true;
      });
    });
  }

  test('a meta.json from another format version is refused with an error naming the file and versions', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'meta.json');
    await writeFile(path, '{"version":2,"projects":[],"accessKeys":[]}');
    await assert.rejects(FileMetaStore.open(dir), {
      message: `metadata file ${path} has format version 2, this build reads 1`,
    });
  });
});
