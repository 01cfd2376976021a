/** Behaviour of the embedded shard log: sequence numbers, group commit, visibility, reads, time lookups, TTL. */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isSlsError } from '../../../src/protocol/errors.js';
import { type FileShardLogOptions, openFileShardLog } from '../../../src/storage/shard-log/embedded/mod.js';
import { entryFor, payloadFor, tempDir } from './shard-log-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

function slsCode(code: string): (err: unknown) => boolean {
  return (err) => isSlsError(err) && err.code === code;
}

async function logFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
}

describe('sequence numbers', () => {
  test('start at baseSeq and stay consecutive across rotation and reopen', async () => {
    const options: FileShardLogOptions = { baseSeq: 1_000, maxFileBytes: 4096 };
    let log = await openFileShardLog(dir, options);
    assert.equal(log.beginSeq(), 1_000);
    assert.equal(log.endSeq(), 1_000);
    const sizes = Array.from({ length: 60 }, (_, i) => 100 + ((i * 137) % 900));
    // Half one at a time, half concurrently in multi-entry appends.
    const firstSeqs: number[] = [];
    for (let i = 0; i < 30; i++) firstSeqs.push(await log.append([entryFor(i, sizes[i]!)]));
    const pairs = [];
    for (let i = 30; i < 60; i += 2) pairs.push(log.append([entryFor(i, sizes[i]!), entryFor(i + 1, sizes[i + 1]!)]));
    firstSeqs.push(...(await Promise.all(pairs)));
    assert.deepEqual(
      firstSeqs.slice(0, 30),
      Array.from({ length: 30 }, (_, i) => 1_000 + i),
    );
    assert.deepEqual(
      firstSeqs.slice(30),
      Array.from({ length: 15 }, (_, i) => 1_030 + 2 * i),
    );
    assert.equal(log.endSeq(), 1_060);
    const files = await logFiles();
    assert.ok(files.length > 5, `expected several files, got ${files.join(', ')}`);
    assert.equal(files[0], '00000000000000001000.log');
    await log.close();

    log = await openFileShardLog(dir, { ...options, baseSeq: 5 });
    assert.equal(log.beginSeq(), 1_000, 'an existing log ignores baseSeq');
    assert.equal(log.endSeq(), 1_060);
    assert.equal(log.recovery.indexedFiles, files.length - 1, 'sealed files open through their sidecar');
    assert.equal(log.recovery.scannedFiles, 1, 'only the active file is scanned');
    const records = await log.read(1_000, { maxCount: 1_000, maxBytes: 1 << 30 });
    assert.equal(records.length, 60);
    records.forEach((record, i) => {
      assert.equal(record.seq, 1_000 + i);
      assert.equal(record.codec, 'lz4');
      assert.equal(record.rawSize, sizes[i]! * 5);
      assert.deepEqual(record.payload, payloadFor(i, sizes[i]!));
    });
    assert.equal(await log.append([entryFor(60, 10)]), 1_060);
    await log.close();
  });

  test('an append of many entries takes consecutive seqs and lands in one file', async () => {
    const log = await openFileShardLog(dir, { maxFileBytes: 4096 });
    await log.append([entryFor(0, 3000)]);
    const first = await log.append(Array.from({ length: 10 }, (_, i) => entryFor(i + 1, 1000)));
    assert.equal(first, 1);
    const files = await logFiles();
    assert.deepEqual(files, ['00000000000000000000.log', '00000000000000000001.log']);
    await log.close();
  });
});

