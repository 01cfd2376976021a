/**
 * LogService over the real FileMetaStore and the real embedded shard logs in a temp folder: routing of writes,
 * split/merge/delete of shards, cursors, pulls, quotas through put, logstore recreation and restart behaviour.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CreateLogstoreInput, LogService } from '../../../src/backend/log-service.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import type { ProjectQuota } from '../../../src/meta/meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';
import { EmbeddedShardLogs } from '../../../src/server/embedded-shard-logs.js';
import type { AppendEntry } from '../../../src/storage/shard-log/shard-log.js';

const MIN = '00000000000000000000000000000000';
const MAX = 'ffffffffffffffffffffffffffffffff';
const K40 = '40000000000000000000000000000000';
const K80 = '80000000000000000000000000000000';
const KC0 = 'c0000000000000000000000000000000';
const T0 = 1_700_000_000_000;
const READ = { maxCount: 1000, maxBytes: 1 << 20 };

let root: string;
let dirCount = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-logservice-test-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Env {
  readonly dir: string;
  readonly service: LogService;
  readonly meta: FileMetaStore;
  /** Sets the clock (unix ms). */
  setTime(ms: number): void;
  close(): Promise<void>;
}

/** Opens a LogService on `dir` (a fresh folder by default) with a hand-driven clock starting at `startMs`. */
async function openEnv(options: { dir?: string; startMs?: number; maxShards?: number } = {}): Promise<Env> {
  dirCount += 1;
  const dir = options.dir ?? join(root, `data-${dirCount}`);
  let now = options.startMs ?? T0;
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const service = new LogService({
    meta,
    shardLogs: new EmbeddedShardLogs(join(dir, 'shards'), { fsync: false, maxFileBytes: 1 << 20 }),
    defaultProjectQuota: {},
    maxShardsPerLogstore: options.maxShards ?? 16,
    clock: () => now,
  });
  return {
    dir,
    service,
    meta,
    setTime: (ms) => {
      now = ms;
    },
    close: async () => {
      await service.close();
      await meta.close();
    },
  };
}

function entry(text: string): AppendEntry {
  const payload = Buffer.from(text);
  return { payload, codec: 'none', rawSize: payload.length };
}

function logstore(name: string, shardCount: number): CreateLogstoreInput {
  return { name, ttl: 30, shardCount };
}

async function setup(shardCount: number, quota?: ProjectQuota, options: { maxShards?: number } = {}): Promise<Env> {
  const env = await openEnv(options);
  await env.service.createProject('p', 'test project', quota);
  await env.service.createLogstore('p', logstore('ls', shardCount));
  return env;
}

