/**
 * The agent's LZ4 bodies at any acceleration are standard LZ4 blocks: a real `sluice serve` accepts them in PutLogs
 * (it decodes every body to validate it) and serves the same logs back through PullLogs and through the official
 * `aliyun-sdk` (BatchGetLogs, its own protobuf decoder). Fails if the addon wrote anything but a plain block
 * (PostBodyUncompressError or different logs) or if its bodies stopped being what the server stores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LogGroupWriter } from '../../src/agent/batch/log-group-writer.js';
import { BufferPool } from '../../src/agent/send/buffer-pool.js';
import { BodyCompressor } from '../../src/agent/send/compress.js';
import type { SlsClient } from '../../src/client/sls-client.js';
import { createProjectAndLogstore } from '../helpers/agent-harness.js';
import { type N2Client, openN2 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { getCursor, pullShard, testClient } from '../helpers/sls-kit.js';

const project = 'agent-lz4';

/** Nginx-like lines with a run of pseudo-random hex (incompressible stretches are where acceleration skips ahead). */
function lines(n: number, seed: number): string[] {
  let x = seed;
  const hex = (): string => {
    let s = '';
    for (let i = 0; i < 24; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      s += (x >>> 24).toString(16).padStart(2, '0');
    }
    return s;
  };
  return Array.from(
    { length: n },
    (_, i) =>
      `10.0.${i % 256}.${(i * 7) % 256} - - [22/Nov/2026:10:00:${String(i % 60).padStart(2, '0')} +0000] "GET /p/${i % 97}?k=${hex()} HTTP/1.1" 200 ${i}`,
  );
}

describe('agent LZ4 bodies through sluice serve and aliyun-sdk', () => {
  let server: ServerProcess;
  let client: SlsClient;
  let n2: N2Client;

  before(async () => {
    server = await startServerProcess();
    client = testClient(server.url);
    n2 = openN2(server.port);
    await createProjectAndLogstore(client, project, 'bodies', 1);
  });

  after(async () => {
    client?.close();
    n2?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('bodies compressed at accelerations 1, 8 and 1000 are stored and read back unchanged', async () => {
    const pool = new BufferPool();
    const sent: string[][] = [];
    for (const [k, acceleration] of [1, 8, 1000].entries()) {
      const c = new BodyCompressor(acceleration);
      const text = lines(3000, k + 1);
      const src = Buffer.from(`${text.join('\n')}\n`);
      const w = new LogGroupWriter();
      let at = 0;
      for (const line of text) {
        const len = Buffer.byteLength(line);
        w.addRaw(1_763_805_600 + k, src, at, at + len);
        at += len + 1;
      }
      const raw = w.finish('', '10.1.2.3', [['__path__', '/var/log/app.log']]);
      const { view, slab } = c.compress(raw, pool);
      const res = await client.send({
        method: 'POST',
        project,
        path: '/logstores/bodies/shards/lb',
        headers: {
          'content-type': 'application/x-protobuf',
          'x-log-compresstype': 'lz4',
          'x-log-bodyrawsize': String(raw.length),
        },
        body: view,
        signature: 'v4',
      });
      pool.release(slab);
      assert.equal(res.status, 200, `${c.implementation} acceleration ${acceleration}: ${res.body.toString('utf8')}`);
      sent.push(text);
    }

    const pulled = await pullShard(client, project, 'bodies', 0);
    assert.deepEqual(
      pulled.map((g) => g.logs.map((l) => l.contents.map((c) => `${c.key}=${c.value}`).join())),
      sent.map((text) => text.map((l) => `content=${l}`)),
    );

    // The official SDK reads the same logs (sluice serves the stored blocks; N2 decodes with its own protobuf code).
    const begin = await getCursor(client, project, 'bodies', 0, 'begin');
    const data = await n2.call('batchGetLogs', {
      projectName: project,
      logStoreName: 'bodies',
      ShardId: 0,
      cursor: begin,
      count: 10,
    });
    const groups = (data.body as { logGroupList?: { logs: { contents: { key: string; value: string }[] }[] }[] })
      .logGroupList;
    assert.deepEqual(
      (groups ?? []).map((g) => g.logs.map((l) => l.contents.map((c) => `${c.key}=${c.value}`).join())),
      sent.map((text) => text.map((l) => `content=${l}`)),
    );
  });
});
