/**
 * Interleavings the agent's fault and rotation suites only meet by chance, forced step by step through the real
 * collector and checkpoint store against a real `sluice serve`:
 *
 * - a crash while a later batch is acknowledged and an earlier one is not: after the restart the earlier batch is
 *   resent under its id and the later ones are not read again (cut anew from a grown file, their bytes would leave
 *   under other ids, which the server cannot recognise as resends);
 * - a copytruncate landing between two reads of one pass (the writer's steps run at an exact read of the collector:
 *   `node:fs`'s `readSync` is wrapped to run them first, then the real read goes on): between the head check and the
 *   growth of the fingerprint, and between the head check and the read of the data.
 */
import assert from 'node:assert/strict';
import fs, { appendFileSync, copyFileSync, fstatSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ByteRange } from '../../src/agent/checkpoint/checkpoint-store.js';
import { CheckpointStore } from '../../src/agent/checkpoint/checkpoint-store.js';
import { Collector, type CollectorOptions } from '../../src/agent/collector.js';
import { parseCollectionConfig } from '../../src/agent/config/logtail-config.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { Batch } from '../../src/agent/send/batch.js';
import { BufferPool } from '../../src/agent/send/buffer-pool.js';
import { BodyCompressor } from '../../src/agent/send/compress.js';
import {
  agentSuite,
  assertExactlyOnce,
  createProjectAndLogstore,
  logtailConfig,
  serverDedups,
} from '../helpers/agent-harness.js';

const s = agentSuite('sluice-agent-interleavings-');

const PROJECT = 'agent-interleavings';

/** One process's life: its checkpoint store (reopened from disk) and a collector on it. */
function incarnation(dataDir: string, logs: string, logstore: string, losses: ByteRange[]) {
  const store = CheckpointStore.open(join(dataDir, 'checkpoint'));
  const o: CollectorOptions = {
    pool: new BufferPool(),
    compressor: new BodyCompressor(),
    source: '127.0.0.1',
    hostname: 'resend-test',
    // Small chunks: a few batches per file, the last one a partial (tail) chunk, as a lingered read takes it.
    readChunkBytes: 1024,
    maxEntryBytes: 1024,
    maxOpenFiles: 100,
    maxWatches: 100,
    idleCloseMs: 60_000,
    rotateGraceMs: 60_000,
    flushTimeoutMs: 60_000,
    maxLogsPerBatch: 4096,
    lingerMs: 0,
    minReadBytes: 1024,
  };
  const collector = new Collector(parseCollectionConfig(logtailConfig(logs, logstore)), o, {
    store,
    metrics: new AgentMetrics(),
    log: () => {},
    loss: (r) => losses.push(r),
    wake: () => {},
  });
  return { store, collector };
}

/** One read pass; the intents are made durable before anything leaves, as the agent does. */
function readPass(store: CheckpointStore, collector: Collector): Batch[] {
  const now = Date.now();
  collector.reconcile(now);
  const out: Batch[] = [];
  collector.readPass(now, 1 << 20, () => true, out);
  store.flush(true);
  return out;
}

/** PutLogs exactly as the delivery sends a batch (LZ4 body, idempotency id); then the checkpoint takes the ack. */
async function deliver(store: CheckpointStore, b: Batch): Promise<void> {
  const res = await s.client.send({
    method: 'POST',
    project: PROJECT,
    path: `/logstores/${b.logstore}/shards/lb`,
    headers: {
      'content-type': 'application/x-protobuf',
      'x-log-compresstype': 'lz4',
      'x-log-bodyrawsize': String(b.rawSize),
      'x-log-idempotency-id': b.id,
    },
    body: Buffer.from(b.body),
  });
  assert.equal(res.status, 200, res.body.toString());
  store.ack(b.id);
}

function lines(tag: string, from: number, count: number): string[] {
  const out: string[] = [];
  for (let i = from; i < from + count; i++) out.push(`${tag} ${i} ${'p'.repeat(i % 37)}`);
  return out;
}

/** Reads, delivers and acknowledges until the collector has nothing left (bounded). */
async function drain(store: CheckpointStore, collector: Collector): Promise<Batch[]> {
  const sent: Batch[] = [];
  for (let pass = 0; pass < 30; pass++) {
    const out = readPass(store, collector);
    for (const b of out) await deliver(store, b);
    sent.push(...out);
    if (out.length === 0 && !collector.hasWork) break;
  }
  return sent;
}

/**
 * Runs `step` once, right before the first `readSync(fd, buffer, offset, length, position)` that `when` picks (the
 * real read then goes on, seeing what `step` did): a concurrent writer placed at an exact point of the collector's
 * reads. Returns the undo, which tells whether the step ran.
 */
function beforeRead(when: (fd: number, length: number, position: number) => boolean, step: () => void): () => boolean {
  const real = fs.readSync;
  let done = false;
  const wrapped = (fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number) => {
    if (!done && typeof position === 'number' && when(fd, length, position)) {
      done = true;
      step();
    }
    return real(fd, buffer, offset, length, position);
  };
  fs.readSync = wrapped as typeof fs.readSync;
  syncBuiltinESMExports();
  return () => {
    fs.readSync = real;
    syncBuiltinESMExports();
    return done;
  };
}

