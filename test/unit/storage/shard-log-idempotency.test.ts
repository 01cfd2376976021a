/**
 * Idempotency ids in the embedded shard log: stored inside the CRC-covered record, found by `findIdempotencyId` once
 * durable, rebuilt at open (sealed files through their version 2 sidecar, the active file by its scan, any file by a
 * rescan when its sidecar is missing, old or bad), forgotten when TTL drops their file, and absent from records of
 * the format that came before them, which still read.
 */
import assert from 'node:assert/strict';
import { appendFile, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { isSlsError } from '../../../src/protocol/errors.js';
import { type FileShardLogOptions, openFileShardLog } from '../../../src/storage/shard-log/embedded/mod.js';
import { encodeRecordHeader, RECORD_HEADER_BYTES } from '../../../src/storage/shard-log/embedded/record-codec.js';
import type { AppendEntry } from '../../../src/storage/shard-log/shard-log.js';
import { entryFor, payloadFor, tempDir } from './shard-log-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('sluice-shard-log-ids-'));
});
afterEach(async () => {
  await cleanup();
});

function withId(tag: number, size: number, id: string): AppendEntry {
  return { ...entryFor(tag, size), idempotencyId: id };
}

async function files(ext: '.log' | '.idx'): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(ext)).sort();
}

/**
 * 40 single-record appends over several files (every third one without an id), then 5 two-record appends whose id
 * sits on the second record. Returns id -> seq of what was written and the total record count.
 */
async function writeMixed(options: FileShardLogOptions = { maxFileBytes: 8192 }): Promise<Map<string, number>> {
  const log = await openFileShardLog(dir, options);
  const ids = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const id = `file-${i}:0-${i * 100}`;
    const seq = await log.append([i % 3 === 0 ? entryFor(i, 700) : withId(i, 700, id)], 1_000 + i);
    if (i % 3 !== 0) ids.set(id, seq);
  }
  for (let i = 40; i < 50; i += 2) {
    const id = `pair-${i}`;
    const first = await log.append([entryFor(i, 300), withId(i + 1, 300, id)], 1_000 + i);
    ids.set(id, first + 1);
  }
  await log.close();
  return ids;
}

async function assertIds(ids: ReadonlyMap<string, number>, options: FileShardLogOptions = {}): Promise<void> {
  const log = await openFileShardLog(dir, options);
  try {
    for (const [id, seq] of ids) assert.equal(log.findIdempotencyId(id), seq, `id ${id}`);
    assert.equal(log.findIdempotencyId('never-written'), undefined);
    const records = await log.read(log.beginSeq(), { maxCount: 1000, maxBytes: 1 << 30 });
    const bySeq = new Map([...ids].map(([id, seq]) => [seq, id]));
    for (const record of records) {
      assert.equal(record.idempotencyId, bySeq.get(record.seq), `id of seq ${record.seq}`);
      if (!bySeq.has(record.seq)) assert.ok(!('idempotencyId' in record), 'no id property on a record without one');
    }
  } finally {
    await log.close();
  }
}

