/**
 * What a new console user trips over, in headless Chromium (as console-e2e.test.ts): each step failed before its fix.
 *
 * - Switching the search page to another logstore searches it: the previous logstore's logs must not stay on screen
 *   under the new name (here the other logstore has no index, so its error shows and no rows or histogram do).
 * - A query the server refuses clears the previous results (a stale chart under the error read as its result).
 * - Merge → is disabled on a shard with no readwrite shard to its right.
 * - Reindex from the index editor: a key added after the logs were written finds them once reindexed; reloaded, a
 *   key saved with the full-text delimiters shows an empty field again (it showed a copy of them).
 * - A huge pasted sample is previewed from its head (it used to be sent whole and refused as too large), and a
 *   broken regex shows its error without the table of the previous config.
 * - A session that ends (expired, revoked) sends the user to the login page saying so, with the key id filled in.
 * - A project (with its logstores) can be deleted from the console, after a confirmation that says what goes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';
import {
  REPO_ROOT,
  removeDir,
  type ServerProcess,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { assertEmptyOk, testClient } from '../helpers/sls-kit.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output', 'console-first-use');
const PROJECT = 'first-use';
const LOGS = 120;

let server: ServerProcess;
let client: SlsClient;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

const json = (body: unknown) => Buffer.from(JSON.stringify(body));

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs it (scripts/ensure-chromium.mjs)`);
  await mkdir(SHOTS, { recursive: true });
  server = await startServerProcess({ config: { storage: { fsync: false } } });
  client = testClient(server.url);
  assertEmptyOk(
    await client.send({ method: 'POST', path: '/', body: json({ projectName: PROJECT, description: '' }) }),
  );
  for (const ls of ['app', 'other']) {
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project: PROJECT,
        path: '/logstores',
        body: json({ logstoreName: ls, ttl: 30, shardCount: 2 }),
      }),
    );
  }
  // `app` is indexed on `level` only; `user` is added later from the console, and reindexed.
  assertEmptyOk(
    await client.send({
      method: 'POST',
      project: PROJECT,
      path: '/logstores/app/index',
      body: json({
        line: { token: [' ', ',', '=', ':'], caseSensitive: false },
        keys: { level: { type: 'text', token: [' '], doc_value: true } },
      }),
    }),
  );
  const now = Math.floor(Date.now() / 1000);
  const g: LogGroup = {
    logs: Array.from({ length: LOGS }, (_, i) => ({
      time: now - LOGS + i,
      contents: [
        { key: 'level', value: i % 4 === 0 ? 'error' : 'info' },
        { key: 'user', value: `u${i % 3}` },
        { key: 'msg', value: `request ${i}` },
      ],
    })),
    tags: [],
  };
  const put = await client.send({
    method: 'POST',
    project: PROJECT,
    path: '/logstores/app/shards/lb',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeLogGroup(g),
  });
  assert.equal(put.status, 200, put.body.toString());

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  client?.close();
  await server?.stop();
  if (server) await removeDir(server.dataDir);
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const histTotal = async () => (await page.locator('[data-testid="hist-total"]').textContent()) ?? '';

async function search(q: string): Promise<void> {
  await page.fill('input[aria-label="query"]', q);
  await page.click('[data-testid="run-search"]');
  await page.waitForSelector('[data-testid="run-search"]:not([disabled])');
}

test('console first use: logstore switch, stale results, merge, reindex, big and broken samples', async () => {
  try {
    await firstUse();
  } catch (err) {
    await shot('failure').catch(() => {});
    throw err;
  }
  assert.deepEqual(pageErrors, [], 'no script errors in the page');
});

async function firstUse(): Promise<void> {
  await page.goto(`${server.url}/console`);
  await page.fill('input[name="id"]', TEST_ACCESS_KEY_ID);
  await page.fill('input[name="secret"]', TEST_ACCESS_KEY_SECRET);
  await page.click('button[type="submit"]');
  await until('the project', async () => (await page.locator('select[aria-label="project"]').inputValue()) === PROJECT);

  // ---- search app, then switch to `other`: app's logs must go ----
  await page.selectOption('select[aria-label="logstore"]', 'app');
  await until('every log indexed', async () => {
    await search('*');
    return (await histTotal()) === `${LOGS} logs`;
  });
  await page.selectOption('select[aria-label="logstore"]', 'other');
  await page.waitForSelector('[data-testid="query-error"]:has-text("IndexConfigNotExist")');
  assert.equal(await page.locator('[data-testid="log-row"]').count(), 0, "app's rows are gone");
  assert.equal(await page.locator('[data-testid="hist-total"]').count(), 0, "app's histogram is gone");
  await shot('01-switched-to-unindexed');

  // ---- a good SQL then a refused one: the chart goes ----
  await page.selectOption('select[aria-label="logstore"]', 'app');
  await until('app searched again', async () => (await histTotal()) === `${LOGS} logs`);
  await search('* | select level, count(*) as n group by level');
  await page.waitForSelector('.chart[data-chart] svg');
  await search('* | select nosuchkey, count(*) as n group by nosuchkey');
  await page.waitForSelector('[data-testid="query-error"]');
  assert.equal(await page.locator('.chart').count(), 0, 'no chart under the error');
  assert.equal(await page.locator('.sql-table').count(), 0, 'no table under the error');
  // A key not in the index: the error says where to add it.
  await search('user: u1');
  await page.waitForSelector('[data-testid="query-error"]:has-text("add the key to the index")');
  await shot('02-refused-query');

  // ---- Logstores: merge on the last shard is disabled; add `user` to the index and reindex ----
  await page.click('button[data-page="logstores"]');
  await page.click('.list >> text=app').catch(async () => page.click('text=app'));
  await page.waitForSelector('h2:has-text("app")');
  const merges = page.locator('button:has-text("Merge")');
  assert.equal(await merges.count(), 2);
  assert.equal(await merges.nth(0).isDisabled(), false, 'shard 0 has a right neighbour');
  assert.equal(await merges.nth(1).isDisabled(), true, 'shard 1 has none');
  await page.waitForSelector('input[aria-label="key 1 name"]');
  await page.click('text=+ Key');
  await page.fill('input[aria-label="key 2 name"]', 'user');
  await page.click('text=Save index');
  await page.waitForSelector('text=Index saved');
  await page.selectOption('select[aria-label="reindex from"]', '0');
  await page.click('[data-testid="reindex"] button');
  await page.waitForSelector('[data-testid="reindex-status"]:has-text("Reindexed")');
  await shot('03-reindexed');
  // Reloaded, the new key still follows the full-text delimiters (an empty field), `level` keeps its own.
  await page.reload();
  await page.waitForSelector('input[aria-label="key 2 name"]');
  assert.equal(await page.inputValue('input[aria-label="key 2 name"]'), 'user');
  assert.equal(await page.inputValue('input[aria-label="key 2 delimiters"]'), '');
  assert.equal(await page.inputValue('input[aria-label="key 1 delimiters"]'), ' ');

  await page.click('button[data-page="search"]');
  await until('the reindexed key to find the older logs', async () => {
    await search('user: u1');
    return (await histTotal()) === `${LOGS / 3} logs`;
  });

  // ---- Collection: a huge sample, then a broken regex ----
  await page.click('button[data-page="collection"]');
  // No agent yet: the project-wide list says so about the project (it said "of this group").
  await page.waitForSelector(`text=No agent of project ${PROJECT} has heartbeated yet`);
  await page.click('text=+ New config');
  const line = '10.0.0.1 - - [22/Nov/2026:16:40:01 +0000] "GET /p HTTP/1.1" 200 612 "-" "curl/8.0"';
  await page.click('button[data-mode="nginx"]');
  const big = Array.from({ length: 20_000 }, (_, i) => line.replace('/p ', `/p${i} `)).join('\n');
  // Pasted at once, as React sees a paste (page.fill types it through insertText, which takes minutes at 1.8 MB).
  await page.evaluate(
    `(() => {
      const area = document.querySelector('textarea[aria-label="sample"]');
      Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(area, ${JSON.stringify(big)});
      area.dispatchEvent(new Event('input', { bubbles: true }));
    })()`,
  );

  await page.waitForSelector('[data-testid="sample-cut"]');
  await page.waitForSelector('[data-testid="preview"] >> text="/p0"');
  assert.equal(await page.locator('[data-testid="preview-error"]').count(), 0, 'the big sample is not refused');
  await shot('04-big-sample');
  await page.fill('textarea[aria-label="sample"]', line);
  await page.click('button[data-mode="regex"]');
  await page.fill('input[aria-label="regex"]', '(\\S+ (foo');
  await page.waitForSelector('[data-testid="preview-error"]:has-text("regex")');
  assert.equal(await page.locator('[data-testid="preview"]').count(), 0, 'no stale preview under the error');
  await shot('05-broken-regex');

  // ---- the session ends under the user (cookie gone, as when it expires): the login page says so ----
  await page.context().clearCookies();
  // Whichever call comes first finds the session gone: this click's, or the collection page's 5-second poll, which
  // may already have replaced the tabs by the login page (then there is nothing left to click).
  await page.click('button[data-page="logstores"]', { timeout: 5_000 }).catch(() => undefined);
  await page.waitForSelector('[data-testid="session-expired"]');
  assert.equal(await page.inputValue('input[name="id"]'), TEST_ACCESS_KEY_ID, 'the same key id is filled in');
  await page.fill('input[name="secret"]', TEST_ACCESS_KEY_SECRET);
  await page.click('button[type="submit"]');
  await page.waitForSelector('button[data-page="logstores"]');
  await shot('06-logged-in-again');

  // ---- delete a project with logstores from the console (there was no way to) ----
  assertEmptyOk(
    await client.send({ method: 'POST', path: '/', body: json({ projectName: 'scratch', description: '' }) }),
  );
  assertEmptyOk(
    await client.send({
      method: 'POST',
      project: 'scratch',
      path: '/logstores',
      body: json({ logstoreName: 'tmp', ttl: 1, shardCount: 1 }),
    }),
  );
  await page.reload();
  await page.selectOption('select[aria-label="project"]', 'scratch');
  await page.click('button[data-page="quotas"]');
  await page.waitForSelector('.usage-row:has-text("tmp")');
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.accept();
  });
  await page.click('[data-testid="delete-project"] button');
  await until('the project to be gone from the picker', async () => {
    const names = await page.locator('select[aria-label="project"] option').allTextContents();
    return !names.includes('scratch') && names.includes(PROJECT);
  });
  assert.match(asked, /Delete project scratch and its logstore with all their data/);
  const gone = await client.send({ method: 'GET', project: 'scratch', path: '/logstores' });
  assert.equal(gone.status, 404);
}