describe('group commit', () => {
  test('appends that arrive while an fsync runs share the next one', async () => {
    let syncs = 0;
    let releaseFirst: () => void = () => {};
    const firstSyncHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const log = await openFileShardLog(dir, {
      hooks: {
        beforeSync: async () => {
          syncs += 1;
          if (syncs === 1) await firstSyncHeld;
        },
      },
    });
    const first = log.append([entryFor(0, 500)]);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 50 }, (_, i) => log.append([entryFor(i + 1, 500)]));
    releaseFirst();
    const seqs = await Promise.all([first, ...rest]);
    assert.deepEqual(
      seqs,
      Array.from({ length: 51 }, (_, i) => i),
    );
    const stats = log.stats();
    assert.equal(stats.appends, 51);
    assert.equal(stats.records, 51);
    assert.equal(stats.fsyncs, 2, 'one fsync for the first append, one for the fifty that queued behind it');
    assert.equal(stats.commits, 2);
    assert.equal(stats.bytes, 51 * (32 + 500));
    await log.close();
  });

  test('a burst of concurrent appends is covered by one fsync', async () => {
    const log = await openFileShardLog(dir);
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append([entryFor(i, 200)])));
    assert.equal(log.stats().fsyncs, 1);
    await log.close();
  });

  test('maxBatchBytes splits a queue into several commits without splitting an append', async () => {
    const log = await openFileShardLog(dir, { maxBatchBytes: 2_000 });
    const seqs = await Promise.all([
      log.append([entryFor(0, 900)]),
      log.append([entryFor(1, 900)]),
      log.append([entryFor(2, 900), entryFor(3, 900), entryFor(4, 900)]),
    ]);
    assert.deepEqual(seqs, [0, 1, 2]);
    assert.equal(log.stats().commits, 2);
    await log.close();
  });
});

describe('visibility', () => {
  test('records are invisible to endSeq and read until their fsync completes', async () => {
    let release: () => void = () => {};
    let hold = false;
    const log = await openFileShardLog(dir, {
      hooks: {
        beforeSync: () =>
          hold
            ? new Promise<void>((resolve) => {
                release = resolve;
              })
            : undefined,
      },
    });
    await log.append([entryFor(0, 100)]);
    hold = true;
    const pending = log.append([entryFor(1, 100)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.endSeq(), 1);
    assert.deepEqual(await log.read(1, { maxCount: 10, maxBytes: 1 << 20 }), []);
    assert.equal((await log.read(0, { maxCount: 10, maxBytes: 1 << 20 })).length, 1);
    await assert.rejects(log.timeOfSeq(1), slsCode('InvalidCursor'));
    release();
    assert.equal(await pending, 1);
    assert.equal(log.endSeq(), 2);
    assert.equal((await log.read(1, { maxCount: 10, maxBytes: 1 << 20 })).length, 1);
    await log.close();
  });

  test('reads run safely alongside appends and rotation', async () => {
    const log = await openFileShardLog(dir, { maxFileBytes: 8192 });
    let stop = false;
    const reader = (async () => {
      let seen = 0;
      while (!stop || seen < log.endSeq()) {
        const records = await log.read(seen, { maxCount: 7, maxBytes: 1 << 20 });
        for (const record of records) {
          assert.equal(record.seq, seen);
          assert.deepEqual(record.payload, payloadFor(seen, 300 + (seen % 700)));
          seen += 1;
        }
        if (records.length === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      return seen;
    })();
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const tag = round * 10 + i;
          return log.append([entryFor(tag, 300 + (tag % 700))]);
        }),
      );
    }
    // Appends queue in call order, so seq equals tag and the reader can check every payload.
    stop = true;
    assert.equal(await reader, 200);
    await log.close();
  });
});

