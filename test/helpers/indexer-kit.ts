/**
 * What the indexer's unit tests share: temp folders removed after the file's tests, an in-memory one-shard
 * ShardSource of numbered logs (`n` = seq × logsPer + i), every `n` the index finds, and a wait for a row count.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Indexer, ShardSource } from '../../src/index/indexer.js';
import type { LogstoreIndex, LogstoreIndexOptions } from '../../src/index/logstore-index.js';
import type { ShardMeta } from '../../src/meta/meta-store.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import { parseQuery, search } from '../../src/query/executor.js';
import type { StoredRecord } from '../../src/storage/shard-log/shard-log.js';

/** A factory of temp folders (named `prefix…`), all removed when the calling file's tests end. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export const NOW = Math.floor(Date.now() / 1000);
/** LogstoreIndex options under which the head seals and segments merge only when the test calls seal / mergeOnce. */
export const MANUAL_SEALS: LogstoreIndexOptions = Object.freeze({
  sealRows: 1e9,
  sealAgeMs: 1e12,
  maxSegments: 100,
  maxSegmentRows: 1e9,
  mergeRatio: 0,
});

/** Full text on spaces and `n` as a long key. */
export const CONFIG = { line: { token: [' '] }, keys: { n: { type: 'long' } } };

/** Shard-log record `seq`: `logsPer` logs numbered from seq × logsPer, one second apart. */
export function record(seq: number, logsPer: number): StoredRecord {
  const logs = [];
  for (let i = 0; i < logsPer; i++) {
    const n = seq * logsPer + i;
    logs.push({ time: NOW - 1000 + n, contents: [{ key: 'n', value: String(n) }] });
  }
  const payload = encodeLogGroup({ logs, tags: [] });
  return { seq, receiveTimeMs: Date.now(), codec: 'none', rawSize: payload.length, payload };
}

/** One readwrite shard whose log is `records`. */
export function source(records: StoredRecord[]): ShardSource {
  const shard: ShardMeta = {
    id: 0,
    status: 'readwrite',
    beginKey: '0'.repeat(32),
    endKey: 'f'.repeat(32),
    createTime: 0,
    baseSeq: 0,
    parents: [],
  };
  return {
    shards: () => [shard],
    range: async () => ({ begin: 0, end: records.length }),
    read: async (_p, _l, _s, from, max) => records.slice(from, from + max),
    payload: (r) => r.payload,
  };
}

/** Every `n` a `*` search finds, oldest first (duplicates kept: tests compare against exact lists). */
export function allN(config: LogstoreIndex['config'], parts: ReturnType<LogstoreIndex['parts']>): number[] {
  const out: number[] = [];
  for (let offset = 0; ; offset += 100) {
    const r = search(config, parts, parseQuery('*'), { from: 0, to: 2 ** 32, offset, line: 100, reverse: false });
    for (const row of r.rows) out.push(Number(row.fields.find(([k]) => k === 'n')![1]));
    if (r.rows.length < 100) return out;
  }
}

/** Runs indexer passes until logstore p/ls holds `want` rows (bounded: 500 passes). */
export async function waitRows(indexer: Indexer, want: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (indexer.stats('p', 'ls')?.rows === want) return;
    await indexer.nextPass();
  }
  assert.fail(`indexer did not reach ${want} rows: ${JSON.stringify(indexer.stats('p', 'ls'))}`);
}
