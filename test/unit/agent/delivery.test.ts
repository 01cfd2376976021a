/**
 * Delivery signs PutLogs with v4 (the body bound by SHA-256, cheaper than v1's Content-MD5) and falls back to v1 for
 * good when a server refuses v4 but accepts v1. Against a real loopback HTTP server that checks each request with the
 * protocol's own verifier. If the agent went back to v1 the first test fails (`LOG ` authorization, Content-MD5 sent);
 * if the fallback were lost, the second never delivers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import type { Batch } from '../../../src/agent/send/batch.js';
import { Delivery } from '../../../src/agent/send/delivery.js';
import { Spool } from '../../../src/agent/spool/spool.js';
import { regionOfEndpoint, SlsClient } from '../../../src/client/sls-client.js';
import { verifyRequest } from '../../../src/protocol/signature.js';

const SECRET = 'unit-secret';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly verified: boolean;
}

/** A PutLogs endpoint that verifies every request; `acceptV4` false answers v4 with 401 as a foreign server might. */
async function startServer(acceptV4: boolean): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [path = '/', rawQuery = ''] = (req.url ?? '/').split('?');
      let verified = true;
      try {
        verifyRequest(
          { method: req.method ?? 'POST', path, rawQuery, headers: req.headers, body: Buffer.concat(chunks) },
          SECRET,
          { nowMs: Date.now(), maxSkewMs: 15 * 60_000 },
        );
      } catch {
        verified = false;
      }
      seen.push({ headers: req.headers, verified });
      const v4 = String(req.headers.authorization).startsWith('SLS4-');
      if (!verified || (v4 && !acceptV4)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorCode: 'SignatureNotMatch', errorMessage: 'refused' }));
        return;
      }
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

function batch(i: number): Batch {
  const body = Buffer.from(`lz4 block ${i}`);
  return {
    id: `sl1-1-${i * 10}-${i * 10 + 10}`,
    logstore: 'ls',
    ranges: [{ fileId: 'f1', start: i * 10, end: i * 10 + 10 }],
    body,
    rawSize: body.length,
    logCount: 1,
  };
}

async function deliver(
  url: string,
  secret: string,
  n: number,
  until: () => boolean = () => true,
): Promise<{ delivered: number; spooled: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-delivery-unit-'));
  dirs.push(dir);
  const client = new SlsClient({ endpoint: url, accessKeyId: 'ak', accessKeySecret: secret });
  let delivered = 0;
  let spooled = 0;
  const d = new Delivery(
    client,
    Spool.open(join(dir, 'spool'), 1 << 20, () => undefined),
    {
      project: 'p',
      logstore: 'ls',
      maxConcurrency: 1,
      directAttempts: 1,
      backoffBaseMs: 1,
      backoffCapMs: 5,
      maxMemoryBytes: 1 << 20,
    },
    {
      delivered: () => delivered++,
      spooled: () => spooled++,
      givenUp: () => undefined,
      released: () => undefined,
    },
    new AgentMetrics(),
    () => undefined,
  );
  // One at a time, so the order of signatures is deterministic.
  for (let i = 0; i < n; i++) {
    d.submit(batch(i));
    const deadline = Date.now() + 5_000;
    while (!(d.inMemoryIdle && until()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
  d.close();
  client.close();
  return { delivered, spooled };
}

test('PutLogs are signed with v4: SHA-256 of the body, no Content-MD5', async () => {
  const { url, seen, server } = await startServer(true);
  try {
    assert.deepEqual(await deliver(url, SECRET, 3), { delivered: 3, spooled: 0 });
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.ok(s.verified);
      assert.match(String(s.headers.authorization), /^SLS4-HMAC-SHA256 Credential=ak\/\d{8}\/cn-hangzhou\/sls\//);
      assert.equal(s.headers['content-md5'], undefined);
      assert.match(String(s.headers['x-log-content-sha256']), /^[0-9a-f]{64}$/);
    }
  } finally {
    server.close();
  }
});

test('a server that refuses v4 but accepts v1 gets v1 from then on', async () => {
  const { url, seen, server } = await startServer(false);
  try {
    assert.deepEqual(await deliver(url, SECRET, 3), { delivered: 3, spooled: 0 });
    const kinds = seen.map((s) => String(s.headers.authorization).split(' ')[0]);
    assert.deepEqual(kinds, ['SLS4-HMAC-SHA256', 'LOG', 'LOG', 'LOG']);
  } finally {
    server.close();
  }
});

test('a wrong key (v1 refused too) keeps v4: the fallback is only taken when v1 is accepted', async () => {
  const { url, seen, server } = await startServer(true);
  try {
    // The batch is spooled after its direct attempt; the spool's drain retries it (each time v4, then v1).
    const r = await deliver(url, 'wrong-secret', 1, () => seen.length >= 4);
    assert.deepEqual(r, { delivered: 0, spooled: 1 });
    const kinds = seen.slice(0, 4).map((s) => String(s.headers.authorization).split(' ')[0]);
    assert.deepEqual(kinds, ['SLS4-HMAC-SHA256', 'LOG', 'SLS4-HMAC-SHA256', 'LOG']);
  } finally {
    server.close();
  }
});

test('the v4 region comes from an SLS endpoint name', () => {
  assert.equal(regionOfEndpoint('cn-hangzhou.log.aliyuncs.com'), 'cn-hangzhou');
  assert.equal(regionOfEndpoint('cn-hangzhou-intranet.log.aliyuncs.com'), 'cn-hangzhou');
  assert.equal(regionOfEndpoint('ap-southeast-1-share.log.aliyuncs.com'), 'ap-southeast-1');
  assert.equal(regionOfEndpoint('localhost'), undefined);
});
