/**
 * Compaction of sealed shard-log files: rewritten with zstd payloads (LogGroups transposed to columns) and swapped in,
 * every record, seq, receive time and idempotency id kept; readers holding the old view, reopening after a crash at
 * any step, trims and closes while rewrites are pending.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { encodeLogGroup, type Log } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../../src/protocol/lz4-block.js';
import { CompactionQueue, compactFile } from '../../../src/storage/shard-log/embedded/compaction.js';
import { FileShardLog } from '../../../src/storage/shard-log/embedded/file-shard-log.js';
import { scanSegment } from '../../../src/storage/shard-log/embedded/recovery.js';
import { compactedFileName, segmentFileName } from '../../../src/storage/shard-log/embedded/segment.js';
import { type ReadBudget, readFromSegment } from '../../../src/storage/shard-log/embedded/segment-reader.js';
import type { AppendEntry, PayloadCodec, StoredRecord } from '../../../src/storage/shard-log/shard-log.js';
import { storedLogGroupBytes } from '../../../src/storage/shard-log/stored-payload.js';
import { tempDir } from './shard-log-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('sluice-compaction-'));
});
afterEach(async () => {
  await cleanup();
});

/**
 * LogGroup bytes that compress well and differ per tag. Every eighth group (tag % 8 === 6) starts with a Log holding
 * an unknown field, which the columnar form refuses: compaction stores that one as zstd of the group itself.
 */
function rawFor(tag: number, lines = 100): Buffer {
  const logs: Log[] = [];
  for (let i = 0; i < lines; i++) {
    logs.push({
      time: 1_767_225_600 + tag * 60 + (i % 60),
      contents: [
        { key: 'remote_addr', value: `10.0.${tag % 256}.${i % 200}` },
        { key: 'request', value: `GET /api/v1/orders/${tag * 1000 + i} HTTP/1.1` },
        { key: 'status', value: '200' },
        { key: 'bytes', value: String(512 + ((tag * 7 + i) % 900)) },
      ],
    });
  }
  const group = encodeLogGroup({ logs, topic: 'orders', tags: [] });
  if (tag % 8 !== 6) return group;
  // Log { Time: 1, field 3: "xx" } in front.
  return Buffer.concat([Buffer.from([0x0a, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x78, 0x78]), group]);
}

/** The codec compaction gives record `tag`. */
const compactedCodec = (tag: number): PayloadCodec => (tag % 8 === 6 ? 'zstd' : 'zstd-columns');

/** Record `tag`: LZ4 as clients send it, with every fourth one deflate or uncompressed, some with an id. */
function entry(tag: number): AppendEntry {
  const raw = rawFor(tag);
  const id = tag % 5 === 0 ? { idempotencyId: `put-${tag}` } : {};
  if (tag % 8 === 3) return { payload: deflateSync(raw), codec: 'deflate', rawSize: raw.length, ...id };
  if (tag % 8 === 7) return { payload: raw, codec: 'none', rawSize: raw.length, ...id };
  return { payload: lz4BlockCompress(raw), codec: 'lz4', rawSize: raw.length, ...id };
}

const RECORDS = 60;
/** ~2 KB LZ4 per record: files of ~8 records. */
const FILE_BYTES = 16 * 1024;

async function fill(log: FileShardLog, from = 0, to = RECORDS): Promise<void> {
  for (let tag = from; tag < to; tag++) await log.append([entry(tag)], 1_000 + tag * 10);
}

function assertRecords(records: readonly StoredRecord[], from = 0): void {
  records.forEach((record, i) => {
    const tag = from + i;
    assert.equal(record.seq, tag);
    assert.equal(record.receiveTimeMs, 1_000 + tag * 10);
    assert.equal(record.idempotencyId, tag % 5 === 0 ? `put-${tag}` : undefined, `record ${tag}'s id`);
    assert.deepEqual(Buffer.from(storedLogGroupBytes(record)), rawFor(tag), `record ${tag}'s bytes`);
  });
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Records 0-19 written with compaction off (several sealed files and the active one): the first file and its size. */
async function writeUncompacted(): Promise<{ first: string; size: number }> {
  const log = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactLevel: 0 });
  await fill(log, 0, 20);
  await log.close();
  const first = path.join(dir, segmentFileName(0));
  return { first, size: (await stat(first)).size };
}

