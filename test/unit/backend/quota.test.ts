/**
 * Write quotas (sls-api.md §8): a token bucket per project (bytes/s, requests/s) and per shard (bytes/s), driven by an
 * injected clock so every expectation is exact. A rejected request must charge nothing anywhere.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket, type WriteCost, WriteQuotas } from '../../../src/backend/quota.js';
import type { ProjectQuota } from '../../../src/meta/meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';

describe('TokenBucket', () => {
  test('starts full with one second of tokens and refills continuously at the rate', () => {
    const b = new TokenBucket(1000, 0);
    assert.equal(b.canTake(1000, 0), true);
    assert.equal(b.canTake(1001, 0), true, 'more than the bucket is allowed when full');
    b.take(1000);
    assert.equal(b.canTake(1, 0), false);
    assert.equal(b.canTake(1, 1), true, '1 ms refills 1 token at 1000/s');
    assert.equal(b.canTake(2, 1), false);
    assert.equal(b.canTake(500, 500), true);
    assert.equal(b.canTake(501, 500), false);
  });

  test('canTake does not take', () => {
    const b = new TokenBucket(10, 0);
    for (let i = 0; i < 5; i++) assert.equal(b.canTake(10, 0), true);
    b.take(10);
    assert.equal(b.canTake(1, 0), false);
  });

  test('bursts are capped at one second: a long idle period does not bank more than the rate', () => {
    const b = new TokenBucket(100, 0);
    b.take(100);
    assert.equal(b.canTake(100, 60_000), true, 'full again after a minute');
    b.take(100);
    assert.equal(b.canTake(1, 60_000), false, 'the minute banked only one second of tokens');
  });

  test('a request larger than the bucket is admitted only when full and leaves debt', () => {
    const b = new TokenBucket(1000, 0);
    b.take(1);
    assert.equal(b.canTake(2500, 0), false, 'not full: a large request waits');
    assert.equal(b.canTake(2500, 1), true, 'full again after 1 ms');
    b.take(2500); // 1000 - 2500 = -1500 tokens
    assert.equal(b.canTake(1, 1501), false, 'debt: after 1.5 s the bucket is only back at 0');
    assert.equal(b.canTake(1, 1503), true);
    assert.equal(b.canTake(2500, 2500), false, '999 tokens: not yet full');
    assert.equal(b.canTake(2500, 2501), true, 'full again 2.5 s after the large request');
  });

  test('a clock that steps back neither refills nor breaks the bucket', () => {
    const b = new TokenBucket(10, 1000);
    b.take(10);
    assert.equal(b.canTake(1, 500), false);
    assert.equal(b.canTake(1, 600), true, 'refill resumes from the stepped-back time');
  });

  test('setRate lowers the cap immediately', () => {
    const b = new TokenBucket(100, 0);
    b.setRate(10);
    assert.equal(b.canTake(10, 0), true);
    b.take(10);
    assert.equal(b.canTake(1, 0), false);
    assert.equal(b.canTake(10, 1000), true);
    assert.equal(b.canTake(11, 10_000), true, 'more than the bucket: admitted because it is full');
    b.take(11);
    assert.equal(b.canTake(1, 10_000), false);
  });
});

/** A WriteQuotas on a hand-driven clock. */
function quotas(): { q: WriteQuotas; at: (ms: number) => void } {
  let now = 1_000_000;
  const q = new WriteQuotas(() => now);
  return { q, at: (ms) => (now = 1_000_000 + ms) };
}

function cost(project: string, quota: ProjectQuota, rawBytes: number, shard = 0): WriteCost {
  return { project, quota, shardKey: `${project}/ls/${shard}`, rawBytes };
}

function assertQuotaError(fn: () => void, code: 'WriteQuotaExceed' | 'ShardWriteQuotaExceed', text: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SlsError);
    assert.equal(err.code, code);
    assert.equal(err.status, 403);
    assert.ok(err.message.includes(text), `"${err.message}" mentions "${text}"`);
    return true;
  });
}

