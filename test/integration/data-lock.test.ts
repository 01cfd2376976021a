/**
 * One server per data folder: a second `sluice serve` on the same folder must refuse to start (two writers would
 * corrupt the shard logs), and a lock left by a SIGKILLed server must not block the restart. Fails if the lock is
 * dropped (the second server would start) or never taken over (the restart would be refused).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test('a second server on the same data folder refuses; a crashed server’s lock is taken over', async () => {
  const first = await startServerProcess();
  cleanup.push(() => removeDir(first.dataDir));
  cleanup.push(() => first.stop());

  await assert.rejects(startServerProcess({ dataDir: first.dataDir }), (err: Error) => {
    assert.match(err.message, /is in use by process \d+/);
    return true;
  });
  const health = await fetch(`${first.url}/health`);
  assert.equal(health.status, 200, 'the first server keeps serving');

  await first.kill();
  let restarted: ServerProcess | undefined;
  try {
    restarted = await startServerProcess({ dataDir: first.dataDir });
    assert.equal((await fetch(`${restarted.url}/health`)).status, 200);
  } finally {
    await restarted?.stop();
  }
});
