/**
 * Crash durability: "acknowledged means fsync'd" (DESIGN.md), checked against a real `sluice serve` child process
 * that is SIGKILLed at random moments while 3–4 writers send PutLogs (LZ4 and plain; `/shards/lb` round-robin,
 * `/shards/lb` + `x-log-hashkey`, `/shards/route?key=`) to a logstore of 2–4 shards. Files rotate at 1 MiB so kills
 * also land around sealing and sidecar writes (and compaction, which rewrites each sealed file as soon as it is
 * sealed: the rewrite, its rename and the removal of the original), and one in twenty LogGroups is large (100–300
 * KB) so a kill can tear a multi-page write.
 *
 * Every LogGroup carries a unique id (tag and content `wid` = `r<round>w<writer>-<n>`); a writer records it as
 * acknowledged only after a 200, never retries, and stops at its first failure. After every kill the server restarts
 * on the same data folder and the whole logstore is read back through PullLogs; the test then requires:
 * - every acknowledged LogGroup is present exactly once, byte for byte as sent (sha1 of the serialized group);
 * - nothing appears that was never sent, and nothing appears twice (an in-flight, unacknowledged group may be there
 *   or not, but whole: its bytes must match what was sent);
 * - a group seen once never moves (same shard, same cursor) or disappears after later crashes, and an unacknowledged
 *   group that was absent after the restart following its round never shows up later;
 * - each shard's old prefix is unchanged and new groups follow at the next consecutive cursors; on every PullLogs page
 *   `x-log-cursor` = request cursor + `x-log-count`, and `end - begin` = the number of groups read; `begin` is stable;
 * - hash-routed groups are in the shard owning their key;
 * - writing continues after each restart (the next round's groups are acknowledged and then verified);
 * - no request fails before the kill (any non-200 response is a failure), and the server died of our SIGKILL.
 *
 * How it fails if durability regresses: if the server acknowledged before the covering fsync (or before the write,
 * e.g. `LogService.put` not awaiting `append`), groups in flight at the kill would be answered 200 yet not be on disk,
 * and the next verification reports them as "ACKNOWLEDGED BUT LOST" with their ids, shard and seed. If recovery cut too
 * much (a whole record instead of the torn tail), acknowledged groups vanish the same way; if it cut too little, a
 * garbage frame makes PullLogs fail or return a group whose bytes differ from what was sent; if recovery renumbered
 * records, the "moved" or consecutive-cursor checks fire. Verified by hand: with `LogService.put` returning before the
 * append resolves, round 1 already reports "ACKNOWLEDGED BUT LOST: 4 group(s)".
 *
 * What it cannot catch: a missing fsync alone. SIGKILL ends the process, not the kernel, so written-but-unsynced data
 * survives in the page cache and reads back fine; only a power cut (or a VM/dm-flakey style harness) would lose it.
 * The ack-after-fsync ordering itself is the shard log's contract, covered by its unit tests' I/O hooks.
 *
 * Replay a failure with `SLUICE_CRASH_SEED=<seed printed at the start>`; `SLUICE_CRASH_ROUNDS` overrides the count.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlsClient } from '../../src/client/sls-client.js';
import { decodeLogGroup, encodeLogGroup, type Log } from '../../src/protocol/log-group.js';
import { hasTornTail, shardDirs } from '../helpers/crash-files.js';
import { crashSeed, Prng } from '../helpers/crash-prng.js';
import {
  crashClient,
  createLogstore,
  createProject,
  listShards,
  pullWholeShard,
  putLogGroup,
  type Route,
  type ShardInfo,
  shardOwning,
} from '../helpers/crash-sls.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const PROJECT = 'crash-durability';
const LOGSTORE = 'events';
const ROUNDS = Number(process.env['SLUICE_CRASH_ROUNDS'] ?? 22);
/** Per writer per round: bounds a round even if the kill came late. */
const MAX_REQUESTS_PER_WRITER = 200;
const KILL_DELAY_MS: readonly [number, number] = [50, 600];