describe('read limits', () => {
  async function fill(count: number, size: (i: number) => number, options: FileShardLogOptions = {}) {
    const log = await openFileShardLog(dir, { baseSeq: 10, ...options });
    for (let i = 0; i < count; i++) await log.append([entryFor(i, size(i))]);
    return log;
  }

  test('maxCount, maxBytes, endSeq and the first-record rule', async () => {
    const log = await fill(20, () => 100);
    const seqsOf = (records: { seq: number }[]) => records.map((r) => r.seq);
    assert.deepEqual(seqsOf(await log.read(10, { maxCount: 3, maxBytes: 1 << 20 })), [10, 11, 12]);
    assert.deepEqual(seqsOf(await log.read(15, { maxCount: 100, maxBytes: 250 })), [15, 16]);
    assert.deepEqual(seqsOf(await log.read(15, { maxCount: 100, maxBytes: 300 })), [15, 16, 17]);
    assert.deepEqual(seqsOf(await log.read(15, { maxCount: 100, maxBytes: 10 })), [15], 'first record always');
    assert.deepEqual(seqsOf(await log.read(15, { maxCount: 100, maxBytes: 0 })), [15]);
    assert.deepEqual(seqsOf(await log.read(12, { maxCount: 100, maxBytes: 1 << 20, endSeq: 14 })), [12, 13]);
    assert.deepEqual(await log.read(12, { maxCount: 100, maxBytes: 1 << 20, endSeq: 12 }), []);
    assert.deepEqual(await log.read(12, { maxCount: 0, maxBytes: 1 << 20 }), []);
    assert.deepEqual(await log.read(30, { maxCount: 10, maxBytes: 1 << 20 }), [], 'reading at endSeq is empty');
    assert.deepEqual(seqsOf(await log.read(29, { maxCount: 10, maxBytes: 1 << 20, endSeq: 1_000 })), [29]);
    await assert.rejects(log.read(9, { maxCount: 1, maxBytes: 1 }), slsCode('InvalidCursor'));
    await assert.rejects(log.read(31, { maxCount: 1, maxBytes: 1 }), slsCode('InvalidCursor'));
    await assert.rejects(log.read(1.5, { maxCount: 1, maxBytes: 1 }), slsCode('InvalidCursor'));
    await assert.rejects(log.read(10, { maxCount: -1, maxBytes: 1 }), slsCode('ParameterInvalid'));
    await log.close();
  });

  test('reads position anywhere and continue across files', async () => {
    // Small records so that the sparse index (every 32 records) needs a forward walk.
    const size = (i: number) => 20 + (i % 50);
    const log = await fill(500, size, { maxFileBytes: 8192 });
    assert.ok((await logFiles()).length > 3);
    for (const from of [10, 11, 41, 42, 43, 200, 331, 509]) {
      const records = await log.read(from, { maxCount: 150, maxBytes: 1 << 20 });
      assert.equal(records.length, Math.min(150, 510 - from));
      records.forEach((record, k) => {
        const tag = from - 10 + k;
        assert.equal(record.seq, from + k);
        assert.deepEqual(record.payload, payloadFor(tag, size(tag)));
      });
    }
    await log.close();
  });
});

describe('read model check', () => {
  test('random reads agree with a straightforward model of the limits', async () => {
    let x = 12345;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x % n;
    };
    const sizes = Array.from({ length: 400 }, () => 1 + rand(3000));
    const log = await openFileShardLog(dir, { baseSeq: 50, maxFileBytes: 16_384 });
    for (let i = 0; i < sizes.length; i += 4) {
      await log.append(sizes.slice(i, i + 4).map((size, k) => entryFor(i + k, size)));
    }
    for (let q = 0; q < 300; q++) {
      const from = 50 + rand(401);
      const maxCount = rand(60);
      const maxBytes = rand(40_000);
      const endSeq = rand(3) === 0 ? 50 + rand(420) : undefined;
      const stop = Math.min(450, endSeq ?? 450);
      const expected: number[] = [];
      let bytes = 0;
      for (let seq = from; seq < stop && expected.length < maxCount; seq++) {
        const size = sizes[seq - 50]!;
        if (expected.length > 0 && bytes + size > maxBytes) break;
        expected.push(seq);
        bytes += size;
      }
      const options = endSeq === undefined ? { maxCount, maxBytes } : { maxCount, maxBytes, endSeq };
      const records = await log.read(from, options);
      assert.deepEqual(
        records.map((r) => r.seq),
        expected,
        `read(${from}, ${JSON.stringify(options)})`,
      );
      for (const record of records)
        assert.deepEqual(record.payload, payloadFor(record.seq - 50, sizes[record.seq - 50]!));
    }
    await log.close();
  });
});

