/**
 * Torn and damaged shard-log files, at server level: a real `sluice serve` is stopped, the newest segment file of a
 * shard (`<data>/shards/<project>/<logstore>/<id>-<base>/<first seq>.log`, frames per record-codec.ts) is damaged by
 * hand, and the server is started again on the same folder.
 *
 * Tail damage (what a crash mid-write leaves): (a) a valid header prefix then EOF, (a') a whole header and half its
 * payload, (b) random garbage, (c) a complete record with one payload byte flipped (CRC mismatch). Each time the server
 * must start, cut the file back to exactly its size before the damage, serve every earlier LogGroup byte for byte at
 * its old cursor, and put the next write at the next consecutive cursor.
 *
 * Damage a crash cannot produce: a sealed file in the middle truncated to zero length. recovery.ts documents that a
 * sequence gap makes the log refuse to open ("refusing to renumber or drop records") instead of serving what is valid.
 * The test asserts exactly that: the server still starts (shard logs open lazily), that shard answers
 * 500 InternalServerError naming the gap for reads and writes, no file of it is changed, the other shard keeps
 * working, and once the file is restored everything reads back whole and writes continue.
 *
 * How it fails if the bug returns: if recovery stopped cutting torn tails, the garbage frame stays in the file and the
 * next write lands behind it (the pull of the new group fails or returns garbage, and the file-size check fires); if
 * it cut at the wrong place, earlier groups go missing or the end cursor moves back; if it "repaired" the zero-length
 * middle file by renumbering or dropping later files, the 500 check and the unchanged-files check fire.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import { encodeRecordHeader, RECORD_HEADER_BYTES } from '../../src/storage/shard-log/embedded/record-codec.js';
import { hasTornTail, segmentFiles, shardDirs } from '../helpers/crash-files.js';
import { crashSeed, Prng } from '../helpers/crash-prng.js';
import {
  crashClient,
  createLogstore,
  createProject,
  getCursor,
  header,
  pullWholeShard,
  putLogGroup,
  seqToCursor,
} from '../helpers/crash-sls.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const PROJECT = 'torn-tail';
const LOGSTORE = 'events';
/** Shard 0 owns [00…, 80…) and shard 1 [80…, ff…] in a two-shard logstore. */
const KEY_OF = ['00000000000000000000000000000001', 'f0000000000000000000000000000000'] as const;
const CONFIG = { storage: { maxFileBytes: 1024 * 1024 } };

const seed = crashSeed();
const rng = new Prng(seed);
let dataDir: string | undefined;
let live: ServerProcess | undefined;
let client: SlsClient | undefined;

after(async () => {
  client?.close();
  await live?.kill();
  if (dataDir !== undefined) await removeDir(dataDir);
});

/** What each shard must hold, in cursor order. */
const expected: Buffer[][] = [[], []];
let groupNo = 0;

function makeGroup(bigBytes = 0): Buffer {
  const n = groupNo++;
  const logs = Array.from({ length: bigBytes > 0 ? 1 : rng.int(1, 8) }, (_, i) => ({
    time: 1_700_000_000 + n,
    contents: [
      { key: 'n', value: String(n) },
      { key: 'i', value: String(i) },
      { key: 'msg', value: rng.text(bigBytes > 0 ? bigBytes : rng.int(10, 300)) },
    ],
  }));
  return encodeLogGroup({ logs, topic: 'torn', tags: [{ key: 'n', value: String(n) }] });
}

async function start(): Promise<ServerProcess> {
  client?.close();
  const server = await startServerProcess({ ...(dataDir !== undefined ? { dataDir } : {}), config: CONFIG });
  dataDir = server.dataDir;
  live = server;
  client = crashClient(server.url);
  return server;
}

async function stop(): Promise<void> {
  client?.close();
  client = undefined;
  await live?.stop();
  live = undefined;
}

async function write(shard: 0 | 1, raw: Buffer): Promise<void> {
  const res = await putLogGroup(client!, PROJECT, LOGSTORE, raw, {
    lz4: raw.length < 100_000 && rng.chance(0.5),
    route: 'route',
    key: KEY_OF[shard],
  });
  assert.equal(res.status, 200, `PutLogs to shard ${shard}: ${res.body.toString('utf8')}`);
  expected[shard]!.push(raw);
}

const begins: number[] = [];