interface Sent {
  readonly id: string;
  readonly round: number;
  readonly digest: string;
  readonly route: Route;
  readonly key?: string;
  acked: boolean;
}

interface Location {
  readonly shard: number;
  readonly seq: number;
}

interface WriterFailure {
  readonly id: string;
  readonly afterKill: boolean;
  readonly what: string;
}

const seed = crashSeed();
const dirs: string[] = [];
let live: ServerProcess | undefined;

after(async () => {
  await live?.kill();
  for (const dir of dirs) await removeDir(dir);
});

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

test(`acknowledged PutLogs survive SIGKILL at random moments (seed ${seed})`, { timeout: 240_000 }, async (t) => {
  t.diagnostic(`seed ${seed} (replay with SLUICE_CRASH_SEED=${seed})`);
  console.log(`crash-durability seed ${seed}`);
  const rng = new Prng(seed);
  const shardCount = rng.int(2, 4);
  // Sealed files are compacted as soon as they are sealed, so kills also land in rewrites and their swaps.
  const config = { storage: { maxFileBytes: 1024 * 1024, compactAfterSeconds: 0 } };

  const sent = new Map<string, Sent>();
  const located = new Map<string, Location>();
  /** Sent, unacknowledged, and absent after the restart that followed: must never appear. */
  const absent = new Set<string>();
  const firstBegin = new Map<number, number>();
  const lastEnd = new Map<number, number>();
  let shards: ShardInfo[] = [];
  let kills = 0;
  let ackedTotal = 0;
  let inFlightStored = 0;
  let inFlightAbsent = 0;
  let tornTails = 0;
  /** Rewritten files, and rewrites cut short by a kill, seen after the kills (reported, not asserted). */
  let compacted = 0;
  let halfCompacted = 0;

  const context = (round: number): string => `seed ${seed}, round ${round}`;

  /** Reads the whole logstore back and checks it against what was sent and acknowledged. */
  const verify = async (client: SlsClient, round: number): Promise<void> => {
    const listed = await listShards(client, PROJECT, LOGSTORE);
    assert.deepEqual(
      listed.map((s) => [s.shardID, s.status]),
      shards.map((s) => [s.shardID, s.status]),
      `${context(round)}: shard list changed across the restart`,
    );
    const seen = new Map<string, Location>();
    const problems: string[] = [];
    const vrng = rng.fork(1000 + round);
    for (const shard of shards) {
      const id = shard.shardID;
      const pulled = await pullWholeShard(client, PROJECT, LOGSTORE, id, vrng);
      const begin0 = firstBegin.get(id);
      if (begin0 === undefined) firstBegin.set(id, pulled.begin);
      else assert.equal(pulled.begin, begin0, `${context(round)}: shard ${id} begin cursor moved`);
      const prevEnd = lastEnd.get(id) ?? pulled.begin;
      if (pulled.end < prevEnd) problems.push(`shard ${id}: end cursor went back from ${prevEnd} to ${pulled.end}`);
      lastEnd.set(id, pulled.end);
      for (const g of pulled.groups) {
        let wid: string | undefined;
        try {
          wid = decodeLogGroup(g.raw).tags.find((tag) => tag.key === 'wid')?.value;
        } catch (err) {
          problems.push(`shard ${id} seq ${g.seq}: group does not decode (${(err as Error).message})`);
          continue;
        }
        const s = wid === undefined ? undefined : sent.get(wid);
        if (wid === undefined || s === undefined) {
          problems.push(`shard ${id} seq ${g.seq}: group with unknown id ${String(wid)} (never sent)`);
          continue;
        }
        if (sha1(g.raw) !== s.digest)
          problems.push(`${wid} at shard ${id} seq ${g.seq}: bytes differ from what was sent`);
        const dup = seen.get(wid);
        if (dup) {
          problems.push(`${wid} twice: shard ${dup.shard} seq ${dup.seq} and shard ${id} seq ${g.seq}`);
          continue;
        }
        seen.set(wid, { shard: id, seq: g.seq });
        const before = located.get(wid);
        if (before && (before.shard !== id || before.seq !== g.seq)) {
          problems.push(`${wid} moved from shard ${before.shard} seq ${before.seq} to shard ${id} seq ${g.seq}`);
        }
        if (!before && absent.has(wid))
          problems.push(`${wid} reappeared at shard ${id} seq ${g.seq} after being absent`);
        if (!before && g.seq < prevEnd) {
          problems.push(`${wid} (new) at shard ${id} seq ${g.seq}, inside the prefix [.., ${prevEnd}) read last time`);
        }
        if (!before && s.round !== round - 1) {
          problems.push(`${wid} from round ${s.round} first seen in round ${round}`);
        }
        if (s.key !== undefined && shardOwning(shards, s.key)?.shardID !== id) {
          problems.push(`${wid} with hash key ${s.key} stored in shard ${id}`);
        }
      }
    }
    const lost: string[] = [];
    for (const [wid, where] of located) {
      if (!seen.has(wid)) problems.push(`${wid} was at shard ${where.shard} seq ${where.seq} and is gone`);
    }
    for (const s of sent.values()) {
      if (s.round >= round) continue;
      const where = seen.get(s.id);
      if (where) {
        if (!located.has(s.id)) {
          located.set(s.id, where);
          if (!s.acked) inFlightStored += 1;
        }
      } else if (s.acked) lost.push(s.id);
      else if (!absent.has(s.id)) {
        absent.add(s.id);
        inFlightAbsent += 1;
      }
    }
    if (lost.length > 0) {
      problems.unshift(
        `ACKNOWLEDGED BUT LOST: ${lost.length} group(s), e.g. ${lost.slice(0, 10).join(', ')} (routes ${lost
          .slice(0, 10)
          .map((id) => sent.get(id)!.route)
          .join(', ')})`,
      );
    }
    assert.deepEqual(problems, [], `${context(round)}: ${problems.length} problem(s)`);
  };

  /** One writer: sends new groups until its first failure or its request budget. */
  const writer = async (
    client: SlsClient,
    round: number,
    w: number,
    budget: number,
    wrng: Prng,
    killed: () => boolean,
    failures: WriterFailure[],
  ): Promise<void> => {
    for (let n = 0; n < budget; n++) {
      const id = `r${round}w${w}-${n}`;
      const big = wrng.chance(0.05);
      const logCount = big ? 1 : wrng.int(1, 20);
      const logs: Log[] = [];
      for (let i = 0; i < logCount; i++) {
        logs.push({
          time: 1_700_000_000 + round,
          contents: [
            { key: 'wid', value: id },
            { key: 'i', value: String(i) },
            { key: 'msg', value: wrng.text(big ? wrng.int(100_000, 300_000) : wrng.int(10, 400)) },
          ],
        });
      }
      const raw = encodeLogGroup({ logs, topic: 'crash', source: `writer-${w}`, tags: [{ key: 'wid', value: id }] });
      const route = wrng.pick<Route>(['lb', 'lb-hashkey', 'route']);
      const key = route === 'lb' ? undefined : wrng.hashKey();
      const entry: Sent = { id, round, digest: sha1(raw), route, ...(key !== undefined ? { key } : {}), acked: false };
      sent.set(id, entry);
      try {
        const res = await putLogGroup(client, PROJECT, LOGSTORE, raw, {
          lz4: wrng.chance(0.5),
          route,
          ...(key !== undefined ? { key } : {}),
        });
        if (res.status === 200) {
          entry.acked = true;
          ackedTotal += 1;
          continue;
        }
        failures.push({
          id,
          afterKill: killed(),
          what: `HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`,
        });
      } catch (err) {
        failures.push({ id, afterKill: killed(), what: (err as Error).message });
      }
      return;
    }
  };

  let dataDir: string | undefined;
  const start = async (): Promise<ServerProcess> => {
    const server = await startServerProcess({ ...(dataDir !== undefined ? { dataDir } : {}), config });
    if (dataDir === undefined) {
      dataDir = server.dataDir;
      dirs.push(dataDir);
    }
    live = server;
    return server;
  };

  const verifyOn = async (server: ServerProcess, round: number): Promise<void> => {
    const admin = crashClient(server.url);
    try {
      if (round === 0) {
        await createProject(admin, PROJECT);
        await createLogstore(admin, PROJECT, LOGSTORE, shardCount);
        shards = await listShards(admin, PROJECT, LOGSTORE);
        assert.equal(shards.length, shardCount);
      }
      await verify(admin, round);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server output ---\n${server.output()}`, {
        cause: err,
      });
    } finally {
      admin.close();
    }
  };

  for (let round = 0; round <= ROUNDS; round++) {
    const server = await start();
    await verifyOn(server, round);

    // Write, and (except in the last round) kill mid-flight.
    const last = round === ROUNDS;
    const rrng = rng.fork(round);
    const writerCount = rrng.int(3, 4);
    const killDelay = rrng.int(KILL_DELAY_MS[0], KILL_DELAY_MS[1]);
    let killIssued = false;
    const failures: WriterFailure[] = [];
    const clients = Array.from({ length: writerCount }, () => crashClient(server.url, 2));
    const budget = last ? 25 : MAX_REQUESTS_PER_WRITER;
    const writers = clients.map((c, w) => writer(c, round, w, budget, rrng.fork(w), () => killIssued, failures));
    if (last) {
      await Promise.all(writers);
      await server.stop();
    } else {
      await Promise.race([sleep(killDelay), Promise.all(writers)]);
      killIssued = true;
      await server.kill();
      kills += 1;
      await Promise.all(writers);
      // Not asserted (whether a kill lands mid-write is luck), but reported: it shows recovery had cutting to do.
      for (const dir of (await shardDirs(dataDir!, PROJECT, LOGSTORE)).values()) {
        if (await hasTornTail(dir)) tornTails += 1;
        const names = await readdir(dir);
        compacted += names.filter((n) => n.endsWith('.zlog')).length;
        halfCompacted += names.filter((n) => n.endsWith('.zlog.tmp')).length;
      }
    }
    live = undefined;
    for (const c of clients) c.close();
    assert.equal(
      server.child.signalCode,
      last ? null : 'SIGKILL',
      `${context(round)}: server exited on its own (${server.child.exitCode}):\n${server.output()}`,
    );
    const early = failures.filter((f) => !f.afterKill);
    assert.deepEqual(early, [], `${context(round)}: requests failed before the kill\n${server.output()}`);
  }
  // After a clean stop: everything, including the last round's groups, all of which must have been acknowledged.
  const final = await start();
  await verifyOn(final, ROUNDS + 1);
  await final.stop();
  live = undefined;
  const unacked = [...sent.values()].filter((s) => s.round === ROUNDS && !s.acked);
  assert.deepEqual(unacked, [], 'the last round has no kill: all of its groups are acknowledged');

  const sentTotal = sent.size;
  t.diagnostic(
    `${kills} kills, ${sentTotal} groups sent, ${ackedTotal} acknowledged, ${inFlightStored} unacknowledged stored, ${inFlightAbsent} unacknowledged absent, ${tornTails} torn shard tails left by kills, ${compacted} compacted files and ${halfCompacted} rewrites cut short seen after kills, ${shardCount} shards`,
  );
  assert.ok(kills >= 20, `only ${kills} kills`);
  assert.ok(ackedTotal > kills, `only ${ackedTotal} acknowledged groups: the writers barely wrote`);
});
