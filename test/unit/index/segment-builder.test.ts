/**
 * The builder workers: records in, a durable segment out; a worker idle for a few seconds is stopped (its build
 * buffers go back to the system) and the next build starts a new one transparently. Builds wait in one queue and go
 * to the first free worker (with a queue per worker, a short build could wait behind a long one while the other
 * worker sat idle), and the indexer's backpressure waits for any build, not a given one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { SegmentBuilder } from '../../../src/index/segment-builder.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../../src/protocol/lz4-block.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-builder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const doc = {
  config: { line: { token: [' ', '/', '?', '='] }, keys: { status: { type: 'long' } } },
  version: 1,
  lastModifyTime: 0,
};

function records(gen: NginxLogGenerator, from: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const raw = encodeLogGroup(gen.group(50));
    return {
      seq: from + i,
      receiveTimeMs: 0,
      codec: 'lz4' as const,
      rawSize: raw.length,
      payload: lz4BlockCompress(raw),
      shardKey: '0-0',
    };
  });
}

test('builds survive the idle stop of their worker', async () => {
  const builder = new SegmentBuilder(1);
  const gen = new NginxLogGenerator(3);
  try {
    const a = join(dir, '0000000001.seg');
    await builder.build({ doc, ttlDays: 30, id: '0000000001', path: a, records: records(gen, 0, 3) });
    const ra = SegmentReader.open(a);
    assert.equal(ra.n, 150);
    assert.deepEqual(ra.footer.shards, { '0-0': [[0, 3]] });
    ra.close();
    assert.equal(builder.running, 1);
    // Idle: stopped within a few seconds (bounded wait).
    for (let i = 0; i < 100 && builder.running > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(builder.running, 0, 'an idle builder worker is stopped');
    const b = join(dir, '0000000002.seg');
    await builder.build({ doc, ttlDays: 30, id: '0000000002', path: b, records: records(gen, 3, 2) });
    const rb = SegmentReader.open(b);
    assert.equal(rb.n, 100);
    // The new worker tokenized: most generated logs have status 200, so the full-text token is present.
    const hits = rb.term('', '200');
    const count = hits.kind === 'ids' ? hits.ids.length : hits.words.reduce((a, w) => a + popcount(w), 0);
    assert.ok(count > 50, `status 200 in ${count} of 100 rows`);
    rb.close();
  } finally {
    await builder.close();
  }
});

test('a build queued behind a long one runs on the worker that is free', async () => {
  const builder = new SegmentBuilder(2);
  const gen = new NginxLogGenerator(5);
  const finished: string[] = [];
  const run = (name: string, count: number, from: number) =>
    builder
      .build({ doc, ttlDays: 30, id: name, path: join(dir, `${name}.seg`), records: records(gen, from, count) })
      .then(() => finished.push(name));
  try {
    // Long: 1,000 groups of 50 logs on the first worker; then two single-group builds. Before the shared queue the
    // third went to the first worker (both workers had one build) and finished after the long one.
    const long = run('0000000011', 1000, 0);
    const a = run('0000000012', 1, 1000);
    const b = run('0000000013', 1, 1001);
    assert.equal(builder.pending, 3);
    await Promise.all([long, a, b]);
    assert.deepEqual(finished, ['0000000012', '0000000013', '0000000011']);
    assert.equal(builder.pending, 0);
    const r = SegmentReader.open(join(dir, '0000000013.seg'));
    assert.equal(r.n, 50);
    r.close();
  } finally {
    await builder.close();
  }
});

test('whenPendingAtMost resolves once enough builds have finished', async () => {
  const builder = new SegmentBuilder(1);
  const gen = new NginxLogGenerator(9);
  try {
    const builds = [0, 1, 2].map((i) =>
      builder.build({
        doc,
        ttlDays: 30,
        id: `000000002${i}`,
        path: join(dir, `000000002${i}.seg`),
        records: records(gen, i, 2),
      }),
    );
    assert.equal(builder.pending, 3);
    await builder.whenPendingAtMost(1);
    assert.ok(builder.pending <= 1);
    await builds[1];
    await builder.whenPendingAtMost(0);
    assert.equal(builder.pending, 0);
    await Promise.all(builds);
  } finally {
    await builder.close();
  }
});

test('close rejects queued builds', async () => {
  const builder = new SegmentBuilder(1);
  const gen = new NginxLogGenerator(4);
  const first = builder.build({
    doc,
    ttlDays: 30,
    id: '0000000031',
    path: join(dir, '0000000031.seg'),
    records: records(gen, 0, 2),
  });
  const queued = builder.build({
    doc,
    ttlDays: 30,
    id: '0000000032',
    path: join(dir, '0000000032.seg'),
    records: records(gen, 2, 2),
  });
  const firstDone = first.then(
    () => 'built',
    () => 'rejected',
  );
  const queuedDone = assert.rejects(queued, /closed/);
  await builder.close();
  await queuedDone;
  assert.ok(['built', 'rejected'].includes(await firstDone));
  assert.equal(builder.pending, 0);
});

test('releaseIdle stops idle workers that ran a big build, not those that ran small ones', async () => {
  const builder = new SegmentBuilder(2);
  const gen = new NginxLogGenerator(6);
  try {
    // Small: one group of 50 logs. releaseIdle keeps the worker (a restart would only cost JIT warm-up).
    await builder.build({
      doc,
      ttlDays: 30,
      id: '0000000041',
      path: join(dir, '0000000041.seg'),
      records: records(gen, 0, 1),
    });
    builder.releaseIdle();
    assert.equal(builder.running, 1, 'a worker that built little is kept');
    // Big: over 8 MB of raw LogGroups (~400 bytes per generated log).
    const big = records(gen, 1, 500);
    assert.ok(big.reduce((a, r) => a + r.rawSize, 0) >= 8 * 1024 * 1024);
    await builder.build({ doc, ttlDays: 30, id: '0000000042', path: join(dir, '0000000042.seg'), records: big });
    assert.equal(builder.running, 1, 'the big build went to the free worker that was running');
    builder.releaseIdle();
    assert.equal(builder.running, 0, 'a worker holding a big build is stopped at once');
    const r = SegmentReader.open(join(dir, '0000000042.seg'));
    assert.equal(r.n, 25_000);
    r.close();
  } finally {
    await builder.close();
  }
});

function popcount(w: number): number {
  let n = 0;
  for (let x = w >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

test('payloads that own their buffers move to the worker; a request that cannot be posted fails alone', async () => {
  const builder = new SegmentBuilder(1);
  const gen = new NginxLogGenerator(5);
  try {
    // Each payload all of its own ArrayBuffer (as LogstoreIndex queues them): transferred, so empty here afterwards.
    const owned = records(gen, 0, 3).map((r) => ({
      ...r,
      payload: Buffer.from(new Uint8Array(r.payload).buffer),
    }));
    const a = join(dir, '0000000031.seg');
    await builder.build({ doc, ttlDays: 30, id: '0000000031', path: a, records: owned });
    assert.ok(
      owned.every((r) => r.payload.byteLength === 0),
      'the payloads were transferred',
    );
    const ra = SegmentReader.open(a);
    assert.equal(ra.n, 150);
    ra.close();
    // Posting them again cannot work (their buffers are detached): that build is refused, the next one runs.
    const refused = builder.build({
      doc,
      ttlDays: 30,
      id: '0000000032',
      path: join(dir, '0000000032.seg'),
      records: owned,
    });
    const b = join(dir, '0000000033.seg');
    const next = builder.build({ doc, ttlDays: 30, id: '0000000033', path: b, records: records(gen, 3, 2) });
    await assert.rejects(refused);
    await next;
    const rb = SegmentReader.open(b);
    assert.equal(rb.n, 100);
    rb.close();
    assert.equal(builder.pending, 0);
  } finally {
    await builder.close();
  }
});
