/**
 * Records queued for the builder workers (`addStored`) hold their own copy of each payload: the source's read buffer
 * may be reused or overwritten once the records are queued, and a build (or its retry) still sees the bytes read.
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
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../../src/protocol/lz4-block.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-stored-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const doc = {
  config: { line: { token: [' ', '/', '?', '='] }, keys: { status: { type: 'long' } } },
  version: 1,
  lastModifyTime: 0,
};

test('queued payloads do not alias the buffer they were read into', async () => {
  const gen = new NginxLogGenerator(7);
  // Payloads back to back in one read buffer, as the shard log's cursor returns them.
  const parts = Array.from({ length: 6 }, () => {
    const raw = encodeLogGroup(gen.group(40));
    return { raw: raw.length, lz4: lz4BlockCompress(raw) };
  });
  const read = Buffer.concat(parts.map((p) => p.lz4));
  const builder = new SegmentBuilder(1);
  const index = LogstoreIndex.open(join(dir, 'ls'), compileIndex(doc, 30), DEFAULT_INDEX_OPTIONS);
  try {
    index.attachBuilder(builder, doc, 30, () => {});
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
