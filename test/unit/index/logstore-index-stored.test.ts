/**
 * Records queued for the builder workers (`addStored`) hold their own copy of each payload: the source's read buffer
 * may be reused or overwritten once the records are queued, and a build still sees the bytes read. The copies move to
 * the worker (transferred, not cloned), so a failed build's retry reads its records again from the shard log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { compileIndex } from '../../../src/index/index-config.js';
import { DEFAULT_INDEX_OPTIONS, LogstoreIndex } from '../../../src/index/logstore-index.js';
import { SegmentBuilder } from '../../../src/index/segment-builder.js';
import type { BuildRequest } from '../../../src/index/segment-builder-worker.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../../src/protocol/lz4-block.js';
import type { StoredRecord } from '../../../src/storage/shard-log/shard-log.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-stored-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const doc = {
  config: { line: { token: [' ', '/', '?', '='] }, keys: { status: { type: 'long' } } },
  version: 1,
  lastModifyTime: 0,
};

/** Six LZ4 LogGroups of 40 logs, as a shard log stores them. */
function storedParts(): { raw: number; lz4: Buffer }[] {
  const gen = new NginxLogGenerator(7);
  return Array.from({ length: 6 }, () => {
    const raw = encodeLogGroup(gen.group(40));
    return { raw: raw.length, lz4: lz4BlockCompress(raw) };
  });
}

/** Record `seq` as the shard log would return it again: a fresh copy of what was stored. */
function stored(parts: { raw: number; lz4: Buffer }[], seq: number): StoredRecord {
  const p = parts[seq]!;
  return { seq, receiveTimeMs: 0, codec: 'lz4', rawSize: p.raw, payload: Buffer.from(p.lz4) };
}

test('queued payloads do not alias the buffer they were read into', async () => {
  const parts = storedParts();
  // Payloads back to back in one read buffer, as the shard log's cursor returns them.
  const read = Buffer.concat(parts.map((p) => p.lz4));
  const builder = new SegmentBuilder(1);
  const index = LogstoreIndex.open(join(dir, 'ls'), compileIndex(doc, 30), DEFAULT_INDEX_OPTIONS);
  try {
    index.attachBuilder(
      builder,
      doc,
      30,
      () => {},
      async (_key, seq) => stored(parts, seq),
    );
    let at = 0;
    parts.forEach((p, seq) => {
      const payload = read.subarray(at, at + p.lz4.length);
      index.addStored('0-0', { seq, receiveTimeMs: 0, codec: 'lz4', rawSize: p.raw, payload });
      // The source reuses its buffer: what was queued must not change.
      payload.fill(0xff);
      at += p.lz4.length;
    });
    await index.flush();
    assert.equal(index.segmentCount(), 1);
    assert.equal(index.rowCount(), 240, 'every queued record was built from the bytes it was queued with');
  } finally {
    index.destroy();
    await builder.close();
  }
});

test('a failed build moved its payloads to the worker; its retry reads the records again', async () => {
  const parts = storedParts();
  const builder = new SegmentBuilder(1);
  const sent: BuildRequest['records'][] = [];
  let failNext = true;
  // The real builder, whose first build fails on the worker (its folder does not exist), as an I/O error would.
  const flaky = {
    get pending() {
      return builder.pending;
    },
    slab(bytes: number) {
      return builder.slab(bytes);
    },
    build(req: Omit<BuildRequest, 'seq'>) {
      sent.push(req.records);
      if (!failNext) return builder.build(req);
      failNext = false;
      return builder.build({ ...req, path: join(dir, 'no-such-folder', 'x.seg') });
    },
  } as unknown as SegmentBuilder;
  const reread: number[] = [];
  const logged: string[] = [];
  const index = LogstoreIndex.open(join(dir, 'retry'), compileIndex(doc, 30), DEFAULT_INDEX_OPTIONS);
  try {
    index.attachBuilder(
      flaky,
      doc,
      30,
      (l) => logged.push(l),
      async (key, seq) => {
        assert.equal(key, '0-0');
        reread.push(seq);
        return stored(parts, seq);
      },
    );
    for (let seq = 0; seq < parts.length; seq++) index.addStored('0-0', stored(parts, seq));
    await index.flush();
    assert.ok(
      sent[0]!.every((r) => r.payload.byteLength === 0),
      'the first build transferred its payloads to the worker (detached here)',
    );
    assert.deepEqual(reread, [0, 1, 2, 3, 4, 5], 'every record of the failed build was read again');
    assert.equal(sent.length, 3, 'then built again as two halves');
    assert.equal(index.segmentCount(), 2);
    assert.equal(index.rowCount(), 240, 'no record was lost to the failure');
    assert.ok(logged.some((l) => l.includes('retrying in halves')));
  } finally {
    index.destroy();
    await builder.close();
  }
});

test('payload slabs move to the worker with their build and come back to hold the next build', async () => {
  const gen = new NginxLogGenerator(11);
  // Uncompressed payloads: the worker builds them in place, from the slab itself.
  const round = (from: number): StoredRecord[] =>
    Array.from({ length: 3 }, (_, i) => {
      const raw = encodeLogGroup(gen.group(40));
      return { seq: from + i, receiveTimeMs: 0, codec: 'none', rawSize: raw.length, payload: Buffer.from(raw) };
    });
  const builder = new SegmentBuilder(1);
  const logged: string[] = [];
  const index = LogstoreIndex.open(join(dir, 'slabs'), compileIndex(doc, 30), DEFAULT_INDEX_OPTIONS);
  try {
    index.attachBuilder(
      builder,
      doc,
      30,
      (l) => logged.push(l),
      async () => undefined,
    );
    assert.equal(builder.pooledSlabs, 0);
    for (const r of round(0)) index.addStored('0-0', r);
    await index.flush();
    assert.equal(builder.pooledSlabs, 1, 'the slab came back with the reply');
    const second = round(3);
    index.addStored('0-0', second[0]!);
    assert.equal(builder.pooledSlabs, 0, 'the next build copies its payloads into the slab that came back');
    for (const r of second.slice(1)) index.addStored('0-0', r);
    await index.flush();
    assert.equal(builder.pooledSlabs, 1);
    assert.deepEqual(logged, [], 'no record was skipped as damaged');
    assert.equal(index.segmentCount(), 2);
    assert.equal(index.rowCount(), 240, 'both builds read the bytes they were queued with');
  } finally {
    index.destroy();
    await builder.close();
  }
  assert.equal(builder.pooledSlabs, 0, 'a closed builder keeps no slab');
});
