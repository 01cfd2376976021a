#!/usr/bin/env node
// Keeps `npm ci` working against this machine's registry mirror, which serves only the Linux glibc builds of some
// native packages (@biomejs/cli-*, @duckdb/node-bindings-*): `npm install` then leaves the other platforms' optional
// packages out of package-lock.json, and `npm ci` refuses a lock that lacks them ("Missing: … from lock file").
// This adds a platform-tagged placeholder for each missing optional package; npm ci skips them on this platform, as
// it would any optional package for another OS or CPU. Run it after every `npm install`:
//   node scripts/complete-lockfile.mjs        (test/unit/repo/lockfile.test.ts fails until you do)
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);

/** os, cpu and libc of a platform package, read from its name (`…-linux-arm64-musl`, `…-darwin-x64`, …). */
export function platformOf(name) {
  const os = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openharmony'].find((o) => name.includes(`-${o}-`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'riscv64', 's390x', 'ppc64', 'wasm32'].find((c) =>
    new RegExp(`-${c}(-|$)`).test(name),
  );
  if (!os || !cpu) return undefined;
  const libc = os === 'linux' ? (name.endsWith('-musl') ? 'musl' : 'glibc') : undefined;
  return { os, cpu, libc };
}

/** Optional dependencies named in the lock without an entry of their own. */
export function missingOptional(lock) {
  const packages = lock.packages;
  const missing = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const base = path === '' ? '' : `${path}/`;
      if (!(`${base}node_modules/${dep}` in packages) && !(`node_modules/${dep}` in packages)) {
        missing.push({ dep, version, dev: entry.dev === true });
      }
    }
  }
  return missing;
}

if (process.argv[1] && new URL(`file://${process.argv[1]}`).href === import.meta.url) {
  const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
  const missing = missingOptional(lock);
  for (const { dep, version, dev } of missing) {
    const p = platformOf(dep);
    if (!p) {
      console.error(`cannot tell the platform of ${dep}; add it to package-lock.json by hand`);
      process.exitCode = 1;
      continue;
    }
    lock.packages[`node_modules/${dep}`] = {
      version: version.replace(/^[^\d]*/, ''),
      ...(dev ? { dev: true } : {}),
      optional: true,
      os: [p.os],
      cpu: [p.cpu],
      ...(p.libc ? { libc: [p.libc] } : {}),
    };
  }
  writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`package-lock.json: ${missing.length} platform placeholder(s) added`);
}
