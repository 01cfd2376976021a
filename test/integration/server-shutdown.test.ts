/**
 * `sluice serve` stops on SIGTERM even while a client keeps its keep-alive connection busy (an agent draining a
 * backlog sends PutLogs after PutLogs on one socket). `http.close()` alone waits for that socket to go idle, which
 * never happens while requests keep coming: the server went on storing PutLogs after SIGTERM and never exited (the
 * agent fault suite hung on it). And what it acknowledged while draining is stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import {
  removeDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { assertEmptyOk, pullLogstore } from '../helpers/sls-kit.js';

/** Bounds of the client's loop: far longer than the server may take to stop. */
const CLIENT_MAX_MS = 30_000;
const CLIENT_MAX_REQUESTS = 20_000;
/** The server must be gone this long after SIGTERM (its drain grace is 5 s). */
const STOP_BOUND_MS = 20_000;
/**
 * Concurrent senders, each on its own keep-alive socket: the old close hung if any socket was in a request at the
 * moment of SIGTERM, so several make that (near) certain.
 */
const SENDERS = 4;
const PROJECT = 'shutdown';
const LOGSTORE = 'busy';

function client(url: string): SlsClient {
  return new SlsClient({
    endpoint: url,
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: TEST_ACCESS_KEY_SECRET,
    timeoutMs: 15_000,
    maxSockets: SENDERS,
  });
}

/** One log of ~256 KB marked `n`: each request spends a while in the server (decode, append, fsync). */
function body(n: number): Buffer {
  const contents = [
    { key: 'n', value: String(n) },
    { key: 'pad', value: 'p'.repeat(256 * 1024) },
  ];
  return encodeLogGroup({ logs: [{ time: 1_700_000_000, contents }], tags: [] });
}

test('SIGTERM stops the server while a client sends back to back on a keep-alive connection', async () => {
  const server = await startServerProcess();
  const c = client(server.url);
  let restarted: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  try {
    const project = Buffer.from(JSON.stringify({ projectName: PROJECT, description: '' }));
    assertEmptyOk(await c.send({ method: 'POST', path: '/', body: project }));
    const logstore = Buffer.from(JSON.stringify({ logstoreName: LOGSTORE, ttl: 7, shardCount: 1 }));
    assertEmptyOk(await c.send({ method: 'POST', project: PROJECT, path: '/logstores', body: logstore }));

    const acked = new Set<number>();
    let clientError: Error | undefined;
    let stopClient = false;
    let next = 0;
    const sender = async (): Promise<void> => {
      const until = Date.now() + CLIENT_MAX_MS;
      while (next < CLIENT_MAX_REQUESTS && Date.now() < until && !stopClient) {
        const n = next++;
        try {
          const res = await c.send({
            method: 'POST',
            project: PROJECT,
            path: `/logstores/${LOGSTORE}/shards/lb`,
            headers: { 'content-type': 'application/x-protobuf' },
            body: body(n),
          });
          assertEmptyOk(res, `PutLogs ${n}`);
          acked.add(n);
        } catch (err) {
          // Once the server has closed its listener and this connection, this sender is done.
          clientError = err as Error;
          return;
        }
      }
    };
    const loop = Promise.all(Array.from({ length: SENDERS }, sender));
    // Let the client settle into its loop on one socket.
    while (acked.size < 20) await new Promise((r) => setTimeout(r, 10));
    const before = acked.size;
    const exited = new Promise<number | null>((done) => server.child.once('exit', (code) => done(code)));
    server.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      exited.then((code) => ({ code })),
      new Promise<'hung'>((done) => {
        timer = setTimeout(() => done('hung'), STOP_BOUND_MS);
      }),
    ]);
    clearTimeout(timer);
    stopClient = true;
    await loop;
    assert.notEqual(
      outcome,
      'hung',
      `server still running ${STOP_BOUND_MS} ms after SIGTERM; it acknowledged ${acked.size - before} more PutLogs:\n${server.output()}`,
    );
    assert.deepEqual(outcome, { code: 0 });
    assert.ok(clientError, 'the client should have been cut off once the server was gone');

    // Every acknowledged PutLogs, those of the drain included, is there after a restart; nothing else is.
    restarted = await startServerProcess({ dataDir: server.dataDir });
    const c2 = client(restarted.url);
    try {
      const stored: number[] = [];
      for (const g of await pullLogstore(c2, PROJECT, LOGSTORE)) {
        for (const log of g.logs) stored.push(Number(log.contents.find((x) => x.key === 'n')?.value));
      }
      for (const n of acked) assert.ok(stored.includes(n), `acknowledged PutLogs ${n} is missing`);
      assert.equal(new Set(stored).size, stored.length, 'no PutLogs stored twice');
    } finally {
      c2.close();
    }
  } finally {
    c.close();
    await restarted?.stop();
    await server.kill();
    await removeDir(server.dataDir);
  }
});
