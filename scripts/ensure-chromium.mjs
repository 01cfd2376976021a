#!/usr/bin/env node
// The console's browser test (test/integration/console-e2e.test.ts) drives Debian's Chromium at /usr/bin/chromium
// with playwright-core (a test tool's own browser download cannot work on these machines). `npm test` runs this
// first: when Chromium is missing and we are root (CI and every machine here are), install it from Debian's packages.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);
if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) {
  console.warn(`ensure-chromium: ${CHROMIUM} is missing; install Debian's chromium package to run the console test`);
  process.exit(0);
}
console.log('ensure-chromium: installing Debian chromium for the console browser test');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
if (!existsSync(CHROMIUM)) {
  console.error(`ensure-chromium: apt-get finished but ${CHROMIUM} is still missing`);
  process.exit(1);
}