/** Payloads of every record in a shard, oldest first. */
async function payloads(env: Env, shardId: number, logstoreName = 'ls'): Promise<string[]> {
  const { begin } = await env.service.cursorRange('p', logstoreName, shardId);
  const { records } = await env.service.pull('p', logstoreName, shardId, begin, READ);
  return records.map((r) => r.payload.toString());
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SlsError, `expected SlsError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function baseOf(env: Env, shardId: number, logstoreName = 'ls'): number {
  return env.service.listShards('p', logstoreName).find((s) => s.id === shardId)!.baseSeq;
}

describe('LogService writes', () => {
  test('put without a hash key goes round-robin over the readwrite shards', async () => {
    const env = await setup(3);
    try {
      const results = [];
      for (let i = 0; i < 7; i++) results.push(await env.service.put('p', 'ls', [entry(`g${i}`)]));
      assert.deepEqual(
        results.map((r) => r.shardId),
        [0, 1, 2, 0, 1, 2, 0],
      );
      assert.deepEqual(
        results.map((r) => r.seq - baseOf(env, r.shardId)),
        [0, 0, 0, 1, 1, 1, 2],
        'seq is consecutive per shard, starting at its base',
      );
      assert.deepEqual(await payloads(env, 0), ['g0', 'g3', 'g6']);
      assert.deepEqual(await payloads(env, 1), ['g1', 'g4']);
      assert.deepEqual(await payloads(env, 2), ['g2', 'g5']);
    } finally {
      await env.close();
    }
  });

  test('put with a hash key lands in the shard owning the key', async () => {
    const env = await setup(4);
    try {
      const keys = [MIN, '3fffffffffffffffffffffffffffffff', K40, K80, KC0, MAX];
      const ids = [];
      for (const key of keys) ids.push((await env.service.put('p', 'ls', [entry(key)], key)).shardId);
      assert.deepEqual(ids, [0, 0, 1, 2, 3, 3]);
      assert.deepEqual(await payloads(env, 0), [MIN, '3fffffffffffffffffffffffffffffff']);
      assert.deepEqual(await payloads(env, 3), [KC0, MAX]);
    } finally {
      await env.close();
    }
  });

  test('several entries in one put get consecutive sequence numbers in one shard', async () => {
    const env = await setup(2);
    try {
      const r = await env.service.put('p', 'ls', [entry('a'), entry('b'), entry('c')], MIN);
      assert.equal(r.shardId, 0);
      assert.equal(r.seq, baseOf(env, 0));
      assert.deepEqual(await env.service.cursorRange('p', 'ls', 0), { begin: r.seq, end: r.seq + 3 });
      assert.deepEqual(await payloads(env, 0), ['a', 'b', 'c']);
    } finally {
      await env.close();
    }
  });

  test('put to an unknown project or logstore fails with the SLS code', async () => {
    const env = await setup(1);
    try {
      await rejectsWithCode(env.service.put('nope', 'ls', [entry('x')]), 'ProjectNotExist');
      await rejectsWithCode(env.service.put('p', 'nope', [entry('x')]), 'LogStoreNotExist');
    } finally {
      await env.close();
    }
  });
});

describe('LogService shards', () => {
  test('after a split writes go to the children and the readonly parent stays pullable', async () => {
    const env = await setup(2);
    try {
      await env.service.put('p', 'ls', [entry('before-1')], MIN);
      await env.service.put('p', 'ls', [entry('before-2')], K40);
      const parentRange = await env.service.cursorRange('p', 'ls', 0);

      const result = await env.service.splitShard('p', 'ls', 0, K40);
      assert.deepEqual(
        result.map((s) => [s.id, s.status, s.beginKey, s.endKey, s.parents]),
        [
          [0, 'readonly', MIN, K80, []],
          [2, 'readwrite', MIN, K40, [0]],
          [3, 'readwrite', K40, K80, [0]],
        ],
      );
      assert.deepEqual(
        env.service.listShards('p', 'ls').map((s) => [s.id, s.status]),
        [
          [0, 'readonly'],
          [1, 'readwrite'],
          [2, 'readwrite'],
          [3, 'readwrite'],
        ],
      );

      assert.equal((await env.service.put('p', 'ls', [entry('after-low')], MIN)).shardId, 2);
      assert.equal((await env.service.put('p', 'ls', [entry('after-mid')], K40)).shardId, 3);
      const rr = [];
      for (let i = 0; i < 6; i++) rr.push((await env.service.put('p', 'ls', [entry(`rr${i}`)])).shardId);
      assert.ok(!rr.includes(0), `round-robin never picks the readonly parent: ${rr.join(',')}`);
      assert.deepEqual([...rr].sort(), [1, 1, 2, 2, 3, 3]);

      assert.deepEqual(await env.service.cursorRange('p', 'ls', 0), parentRange, 'parent unchanged');
      assert.deepEqual(await payloads(env, 0), ['before-1', 'before-2']);
      assert.deepEqual((await payloads(env, 2))[0], 'after-low');
      assert.deepEqual((await payloads(env, 3))[0], 'after-mid');
      const bases = env.service.listShards('p', 'ls').map((s) => s.baseSeq);
      assert.ok(bases[2]! > bases[1]! && bases[3]! > bases[2]!, 'children get fresh, larger cursor bases');
    } finally {
      await env.close();
    }
  });

  test('split errors: bad key, readonly shard, unknown shard, shard limit', async () => {
    const env = await setup(2, undefined, { maxShards: 4 });
    try {
      await rejectsWithCode(env.service.splitShard('p', 'ls', 0, K80), 'ParameterInvalid');
      await rejectsWithCode(env.service.splitShard('p', 'ls', 0, 'zz'), 'ParameterInvalid');
      await rejectsWithCode(env.service.splitShard('p', 'ls', 9, K40), 'ShardNotExist');
      await env.service.splitShard('p', 'ls', 0, K40);
      await rejectsWithCode(
        env.service.splitShard('p', 'ls', 0, '20000000000000000000000000000000'),
        'ParameterInvalid',
      );
      // 4 shards now; another split would make 6.
      await rejectsWithCode(env.service.splitShard('p', 'ls', 1, KC0), 'ParameterInvalid');
      assert.equal(env.service.listShards('p', 'ls').length, 4);
    } finally {
      await env.close();
    }
  });

  test('merge returns [left, right, merged]; without a right neighbour it is refused', async () => {
    const env = await setup(2);
    try {
      await rejectsWithCode(env.service.mergeShard('p', 'ls', 1), 'ParameterInvalid');
      await env.service.put('p', 'ls', [entry('left')], MIN);
      await env.service.put('p', 'ls', [entry('right')], KC0);
      const result = await env.service.mergeShard('p', 'ls', 0);
      assert.deepEqual(
        result.map((s) => [s.id, s.status, s.beginKey, s.endKey, s.parents]),
        [
          [0, 'readonly', MIN, K80, []],
          [1, 'readonly', K80, MAX, []],
          [2, 'readwrite', MIN, MAX, [0, 1]],
        ],
      );
      assert.equal((await env.service.put('p', 'ls', [entry('merged')])).shardId, 2);
      assert.equal((await env.service.put('p', 'ls', [entry('merged-key')], MAX)).shardId, 2);
      assert.deepEqual(await payloads(env, 0), ['left']);
      assert.deepEqual(await payloads(env, 1), ['right']);
      assert.deepEqual(await payloads(env, 2), ['merged', 'merged-key']);
    } finally {
      await env.close();
    }
  });

  test('delete removes a readonly shard and its data; a readwrite shard is refused', async () => {
    const env = await setup(2);
    try {
      await env.service.put('p', 'ls', [entry('old')], MIN);
      await env.service.splitShard('p', 'ls', 0, K40);
      await rejectsWithCode(env.service.deleteShard('p', 'ls', 1), 'ParameterInvalid');
      await rejectsWithCode(env.service.deleteShard('p', 'ls', 7), 'ShardNotExist');
      const parentDir = `0-${baseOf(env, 0)}`;
      assert.ok((await readdir(join(env.dir, 'shards', 'p', 'ls'))).includes(parentDir));

      await env.service.deleteShard('p', 'ls', 0);
      assert.deepEqual(
        env.service.listShards('p', 'ls').map((s) => s.id),
        [1, 2, 3],
      );
      await rejectsWithCode(env.service.cursorRange('p', 'ls', 0), 'ShardNotExist');
      assert.ok(!(await readdir(join(env.dir, 'shards', 'p', 'ls'))).includes(parentDir), 'data folder removed');
    } finally {
      await env.close();
    }
  });

  test('creating a logstore with more shards than allowed is ParameterInvalid', async () => {
    const env = await openEnv({ maxShards: 4 });
    try {
      await env.service.createProject('p', '');
      await rejectsWithCode(env.service.createLogstore('p', logstore('big', 5)), 'ParameterInvalid');
      await env.service.createLogstore('p', logstore('ok', 4));
      assert.equal(env.service.listShards('p', 'ok').length, 4);
      await rejectsWithCode(env.service.createLogstore('nope', logstore('x', 1)), 'ProjectNotExist');
      await rejectsWithCode(env.service.createLogstore('p', logstore('ok', 1)), 'LogStoreAlreadyExist');
    } finally {
      await env.close();
    }
  });
});

describe('LogService cursors and pulls', () => {
  /** Three groups received at T0+1 s, T0+2 s, T0+3 s in shard 0. */
  async function threeTimed(): Promise<{ env: Env; base: number }> {
    const env = await setup(1);
    for (const s of [1, 2, 3]) {
      env.setTime(T0 + s * 1000);
      await env.service.put('p', 'ls', [entry(`t${s}`)]);
    }
    return { env, base: baseOf(env, 0) };
  }

  test('cursorAt begin, end and a time', async () => {
    const { env, base } = await threeTimed();
    try {
      const sec = T0 / 1000;
      assert.equal(await env.service.cursorAt('p', 'ls', 0, 'begin'), base);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, 'end'), base + 3);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, 0), base);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, sec + 1), base);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, sec + 2), base + 1);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, sec + 3), base + 2);
      assert.equal(await env.service.cursorAt('p', 'ls', 0, sec + 4), base + 3, 'after the newest: end');
      await rejectsWithCode(env.service.cursorAt('p', 'ls', 5, 'begin'), 'ShardNotExist');
    } finally {
      await env.close();
    }
  });

  test('cursorTime: receive time of the record; end maps to the newest; out of range is InvalidCursor', async () => {
    const { env, base } = await threeTimed();
    try {
      const sec = T0 / 1000;
      assert.equal(await env.service.cursorTime('p', 'ls', 0, base), sec + 1);
      assert.equal(await env.service.cursorTime('p', 'ls', 0, base + 1), sec + 2);
      assert.equal(await env.service.cursorTime('p', 'ls', 0, base + 3), sec + 3);
      await rejectsWithCode(env.service.cursorTime('p', 'ls', 0, base + 4), 'InvalidCursor');
      await rejectsWithCode(env.service.cursorTime('p', 'ls', 0, base - 1), 'InvalidCursor');
    } finally {
      await env.close();
    }
  });

  test('cursorTime of an empty shard is now', async () => {
    const env = await setup(1);
    try {
      env.setTime(T0 + 42_000);
      const base = baseOf(env, 0);
      assert.equal(await env.service.cursorTime('p', 'ls', 0, base), T0 / 1000 + 42);
      await rejectsWithCode(env.service.cursorTime('p', 'ls', 0, base + 1), 'InvalidCursor');
    } finally {
      await env.close();
    }
  });

  test('pull honours endSeq, maxCount and the end of the shard', async () => {
    const env = await setup(1);
    try {
      for (let i = 0; i < 5; i++) await env.service.put('p', 'ls', [entry(`g${i}`)]);
      const base = baseOf(env, 0);
      const bounded = await env.service.pull('p', 'ls', 0, base + 1, { ...READ, endSeq: base + 3 });
      assert.deepEqual(
        bounded.records.map((r) => [r.seq, r.payload.toString()]),
        [
          [base + 1, 'g1'],
          [base + 2, 'g2'],
        ],
      );
      assert.equal(bounded.nextSeq, base + 3);
      assert.equal(bounded.endSeq, base + 5);

      const counted = await env.service.pull('p', 'ls', 0, base, { ...READ, maxCount: 2 });
      assert.deepEqual(
        counted.records.map((r) => r.seq),
        [base, base + 1],
      );
      assert.equal(counted.nextSeq, base + 2);

      const atEnd = await env.service.pull('p', 'ls', 0, base + 5, READ);
      assert.deepEqual(atEnd, { records: [], nextSeq: base + 5, endSeq: base + 5 });

      const emptyWindow = await env.service.pull('p', 'ls', 0, base + 3, { ...READ, endSeq: base + 3 });
      assert.deepEqual(emptyWindow, { records: [], nextSeq: base + 3, endSeq: base + 5 });
    } finally {
      await env.close();
    }
  });

  test('pull with a cursor or endSeq outside [begin, end] is InvalidCursor', async () => {
    const env = await setup(1);
    try {
      await env.service.put('p', 'ls', [entry('g')]);
      const base = baseOf(env, 0);
      await rejectsWithCode(env.service.pull('p', 'ls', 0, base - 1, READ), 'InvalidCursor');
      await rejectsWithCode(env.service.pull('p', 'ls', 0, base + 2, READ), 'InvalidCursor');
      await rejectsWithCode(env.service.pull('p', 'ls', 0, base, { ...READ, endSeq: base + 2 }), 'InvalidCursor');
      await rejectsWithCode(env.service.pull('p', 'ls', 0, 0, READ), 'InvalidCursor');
    } finally {
      await env.close();
    }
  });
});

describe('LogService lifecycle', () => {
  test('a deleted and recreated logstore starts empty; the old data never reappears, even after a restart', async () => {
    const first = await setup(2);
    await first.service.put('p', 'ls', [entry('old-0')], MIN);
    await first.service.put('p', 'ls', [entry('old-1')], KC0);
    const oldBases = first.service.listShards('p', 'ls').map((s) => s.baseSeq);

    await first.service.deleteLogstore('p', 'ls');
    await rejectsWithCode(first.service.cursorRange('p', 'ls', 0), 'LogStoreNotExist');
    assert.deepEqual(await readdir(join(first.dir, 'shards', 'p', 'ls')).catch(() => []), []);

    await first.service.createLogstore('p', logstore('ls', 2));
    const newBases = first.service.listShards('p', 'ls').map((s) => s.baseSeq);
    assert.ok(Math.min(...newBases) > Math.max(...oldBases), 'new cursor bases are above the old ones');
    for (const id of [0, 1]) {
      const range = await first.service.cursorRange('p', 'ls', id);
      assert.equal(range.begin, range.end, `shard ${id} is empty`);
      assert.deepEqual(await payloads(first, id), []);
    }
    // An old cursor is not valid on the new logstore.
    await rejectsWithCode(first.service.pull('p', 'ls', 0, oldBases[0]!, READ), 'InvalidCursor');
    await first.service.put('p', 'ls', [entry('new')], MIN);
    await first.close();

    const second = await openEnv({ dir: first.dir });
    try {
      assert.deepEqual(await payloads(second, 0), ['new']);
      assert.deepEqual(await payloads(second, 1), []);
    } finally {
      await second.close();
    }
  });

  test('records survive a restart', async () => {
    const first = await setup(2);
    await first.service.put('p', 'ls', [entry('a')], MIN);
    await first.service.put('p', 'ls', [entry('b')], MIN);
    await first.close();
    const second = await openEnv({ dir: first.dir });
    try {
      assert.deepEqual(await payloads(second, 0), ['a', 'b']);
      assert.equal((await second.service.put('p', 'ls', [entry('c')], MIN)).seq, baseOf(second, 0) + 2);
    } finally {
      await second.close();
    }
  });

  test('cursor bases strictly increase across a restart, even when the clock stepped back', async () => {
    const first = await setup(2);
    await first.service.createLogstore('p', logstore('ls2', 3));
    const all = () =>
      first.service
        .listLogstores('p')
        .flatMap((l) => first.service.listShards('p', l.name))
        .map((s) => s.baseSeq);
    const before = all();
    for (let i = 1; i < before.length; i++) assert.ok(before[i]! > before[i - 1]!, 'bases increase within a run');
    await first.close();

    const second = await openEnv({ dir: first.dir, startMs: T0 - 3_600_000 });
    try {
      await second.service.createLogstore('p', logstore('later', 2));
      const split = await second.service.splitShard('p', 'ls', 0, K40);
      const fresh = [
        ...second.service.listShards('p', 'later').map((s) => s.baseSeq),
        split[1]!.baseSeq,
        split[2]!.baseSeq,
      ];
      const maxBefore = Math.max(...before);
      for (const b of fresh) assert.ok(b > maxBefore, `base ${b} is above every base of the previous run`);
      for (let i = 1; i < fresh.length; i++) assert.ok(fresh[i]! > fresh[i - 1]!);
    } finally {
      await second.close();
    }
  });

  test('quotas are enforced through put: a rejected put appends nothing', async () => {
    const env = await setup(1, { writeRequestsPerSec: 1 });
    try {
      await env.service.put('p', 'ls', [entry('first')]);
      await rejectsWithCode(env.service.put('p', 'ls', [entry('second')]), 'WriteQuotaExceed');
      const base = baseOf(env, 0);
      assert.deepEqual(await env.service.cursorRange('p', 'ls', 0), { begin: base, end: base + 1 });
      env.setTime(T0 + 1000);
      await env.service.put('p', 'ls', [entry('third')]);
      assert.deepEqual(await payloads(env, 0), ['first', 'third']);
    } finally {
      await env.close();
    }
  });

  test('the shard byte quota counts raw bytes and rejects with ShardWriteQuotaExceed', async () => {
    const env = await setup(2, { shardWriteBytesPerSec: 10 });
    try {
      await env.service.put('p', 'ls', [entry('12345'), entry('67890')], MIN);
      await rejectsWithCode(env.service.put('p', 'ls', [entry('x')], MIN), 'ShardWriteQuotaExceed');
      await env.service.put('p', 'ls', [entry('other')], KC0);
      assert.deepEqual(await payloads(env, 0), ['12345', '67890']);
    } finally {
      await env.close();
    }
  });

  test('updating a project quota applies at once', async () => {
    const env = await setup(1, { writeRequestsPerSec: 1 });
    try {
      await env.service.put('p', 'ls', [entry('a')]);
      await rejectsWithCode(env.service.put('p', 'ls', [entry('b')]), 'WriteQuotaExceed');
      await env.service.updateProject('p', { quota: {} });
      await env.service.put('p', 'ls', [entry('c')]);
      await env.service.put('p', 'ls', [entry('d')]);
      assert.deepEqual(await payloads(env, 0), ['a', 'c', 'd']);
    } finally {
      await env.close();
    }
  });

  test('deleting a project drops its logstores and data', async () => {
    const env = await setup(2);
    try {
      await env.service.put('p', 'ls', [entry('x')]);
      await env.service.deleteProject('p');
      assert.throws(
        () => env.service.getProject('p'),
        (err: unknown) => (err as SlsError).code === 'ProjectNotExist',
      );
      await rejectsWithCode(env.service.put('p', 'ls', [entry('y')]), 'ProjectNotExist');
      assert.deepEqual(await readdir(join(env.dir, 'shards', 'p', 'ls')).catch(() => []), []);
      await env.service.createProject('p', '');
      assert.deepEqual(env.service.listLogstores('p'), []);
    } finally {
      await env.close();
    }
  });
});
