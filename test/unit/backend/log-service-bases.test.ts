/**
 * Regressions found in review of LogService:
 * - cursor bases went backwards when every logstore had been deleted and the server restarted with the clock
 *   stepped back (the high-water mark was only derived from live shards), so a consumer's old cursor could look valid
 *   in a new logstore; fails if the persisted high-water mark is dropped;
 * - a deleted logstore's shard quota debt was inherited by a recreated logstore of the same name; fails if
 *   deleteLogstore stops resetting the shard buckets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogService } from '../../../src/backend/log-service.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { EmbeddedShardLogs } from '../../../src/server/embedded-shard-logs.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function open(dir: string, nowMs: () => number): Promise<{ service: LogService; meta: FileMetaStore }> {
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const service = new LogService({
    meta,
    shardLogs: new EmbeddedShardLogs(join(dir, 'shards'), { fsync: false, maxFileBytes: 1 << 20 }),
    defaultProjectQuota: {},
    maxShardsPerLogstore: 16,
    clock: nowMs,
  });
  return { service, meta };
}

const LS = { ttl: 30, shardCount: 2 };

test('cursor bases keep increasing across a restart with no logstore left and the clock stepped back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bases-'));
  dirs.push(dir);
  const first = await open(dir, () => 1_800_000_000_000);
  await first.service.createProject('p1', '');
  await first.service.createLogstore('p1', { name: 'ls1', ...LS });
  const oldMax = Math.max(...first.service.listShards('p1', 'ls1').map((s) => s.baseSeq));
  await first.service.deleteLogstore('p1', 'ls1');
  await first.service.close();
  await first.meta.close();

  const second = await open(dir, () => 1_700_000_000_000); // clock stepped back by ~3 years
  await second.service.createLogstore('p1', { name: 'ls1', ...LS });
  const newMin = Math.min(...second.service.listShards('p1', 'ls1').map((s) => s.baseSeq));
  assert.ok(newMin > oldMax, `new base ${newMin} must exceed every earlier base (${oldMax})`);
  await second.service.close();
  await second.meta.close();
});

test('a recreated logstore does not inherit the deleted one’s shard quota debt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-quota-reset-'));
  dirs.push(dir);
  const now = 1_800_000_000_000;
  const { service, meta } = await open(dir, () => now);
  await service.createProject('p1', '', { shardWriteBytesPerSec: 1000 });
  await service.createLogstore('p1', { name: 'ls1', ttl: 30, shardCount: 1 });
  const big = encodeLogGroup({ logs: [{ time: 1, contents: [{ key: 'k', value: 'x'.repeat(5000) }] }], tags: [] });
  const entry = { payload: big, codec: 'none' as const, rawSize: big.length };
  await service.put('p1', 'ls1', [entry]); // admitted from a full bucket, leaves ~4000 bytes of debt
  await assert.rejects(
    service.put('p1', 'ls1', [entry]),
    (e: unknown) => e instanceof SlsError && e.code === 'ShardWriteQuotaExceed',
  );
  await service.deleteLogstore('p1', 'ls1');
  await service.createLogstore('p1', { name: 'ls1', ttl: 30, shardCount: 1 });
  await service.put('p1', 'ls1', [entry]); // a fresh bucket: admitted at the same instant
  await service.close();
  await meta.close();
});
