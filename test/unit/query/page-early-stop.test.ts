/**
 * A page stops at the first parts that fill it: segments in time order (plus an overlapping one, time ties at
 * segment edges, and the head) must give exactly the page that reading every part gives (the same query with a page
 * large enough to take every hit), for both orders, offsets and a field search; and a small newest-first page over
 * disjoint segments reads fewer rows than all of them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { parseQuery, search } from '../../../src/query/executor.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-early-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('pages that stop early equal pages that read every part', () => {
  const config = compileIndex(
    { config: { line: { token: [' '] }, keys: { k: { type: 'text', token: [' '] } } }, lastModifyTime: 0, version: 1 },
    30,
  );
  const idx = LogstoreIndex.open(dir, config, MANUAL_SEALS);
  let seq = 0;
  let n = 0;
  const add = (times: number[]): void => {
    const logs = times.map((t) => ({ time: t, contents: [{ key: 'k', value: `${n % 3 === 0 ? 'a' : 'b'} r${n++}` }] }));
    idx.add('0-0', seq++, encodeLogGroup({ logs, topic: '', source: '', tags: [] }));
  };
  const span = (from: number, to: number, step = 1): number[] => {
    const out: number[] = [];
    for (let t = from; t < to; t += step) out.push(t, t);
    return out;
  };
  add(span(1000, 1100));
  idx.seal();
  add(span(1099, 1200)); // shares second 1099 with the previous segment
  idx.seal();
  add(span(1200, 1300));
  idx.seal();
  add(span(1050, 1250, 7)); // overlaps the others
  idx.seal();
  add(span(1300, 1320)); // the head
  const total = idx.rowCount();
  for (const q of ['*', 'a', 'k:b']) {
    for (const reverse of [true, false]) {
      const every = search(idx.config, idx.parts(), parseQuery(q), {
        from: 0,
        to: 5000,
        offset: 0,
        line: 1_000_000,
        reverse,
      }).rows.map((r) => r.fields.find((f) => f[0] === 'k')![1]);
      for (const [offset, line] of [
        [0, 1],
        [0, 5],
        [3, 10],
        [0, 100],
        [150, 40],
        [0, 400],
      ] as const) {
        for (const [from, to] of [
          [0, 5000],
          [1099, 1250],
        ] as const) {
          const want = search(idx.config, idx.parts(), parseQuery(q), {
            from,
            to,
            offset: 0,
            line: 1_000_000,
            reverse,
          }).rows.map((r) => r.fields.find((f) => f[0] === 'k')![1]);
          const page = search(idx.config, idx.parts(), parseQuery(q), { from, to, offset, line, reverse });
          assert.deepEqual(
            page.rows.map((r) => r.fields.find((f) => f[0] === 'k')![1]),
            want.slice(offset, offset + line),
            `${q} reverse=${reverse} offset=${offset} line=${line} ${from}-${to}`,
          );
        }
      }
      assert.ok(every.length > 0);
    }
  }
  const small = search(idx.config, idx.parts(), parseQuery('*'), {
    from: 0,
    to: 5000,
    offset: 0,
    line: 5,
    reverse: true,
  });
  assert.ok(small.processedRows < total, `${small.processedRows} of ${total} rows read`);
  idx.close();
});
