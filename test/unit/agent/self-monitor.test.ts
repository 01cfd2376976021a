import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SelfMonitor } from '../../../src/agent/self-monitor/self-monitor.js';

test('soft limits slow reading multiplicatively and recover gradually; the hard limit asks for a restart', () => {
  const over = new SelfMonitor({ cpuSoftShare: 0, memSoftBytes: 1, memHardBytes: 0 });
  over.tick();
  assert.equal(over.throttle, 0.5);
  over.tick();
  assert.equal(over.throttle, 0.25);
  for (let i = 0; i < 20; i++) over.tick();
  assert.equal(over.throttle, 0.05, 'never stops reading entirely');
  assert.equal(over.overHardLimit, false);

  const fine = new SelfMonitor({ cpuSoftShare: 0, memSoftBytes: 0, memHardBytes: 0 });
  fine.throttle = 0.05;
  fine.tick();
  assert.ok(fine.throttle > 0.05 && fine.throttle < 0.1, 'recovers by a quarter per sample');
  for (let i = 0; i < 30; i++) fine.tick();
  assert.equal(fine.throttle, 1);

  const hard = new SelfMonitor({ cpuSoftShare: 0, memSoftBytes: 0, memHardBytes: 1 });
  hard.tick();
  assert.equal(hard.overHardLimit, true);
  assert.ok(hard.sample.rssBytes > 0);
});
