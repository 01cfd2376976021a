/**
 * Recovery on open: what a crash or a damaged disk can leave in a shard directory, and what the log makes of it.
 * Torn tails are cut at the last whole record and appends continue at the right seq; things a crash cannot produce
 * (sequence gaps, damage inside a sealed file) stop the open with a clear error instead of losing data silently.
 */
import assert from 'node:assert/strict';
import { appendFile, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { openFileShardLog } from '../../../src/storage/shard-log/embedded/mod.js';
import { encodeRecordHeader } from '../../../src/storage/shard-log/embedded/record-codec.js';
import { entryFor, payloadFor, tempDir } from './shard-log-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const SIZES = [300, 1200, 50, 800, 2500, 10, 700, 1900, 400, 1000];

/** Writes SIZES as records 0..9 (several files when `maxFileBytes` is small) and closes the log. */
async function writeTen(maxFileBytes = 1 << 20): Promise<string[]> {
  const log = await openFileShardLog(dir, { maxFileBytes });
  for (let i = 0; i < SIZES.length; i++) await log.append([entryFor(i, SIZES[i]!)], 1_000 + i);
  await log.close();
  return (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
}

async function assertIntactUpTo(end: number): Promise<void> {
  const log = await openFileShardLog(dir);
  try {
    assert.equal(log.endSeq(), end);
    const records = await log.read(0, { maxCount: 100, maxBytes: 1 << 30 });
    assert.equal(records.length, end);
    records.forEach((record, i) => {
      assert.equal(record.seq, i);
      assert.deepEqual(record.payload, payloadFor(i, SIZES[i]!));
    });
    assert.equal(await log.append([entryFor(end, SIZES[end] ?? 5)]), end, 'appends continue right after');
  } finally {
    await log.close();
  }
}

function frame(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(32);
  encodeRecordHeader(header, 0, seq, 5_000, 1, payload.length * 5, payload);
  return Buffer.concat([header, payload]);
}

async function flipByte(file: string, offsetFromEnd: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - offsetFromEnd);
    byte[0] = byte[0]! ^ 0x10;
    await handle.write(byte, 0, 1, size - offsetFromEnd);
  } finally {
    await handle.close();
  }
}

describe('torn tail of the active file', () => {
  test('half a record is cut', async () => {
    const [file] = await writeTen();
    const whole = frame(10, payloadFor(10, 900));
    await appendFile(path.join(dir, file!), whole.subarray(0, 500));
    const sizeBefore = (await stat(path.join(dir, file!))).size;
    const log = await openFileShardLog(dir);
    assert.equal(log.recovery.truncatedBytes, 500);
    assert.match(log.recovery.truncations[0]!, /runs past end of file/);
    await log.close();
    assert.equal((await stat(path.join(dir, file!))).size, sizeBefore - 500);
    await assertIntactUpTo(10);
  });

  test('half a header is cut', async () => {
    const [file] = await writeTen();
    await appendFile(path.join(dir, file!), frame(10, payloadFor(10, 900)).subarray(0, 20));
    await assertIntactUpTo(10);
  });

  test('random garbage is cut', async () => {
    const [file] = await writeTen();
    await appendFile(path.join(dir, file!), payloadFor(424242, 4096));
    await assertIntactUpTo(10);
  });

  test('zeros (a preallocated or half-flushed tail) are cut', async () => {
    const [file] = await writeTen();
    await appendFile(path.join(dir, file!), Buffer.alloc(10_000));
    await assertIntactUpTo(10);
  });

  test('a bit flip in the last record fails its CRC and only that record is cut', async () => {
    const [file] = await writeTen();
    await flipByte(path.join(dir, file!), 100);
    const log = await openFileShardLog(dir);
    assert.match(log.recovery.truncations[0]!, /CRC mismatch/);
    await log.close();
    await assertIntactUpTo(9);
  });

  test('a whole extra record with a good CRC but the wrong seq refuses to open', async () => {
    const [file] = await writeTen();
    await appendFile(path.join(dir, file!), frame(42, payloadFor(1, 100)));
    await assert.rejects(openFileShardLog(dir), /seq 42 .* where seq 10 belongs/);
  });
});