describe('idempotency ids across reopen', () => {
  test('found once durable, with the payload intact and the id on the record it was given to', async () => {
    const log = await openFileShardLog(dir);
    try {
      const seq = await log.append([entryFor(1, 500), withId(2, 600, 'batch-a')], 10);
      assert.equal(log.findIdempotencyId('batch-a'), seq + 1);
      const [first, second] = await log.read(seq, { maxCount: 10, maxBytes: 1 << 20 });
      assert.deepEqual(first!.payload, payloadFor(1, 500));
      assert.equal(first!.idempotencyId, undefined);
      assert.deepEqual(second!.payload, payloadFor(2, 600), 'the id block is not part of the payload');
      assert.equal(second!.rawSize, 600 * 5);
      assert.equal(second!.idempotencyId, 'batch-a');
      // The frame grows by the id block only: length byte + id.
      const [file] = await files('.log');
      assert.equal(
        (await stat(path.join(dir, file!))).size,
        2 * RECORD_HEADER_BYTES + 500 + 600 + 1 + 'batch-a'.length,
      );
    } finally {
      await log.close();
    }
  });

  test('sealed files give their ids back through the sidecar, the active file through its scan', async () => {
    const ids = await writeMixed();
    const logs = await files('.log');
    assert.ok(logs.length >= 4, `several files expected, got ${logs.length}`);
    const log = await openFileShardLog(dir);
    assert.equal(log.recovery.indexedFiles, logs.length - 1, 'every sealed file opened through its sidecar');
    assert.equal(log.recovery.scannedFiles, 1, 'only the active file was scanned');
    await log.close();
    await assertIds(ids);
  });

  test('with every sidecar deleted, a rescan finds the ids and writes fresh sidecars', async () => {
    const ids = await writeMixed();
    const logs = await files('.log');
    for (const idx of await files('.idx')) await rm(path.join(dir, idx));
    let log = await openFileShardLog(dir);
    assert.equal(log.recovery.indexedFiles, 0);
    assert.equal(log.recovery.scannedFiles, logs.length);
    await log.close();
    await assertIds(ids);
    log = await openFileShardLog(dir);
    assert.equal(log.recovery.indexedFiles, logs.length - 1, 'the rescan rewrote the sidecars');
    await log.close();
  });

  test('a version 1 sidecar (no ids section) or a damaged one is rescanned, not trusted', async () => {
    const ids = await writeMixed();
    const [first, second] = await files('.idx');
    // A version 1 sidecar is a version 2 one without the 4-byte id count and the ids, version field 1, fresh CRC.
    const v2 = await readFile(path.join(dir, first!));
    const entries = v2.readUInt32LE(52);
    const v1 = Buffer.concat([v2.subarray(0, 56 + entries * 24), Buffer.alloc(4)]);
    v1.writeUInt16LE(1, 4);
    v1.writeUInt32LE(crc32c(v1.subarray(0, v1.length - 4)), v1.length - 4);
    await writeFile(path.join(dir, first!), v1);
    // And one cut short in its ids section.
    const damaged = await readFile(path.join(dir, second!));
    await writeFile(path.join(dir, second!), damaged.subarray(0, damaged.length - 7));
    const log = await openFileShardLog(dir);
    assert.equal(log.recovery.scannedFiles, 3, 'both sidecars refused, plus the active file');
    await log.close();
    await assertIds(ids);
    assert.equal((await readFile(path.join(dir, first!))).readUInt16LE(4), 2, 'rewritten as version 2');
  });

  test('a torn record takes its id with it', async () => {
    const log = await openFileShardLog(dir);
    await log.append([withId(1, 400, 'kept')]);
    await log.append([withId(2, 400, 'torn')]);
    await log.close();
    const [file] = await files('.log');
    const full = (await stat(path.join(dir, file!))).size;
    const handle = await open(path.join(dir, file!), 'r+');
    await handle.truncate(full - 100);
    await handle.close();
    const reopened = await openFileShardLog(dir);
    try {
      assert.equal(reopened.endSeq(), 1);
      assert.equal(reopened.findIdempotencyId('kept'), 0);
      assert.equal(reopened.findIdempotencyId('torn'), undefined);
      assert.equal(await reopened.append([withId(3, 400, 'torn')]), 1, 'a resend is stored fresh');
      assert.equal(reopened.findIdempotencyId('torn'), 1);
    } finally {
      await reopened.close();
    }
  });

  test('a flipped byte inside the id fails the CRC: the id is covered like the payload', async () => {
    const log = await openFileShardLog(dir);
    await log.append([withId(1, 400, 'first')]);
    await log.append([withId(2, 400, 'second-id')]);
    await log.close();
    const [file] = await files('.log');
    const size = (await stat(path.join(dir, file!))).size;
    // The second frame's id block starts right after its header.
    const idAt = size - 400 - 'second-id'.length;
    const handle = await open(path.join(dir, file!), 'r+');
    await handle.write(Buffer.from('X'), 0, 1, idAt);
    await handle.close();
    const reopened = await openFileShardLog(dir);
    try {
      assert.match(reopened.recovery.truncations[0]!, /CRC mismatch/);
      assert.equal(reopened.findIdempotencyId('first'), 0);
      assert.equal(reopened.findIdempotencyId('second-id'), undefined);
      assert.equal(reopened.findIdempotencyId('Xecond-id'), undefined);
    } finally {
      await reopened.close();
    }
  });
});