async function names(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Data files by first seq: a file being swapped has both its names for a moment. */
async function dataFiles(): Promise<number> {
  const seqs = new Set<string>();
  for (const name of await names()) if (/^\d{20}\.z?log$/.test(name)) seqs.add(name.slice(0, 20));
  return seqs.size;
}

async function sizeOf(ext: string): Promise<number> {
  let total = 0;
  for (const name of await names()) if (name.endsWith(ext)) total += (await stat(path.join(dir, name))).size;
  return total;
}

describe('shard-log compaction', () => {
  test('sealed files are rewritten with zstd and read back record for record', async () => {
    const log = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactDelayMs: 0 });
    try {
      await fill(log);
      const before = await log.read(0, { maxCount: 1000, maxBytes: 1 << 30 });
      assertRecords(before);
      // Rewrites may have begun during the appends (no delay here).
      const sealed = (await dataFiles()) - 1;
      assert.ok(sealed >= 5, `${sealed} sealed files`);
      await waitFor('every sealed file compacted', () => log.stats().compactedFiles === sealed);

      const files = await names();
      assert.equal(files.filter((n) => n.endsWith('.zlog')).length, sealed);
      assert.equal(files.filter((n) => n.endsWith('.log')).length, 1, 'only the active file is left as sent');
      assert.equal(files.filter((n) => n.endsWith('.tmp')).length, 0);
      const stats = log.stats();
      assert.equal(stats.failedCompactions, 0);
      assert.ok(stats.compactedBytesAfter < stats.compactedBytesBefore * 0.8, JSON.stringify(stats));
      assert.equal(await sizeOf('.zlog'), stats.compactedBytesAfter);

      const after = await log.read(0, { maxCount: 1000, maxBytes: 1 << 30 });
      assertRecords(after);
      assert.deepEqual(
        after.slice(0, 8).map((r) => r.codec),
        after.slice(0, 8).map((r) => compactedCodec(r.seq)),
        'LogGroups as columns, the one the form refuses as itself',
      );
      // Reads from the middle of a rewritten file, cursor by time, ids, and appends going on.
      assertRecords(await log.read(13, { maxCount: 5, maxBytes: 1 << 30 }), 13);
      assert.equal(await log.seqAtTime(1_000 + 21 * 10), 21);
      assert.equal(await log.seqAtTime(1_000 + 21 * 10 - 5), 21);
      assert.equal(await log.timeOfSeq(22), 1_000 + 22 * 10);
      assert.equal(log.findIdempotencyId('put-15'), 15);
      await fill(log, RECORDS, RECORDS + 3);
      assertRecords(await log.read(RECORDS - 2, { maxCount: 10, maxBytes: 1 << 30 }), RECORDS - 2);
    } finally {
      await log.close();
    }

    // Reopened: every rewrite trusted through its sidecar, nothing compacted twice; a file sealed just before the close
    // (by the last appends) is compacted now.
    const originals = (await names()).filter((n) => n.endsWith('.log')).length - 1;
    const reopened = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactDelayMs: 0 });
    try {
      assert.equal(reopened.recovery.scannedFiles, 1, 'only the active file is scanned');
      assertRecords(await reopened.read(0, { maxCount: 1000, maxBytes: 1 << 30 }));
      assert.equal(reopened.findIdempotencyId('put-40'), 40);
      await waitFor('the originals compacted', () => reopened.stats().compactedFiles === originals);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(reopened.stats().compactedFiles, originals);
      assert.equal((await names()).filter((n) => n.endsWith('.log')).length, 1);
    } finally {
      await reopened.close();
    }
  });

  test("compacted payloads decode into a caller's buffer when it is large enough, and a wrong size is an error", async () => {
    const log = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactDelayMs: 0 });
    try {
      await fill(log, 0, 20);
      await waitFor('a file compacted', () => log.stats().compactedFiles >= 1);
      const [record] = await log.read(0, { maxCount: 1, maxBytes: 1 << 30 });
      assert.equal(record!.codec, 'zstd-columns');
      const arena = Buffer.alloc(record!.rawSize + 100);
      const into = storedLogGroupBytes(record!, arena);
      assert.equal(into.buffer, arena.buffer, 'decoded into the arena');
      assert.deepEqual(Buffer.from(into), rawFor(0));
      const small = storedLogGroupBytes(record!, Buffer.alloc(10));
      assert.deepEqual(Buffer.from(small), rawFor(0));
      assert.throws(() => storedLogGroupBytes({ ...record!, rawSize: record!.rawSize - 1 }), {
        name: 'SlsError',
        code: 'InternalServerError',
      });
    } finally {
      await log.close();
    }
  });

  test('a reader holding the view from before the swap reads the rewrite once the original is gone', async () => {
    const { size } = await writeUncompacted();
    const original = (await scanSegment(dir, 0, size)).segment;
    const tmp = path.join(dir, 'rewrite.tmp');
    const result = compactFile({
      source: original.logPath,
      target: tmp,
      sourceBytes: original.bytes,
      level: 3,
      fsync: false,
    });
    assert.equal(result.records, original.count);
    await rename(tmp, path.join(dir, compactedFileName(0)));
    const rewrite = (await scanSegment(dir, 0, result.targetBytes, true)).segment;
    assert.deepEqual(rewrite.entrySeq.slice(0, 1), [0]);
    await rm(original.logPath);

    const read = async (): Promise<StoredRecord[]> => {
      const budget: ReadBudget = { count: 100, bytes: 1 << 30, full: false, out: [] };
      await readFromSegment(original, 2, original.endSeq, original.bytes, budget);
      return budget.out;
    };
    await assert.rejects(read(), { name: 'SlsError', code: 'InvalidCursor' }, 'without a replacement: removed by TTL');
    original.replacedBy = rewrite;
    const records = await read();
    assert.equal(records.length, original.count - 2);
    assertRecords(records, 2);
  });

  test('one worker serves a run of rewrites; a failed rewrite fails alone', async () => {
    const { first, size } = await writeUncompacted();
    const queue = new CompactionQueue();
    try {
      const request = (target: string) => ({ source: first, target, sourceBytes: size, level: 3, fsync: false });
      await assert.rejects(
        queue.run({ ...request(path.join(dir, 'a.tmp')), source: path.join(dir, 'missing.log') }),
        /ENOENT/,
      );
      const a = await queue.run(request(path.join(dir, 'b.tmp')));
      assert.ok(queue.running, 'the worker stays for the next rewrite');
      const b = await queue.run(request(path.join(dir, 'c.tmp')));
      assert.deepEqual(b, { ...a!, elapsedMs: b!.elapsedMs }, 'the same rewrite with the buffers of the first');
      assert.ok(a!.records >= 5, `${a!.records} records`);
    } finally {
      await queue.stop();
    }
    assert.equal(queue.running, false);
  });

  test('a process with nothing else to wait for waits for a running rewrite', async () => {
    const { first, size } = await writeUncompacted();
    const request = { source: first, target: path.join(dir, 'x.tmp'), sourceBytes: size, level: 3 };
    const moduleUrl = new URL('../../../src/storage/shard-log/embedded/compaction.js', import.meta.url).href;
    const script = path.join(dir, 'rewrite-one.mjs');
    await writeFile(
      script,
      `import { CompactionQueue } from ${JSON.stringify(moduleUrl)};\n` +
        `new CompactionQueue().run(${JSON.stringify({ ...request, fsync: false })}).then((r) => console.log('rewrote', r.records));\n`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [script]);
    assert.match(stdout, /^rewrote \d+$/m);
  });

  test('an open after a crash between the rename and the removal of the original keeps the rewrite', async () => {
    const { first, size } = await writeUncompacted();
    // The rewrite renamed into place, the original still there; plus a rewrite of the next file cut short.
    compactFile({
      source: first,
      target: path.join(dir, compactedFileName(0)),
      sourceBytes: size,
      level: 3,
      fsync: false,
    });
    const second = (await names()).filter((n) => n.endsWith('.log'))[1]!;
    await writeFile(path.join(dir, `${second.replace('.log', '.zlog')}.tmp`), 'half a rewrite');

    const reopened = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactLevel: 0 });
    try {
      const files = await names();
      assert.ok(files.includes(compactedFileName(0)));
      assert.ok(!files.includes(segmentFileName(0)), 'the original is removed');
      assert.equal(files.filter((n) => n.endsWith('.tmp')).length, 0, 'the cut-short rewrite is removed');
      const records = await reopened.read(0, { maxCount: 100, maxBytes: 1 << 30 });
      assert.equal(records.length, 20);
      assertRecords(records);
      assert.equal(records[0]!.codec, 'zstd-columns');
    } finally {
      await reopened.close();
    }
    // The rewrite got a sidecar of its own at that open: the next open trusts it.
    const again = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactLevel: 0 });
    try {
      assert.equal(again.recovery.scannedFiles, 1);
    } finally {
      await again.close();
    }
  });

  test('a damaged sealed file is not rewritten: the original stays and the failure is reported', async () => {
    const { first } = await writeUncompacted();
    // Flip a byte inside the first record's payload: its CRC no longer matches.
    const handle = await open(first, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 100);
    await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 100);
    await handle.close();

    const errors: unknown[] = [];
    const damaged = await FileShardLog.open(dir, {
      maxFileBytes: FILE_BYTES,
      compactDelayMs: 0,
      onCompactionError: (err) => errors.push(err),
    });
    try {
      const sealed = (await names()).filter((n) => n.endsWith('.log')).length - 1;
      await waitFor('every compaction finished', () => {
        const s = damaged.stats();
        return s.compactedFiles + s.failedCompactions === sealed;
      });
      assert.equal(damaged.stats().failedCompactions, 1);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /damaged at byte 0/);
      const files = await names();
      assert.ok(files.includes(segmentFileName(0)), 'the damaged file stays as it was');
      assert.equal(files.filter((n) => n.endsWith('.tmp')).length, 0);
      // The records after the damaged one read as before.
      assertRecords(await damaged.read(1, { maxCount: 100, maxBytes: 1 << 30 }), 1);
    } finally {
      await damaged.close();
    }
  });

  test('trims remove rewritten files, and a close drops rewrites not yet run', async () => {
    const log = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactDelayMs: 0 });
    await fill(log);
    await waitFor('a first file compacted', () => log.stats().compactedFiles >= 2);
    await log.trimBefore(1_000 + 30 * 10);
    const left = await names();
    assert.ok(!left.includes(compactedFileName(0)), 'the oldest rewrite is trimmed');
    assert.ok(log.beginSeq() > 0);
    assertRecords(await log.read(log.beginSeq(), { maxCount: 1000, maxBytes: 1 << 30 }), log.beginSeq());
    await log.close();

    // Closed right after an open that queued every sealed file: nothing half written is left, and every record reads.
    const queue = new CompactionQueue();
    const skipped = await queue.run(
      { source: '/nonexistent', target: path.join(dir, 'x.tmp'), sourceBytes: 0, level: 3, fsync: false },
      () => false,
    );
    assert.equal(skipped, undefined, 'a job no longer wanted resolves without running');
    const reopened = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactDelayMs: 0 }, queue);
    await reopened.close();
    assert.equal(queue.pending, 0);
    assert.equal((await names()).filter((n) => n.endsWith('.tmp')).length, 0);
    const last = await FileShardLog.open(dir, { maxFileBytes: FILE_BYTES, compactLevel: 0 });
    try {
      assertRecords(await last.read(last.beginSeq(), { maxCount: 1000, maxBytes: 1 << 30 }), last.beginSeq());
      assert.equal(last.endSeq(), RECORDS);
    } finally {
      await last.close();
    }
  });
});