describe('file boundaries', () => {
  test('a last file whose first record is bad is emptied, and appends continue at its name', async () => {
    const files = await writeTen(4096);
    assert.ok(files.length >= 3);
    const last = files.at(-1)!;
    const lastFirstSeq = Number(last.slice(0, 20));
    const handle = await open(path.join(dir, last), 'r+');
    await handle.write(Buffer.from([0xff, 0xff]), 0, 2, 0);
    await handle.close();
    const log = await openFileShardLog(dir);
    assert.equal(log.endSeq(), lastFirstSeq);
    assert.equal((await stat(path.join(dir, last))).size, 0);
    await log.close();
    await assertIntactUpTo(lastFirstSeq);
  });

  test('an empty last file (crash right after rotation) is the active file', async () => {
    await writeTen(4096);
    await writeFile(path.join(dir, '00000000000000000010.log'), '');
    const log = await openFileShardLog(dir);
    assert.equal(log.endSeq(), 10);
    assert.equal(await log.append([entryFor(10, 10)]), 10);
    await log.close();
    assert.equal((await stat(path.join(dir, '00000000000000000010.log'))).size, 42);
  });

  test('a sealed file left last (crash between its sidecar and its successor) becomes active again', async () => {
    const files = await writeTen(4096);
    const last = files.at(-1)!;
    const previous = files.at(-2)!;
    // Drop the active file as if it had never been created; its predecessor, sidecar and all, is now the last file.
    await rm(path.join(dir, last));
    const lastFirstSeq = Number(last.slice(0, 20));
    const log = await openFileShardLog(dir, { maxFileBytes: 4096 });
    assert.equal(log.endSeq(), lastFirstSeq);
    assert.ok(
      !(await readdir(dir)).includes(previous.replace('.log', '.idx')),
      'its sidecar is gone until it is sealed',
    );
    assert.equal(await log.append([entryFor(lastFirstSeq, 4000)]), lastFirstSeq);
    assert.equal(await log.append([entryFor(lastFirstSeq + 1, 10)]), lastFirstSeq + 1);
    assert.ok((await readdir(dir)).includes(previous.replace('.log', '.idx')), 'sealed again, with a fresh sidecar');
    await log.close();
  });

  test('a gap between files refuses to open', async () => {
    const files = await writeTen(4096);
    await rm(path.join(dir, files[1]!));
    await assert.rejects(openFileShardLog(dir), /sequence gap/);
  });

  test('an empty last file that does not continue the sequence refuses to open', async () => {
    await writeTen(4096);
    await writeFile(path.join(dir, '00000000000000000011.log'), '');
    await assert.rejects(openFileShardLog(dir), /sequence gap/);
  });

  test('damage inside a sealed file refuses to open', async () => {
    const files = await writeTen(4096);
    await flipByte(path.join(dir, files[0]!), 10);
    await rm(path.join(dir, files[0]!.replace('.log', '.idx')));
    await assert.rejects(openFileShardLog(dir), /damaged at byte .*CRC mismatch/);
  });

  test('a sealed file with garbage after its last record is cut when the next file continues', async () => {
    const files = await writeTen(4096);
    await appendFile(path.join(dir, files[0]!), payloadFor(1, 333));
    const log = await openFileShardLog(dir);
    assert.equal(log.recovery.truncatedBytes, 333);
    await log.close();
    await assertIntactUpTo(10);
  });
});

describe('sidecar index', () => {
  test('a missing, corrupt or stale sidecar falls back to a scan and is rewritten', async () => {
    const files = await writeTen(4096);
    const sealed = files.length - 1;
    await rm(path.join(dir, files[0]!.replace('.log', '.idx')));
    await flipByte(path.join(dir, files[1]!.replace('.log', '.idx')), 8);
    let log = await openFileShardLog(dir);
    assert.equal(log.recovery.scannedFiles, 3);
    assert.equal(log.recovery.indexedFiles, sealed - 2);
    await log.close();
    log = await openFileShardLog(dir);
    assert.equal(log.recovery.scannedFiles, 1);
    assert.equal(log.recovery.indexedFiles, sealed);
    await log.close();
    await assertIntactUpTo(10);
  });

  test('a sidecar whose last record does not read back is not trusted', async () => {
    const files = await writeTen(4096);
    // Same size, so only the spot check of the last record can notice.
    await flipByte(path.join(dir, files[0]!), 3);
    await assert.rejects(openFileShardLog(dir), /damaged/);
  });

  test('leftovers of interrupted sidecar writes and trims are removed', async () => {
    const files = await writeTen(4096);
    await writeFile(path.join(dir, `${files[0]!.replace('.log', '.idx')}.tmp`), 'partial');
    await writeFile(path.join(dir, '00000000000000099999.idx'), 'orphan');
    const log = await openFileShardLog(dir);
    await log.close();
    const names = await readdir(dir);
    assert.ok(!names.some((n) => n.endsWith('.tmp') || n.startsWith('000000000000000999')));
    assert.ok((await readFile(path.join(dir, files[0]!.replace('.log', '.idx')))).length > 0);
  });
});