describe('idempotency ids and the write path', () => {
  test('not found before the commit is durable; a failed commit leaves no id behind', async () => {
    let release: () => void = () => {};
    let fail = false;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const log = await openFileShardLog(dir, {
      hooks: {
        beforeSync: async () => {
          if (fail) throw new Error('injected fsync failure');
          await gate;
        },
      },
    });
    try {
      const pending = log.append([withId(1, 100, 'slow')]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(log.findIdempotencyId('slow'), undefined, 'written but not yet durable');
      release();
      assert.equal(await pending, 0);
      assert.equal(log.findIdempotencyId('slow'), 0);
      fail = true;
      await assert.rejects(log.append([withId(2, 100, 'failed')]), /injected fsync failure/);
      assert.equal(log.findIdempotencyId('failed'), undefined);
      fail = false;
      assert.equal(await log.append([withId(3, 100, 'failed')]), 1, 'the failed seq is handed out again');
    } finally {
      release();
      fail = false;
      await log.close();
    }
    const reopened = await openFileShardLog(dir);
    assert.equal(reopened.findIdempotencyId('failed'), 1);
    assert.equal(reopened.endSeq(), 2);
    await reopened.close();
  });

  test('malformed ids are refused with ParameterInvalid and nothing is written', async () => {
    const log = await openFileShardLog(dir);
    try {
      for (const id of ['', 'x'.repeat(129), 'has space', 'tab\there', 'caf\u00e9', 'nul\u0000']) {
        await assert.rejects(
          log.append([withId(1, 10, id)]),
          (err: unknown) => isSlsError(err) && err.code === 'ParameterInvalid',
          JSON.stringify(id),
        );
      }
      assert.equal(log.endSeq(), 0);
      const longest = '~'.repeat(128);
      assert.equal(await log.append([withId(1, 10, longest)]), 0);
      assert.equal(log.findIdempotencyId(longest), 0);
    } finally {
      await log.close();
    }
  });
});

describe('idempotency ids and TTL', () => {
  test('trimBefore forgets the ids of the files it drops, and they stay forgotten after reopen', async () => {
    let clock = 1_000_000;
    const options: FileShardLogOptions = { maxFileBytes: 4096, now: () => clock };
    const log = await openFileShardLog(dir, options);
    for (let i = 0; i < 10; i++) await log.append([withId(i, 900, `old-${i}`)], 1_000 + i);
    clock = 5_000_000;
    for (let i = 0; i < 10; i++) await log.append([withId(i, 900, `new-${i}`)], 5_000_000 + i);
    const before = (await files('.log')).length;
    await log.trimBefore(2_000_000);
    const after = (await files('.log')).length;
    assert.ok(after < before, 'some files were dropped');
    const begin = log.beginSeq();
    assert.ok(begin >= 10, `every old record is gone (begin ${begin})`);
    for (let i = 0; i < 10; i++) {
      assert.equal(log.findIdempotencyId(`old-${i}`), undefined, `old-${i} forgotten`);
      assert.equal(log.findIdempotencyId(`new-${i}`), 10 + i, `new-${i} kept`);
    }
    await log.close();
    const reopened = await openFileShardLog(dir, options);
    assert.equal(reopened.findIdempotencyId('old-0'), undefined);
    assert.equal(reopened.findIdempotencyId('new-9'), 19);
    await reopened.close();
  });

  test('an id stored twice (the log itself does not refuse it) survives the trim of its older copy', async () => {
    let clock = 1_000_000;
    const options: FileShardLogOptions = { maxFileBytes: 4096, now: () => clock };
    const log = await openFileShardLog(dir, options);
    await log.append([withId(1, 3000, 'twice')], 1_000);
    await log.append([entryFor(2, 3000)], 1_001);
    clock = 5_000_000;
    const again = await log.append([withId(3, 3000, 'twice')], 5_000_000);
    assert.equal(log.findIdempotencyId('twice'), again);
    await log.trimBefore(2_000_000);
    assert.ok(log.beginSeq() > 0);
    assert.equal(log.findIdempotencyId('twice'), again);
    await log.close();
  });
});

describe('records of the earlier format', () => {
  /** One record exactly as the format before idempotency ids laid it out, encoded here from its documented layout. */
  function oldFrame(seq: number, timeMs: number, payload: Buffer): Buffer {
    const header = Buffer.alloc(32);
    header.writeUInt16LE(0x51c3, 0);
    header.writeUInt8(1, 2); // version 1
    header.writeUInt8(1, 3); // lz4, no flag bits
    header.writeUInt32LE(payload.length, 4);
    header.writeUInt32LE(seq, 8);
    header.writeUInt32LE(timeMs, 16);
    header.writeUInt32LE(payload.length * 5, 24);
    header.writeUInt32LE(crc32c(payload, crc32c(header.subarray(0, 28))), 28);
    return Buffer.concat([header, payload]);
  }

  test('a record without an id is encoded byte for byte as before', () => {
    const payload = payloadFor(7, 333);
    const header = Buffer.alloc(32);
    encodeRecordHeader(header, 0, 12, 3_000, 1, payload.length * 5, payload);
    assert.deepEqual(Buffer.concat([header, payload]), oldFrame(12, 3_000, payload));
  });

  test('old files (a sealed one without sidecar, the active one) open, read, and take id records after', async () => {
    // Sealed file 0..4 (no sidecar: scanned) and active file 5..7, both written byte by byte as before.
    const sealed = Buffer.concat([0, 1, 2, 3, 4].map((s) => oldFrame(s, 1_000 + s, payloadFor(s, 200 + s))));
    const active = Buffer.concat([5, 6, 7].map((s) => oldFrame(s, 1_000 + s, payloadFor(s, 200 + s))));
    await writeFile(path.join(dir, '00000000000000000000.log'), sealed);
    await writeFile(path.join(dir, '00000000000000000005.log'), active);
    let log = await openFileShardLog(dir);
    try {
      assert.equal(log.beginSeq(), 0);
      assert.equal(log.endSeq(), 8);
      assert.deepEqual(log.recovery.truncations, []);
      const records = await log.read(0, { maxCount: 100, maxBytes: 1 << 30 });
      assert.equal(records.length, 8);
      records.forEach((r, i) => {
        assert.equal(r.seq, i);
        assert.equal(r.codec, 'lz4');
        assert.equal(r.receiveTimeMs, 1_000 + i);
        assert.deepEqual(r.payload, payloadFor(i, 200 + i));
        assert.equal(r.idempotencyId, undefined);
      });
      assert.equal(await log.append([withId(8, 100, 'after-upgrade')]), 8);
    } finally {
      await log.close();
    }
    // A torn old-format tail is still cut as before.
    await appendFile(
      path.join(dir, '00000000000000000005.log'),
      oldFrame(9, 2_000, payloadFor(9, 500)).subarray(0, 100),
    );
    log = await openFileShardLog(dir);
    try {
      assert.equal(log.endSeq(), 9);
      assert.equal(log.findIdempotencyId('after-upgrade'), 8);
      const [old5] = await log.read(5, { maxCount: 1, maxBytes: 1 << 20 });
      assert.deepEqual(old5!.payload, payloadFor(5, 205));
    } finally {
      await log.close();
    }
  });
});
