/**
 * `npm ci` on a clean clone is how CI and every new user install Sluice. Against this machine's registry mirror,
 * `npm install` drops the other platforms' optional packages from package-lock.json, and `npm ci` then refuses the
 * lock. Fails when that happens, saying how to fix it (scripts/complete-lockfile.mjs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/server-process.js';

interface LockEntry {
  readonly optionalDependencies?: Record<string, string>;
}

test('every optional dependency in package-lock.json has an entry (npm ci accepts the lock)', () => {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      const nested = `${path === '' ? '' : `${path}/`}node_modules/${dep}`;
      if (!(nested in lock.packages) && !(`node_modules/${dep}` in lock.packages)) missing.push(dep);
    }
  }
  assert.deepEqual(missing, [], 'run `node scripts/complete-lockfile.mjs` after npm install, then commit the lock');
});

test('native packages with install scripts are approved, so npm ci builds them', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
    dependencies: Record<string, string>;
  };
  if ('zstd-napi' in pkg.dependencies) assert.equal(pkg.allowScripts?.['zstd-napi'], true);
});
