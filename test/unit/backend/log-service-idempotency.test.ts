/**
 * LogService.put with an idempotency id, over the real FileMetaStore and embedded shard logs: a batch is stored at
 * most once per logstore, whichever shard a resend is routed to (hash key, round-robin, after a split), across a
 * restart, and while the original is still in flight; a failed original lets its duplicate be stored fresh; TTL
 * forgets ids with their records.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LogService, type PutResult, type ShardLogFactory } from '../../../src/backend/log-service.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import type { ShardMeta } from '../../../src/meta/meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';
import { EmbeddedShardLogs } from '../../../src/server/embedded-shard-logs.js';
import type { AppendEntry, ShardLog } from '../../../src/storage/shard-log/shard-log.js';

const MIN = '00000000000000000000000000000000';
const MAX = 'ffffffffffffffffffffffffffffffff';
const K80 = '80000000000000000000000000000000';
const T0 = 1_700_000_000_000;
const DAY_MS = 86_400_000;

let root: string;
let dirCount = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-idempotent-put-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Lets a test hold appends and decide whether each one succeeds. */
class AppendGate {
  private waiting: { release: (fail: boolean) => void }[] = [];
  holding = false;

  async pass(): Promise<void> {
    if (!this.holding) return;
    const fail = await new Promise<boolean>((resolve) => this.waiting.push({ release: resolve }));
    if (fail) throw new SlsError('InternalServerError', 'injected append failure');
  }

  get held(): number {
    return this.waiting.length;
  }

  release(fail: boolean): void {
    this.holding = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.release(fail);
  }
}

/** Embedded shard logs whose appends go through `gate` first. */
function gatedFactory(inner: ShardLogFactory, gate: AppendGate): ShardLogFactory {
  return {
    open: async (project, logstore, shard) => {
      const log = await inner.open(project, logstore, shard);
      const gated: ShardLog = {
        beginSeq: () => log.beginSeq(),
        endSeq: () => log.endSeq(),
        append: async (entries, time) => {
          await gate.pass();
          return log.append(entries, time);
        },
        read: (from, options) => log.read(from, options),
        seqAtTime: (ms) => log.seqAtTime(ms),
        timeOfSeq: (seq) => log.timeOfSeq(seq),
        findIdempotencyId: (id) => log.findIdempotencyId(id),
        trimBefore: (ms) => log.trimBefore(ms),
        close: () => log.close(),
      };
      return gated;
    },
    remove: (project: string, logstore: string, shard: ShardMeta) => inner.remove(project, logstore, shard),
  };
}

interface Env {
  readonly dir: string;
  readonly service: LogService;
  readonly gate: AppendGate;
  setTime(ms: number): void;
  close(): Promise<void>;
}

async function openEnv(dir = join(root, `data-${++dirCount}`)): Promise<Env> {
  let now = T0;
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const gate = new AppendGate();
  const shardLogs = gatedFactory(
    new EmbeddedShardLogs(join(dir, 'shards'), { fsync: false, maxFileBytes: 1 << 20 }),
    gate,
  );
  const service = new LogService({
    meta,
    shardLogs,
    defaultProjectQuota: {},
    maxShardsPerLogstore: 16,
    clock: () => now,
  });
  return {
    dir,
    service,
    gate,
    setTime: (ms) => {
      now = ms;
    },
    close: async () => {
      await service.close();
      await meta.close();
    },
  };
}

async function setup(shardCount: number, ttl = 30): Promise<Env> {
  const env = await openEnv();
  await env.service.createProject('p', '');
  await env.service.createLogstore('p', { name: 'ls', ttl, shardCount });
  return env;
}

function entry(text: string): AppendEntry {
  const payload = Buffer.from(text);
  return { payload, codec: 'none', rawSize: payload.length };
}

/** Every payload in the logstore, all shards, with its id (if any). */
async function stored(env: Env, logstore = 'ls'): Promise<string[]> {
  const out: string[] = [];
  for (const shard of env.service.listShards('p', logstore)) {
    const { begin } = await env.service.cursorRange('p', logstore, shard.id);
    const { records } = await env.service.pull('p', logstore, shard.id, begin, { maxCount: 1000, maxBytes: 1 << 20 });
    for (const r of records)
      out.push(r.payload.toString() + (r.idempotencyId !== undefined ? `#${r.idempotencyId}` : ''));
  }
  return out.sort();
}