/** logrotate's copytruncate of `file` into `copy`, then the app's next lines. */
function copytruncate(file: string, copy: string, next: string[]): void {
  copyFileSync(file, copy);
  truncateSync(file, 0);
  appendFileSync(file, `${next.join('\n')}\n`);
}

test('a crash while a later batch is acknowledged and an earlier one is not: every line stored once', async () => {
  await createProjectAndLogstore(s.client, PROJECT, 'ahead');
  assert.ok(await serverDedups(s.client, PROJECT, 'ahead'), 'the server honours x-log-idempotency-id');
  const logs = join(s.work, 'ahead-logs');
  const dataDir = join(s.work, 'ahead-agent');
  mkdirSync(logs, { recursive: true });
  const file = join(logs, 'a.log');
  const written = lines('ra', 0, 120);
  appendFileSync(file, `${written.join('\n')}\n`);
  const losses: ByteRange[] = [];

  // First life: three batches (two full chunks, then the tail). The first is still in flight when the agent is
  // killed; the later two were stored and acknowledged.
  const first = incarnation(dataDir, logs, 'ahead', losses);
  const batches = readPass(first.store, first.collector);
  assert.ok(batches.length >= 3, `several batches (${batches.map((b) => b.id).join(', ')})`);
  for (const b of batches.slice(1)) await deliver(first.store, b);
  first.store.flush(false); // the acks reach the journal (not fsync'd, as in the agent; the page cache survives)
  first.collector.close(); // SIGKILL: nothing else happens (the store is not closed)

  // The file grows meanwhile.
  const more = lines('ra', 120, 120);
  appendFileSync(file, `${more.join('\n')}\n`);
  written.push(...more);

  // Second life, killed right after it started: its checkpoint was folded into a new snapshot.
  const second = incarnation(dataDir, logs, 'ahead', losses);
  second.collector.close();

  // Third life: resends what is pending, reads what is new, until nothing is left.
  const third = incarnation(dataDir, logs, 'ahead', losses);
  const sent = await drain(third.store, third.collector);
  third.collector.close();
  third.store.close();
  assert.deepEqual(losses, []);
  await assertExactlyOnce(s.client, PROJECT, 'ahead', written, 'after an out-of-order acknowledgement and a crash');
  assert.equal(sent[0]?.id, batches[0]!.id, 'the batch in flight at the crash is resent under its id');
  const resentRanges = sent.flatMap((b) => b.ranges);
  for (const b of batches.slice(1))
    for (const r of b.ranges)
      assert.ok(
        resentRanges.every((x) => x.fileId !== r.fileId || x.end <= r.start || x.start >= r.end),
        `acknowledged range ${r.start}-${r.end} read again: ${sent.map((x) => x.id).join(', ')}`,
      );
});

/**
 * The copytruncate of the rotation suite's tiny files (a small file read and fingerprinted, two more lines, copy,
 * truncate, new lines), at one of the collector's reads of the file. `at` picks the read, given the size verified.
 */
async function copytruncateAtRead(
  logstore: string,
  at: (length: number, position: number, verified: number) => boolean,
  nextLines: number,
): Promise<void> {
  await createProjectAndLogstore(s.client, PROJECT, logstore);
  const logs = join(s.work, `${logstore}-logs`);
  mkdirSync(logs, { recursive: true });
  const file = join(logs, 'small.log');
  const expected = lines('g0', 0, 4); // read, fingerprinted and acknowledged first
  appendFileSync(file, `${expected.join('\n')}\n`);
  const losses: ByteRange[] = [];
  const life = incarnation(join(s.work, `${logstore}-agent`), logs, logstore, losses);
  await drain(life.store, life.collector);
  const verified = statSync(file).size;
  const unread = lines('g0', 100, 2);
  appendFileSync(file, `${unread.join('\n')}\n`);
  expected.push(...unread);
  const next = lines('g1', 0, nextLines);
  expected.push(...next);
  const ino = statSync(file).ino;
  const undo = beforeRead(
    (fd, length, position) => at(length, position, verified) && fstatSync(fd).ino === ino,
    () => copytruncate(file, join(logs, 'small-1.log'), next),
  );
  let ran = false;
  try {
    await drain(life.store, life.collector);
  } finally {
    ran = undo();
  }
  assert.ok(ran, 'the copytruncate ran at the chosen read');
  life.collector.close();
  life.store.close();
  assert.deepEqual(losses, [], 'nothing reported lost: the copy holds the unread lines');
  await assertExactlyOnce(s.client, PROJECT, logstore, expected, 'after the copytruncate');
}

test('a copytruncate between the head check and the growth of the fingerprint: the copy is recognised', async () => {
  // The read that grows the fingerprint past the bytes verified (in one read with the check, since the fix).
  await copytruncateAtRead('fp-growth', (length, position, verified) => position === 0 && length > verified, 3);
});

test('a copytruncate between the head check and the read of the data: the next generation is not taken for it', async () => {
  // The read of the two unread lines, after the head was found intact; the next generation is longer than the file.
  await copytruncateAtRead('data-read', (_length, position, verified) => position === verified, 12);
});
