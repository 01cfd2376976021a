import { basename, dirname, relative, sep } from 'node:path';
import { globToRegExp } from '../discovery/glob.js';
import type { CollectionConfig } from './logtail-config.js';

/**
 * Whether `path` is a file `config` collects by name: under `logPath` within `maxDepth`, its name matching
 * `filePattern` and no exclude. The same rules as the directory scanner, for a path at hand (a reload decides with it
 * which checkpointed files the new config still follows).
 */
export function pathMatches(config: CollectionConfig, path: string): boolean {
  const rel = relative(config.logPath, dirname(path));
  if (rel.startsWith('..') || rel.startsWith(sep)) return false;
  const dirs = rel === '' ? [] : rel.split(sep);
  if (dirs.length > config.maxDepth) return false;
  const name = basename(path);
  if (!globToRegExp(config.filePattern).test(name)) return false;
  if (config.excludeFiles.some((g) => globToRegExp(g).test(name))) return false;
  return !dirs.some((d) => config.excludeDirs.some((g) => globToRegExp(g).test(d)));
}
