/**
 * bench:search-index — CPU per log of the three indexing stages, in process (no server, no HTTP).
 *
 * What it measures: CPU time (process.cpuUsage, robust to a shared machine) per row to (1) index generated nginx logs
 * into the in-memory head (decode, tokenize, postings), (2) seal the head into a segment (time sort, posting remap,
 * column and postings encoding, zstd, fsync), (3) merge segments into one. The index config is bench:search's.
 *
 * How to run: `npx tsc -p tsconfig.json && node dist/bench/search-index.js [--segments 4 --logs 32768] [--bytes]`;
 * `--bytes` builds the segments the way the builder worker does (SegmentBuild: LogGroup bytes to a segment file).
 * Needs: a temp folder (removed afterwards).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileIndex, DEFAULT_TOKENS } from '../src/index/index-config.js';
import { LogstoreIndex } from '../src/index/logstore-index.js';
import { SegmentBuild } from '../src/index/segment-build.js';
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { NginxLogGenerator } from './nginx-generator.js';

const INDEX = {
  line: {
    token: [...DEFAULT_TOKENS],
  },
  keys: {
    remote_addr: { type: 'text', token: [' '] },
    method: { type: 'text', token: [' '] },
    request_uri: { type: 'text', token: ['/', '?', '&', '='] },
    status: { type: 'long' },
    body_bytes_sent: { type: 'long' },
    request_time: { type: 'double' },
    http_user_agent: { type: 'text', token: [' ', '(', ')', ';', '/'] },
  },
};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const segments = opt('segments', 4);
  const logs = opt('logs', 32_768);
  const bytes = args.includes('--bytes');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-index-'));
  try {
    const gen = new NginxLogGenerator(42);
    const compiled = compileIndex({ config: INDEX, version: 1, lastModifyTime: 0 }, 3650);
    let reopened: LogstoreIndex | undefined;
    let reused: SegmentBuild | undefined;
    const idx0 = LogstoreIndex.open(dir, compiled, {
      sealRows: 1e9,
      sealAgeMs: 1e12,
      maxSegments: segments - 1,
      maxSegmentRows: 1e9,
      mergeRatio: 0,
    });
    let add = 0;
    let seal = 0;
    let raw = 0;
    let seq = 0;
    for (let s = 0; s < segments; s++) {
      const groups: Buffer[] = [];
      for (let left = logs; left > 0; left -= 4096) groups.push(encodeLogGroup(gen.group(Math.min(4096, left))));
      for (const g of groups) raw += g.length;
      let t = cpuMs();
      if (bytes) {
        // What the builder worker does: LogGroup bytes straight to a segment file (one build, reset each time).
        reused ??= new SegmentBuild(compiled);
        const b = reused;
        b.reset();
        for (const g of groups) b.addGroup('0-0', seq++, g);
        add += cpuMs() - t;
        t = cpuMs();
        const id = String(900_000 + s);
        b.write(join(dir, `${id.padStart(10, '0')}.seg`), id.padStart(10, '0'), 1);
        seal += cpuMs() - t;
        continue;
      }
      for (const g of groups) idx0.add('0-0', seq++, g);
      add += cpuMs() - t;
      t = cpuMs();
      idx0.seal();
      seal += cpuMs() - t;
    }
    if (bytes) {
      idx0.close();
      // Reopen so the segments written beside the index are its segments.
      reopened = LogstoreIndex.open(dir, compiled, {
        sealRows: 1e9,
        sealAgeMs: 1e12,
        maxSegments: segments - 1,
        maxSegmentRows: 1e9,
        mergeRatio: 0,
      });
    }
    const idx = reopened ?? idx0;
    const t = cpuMs();
    await idx.mergeOnce();
    const merge = cpuMs() - t;
    const rows = idx.rowCount();
    const per = (ms: number) =>
      `${((ms * 1000) / rows).toFixed(1)} µs/log (${(raw / 1e6 / (ms / 1000)).toFixed(1)} MB raw/CPU-s)`;
    console.log(
      `${rows} logs, ${(raw / 1e6).toFixed(1)} MB raw, ${segments} segments merged into ${idx.segmentCount()}`,
    );
    // The byte build only stages LogGroups in addGroup (structure, keys); rows are built in time order in write().
    console.log(`${bytes ? 'stage LogGroups (byte build)' : 'index into head'}: ${per(add)}`);
    console.log(`${bytes ? 'build rows + write segment (byte build)' : 'seal to segment'}: ${per(seal)}`);
    console.log(`merge:           ${per(merge)}`);
    idx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