/** The shard holds exactly `expected[shard]`, at consecutive cursors from its first begin. */
async function verifyShard(shard: 0 | 1, what: string): Promise<void> {
  const pulled = await pullWholeShard(client!, PROJECT, LOGSTORE, shard, rng);
  begins[shard] ??= pulled.begin;
  assert.equal(pulled.begin, begins[shard], `${what}: shard ${shard} begin cursor`);
  assert.equal(pulled.end - pulled.begin, expected[shard]!.length, `${what}: shard ${shard} group count`);
  pulled.groups.forEach((g, i) => {
    assert.ok(g.raw.equals(expected[shard]![i]!), `${what}: shard ${shard} group #${i} (seq ${g.seq}) differs`);
  });
}

async function logFiles(shard: number): Promise<string[]> {
  const dir = (await shardDirs(dataDir!, PROJECT, LOGSTORE)).get(shard);
  assert.ok(dir !== undefined, `shard ${shard} has a folder`);
  return segmentFiles(dir);
}

async function newestLogFile(shard: number): Promise<string> {
  return (await logFiles(shard)).at(-1)!;
}

/** A whole, valid frame for the record at `seq` (what the server would have written next). */
function frame(seq: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(RECORD_HEADER_BYTES + payload.length);
  encodeRecordHeader(out, 0, seq, Date.now(), 0, payload.length, payload);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/**
 * Stops the server, appends `damage(nextSeq)` to shard 0's newest file, restarts, and checks the cut, the old data and
 * the next write.
 */
/** `torn`: whether the damage leaves a partial frame (undefined: random, not checked). */
async function tailCase(name: string, damage: (nextSeq: number) => Buffer, torn: boolean | undefined): Promise<void> {
  const nextSeq = begins[0]! + expected[0]!.length;
  await stop();
  const file = await newestLogFile(0);
  const sizeBefore = (await stat(file)).size;
  const bad = damage(nextSeq);
  await appendFile(file, bad);
  assert.equal((await stat(file)).size, sizeBefore + bad.length);
  // The census the crash suite reports must see the same thing (a CRC-bad whole frame still ends on a boundary).
  const dir = (await shardDirs(dataDir!, PROJECT, LOGSTORE)).get(0)!;
  if (torn !== undefined) assert.equal(await hasTornTail(dir), torn, `${name}: hasTornTail before restart`);

  await start();
  await verifyShard(0, `${name}: after restart`);
  assert.equal((await stat(file)).size, sizeBefore, `${name}: the bad tail (${bad.length} bytes) is cut`);
  // The recovery line travels over the child's stderr pipe, which may trail the HTTP response: wait up to 2 s.
  const cutLine = new RegExp(`shard 0 cut ${bad.length} bytes of unacknowledged tail`);
  for (let i = 0; i < 40 && !cutLine.test(live!.output()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(live!.output(), cutLine, `${name}: the server log says what recovery cut`);
  assert.equal(await hasTornTail(dir), false, `${name}: hasTornTail after recovery`);
  await write(0, makeGroup());
  assert.equal(await getCursor(client!, PROJECT, LOGSTORE, 0, 'end'), nextSeq + 1, `${name}: next write's cursor`);
  await verifyShard(0, `${name}: after the next write`);
  await verifyShard(1, `${name}: other shard`);
}

test(`a torn, garbage or CRC-bad tail is cut on restart; earlier data stays exact (seed ${seed})`, {
  timeout: 120_000,
}, async (t) => {
  t.diagnostic(`seed ${seed} (replay with SLUICE_CRASH_SEED=${seed})`);
  await start();
  await createProject(client!, PROJECT);
  await createLogstore(client!, PROJECT, LOGSTORE, 2);
  // Shard 0: enough data for four or more 1 MiB files (big groups go uncompressed so sizes are predictable).
  for (let i = 0; i < 14; i++) {
    await write(0, makeGroup());
    await write(0, makeGroup(rng.int(250_000, 300_000)));
    await write(1, makeGroup());
  }
  await verifyShard(0, 'initial');
  await verifyShard(1, 'initial');
  assert.ok((await logFiles(0)).length >= 4, 'shard 0 spans several files');

  const sample = makeGroup();
  await tailCase(
    '(a) header prefix',
    (seq) => frame(seq, sample).subarray(0, rng.int(1, RECORD_HEADER_BYTES - 1)),
    true,
  );
  await tailCase(
    '(a\u2032) header and half the payload',
    (seq) => {
      const f = frame(seq, sample);
      return f.subarray(0, RECORD_HEADER_BYTES + Math.floor(sample.length / 2));
    },
    true,
  );
  await tailCase('(b) random garbage', () => rng.bytes(rng.int(1, 8192)), undefined);
  await tailCase(
    '(c) whole record, one payload byte flipped',
    (seq) => {
      const f = Buffer.from(frame(seq, sample));
      f[RECORD_HEADER_BYTES + rng.int(0, sample.length - 1)]! ^= 1 << rng.int(0, 7);
      return f;
    },
    false,
  );
  // Several bad frames back to back, the last of which would be valid on its own: everything from the first is cut.
  await tailCase(
    '(c\u2032) CRC-bad record followed by a valid one',
    (seq) => {
      const bad = Buffer.from(frame(seq, sample));
      bad[RECORD_HEADER_BYTES]! ^= 0xff;
      return Buffer.concat([bad, frame(seq + 1, sample)]);
    },
    false,
  );
  await stop();
});

test('a sealed file truncated to zero in the middle: the shard refuses to open, nothing is changed, restore works', {
  timeout: 120_000,
}, async () => {
  assert.ok(dataDir !== undefined, 'runs after the first test, on its data');
  // If the first test failed midway its server may still run; this one needs the folder to itself.
  client?.close();
  await live?.kill();
  live = undefined;
  const files = await logFiles(0);
  assert.ok(files.length >= 3, `need a middle file, have ${files.length}`);
  const middle = files[Math.floor(files.length / 2)]!;
  const saved = await readFile(middle);
  await truncate(middle, 0);
  const digests = async (): Promise<string[]> =>
    Promise.all(
      (await logFiles(0)).map(
        async (f) =>
          `${f} ${createHash('sha1')
            .update(await readFile(f))
            .digest('hex')}`,
      ),
    );
  const before = await digests();

  const server = await start();
  // Reads and writes of shard 0 fail with a server error that names the problem; nothing is served half-way.
  const cursorRes = await client!.send({
    method: 'GET',
    project: PROJECT,
    path: `/logstores/${LOGSTORE}/shards/0`,
    query: { type: 'cursor', from: 'begin' },
  });
  assertRefused(cursorRes.status, cursorRes.body, 'GetCursor');
  const pullRes = await client!.send({
    method: 'GET',
    project: PROJECT,
    path: `/logstores/${LOGSTORE}/shards/0`,
    query: { type: 'logs', cursor: seqToCursor(begins[0]!), count: '10' },
  });
  assertRefused(pullRes.status, pullRes.body, 'PullLogs');
  const putRes = await putLogGroup(client!, PROJECT, LOGSTORE, makeGroup(), {
    lz4: true,
    route: 'route',
    key: KEY_OF[0],
  });
  assertRefused(putRes.status, putRes.body, 'PutLogs');
  assert.equal(header(putRes, 'x-log-requestid')?.length, 24);
  assert.deepEqual(await digests(), before, 'no file of the damaged shard was cut, renamed or rewritten');
  // The other shard is unaffected.
  await verifyShard(1, 'zero-length middle file, other shard');
  await write(1, makeGroup());
  await verifyShard(1, 'zero-length middle file, other shard after a write');
  assert.match(server.output(), /sequence gap/, 'the server log names the problem');

  // Restoring the file (what the error message asks for) brings everything back.
  await stop();
  await writeFile(middle, saved);
  await start();
  await verifyShard(0, 'after restoring the middle file');
  const end = begins[0]! + expected[0]!.length;
  await write(0, makeGroup());
  assert.equal(await getCursor(client!, PROJECT, LOGSTORE, 0, 'end'), end + 1);
  await verifyShard(0, 'after restoring, one more write');
  await verifyShard(1, 'after restoring, other shard');
  await stop();
});

function assertRefused(status: number, body: Buffer, what: string): void {
  const text = body.toString('utf8');
  assert.equal(status, 500, `${what}: ${text}`);
  const json = JSON.parse(text) as { errorCode: string; errorMessage: string };
  assert.equal(json.errorCode, 'InternalServerError', what);
  assert.match(json.errorMessage, /sequence gap/, `${what}: message names the gap`);
  assert.match(json.errorMessage, /refusing to renumber or drop records/, `${what}: message says what it refuses`);
}
