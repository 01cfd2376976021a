/**
 * The builder workers: records in, a durable segment out; a worker idle for a few seconds is stopped (its build
 * buffers go back to the system) and the next build starts a new one transparently.
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

function popcount(w: number): number {
  let n = 0;
  for (let x = w >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}