describe('WriteQuotas', () => {
  test('an empty quota is unlimited', () => {
    const { q } = quotas();
    for (let i = 0; i < 100; i++) q.admit(cost('p', {}, 1e12));
  });

  test('project requests/s: WriteQuotaExceed (qps) with status 403, then admitted after refill', () => {
    const { q, at } = quotas();
    const quota = { writeRequestsPerSec: 2 };
    q.admit(cost('p', quota, 10));
    q.admit(cost('p', quota, 10));
    assertQuotaError(() => q.admit(cost('p', quota, 10)), 'WriteQuotaExceed', 'Project write quota exceed: qps');
    at(499);
    assertQuotaError(() => q.admit(cost('p', quota, 10)), 'WriteQuotaExceed', 'qps');
    at(500);
    q.admit(cost('p', quota, 10));
  });

  test('project bytes/s: WriteQuotaExceed (inflow) with status 403', () => {
    const { q, at } = quotas();
    const quota = { writeBytesPerSec: 1000 };
    q.admit(cost('p', quota, 600));
    assertQuotaError(() => q.admit(cost('p', quota, 401)), 'WriteQuotaExceed', 'Project write quota exceed: inflow');
    q.admit(cost('p', quota, 400));
    at(100);
    q.admit(cost('p', quota, 100));
    assertQuotaError(() => q.admit(cost('p', quota, 1)), 'WriteQuotaExceed', 'inflow');
  });

  test('the project byte rate is shared by all shards of the project, not by other projects', () => {
    const { q } = quotas();
    const quota = { writeBytesPerSec: 1000 };
    q.admit(cost('p', quota, 500, 0));
    q.admit(cost('p', quota, 500, 1));
    assertQuotaError(() => q.admit(cost('p', quota, 1, 2)), 'WriteQuotaExceed', 'inflow');
    q.admit(cost('other', quota, 1000));
  });

  test('shard bytes/s: ShardWriteQuotaExceed with status 403, per shard', () => {
    const { q, at } = quotas();
    const quota = { shardWriteBytesPerSec: 100 };
    q.admit(cost('p', quota, 100, 0));
    assertQuotaError(() => q.admit(cost('p', quota, 1, 0)), 'ShardWriteQuotaExceed', 'Shard write quota exceed');
    q.admit(cost('p', quota, 100, 1));
    at(100); // 100 ms at 100 B/s = 10 bytes
    q.admit(cost('p', quota, 10, 0));
    assertQuotaError(() => q.admit(cost('p', quota, 1, 0)), 'ShardWriteQuotaExceed', 'p/ls/0');
  });

  test('a request larger than the byte rate is admitted when the bucket is full and blocks until repaid', () => {
    const { q, at } = quotas();
    const quota = { writeBytesPerSec: 1000 };
    q.admit(cost('p', quota, 3000));
    at(1999);
    assertQuotaError(() => q.admit(cost('p', quota, 1)), 'WriteQuotaExceed', 'inflow');
    at(2010);
    q.admit(cost('p', quota, 5));
  });

  test('a request rejected on bytes does not use a request token', () => {
    const { q } = quotas();
    const quota = { writeRequestsPerSec: 2, writeBytesPerSec: 100 };
    q.admit(cost('p', quota, 100));
    assertQuotaError(() => q.admit(cost('p', quota, 50)), 'WriteQuotaExceed', 'inflow');
    assertQuotaError(() => q.admit(cost('p', quota, 50)), 'WriteQuotaExceed', 'inflow');
    q.admit(cost('p', quota, 0)); // the second request token is still there
    assertQuotaError(() => q.admit(cost('p', quota, 0)), 'WriteQuotaExceed', 'qps');
  });

  test('a request rejected on requests/s charges no bytes', () => {
    const { q } = quotas();
    const quota = { writeRequestsPerSec: 1, writeBytesPerSec: 100, shardWriteBytesPerSec: 100 };
    q.admit(cost('p', quota, 40));
    assertQuotaError(() => q.admit(cost('p', quota, 60)), 'WriteQuotaExceed', 'qps');
    // Bytes are still at 60 (project) and 60 (shard 0): a fresh request budget proves it.
    const bytesOnly = { writeBytesPerSec: 100, shardWriteBytesPerSec: 100 };
    q.admit(cost('p', bytesOnly, 60));
    assertQuotaError(() => q.admit(cost('p', bytesOnly, 1)), 'WriteQuotaExceed', 'inflow');
  });

  test('a request rejected by its shard charges neither the project bytes nor the request count', () => {
    const { q } = quotas();
    const quota = { writeRequestsPerSec: 3, writeBytesPerSec: 150, shardWriteBytesPerSec: 100 };
    q.admit(cost('p', quota, 100, 0)); // project 50 bytes left, 2 requests left
    assertQuotaError(() => q.admit(cost('p', quota, 50, 0)), 'ShardWriteQuotaExceed', 'p/ls/0');
    q.admit(cost('p', quota, 50, 1)); // needs the 50 project bytes the rejected request must not have taken
    q.admit(cost('p', quota, 0, 1)); // and the third request token
    assertQuotaError(() => q.admit(cost('p', quota, 0, 1)), 'WriteQuotaExceed', 'qps');
  });

  test('the request check comes first, then project bytes, then the shard', () => {
    const { q } = quotas();
    const quota = { writeRequestsPerSec: 1, writeBytesPerSec: 10, shardWriteBytesPerSec: 10 };
    q.admit(cost('p', quota, 10));
    assertQuotaError(() => q.admit(cost('p', quota, 10)), 'WriteQuotaExceed', 'qps');
    const noQps = { writeBytesPerSec: 10, shardWriteBytesPerSec: 10 };
    const { q: q2 } = quotas();
    q2.admit(cost('p', noQps, 10));
    assertQuotaError(() => q2.admit(cost('p', noQps, 10)), 'WriteQuotaExceed', 'inflow');
  });

  test('reset forgets a project: full buckets and the new rate', () => {
    const { q } = quotas();
    const quota = { writeRequestsPerSec: 1, shardWriteBytesPerSec: 10 };
    q.admit(cost('p', quota, 10));
    q.admit(cost('pp', quota, 10));
    assertQuotaError(() => q.admit(cost('p', quota, 0)), 'WriteQuotaExceed', 'qps');
    q.reset('p');
    q.admit(cost('p', quota, 10, 0)); // requests and shard 0 bytes are full again
    // Without reset a changed quota keeps the old bucket; reset applies the new rate.
    const bigger = { writeRequestsPerSec: 3, shardWriteBytesPerSec: 10 };
    assertQuotaError(() => q.admit(cost('p', bigger, 0)), 'WriteQuotaExceed', 'qps');
    q.reset('p');
    q.admit(cost('p', bigger, 0, 1));
    q.admit(cost('p', bigger, 0, 1));
    q.admit(cost('p', bigger, 0, 1));
    // Project "pp" shares a prefix with "p" but was not reset.
    assertQuotaError(() => q.admit(cost('pp', quota, 0)), 'WriteQuotaExceed', 'qps');
    const shardOnly = { shardWriteBytesPerSec: 10 };
    assertQuotaError(() => q.admit(cost('pp', shardOnly, 1, 0)), 'ShardWriteQuotaExceed', 'pp/ls/0');
  });
});
