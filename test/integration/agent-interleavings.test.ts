/**
 * Resends after an agent crash, driven step by step through the real collector and checkpoint store against a real
 * `sluice serve`, so the interleaving that the SIGKILL suite only meets by chance happens every time: batches
 * acknowledged out of order (a later one stored, an earlier one still in flight) when the agent dies. After the
 * restart, the earlier batch is resent under its id and the later ones must not be read again: cut anew from a grown
 * file, their bytes would leave under other ids, which the server cannot recognise as resends.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
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

const s = agentSuite('sluice-agent-resend-');

const PROJECT = 'agent-resend';

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
  const sent: Batch[] = [];
  for (let pass = 0; pass < 20; pass++) {
    const out = readPass(third.store, third.collector);
    if (out.length === 0) break;
    for (const b of out) await deliver(third.store, b);
    sent.push(...out);
  }
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
