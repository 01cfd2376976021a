/**
 * Finds the files of one config: `logPath` and its subdirectories down to `maxDepth`, names matching `filePattern`,
 * minus exclusions. A directory is re-listed only when its mtime changed (so CPU does not grow with the number of
 * unchanged files beyond one stat each); `fs.watch` on directories (up to a budget) only makes a rescan come
 * sooner, because inotify drops events under load and the periodic stat reconciliation is what we rely on.
 */
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { CollectionConfig } from '../config/logtail-config.js';
import { globToRegExp } from './glob.js';

export interface FoundFile {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  /** Modification time: an unchanged size with a new mtime is a rewrite to check (see the collector). */
  readonly mtimeMs?: number;
}

interface DirState {
  mtimeMs: number;
  depth: number;
  files: string[];
  dirs: string[];
  watcher: FSWatcher | undefined;
}

export class DirScanner {
  private readonly pattern: RegExp;
  private readonly excludeFiles: RegExp[];
  private readonly excludeDirs: RegExp[];
  private readonly dirs = new Map<string, DirState>();
  static watchesInUse = 0;

  constructor(
    private readonly c: CollectionConfig,
    private readonly maxWatches: number,
    private readonly onEvent: () => void,
  ) {
    this.pattern = globToRegExp(c.filePattern);
    this.excludeFiles = c.excludeFiles.map(globToRegExp);
    this.excludeDirs = c.excludeDirs.map(globToRegExp);
  }

  /** Every matching regular file now, with its identity and size. */
  scan(): FoundFile[] {
    const out: FoundFile[] = [];
    const seen = new Set<string>();
    this.visit(this.c.logPath, 0, out, seen);
    for (const [dir, st] of this.dirs) {
      if (!seen.has(dir)) {
        this.unwatch(st);
        this.dirs.delete(dir);
      }
    }
    return out;
  }

  private visit(dir: string, depth: number, out: FoundFile[], seen: Set<string>): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(dir).mtimeMs;
    } catch {
      return;
    }
    seen.add(dir);
    let st = this.dirs.get(dir);
    if (st === undefined || st.mtimeMs !== mtimeMs) {
      const files: string[] = [];
      const dirs: string[] = [];
      try {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) {
            if (depth < this.c.maxDepth && !this.excludeDirs.some((r) => r.test(e.name) || r.test(join(dir, e.name))))
              dirs.push(e.name);
          } else if ((e.isFile() || e.isSymbolicLink()) && this.pattern.test(e.name)) {
            if (!this.excludeFiles.some((r) => r.test(e.name))) files.push(e.name);
          }
        }
      } catch {
        return;
      }
      if (st === undefined) {
        st = { mtimeMs, depth, files, dirs, watcher: this.watch(dir) };
        this.dirs.set(dir, st);
      } else {
        st.mtimeMs = mtimeMs;
        st.files = files;
        st.dirs = dirs;
      }
    }
    for (const name of st.files) {
      const path = join(dir, name);
      try {
        const s = statSync(path);
        if (s.isFile()) out.push({ path, dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs });
      } catch {
        // vanished between listing and stat: the next scan settles it
      }
    }
    for (const name of st.dirs) this.visit(join(dir, name), depth + 1, out, seen);
  }

  private watch(dir: string): FSWatcher | undefined {
    if (DirScanner.watchesInUse >= this.maxWatches) return undefined;
    try {
      const w = watch(dir, { persistent: false }, () => this.onEvent());
      w.on('error', () => undefined);
      DirScanner.watchesInUse++;
      return w;
    } catch {
      return undefined; // out of inotify watches: polling still finds everything
    }
  }

  private unwatch(st: DirState): void {
    if (st.watcher === undefined) return;
    st.watcher.close();
    st.watcher = undefined;
    DirScanner.watchesInUse--;
  }

  close(): void {
    for (const st of this.dirs.values()) this.unwatch(st);
    this.dirs.clear();
  }
}

/** Looks in `dir` for the file with this device and inode (a rotated file renamed to a name we do not match). */
export function findByInode(dir: string, dev: number, ino: number): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    try {
      const s = statSync(join(dir, n));
      if (s.ino === ino && s.dev === dev && s.isFile()) return join(dir, n);
    } catch {
      // gone
    }
  }
  return undefined;
}
