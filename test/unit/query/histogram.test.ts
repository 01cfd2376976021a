/**
 * GetHistograms counts over segments large enough for every counting path: `*` over whole segments (per-segment
 * bucket cache), sparse hit lists (bucketed hit by hit), dense hits (per-bucket counts), segments only partly inside
 * the range, and the head. Each histogram must equal the matching rows (read through search) bucketed by time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { histogram, parseQuery, search } from '../../../src/query/executor.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-histogram-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('histograms equal the matching rows bucketed, on every path', () => {
  const config = compileIndex(
    { config: { line: { token: [' '] }, keys: { k: { type: 'text', token: [' '] } } }, lastModifyTime: 0, version: 1 },
    30,
  );
  const idx = LogstoreIndex.open(dir, config, MANUAL_SEALS);
  const T = 10_000;
  let seq = 0;
  const add = (from: number, to: number): void => {
    const logs = [];
    for (let i = from; i < to; i++) {
      // Rare: 1 in 97 rows; common: 1 in 2; times spread with repeats and gaps.
      const words = [i % 97 === 0 ? 'rare' : 'x', i % 2 === 0 ? 'common' : 'y'];
      logs.push({ time: T + Math.floor((i * 37) % 5000), contents: [{ key: 'k', value: words.join(' ') }] });
    }
    idx.add('0-0', seq++, encodeLogGroup({ logs, topic: '', source: '', tags: [] }));
  };
  add(0, 4000);
  idx.seal();
  add(4000, 9000);
  idx.seal();
  add(9000, 9500);
  for (const q of ['*', 'rare', 'common', 'rare and common', 'nothing']) {
    const rows = search(idx.config, idx.parts(), parseQuery(q), {
      from: 0,
      to: 2 ** 31,
      offset: 0,
      line: 100_000,
      reverse: false,
    }).rows;
    for (const [from, to, interval] of [
      [T - 100, T + 6000, 60],
      [T + 7, T + 4999, 13],
      [T + 1000, T + 1100, 1],
      [T, T + 5000, 5000],
    ] as const) {
      for (let round = 0; round < 2; round++) {
        const h = histogram(idx.config, idx.parts(), parseQuery(q), { from, to, interval });
        assert.deepEqual(
          h.buckets.map((b) => b.count),
          h.buckets.map((b) => rows.filter((r) => r.time >= b.from && r.time < b.to).length),
          `${q} ${from} ${to} ${interval}`,
        );
      }
    }
  }
  idx.close();
});

test('`*` over a segment spanning more seconds than its per-second table allows counts row by row', () => {
  const sub = mkdtempSync(join(dir, 'wide-'));
  const config = compileIndex({ config: { line: { token: [' '] } }, lastModifyTime: 0, version: 1 }, 30);
  const idx = LogstoreIndex.open(sub, config, MANUAL_SEALS);
  const T = 1_000_000;
  // 300 rows over 30 days (span far above 4 days and 2 x rows) and 300 rows within one hour.
  const logs = [];
  for (let i = 0; i < 300; i++)
    logs.push({ time: T + ((i * 7919) % (30 * 86_400)), contents: [{ key: 'k', value: 'a' }] });
  idx.add('0-0', 0, encodeLogGroup({ logs, topic: '', source: '', tags: [] }));
  idx.seal();
  const near = [];
  for (let i = 0; i < 300; i++) near.push({ time: T + ((i * 31) % 3600), contents: [{ key: 'k', value: 'b' }] });
  idx.add('0-0', 1, encodeLogGroup({ logs: near, topic: '', source: '', tags: [] }));
  idx.seal();
  const times = [...logs, ...near].map((l) => l.time);
  for (const [from, interval] of [
    [T - 5, 3600],
    [T - 86_400, 86_400],
    [T + 17, 600],
  ] as const) {
    const to = T + 31 * 86_400;
    const h = histogram(idx.config, idx.parts(), parseQuery('*'), { from, to, interval });
    assert.deepEqual(
      h.buckets.map((b) => b.count),
      h.buckets.map((b) => times.filter((t) => t >= b.from && t < b.to).length),
      `${from} ${interval}`,
    );
  }
  idx.close();
});