describe('time lookups', () => {
  test('seqAtTime and timeOfSeq over several files, with the sparse index walked', async () => {
    const log = await openFileShardLog(dir, { baseSeq: 7, maxFileBytes: 8192 });
    // Two records per millisecond tick, starting at t=1000: seq 7+2k and 8+2k are received at 1000+10k.
    for (let k = 0; k < 200; k++) {
      await log.append([entryFor(k, 40)], 1_000 + 10 * k);
      await log.append([entryFor(k + 1_000, 40)], 1_000 + 10 * k);
    }
    assert.ok((await logFiles()).length > 2);
    assert.equal(await log.seqAtTime(0), 7);
    assert.equal(await log.seqAtTime(1_000), 7);
    assert.equal(await log.seqAtTime(1_001), 9);
    assert.equal(await log.seqAtTime(1_010), 9);
    assert.equal(await log.seqAtTime(1_500), 7 + 100);
    assert.equal(await log.seqAtTime(1_505), 7 + 102);
    assert.equal(await log.seqAtTime(2_990), 7 + 398);
    assert.equal(await log.seqAtTime(2_991), 407, 'past the newest record: endSeq');
    for (const seq of [7, 8, 9, 70, 71, 200, 405, 406]) {
      assert.equal(await log.timeOfSeq(seq), 1_000 + 10 * Math.floor((seq - 7) / 2));
    }
    await assert.rejects(log.timeOfSeq(6), slsCode('InvalidCursor'));
    await assert.rejects(log.timeOfSeq(407), slsCode('InvalidCursor'));
    await log.close();
  });

  test('receive times never go backwards', async () => {
    const log = await openFileShardLog(dir);
    await log.append([entryFor(0, 10)], 5_000);
    await log.append([entryFor(1, 10)], 4_000);
    assert.equal(await log.timeOfSeq(1), 5_000);
    assert.equal((await log.read(1, { maxCount: 1, maxBytes: 100 }))[0]!.receiveTimeMs, 5_000);
    await log.close();
  });

  test('an empty log answers seqAtTime with endSeq', async () => {
    const log = await openFileShardLog(dir, { baseSeq: 42 });
    assert.equal(await log.seqAtTime(0), 42);
    await log.close();
  });
});

describe('TTL', () => {
  test('trimBefore drops whole expired files only and moves beginSeq', async () => {
    const options: FileShardLogOptions = { maxFileBytes: 4096 };
    let log = await openFileShardLog(dir, options);
    for (let i = 0; i < 40; i++) await log.append([entryFor(i, 900)], 10_000 + i * 100);
    const before = await logFiles();
    assert.ok(before.length >= 8);
    await log.trimBefore(10_000);
    assert.equal(log.beginSeq(), 0, 'nothing older than the first record');
    // Records 0..19 were received before 12_000; only files whose newest record is older go.
    await log.trimBefore(12_000);
    const begin = log.beginSeq();
    assert.ok(begin > 0 && begin <= 20, `beginSeq ${begin}`);
    assert.ok((await log.timeOfSeq(begin)) < 12_000 || begin === 20, 'a file straddling the cutoff is kept');
    assert.ok(log.stats().trimmedFiles > 0);
    await assert.rejects(log.read(0, { maxCount: 1, maxBytes: 1 }), slsCode('InvalidCursor'));
    assert.equal((await log.read(begin, { maxCount: 100, maxBytes: 1 << 20 })).length, 40 - begin);
    assert.equal((await logFiles()).length, before.length - log.stats().trimmedFiles);
    assert.equal(await log.seqAtTime(0), begin);
    await log.close();

    log = await openFileShardLog(dir, options);
    assert.equal(log.beginSeq(), begin);
    assert.equal(log.endSeq(), 40);
    await log.close();
  });

  test('the active file is kept while it has unexpired records, and sealed and dropped once all expired', async () => {
    const log = await openFileShardLog(dir, { baseSeq: 3 });
    await log.append([entryFor(0, 100)], 1_000);
    await log.append([entryFor(1, 100)], 2_000);
    await log.trimBefore(2_000);
    assert.equal(log.beginSeq(), 3);
    assert.equal((await log.read(3, { maxCount: 10, maxBytes: 1 << 20 })).length, 2);
    await log.trimBefore(2_001);
    assert.equal(log.beginSeq(), 5);
    assert.equal(log.endSeq(), 5);
    assert.deepEqual(await logFiles(), ['00000000000000000005.log']);
    assert.equal(await log.append([entryFor(2, 100)], 3_000), 5);
    await log.close();
  });
});

describe('rotation by age', () => {
  test('a file older than maxFileAgeMs is sealed at the next commit', async () => {
    let clock = 1_000_000;
    const log = await openFileShardLog(dir, { maxFileAgeMs: 60_000, now: () => clock });
    await log.append([entryFor(0, 10)]);
    clock += 30_000;
    await log.append([entryFor(1, 10)]);
    assert.equal((await logFiles()).length, 1);
    clock += 30_000;
    await log.append([entryFor(2, 10)]);
    assert.deepEqual(await logFiles(), ['00000000000000000000.log', '00000000000000000002.log']);
    assert.equal(await log.timeOfSeq(2), 1_060_000, 'default receive time comes from the clock');
    await log.close();
  });
});

