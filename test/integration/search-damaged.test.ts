/**
 * A segment file damaged under a running `sluice serve` (one bit of a posting list flipped, as a failing disk would):
 * the query that reads it gets the SLS error JSON saying the index is damaged, never a hang; the server moves the file
 * aside (`.seg.damaged`), answers from the other segments meanwhile, and builds the moved segment's logs again from
 * the shard log; after a restart every log still counts once.
 *
 * Before: the query hung in a varint that ran past its posting (and, with a count that did end, every later query of
 * the range failed the same way, for as long as the segment lived).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import { SegmentReader } from '../../src/storage/segment/segment-reader.js';
import { createLogstore, createProject } from '../helpers/crash-sls.js';
import { removeDir, startServerProcess } from '../helpers/server-process.js';
import { assertSlsError, jsonOf, testClient } from '../helpers/sls-kit.js';

const T0 = Math.floor(Date.now() / 1000) - 3600;

async function put(client: SlsClient, g: number): Promise<void> {
  const logs = Array.from({ length: 100 }, (_, i) => ({
    time: T0 + g * 100 + i,
    contents: [{ key: 'n', value: String(g * 100 + i) }],
  }));
  const res = await client.send({
    method: 'POST',
    project: 'dproj',
    path: '/logstores/dstore/shards/lb',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeLogGroup({ logs, tags: [] }),
  });
  assert.equal(res.status, 200, res.body.toString());
}

/** The histogram of `n >= from` over the hour: each query a new range, so none is answered from a cached posting. */
function histogram(client: SlsClient, from: number) {
  return client.send({
    method: 'GET',
    project: 'dproj',
    path: '/logstores/dstore',
    query: { type: 'histogram', from: String(T0), to: String(T0 + 7200), query: `n >= ${from}`, interval: '7200' },
  });
}

async function total(client: SlsClient, from: number): Promise<number> {
  return jsonOf<{ count: number }[]>(await histogram(client, from)).reduce((a, b) => a + b.count, 0);
}

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
}

function segmentFiles(dataDir: string, ext: string): string[] {
  const root = join(dataDir, 'index', 'dproj', 'dstore');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((uid) =>
    readdirSync(join(root, uid))
      .filter((f) => f.endsWith(ext))
      .map((f) => join(root, uid, f)),
  );
}

/** Flips, in place, the first bit of the `n` postings of `path` after which a fresh read of `n >= 0` fails. */
function damagePostings(path: string): void {
  const intact = readFileSync(path);
  const r = SegmentReader.open(path);
  const { offsets } = (r as unknown as { numberTable(f: string): { offsets: Float64Array } }).numberTable('n');
  r.close();
  for (let at = offsets[0]!; at < offsets[offsets.length - 1]!; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const bytes = Buffer.from(intact);
      bytes[at] = bytes[at]! ^ (1 << bit);
      const probe = `${path}.probe`;
      writeFileSync(probe, bytes);
      const p = SegmentReader.open(probe);
      let fails = false;
      try {
        p.numeric('n', 0, true, 1e9, true, false);
      } catch {
        fails = true;
      }
      p.close();
      if (fails) {
        writeFileSync(path, bytes); // same inode: the server's open descriptor reads the damaged bytes
        return;
      }
    }
  }
  throw new Error('no bit of the postings breaks a read');
}

test('a segment damaged under a running server: a clear error, moved aside, indexed again, each log once', async () => {
  let server = await startServerProcess();
  const dataDir = server.dataDir;
  let client = testClient(server.url);
  try {
    await createProject(client, 'dproj');
    await createLogstore(client, 'dproj', 'dstore', 1);
    await client.call({
      method: 'POST',
      project: 'dproj',
      path: '/logstores/dstore/index',
      body: Buffer.from(JSON.stringify({ line: { token: [' '] }, keys: { n: { type: 'long' } } })),
    });
    // Three segments, one per batch: each batch is searchable (built) before the next is sent.
    for (let g = 0; g < 3; g++) {
      await put(client, g);
      await until(`batch ${g} is searchable`, async () => (await total(client, 0)) === (g + 1) * 100);
    }
    await until('three segments are written', () => segmentFiles(dataDir, '.seg').length === 3);
    const segs = segmentFiles(dataDir, '.seg').sort();
    const damaged = segs[1]!;
    const held = SegmentReader.open(damaged);
    const lost = held.n;
    held.close();
    damagePostings(damaged);

    const res = await histogram(client, 1);
    assertSlsError(res, 500, 'InternalServerError');
    assert.match(res.body.toString(), /index of this logstore is damaged/);

    await until('the damaged segment is moved aside', () => existsSync(`${damaged}.damaged`) && !existsSync(damaged));
    const meanwhile = await total(client, 2);
    assert.ok(meanwhile >= 298 - lost && meanwhile <= 298, `the other segments answer meanwhile: ${meanwhile}`);
    await until('its logs are indexed again from the shard log', async () => (await total(client, 4)) === 296);
    assert.match(server.output(), /is damaged .*moved aside as .*\.damaged, its logs are indexed again now/);

    await server.stop();
    client.close();
    server = await startServerProcess({ dataDir });
    client = testClient(server.url);
    await until('every log is searchable again', async () => (await total(client, 3)) === 297);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await total(client, 0), 300, 'each log once');
    }
  } finally {
    client.close();
    await server.stop();
    await removeDir(dataDir);
  }
});
