/**
 * Which logstores get their segments prepared for SQL in the background: those whose index enables analytics on a
 * key (`doc_value: true`). Without it, the first `| select` after a bulk load built every Parquet sidecar while the
 * client waited (15–21 s at 5M logs, far past the Node SDK's 3 s default timeout).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { INDEX_KIND } from '../../../src/index/index-registry.js';
import { Indexer, type ShardSource } from '../../../src/index/indexer.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const noSource: ShardSource = {
  shards: () => [],
  range: async () => ({ begin: 0, end: 0 }),
  read: async () => [],
  payload: (r) => r.payload,
};

test('analyticLogstores lists exactly the logstores with a doc_value key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-analytic-'));
  dirs.push(dir);
  const meta = await FileMetaStore.open(dir);
  const doc = (keys: Record<string, unknown>) => () => ({
    config: { line: { token: [' '] }, keys },
    lastModifyTime: 1,
    version: 1,
    uid: 'u',
    startSeqs: {},
  });
  await meta.updateResource(INDEX_KIND, 'p1/web/', doc({ status: { type: 'long', doc_value: true } }));
  await meta.updateResource(INDEX_KIND, 'p1/plain/', doc({ status: { type: 'long' } }));
  await meta.updateResource(
    INDEX_KIND,
    'p2/app/',
    doc({ msg: { type: 'text', doc_value: false }, ms: { type: 'double', doc_value: true } }),
  );
  await meta.updateResource(INDEX_KIND, 'p2/nokeys/', doc({}));
  const indexer = new Indexer(meta, noSource, join(dir, 'index'));
  assert.deepEqual(indexer.analyticLogstores(), [
    { project: 'p1', logstore: 'web' },
    { project: 'p2', logstore: 'app' },
  ]);
  await meta.close();
});
