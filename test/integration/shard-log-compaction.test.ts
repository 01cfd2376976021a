/**
 * Compaction at server level: a real `sluice serve` with 1 MiB shard-log files rewritten as soon as they are sealed
 * (`storage.compactAfterSeconds: 0`). LZ4 LogGroups are put until several files are sealed; once every sealed file is
 * a `.zlog` (of LogGroups transposed to columns), PullLogs must return every LogGroup byte for byte at its old cursor
 * (over LZ4, deflate and no compression), GetLogs must still find them, a reindex (which reads the shard log again, through the index builders)
 * must find them all, and after a restart on the same folder all of it holds and writes continue at the next cursor.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';
import { crashSeed, Prng } from '../helpers/crash-prng.js';
import { crashClient, createLogstore, createProject, pullWholeShard, putLogGroup } from '../helpers/crash-sls.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const PROJECT = 'compaction';
const LOGSTORE = 'web';
const CONFIG = { storage: { maxFileBytes: 1024 * 1024, compactAfterSeconds: 0 } };
const GROUPS = 60;
const LOGS_PER_GROUP = 2000;
const NOW = Math.floor(Date.now() / 1000);

const rng = new Prng(crashSeed());
let dataDir: string | undefined;
let live: ServerProcess | undefined;
let client: SlsClient | undefined;

after(async () => {
  client?.close();
  await live?.stop();
  if (dataDir !== undefined) await removeDir(dataDir);
});

function group(g: number): LogGroup {
  return {
    topic: 'access',
    source: `10.1.0.${g % 7}`,
    tags: [{ key: '__hostname__', value: `web-${g % 3}` }],
    logs: Array.from({ length: LOGS_PER_GROUP }, (_, i) => ({
      time: NOW - 600 + ((g * LOGS_PER_GROUP + i) % 600),
      contents: [
        { key: 'status', value: i % 10 === 0 ? '500' : '200' },
        { key: 'path', value: `/api/v1/orders/${(g * 7919 + i * 104_729) % 1_000_003}` },
        { key: 'request_id', value: `g${g}-i${i}-${((g + 1) * (i + 3) * 2_654_435_761) >>> 0}` },
        { key: 'agent', value: `Mozilla/5.0 (X11; Linux x86_64) Chrome/${100 + (i % 30)}.0` },
      ],
    })),
  };
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown, query?: Record<string, string>) {
  const res = await client!.send({
    method,
    project: PROJECT,
    path,
    ...(query ? { query } : {}),
    ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
  });
  assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${res.body.toString()}`);
  return res;
}

async function count(query: string): Promise<number> {
  const res = await call('GET', `/logstores/${LOGSTORE}`, undefined, {
    type: 'histogram',
    from: String(NOW - 3600),
    to: String(NOW + 60),
    query,
  });
  return Number(res.headers['x-log-count']);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function shardDir(): Promise<string> {
  const root = join(dataDir!, 'shards', PROJECT, LOGSTORE);
  const [shard] = await readdir(root);
  return join(root, shard!);
}

async function shardFiles(): Promise<string[]> {
  return (await readdir(await shardDir())).sort();
}

/** The codec byte of the first record of `file` (record-codec.ts: byte 3, without the id flag). */
async function firstCodec(file: string): Promise<number> {
  const bytes = await readFile(join(await shardDir(), file));
  return bytes[3]! & 0x7f;
}

async function assertPulled(sent: readonly Buffer[]): Promise<void> {
  const pulled = await pullWholeShard(client!, PROJECT, LOGSTORE, 0, rng);
  assert.equal(pulled.groups.length, sent.length);
  for (const [i, g] of pulled.groups.entries()) {
    assert.ok(g.raw.equals(sent[i]!), `LogGroup ${i} differs after compaction`);
  }
}

test('sealed files are compacted, and every LogGroup reads, searches and reindexes the same', async () => {
  live = await startServerProcess({ config: CONFIG });
  dataDir = live.dataDir;
  client = crashClient(live.url);
  await createProject(client, PROJECT);
  await createLogstore(client, PROJECT, LOGSTORE, 1);
  await call('POST', `/logstores/${LOGSTORE}/index`, {
    line: { token: [' ', '/', '-', '.', '(', ')', ';'], caseSensitive: false },
    keys: { status: { type: 'long' }, path: { type: 'text', token: ['/'] } },
  });

  const sent: Buffer[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const raw = encodeLogGroup(group(g));
    sent.push(raw);
    const res = await putLogGroup(client, PROJECT, LOGSTORE, raw, { lz4: true, route: 'lb' });
    assert.equal(res.status, 200, res.body.toString());
  }
  const total = GROUPS * LOGS_PER_GROUP;
  await eventually('every log searchable', async () => (await count('*')) === total);

  // Every sealed file rewritten: only the active file is left as sent.
  await eventually('the sealed files compacted', async () => {
    const files = await shardFiles();
    return files.filter((f) => f.endsWith('.log')).length === 1 && !files.some((f) => f.endsWith('.tmp'));
  });
  const files = await shardFiles();
  assert.ok(files.filter((f) => f.endsWith('.zlog')).length >= 3, files.join(' '));
  // The SDK-shaped LogGroups went to columns (codec 4, zstd-columns); the active file keeps LZ4 (1) as sent.
  for (const f of files.filter((name) => /\.z?log$/.test(name))) {
    assert.equal(await firstCodec(f), f.endsWith('.zlog') ? 4 : 1, f);
  }

  await assertPulled(sent);
  assert.equal(await count('status:500'), total / 10);
  assert.equal(await count('g17 and i3'), 1);

  // A reindex reads every record again from the shard log, most of them from the rewrites now.
  const started = await call('POST', `/logstores/${LOGSTORE}/index/rebuild`, { from: 0 });
  assert.equal((JSON.parse(started.body.toString()) as { totalRecords: number }).totalRecords, GROUPS);
  await eventually('the reindex done', async () => {
    const res = await call('GET', `/logstores/${LOGSTORE}/index/rebuild`);
    return (JSON.parse(res.body.toString()) as { status: string }).status === 'Done';
  });
  await eventually('every log searchable once reindexed', async () => (await count('*')) === total);
  assert.equal(await count('status:500'), total / 10);
  assert.equal(await count('path:orders and chrome'), total);

  // Restarted on the same folder: the rewrites are trusted, read the same, and writes go on at the next cursor.
  client.close();
  await live.stop();
  live = await startServerProcess({ config: CONFIG, dataDir });
  client = crashClient(live.url);
  await assertPulled(sent);
  const next = encodeLogGroup(group(GROUPS));
  const res = await putLogGroup(client, PROJECT, LOGSTORE, next, { lz4: true, route: 'lb' });
  assert.equal(res.status, 200);
  sent.push(next);
  await assertPulled(sent);
  await eventually('the new logs searchable', async () => (await count('*')) === total + LOGS_PER_GROUP);
});