describe('failures and lifecycle', () => {
  test('an fsync error fails the queued appends, cuts their bytes durably, and the log carries on', async () => {
    let failNext = false;
    const log = await openFileShardLog(dir, {
      hooks: {
        beforeSync: () => {
          if (failNext) throw new Error('EIO: simulated fsync failure');
        },
        // A slow cut: the appends must not be answered before their bytes are gone (CI once saw them still there).
        beforeTruncate: () => new Promise((resolve) => setTimeout(resolve, 30)),
      },
    });
    await log.append([entryFor(0, 100)]);
    const durableSize = (await stat(path.join(dir, '00000000000000000000.log'))).size;
    failNext = true;
    const failed = await Promise.allSettled([log.append([entryFor(1, 100)]), log.append([entryFor(2, 100)])]);
    assert.ok(failed.every((r) => r.status === 'rejected' && slsCode('InternalServerError')(r.reason)));
    assert.equal(log.endSeq(), 1, 'unacknowledged records stay invisible');
    assert.equal(log.stats().failedCommits, 1);
    assert.equal(
      (await stat(path.join(dir, '00000000000000000000.log'))).size,
      durableSize,
      'the failed batch was written, then cut back so it cannot resurface on reopen',
    );
    assert.equal(log.failure, undefined, 'the cut succeeded, so the log repaired itself');
    failNext = false;
    assert.equal(await log.append([entryFor(3, 100)]), 1, 'seqs nobody saw are handed out again');
    await log.close();

    const reopened = await openFileShardLog(dir);
    const all = await reopened.read(0, { maxCount: 10, maxBytes: 1 << 20 });
    assert.deepEqual(
      all.map((r) => r.payload),
      [payloadFor(0, 100), payloadFor(3, 100)],
    );
    await reopened.close();
  });

  test('when the cut fails too, appends fail until it succeeds', async () => {
    let diskBroken = false;
    const log = await openFileShardLog(dir, {
      hooks: {
        beforeWrite: () => {
          if (diskBroken) throw new Error('ENOSPC: simulated');
        },
        beforeTruncate: () => {
          if (diskBroken) throw new Error('EIO: simulated');
        },
      },
    });
    await log.append([entryFor(0, 100)]);
    diskBroken = true;
    await assert.rejects(log.append([entryFor(1, 100)]), slsCode('InternalServerError'));
    assert.ok(log.failure);
    await assert.rejects(log.append([entryFor(2, 100)]), /could not be cut/);
    assert.equal((await log.read(0, { maxCount: 10, maxBytes: 1 << 20 })).length, 1, 'durable records stay readable');
    diskBroken = false;
    assert.equal(await log.append([entryFor(3, 100)]), 1);
    assert.equal(log.failure, undefined);
    await log.close();
  });

  test('close waits for queued appends, then refuses everything', async () => {
    const log = await openFileShardLog(dir);
    const appends = Array.from({ length: 20 }, (_, i) => log.append([entryFor(i, 1000)]));
    const closed = log.close();
    assert.equal((await Promise.all(appends)).length, 20);
    await closed;
    await assert.rejects(log.append([entryFor(99, 10)]), slsCode('InternalServerError'));
    await assert.rejects(log.read(0, { maxCount: 1, maxBytes: 1 }), slsCode('InternalServerError'));
    const reopened = await openFileShardLog(dir);
    assert.equal(reopened.endSeq(), 20);
    await reopened.close();
  });

  test('bad input is refused with SLS errors and bad options with a message naming the field', async () => {
    await assert.rejects(openFileShardLog(dir, { maxFileBytes: 10 }), /maxFileBytes/);
    await assert.rejects(openFileShardLog(dir, { baseSeq: -1 }), /baseSeq/);
    const log = await openFileShardLog(dir, { maxRecordBytes: 1000 });
    await assert.rejects(openFileShardLog(dir), /already open/);
    await assert.rejects(log.append([]), slsCode('ParameterInvalid'));
    await assert.rejects(log.append([entryFor(0, 1001)]), slsCode('PostBodyTooLarge'));
    await assert.rejects(
      log.append([{ payload: Buffer.alloc(1), codec: 'gzip' as 'lz4', rawSize: 1 }]),
      slsCode('ParameterInvalid'),
    );
    await assert.rejects(
      log.append([{ payload: Buffer.alloc(1), codec: 'none', rawSize: -1 }]),
      slsCode('ParameterInvalid'),
    );
    assert.equal(log.endSeq(), 0);
    await log.close();
  });
});
