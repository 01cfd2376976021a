/**
 * bench:build-ab — CPU per log of segment builds (and optionally merges), two builds of this repo side by side.
 *
 * What it measures: the process CPU (process.cpuUsage) per log of what a builder worker does — SegmentBuild staging
 * ~40k generated nginx logs (10 LogGroups of 4,096, one day of timestamps, bench:search's index), building rows and
 * writing the segment (zstd, fsync) — for the compiled tree A and the compiled tree B, alternating A/B and B/A each
 * round, in one process over the same LogGroups (on a shared machine, only an alternating A/B in one process
 * compares two builds). With `--merge`, 8 builds per round, then `mergeSegments` of the 8 (what the merge worker
 * does). Round 1 includes JIT warm-up; compare the later rounds.
 *
 * How to run: compile both trees (e.g. `git archive OLD | tar -x -C /tmp/old && cd /tmp/old && ln -s
 * /work/main/node_modules && npx tsc -p tsconfig.json`), then
 * `node dist/bench/build-ab.js --a /tmp/old/dist --b dist [--rounds 6] [--merge] [--level-a 3] [--level-b 1]`
 * (`--level-*`: the zstd level passed to SegmentBuild.write, with the builder worker's 128-row groups and no
 * dictionary, as YOUNG_SEGMENT; trees before the options ignore them). `--native-a off` / `--native-b off`: that tree's JS build path instead of the native addon (the JS path
 * against the C++ one: `--a dist --b dist --native-a off`). `--arena`: as the builder worker does, each build's
 * LogGroups are first copied back to back into one arena buffer (not timed: the worker's LZ4 decode writes them there,
 * so they are in cache and in one allocation) and that arena is the build's scratch; without it each LogGroup is a
 * buffer of its own, read cold, and the scratch a separate buffer. Needs: ~100 MB of temp space (removed afterwards).
 */

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DAY, NGINX_INDEX } from './nginx-day.js';
import { NginxLogGenerator } from './nginx-generator.js';

interface Build {
  readonly n: number;
  reset(): void;
  addGroup(shardKey: string, seq: number, bytes: Uint8Array): void;
  write(
    path: string,
    id: string,
    configVersion: number,
    scratch?: Buffer,
    options?: { level?: number; groupRows?: number; groupDict?: number },
  ): unknown;
}
interface Tree {
  readonly name: string;
  readonly build: Build;
  readonly level: number | undefined;
  readonly open: (path: string) => { close(): void };
  readonly merge: (inputs: unknown[], path: string, id: string, version: number) => unknown;
}

async function load(name: string, dist: string, level: number | undefined, native: boolean): Promise<Tree> {
  const at = (p: string) => join(resolve(dist), p);
  const cfg = (await import(at('src/index/index-config.js'))) as {
    compileIndex: (doc: unknown, ttl: number) => unknown;
  };
  const sb = (await import(at('src/index/segment-build.js'))) as {
    SegmentBuild: new (c: unknown, o?: { native?: boolean }) => Build;
  };
  const sm = (await import(at('src/storage/segment/segment-merge.js'))) as { mergeSegments: Tree['merge'] };
  const sr = (await import(at('src/storage/segment/segment-reader.js'))) as {
    SegmentReader: { open: Tree['open'] };
  };
  const compiled = cfg.compileIndex({ config: NGINX_INDEX, version: 1, lastModifyTime: 0 }, 3650);
  // `native: false` (trees since the native build): the JS path of the same tree.
  const build = new sb.SegmentBuild(compiled, native ? {} : { native: false });
  return { name, build, level, open: sr.SegmentReader.open, merge: sm.mergeSegments };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (name: string): number | undefined => (opt(name) === undefined ? undefined : Number(opt(name)));
  const a = opt('a');
  const b = opt('b');
  if (!a || !b)
    throw new Error(
      'usage: build-ab --a DIST --b DIST [--rounds R] [--merge] [--level-a L] [--level-b L] [--native-a off] [--native-b off]',
    );
  const rounds = num('rounds') ?? 6;
  const merge = args.includes('--merge');
  const useArena = args.includes('--arena');
  const trees = [
    await load('A', a, num('level-a'), opt('native-a') !== 'off'),
    await load('B', b, num('level-b'), opt('native-b') !== 'off'),
  ];
  const { encodeLogGroup } = await import('../src/protocol/log-group.js');
  const gen = new NginxLogGenerator(42, DAY);
  const sets = Array.from({ length: merge ? 8 : 3 }, () =>
    Array.from({ length: 10 }, () => encodeLogGroup(gen.group(4096))),
  );
  const dir = mkdtempSync(join(tmpdir(), 'sluice-build-ab-'));
  // The worker writes postings into the arena of its decoded LogGroups: a scratch of the same size here.
  const scratch = Buffer.allocUnsafeSlow(24 << 20);
  // --arena: one arena per tree (as one per builder worker, sized as it sizes its own), reused by its builds.
  const arenaSize = Math.ceil(Math.max(...sets.map((s) => s.reduce((a, g) => a + g.length, 0))) * 1.05);
  const arenas = new Map<string, Buffer>(trees.map((t) => [t.name, Buffer.allocUnsafeSlow(arenaSize)]));
  const out = new Map<string, string[]>(trees.map((t) => [t.name, []]));
  const bytes = new Map<string, number>(trees.map((t) => [t.name, 0]));
  let seq = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const t of r % 2 ? [...trees].reverse() : trees) {
        const paths: string[] = [];
        let n = 0;
        let built = 0;
        for (const [s, groups] of sets.entries()) {
          let inputs: readonly Uint8Array[] = groups;
          const arena = useArena ? arenas.get(t.name)! : scratch;
          if (useArena) {
            let at = 0;
            inputs = groups.map((g) => {
              arena.set(g, at);
              at += g.length;
              return arena.subarray(at - g.length, at);
            });
          }
          const c0 = cpuMs();
          t.build.reset();
          for (const g of inputs) t.build.addGroup('0-0', seq++, g);
          n += t.build.n;
          const id = `${r}${s}`.padStart(10, '0');
          const path = join(dir, `${t.name}${id}.seg`);
          t.build.write(
            path,
            id,
            1,
            arena,
            t.level === undefined ? {} : { level: t.level, groupRows: 128, groupDict: 0 },
          );
          built += cpuMs() - c0;
          paths.push(path);
          bytes.set(t.name, bytes.get(t.name)! + statSync(path).size);
        }
        let line = `${((built * 1000) / n).toFixed(2)}`;
        if (merge) {
          const readers = paths.map((p) => t.open(p));
          const t1 = cpuMs();
          t.merge(readers, join(dir, `${t.name}m${r}.seg`), `9${r}`.padStart(10, '0'), 1);
          line += ` + merge ${(((cpuMs() - t1) * 1000) / n).toFixed(2)}`;
          for (const x of readers) x.close();
        }
        out.get(t.name)!.push(line);
        for (const f of readdirSync(dir)) rmSync(join(dir, f));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `µs of CPU per log, ${sets.length} builds of ${sets[0]!.length * 4096} logs per round${merge ? ' + their merge' : ''}`,
  );
  for (const t of trees)
    console.log(
      `${t.name} ${out.get(t.name)!.join(' | ')}   (build segments: ${(bytes.get(t.name)! / 1e6).toFixed(1)} MB)`,
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