describe('LogService idempotent put', () => {
  test('a resend is a replay naming the original; other ids, no id, and other logstores are stored', async () => {
    const env = await setup(2);
    try {
      await env.service.createLogstore('p', { name: 'other', ttl: 30, shardCount: 1 });
      const first = await env.service.put('p', 'ls', [entry('a')], MIN, 'id-a');
      assert.equal(first.replay, false);
      const again = await env.service.put('p', 'ls', [entry('a')], MIN, 'id-a');
      assert.deepEqual(again, { ...first, replay: true });
      assert.equal((await env.service.put('p', 'ls', [entry('b')], MIN, 'id-b')).replay, false);
      await env.service.put('p', 'ls', [entry('plain')], MIN);
      await env.service.put('p', 'ls', [entry('plain')], MIN);
      assert.equal((await env.service.put('p', 'other', [entry('a')], undefined, 'id-a')).replay, false);
      assert.deepEqual(await stored(env), ['a#id-a', 'b#id-b', 'plain', 'plain']);
      assert.deepEqual(await stored(env, 'other'), ['a#id-a']);
    } finally {
      await env.close();
    }
  });

  test('a resend routed to another shard (hash key, round-robin) or made after a split is a replay', async () => {
    const env = await setup(2);
    try {
      const original = await env.service.put('p', 'ls', [entry('x')], MIN, 'id-x');
      assert.equal(original.shardId, 0);
      assert.deepEqual(await env.service.put('p', 'ls', [entry('x')], MAX, 'id-x'), { ...original, replay: true });
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await env.service.put('p', 'ls', [entry('x')], undefined, 'id-x'), {
          ...original,
          replay: true,
        });
      }
      await env.service.splitShard('p', 'ls', 0, '40000000000000000000000000000000');
      assert.equal(env.service.listShards('p', 'ls').find((s) => s.id === 0)!.status, 'readonly');
      assert.deepEqual(await env.service.put('p', 'ls', [entry('x')], MIN, 'id-x'), { ...original, replay: true });
      assert.deepEqual(await env.service.put('p', 'ls', [entry('x')], K80, 'id-x'), { ...original, replay: true });
      assert.deepEqual(await stored(env), ['x#id-x']);
    } finally {
      await env.close();
    }
  });

  test('a multi-record batch keeps its id on the last record; the replay names its first', async () => {
    const env = await setup(1);
    try {
      const batch = [entry('m1'), entry('m2'), entry('m3')];
      const original = await env.service.put('p', 'ls', batch, undefined, 'id-m');
      assert.deepEqual(await env.service.put('p', 'ls', batch, undefined, 'id-m'), { ...original, replay: true });
      assert.deepEqual(await stored(env), ['m1', 'm2', 'm3#id-m']);
    } finally {
      await env.close();
    }
  });

  test('the ids survive a restart', async () => {
    const env = await setup(3);
    const originals: PutResult[] = [];
    for (let i = 0; i < 6; i++)
      originals.push(await env.service.put('p', 'ls', [entry(`r${i}`)], undefined, `id-${i}`));
    await env.close();
    const reopened = await openEnv(env.dir);
    try {
      for (let i = 0; i < 6; i++) {
        assert.deepEqual(await reopened.service.put('p', 'ls', [entry(`r${i}`)], undefined, `id-${i}`), {
          ...originals[i]!,
          replay: true,
        });
      }
      assert.equal((await stored(reopened)).length, 6);
    } finally {
      await reopened.close();
    }
  });

  test('duplicates of a put in flight wait for it and answer as it does', async () => {
    const env = await setup(2);
    try {
      env.gate.holding = true;
      const puts = Array.from({ length: 8 }, (_, i) =>
        env.service.put('p', 'ls', [entry('c')], i % 2 === 0 ? MIN : MAX, 'id-c'),
      );
      while (env.gate.held === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(env.gate.held, 1, 'one append, however many duplicates');
      env.gate.release(false);
      const results = await Promise.all(puts);
      assert.equal(results.filter((r) => !r.replay).length, 1);
      const original = results.find((r) => !r.replay)!;
      for (const r of results) assert.deepEqual({ ...r, replay: false }, original);
      assert.deepEqual(await stored(env), ['c#id-c']);
    } finally {
      await env.close();
    }
  });

  test('when the original fails, a waiting duplicate is stored as a fresh write', async () => {
    const env = await setup(1);
    try {
      env.gate.holding = true;
      const original = env.service.put('p', 'ls', [entry('f')], undefined, 'id-f');
      const duplicates = [1, 2, 3].map(() => env.service.put('p', 'ls', [entry('f')], undefined, 'id-f'));
      while (env.gate.held === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      env.gate.release(true);
      await assert.rejects(original, /injected append failure/);
      const results = await Promise.all(duplicates);
      assert.equal(results.filter((r) => !r.replay).length, 1, 'one duplicate took over, the others waited for it');
      assert.deepEqual(await stored(env), ['f#id-f']);
    } finally {
      await env.close();
    }
  });

  test('TTL forgets an id with its record: a later resend is stored again', async () => {
    const env = await setup(1, 1);
    try {
      await env.service.put('p', 'ls', [entry('old')], undefined, 'id-old');
      env.setTime(T0 + 2 * DAY_MS);
      await env.service.enforceRetention();
      assert.deepEqual(await stored(env), []);
      assert.equal((await env.service.put('p', 'ls', [entry('old')], undefined, 'id-old')).replay, false);
      assert.deepEqual(await stored(env), ['old#id-old']);
    } finally {
      await env.close();
    }
  });

  test('a malformed id is ParameterInvalid and nothing is written', async () => {
    const env = await setup(1);
    try {
      for (const id of ['', 'a b', 'x'.repeat(129), 'caf\u00e9']) {
        await assert.rejects(env.service.put('p', 'ls', [entry('bad')], undefined, id), (err: unknown) => {
          assert.ok(err instanceof SlsError);
          assert.equal(err.code, 'ParameterInvalid');
          return true;
        });
      }
      assert.deepEqual(await stored(env), []);
    } finally {
      await env.close();
    }
  });
});
