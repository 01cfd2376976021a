/**
 * AgentHeartbeats over a real FileMetaStore with a settable clock: a machine turns `stale` once no heartbeat came
 * for `staleAfterMs`, heartbeats are written to the store when new or changed and at most once per `persistEveryMs`
 * otherwise, and a restarted server still lists the machine. Fails if staleness, throttling or persistence break.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentHeartbeats, MACHINE_KIND, type MachineRecord } from '../../../src/backend/agent-heartbeats.js';
import { MachineGroups } from '../../../src/backend/machine-groups.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('stale after the threshold, throttled persistence, kept across a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-heartbeats-'));
  dirs.push(dir);
  let now = 1_800_000_000_000;
  const clock = () => now;
  const options = { staleAfterMs: 30_000, heartbeatIntervalSec: 5, persistEveryMs: 60_000 };
  let meta = await FileMetaStore.open(dir);
  await meta.createProject({ name: 'p', description: '', createTime: 1, lastModifyTime: 1, quota: {} });
  let groups = new MachineGroups(meta, clock);
  await groups.createGroup('p', { groupName: 'g1', machineIdentifyType: 'ip', machineList: ['10.1.1.1'] });
  let hb = new AgentHeartbeats(meta, groups, options, clock);

  const beat = (extra: Record<string, unknown> = {}) =>
    hb.heartbeat('p', { instanceId: 'm1', ip: '10.1.1.1', hostname: 'h', ...extra }, '127.0.0.1');
  const stored = () => meta.getResource<MachineRecord>(MACHINE_KIND, 'p/m1');

  await beat();
  assert.equal(stored()?.lastHeartbeatMs, now, 'a new machine is written at once');
  const first = now;
  now += 10_000;
  await beat();
  assert.equal(stored()?.lastHeartbeatMs, first, 'an unchanged heartbeat within a minute is not written');
  assert.equal(hb.list('p')[0]?.lastHeartbeatMs, now, 'but it is what the list shows');
  now += 1_000;
  await beat({ hostname: 'renamed' });
  assert.equal(stored()?.hostname, 'renamed', 'an identity change is written at once');

  assert.equal(hb.machineJson(hb.machinesOf('p', 'g1')[0]!)['state'], 'ok');
  now += 30_001;
  const m = hb.machineJson(hb.machinesOf('p', 'g1')[0]!);
  assert.equal(m['state'], 'stale');
  assert.equal(m['heartbeatAgeSec'], 30);

  // The server restarts: the machine is still listed, with its last stored heartbeat.
  await meta.close();
  meta = await FileMetaStore.open(dir);
  groups = new MachineGroups(meta, clock);
  hb = new AgentHeartbeats(meta, groups, options, clock);
  const after = hb.machinesOf('p', 'g1');
  assert.equal(after.length, 1);
  assert.equal(after[0]!.hostname, 'renamed');
  assert.equal(hb.machineJson(after[0]!)['state'], 'stale');
  await meta.close();
});
