/**
 * Kill -9 in the middle of appends: every record the child printed as acknowledged must be there after reopening,
 * byte for byte, with consecutive seqs. If group commit ever resolved an append before its write+fsync finished, or
 * recovery cut into acknowledged data, an ack here would point at a missing or different record.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openFileShardLog } from '../../../src/storage/shard-log/embedded/mod.js';
import { payloadFor, tempDir } from './shard-log-fixtures.js';

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../helpers/shard-log-appender.js');

interface Ack {
  readonly tag: number;
  readonly size: number;
}

/** Runs the helper until it has printed `killAfterAcks` acks, then SIGKILLs it; returns the acks it printed. */
function runAndKill(dir: string, killAfterAcks: number): Promise<Map<number, Ack>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [helper, dir, '65536', '2000', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks = new Map<number, Ack>();
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, seq, tag, size] = line.split(' ');
        if (kind === 'ack') acks.set(Number(seq), { tag: Number(tag), size: Number(size) });
      }
      if (!killed && acks.size >= killAfterAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`helper exited with ${code}: ${stderr}`));
      else resolve(acks);
    });
  });
}

test('records acknowledged before SIGKILL survive, across several kill/reopen rounds', {
  timeout: 120_000,
}, async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const acked = new Map<number, Ack>();
    for (const killAfter of [150, 400, 50, 700]) {
      for (const [seq, ack] of await runAndKill(dir, killAfter)) {
        assert.ok(!acked.has(seq), `seq ${seq} acknowledged twice`);
        acked.set(seq, ack);
      }
    }
    const log = await openFileShardLog(dir);
    try {
      const maxAcked = Math.max(...acked.keys());
      assert.ok(log.endSeq() > maxAcked, `endSeq ${log.endSeq()} must cover acknowledged seq ${maxAcked}`);
      const records = [];
      for (let seq = log.beginSeq(); seq < log.endSeq(); ) {
        const batch = await log.read(seq, { maxCount: 500, maxBytes: 8 << 20 });
        records.push(...batch);
        seq += batch.length;
      }
      assert.deepEqual(
        records.map((r) => r.seq),
        Array.from({ length: log.endSeq() }, (_, i) => i),
      );
      for (const [seq, ack] of acked) {
        assert.deepEqual(records[seq]!.payload, payloadFor(ack.tag, ack.size), `payload of acknowledged seq ${seq}`);
      }
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});
