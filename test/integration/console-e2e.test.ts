/**
 * The console end to end, as a person uses it, in headless Chromium (Debian's, driven by playwright-core): log in,
 * create a project, a logstore and its index, a machine group and a collection config made by pasting a sample nginx
 * line, apply it to the group of a real running `sluice agent` (no --config: it takes its configs from the server),
 * append lines to the collected file, find them on the search page with the histogram counting them, and run a
 * `| select` that draws a chart. A screenshot of every page goes to test-output/console/ (gitignored).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type AgentProcess, startAgent, tempDir } from '../helpers/agent-harness.js';
import {
  REPO_ROOT,
  removeDir,
  type ServerProcess,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { testClient } from '../helpers/sls-kit.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output', 'console');
const PROJECT = 'console-e2e';
const LOGSTORE = 'access';
const AGENT_ID = 'e2e-web-1';
const LINES = 40;

let server: ServerProcess;
let browser: Browser;
let page: Page;
let agent: AgentProcess | undefined;
let logDir: string;
let agentData: string;
/** Uncaught errors and console errors of the page: the test fails on any. */
const pageErrors: string[] = [];
let lastHistogram = '';

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs it (scripts/ensure-chromium.mjs)`);
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });
  server = await startServerProcess({ config: { storage: { fsync: false } } });
  logDir = await tempDir('sluice-e2e-logs-');
  agentData = await tempDir('sluice-e2e-agent-');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As the machine's probe runs it: no sandbox as root, and no background connections (the network is closed).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(30_000);
  page.on('response', (r) => {
    if (r.url().includes('type=histogram')) lastHistogram = r.url();
  });
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  page.on('console', (m) => {
    // Refused calls (401 before login, 404 for an index not yet made) are logged by the browser; they are expected.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await agent?.stop();
  await server?.stop();
  if (server) await removeDir(server.dataDir);
  if (logDir) await rm(logDir, { recursive: true, force: true });
  if (agentData) await rm(agentData, { recursive: true, force: true });
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Polls `check` until it returns true (bounded). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function goTo(tab: string): Promise<void> {
  await page.click(`button[data-page="${tab}"]`);
}

/** An nginx combined line stamped `t` (the agent takes the log time from time_local). */
function nginxLine(t: Date, i: number, status: number): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${p(t.getUTCDate())}/${months[t.getUTCMonth()]}/${t.getUTCFullYear()}:${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000`;
  return `10.0.0.${i % 250} - - [${stamp}] "GET /shop/item/${i} HTTP/1.1" ${status} ${100 + i} "-" "e2e-browser/1.0"`;
}

test('console end to end: login, logstore + index, collection config for a live agent, search, chart', async () => {
  try {
    await endToEnd();
  } catch (err) {
    await shot('failure').catch(() => {});
    if (pageErrors.length > 0) throw new Error(`${String(err)}\npage errors:\n${pageErrors.join('\n')}`);
    throw err;
  }
});

async function endToEnd(): Promise<void> {
  // ---- login: a wrong secret is refused with a clear message, the right one lets us in ----
  await page.goto(`${server.url}/console`);
  await page.fill('input[name="id"]', TEST_ACCESS_KEY_ID);
  await page.fill('input[name="secret"]', 'not the secret');
  await page.click('button[type="submit"]');
  await page.waitForSelector('text=wrong access key id or secret');
  await shot('01-login-error');
  await page.fill('input[name="secret"]', TEST_ACCESS_KEY_SECRET);
  await page.click('button[type="submit"]');
  await page.waitForSelector('text=No project yet');

  // ---- a project ----
  await page.click('text=+ Project');
  await page.fill('input[aria-label="new project name"]', PROJECT);
  await page.click('form.new-project button[type="submit"]');
  await until('the new project to be selected', async () => {
    return (await page.locator('select[aria-label="project"]').inputValue()) === PROJECT;
  });

  // ---- logstore and index ----
  await goTo('logstores');
  await page.fill('input[aria-label="new logstore name"]', LOGSTORE);
  await page.fill('input[aria-label="new logstore shards"]', '2');
  await page.click('form.inline-form button[type="submit"]');
  await page.waitForSelector(`h2:has-text("${LOGSTORE}")`);
  assert.equal(await page.locator('table.grid-table >> nth=0 >> tbody tr').count(), 2, 'two shards listed');
  for (const [i, [name, type]] of [
    ['status', 'long'],
    ['request_uri', 'text'],
    ['remote_addr', 'text'],
    ['http_user_agent', 'text'],
  ].entries()) {
    await page.click('text=+ Key');
    await page.fill(`input[aria-label="key ${i + 1} name"]`, name!);
    await page.selectOption(`select[aria-label="key ${i + 1} type"]`, type!);
  }
  await page.click('text=Create index');
  await page.waitForSelector('text=Index saved');
  // Split the first shard: three readwrite shards and a readonly parent.
  await page.locator('button:has-text("Split")').first().click();
  await page.waitForSelector('text=shard 0 split');
  assert.equal(await page.locator('table.grid-table >> nth=0 >> tbody tr').count(), 4);
  await shot('02-logstores');

  // ---- machine group and a collection config from a pasted nginx line ----
  await goTo('collection');
  await page.fill('input[aria-label="group name"]', 'web');
  await page.selectOption('select[aria-label="identify by"]', 'userdefined');
  await page.fill('input[aria-label="machine list"]', AGENT_ID);
  await page.click('text=Create group');
  await page.waitForSelector('h2:has-text("Group web")');
  // Edit the group: a second id besides the agent's.
  await page.click('[data-testid="group-detail"] button:has-text("Edit")');
  await page.fill('input[aria-label="edit machine list"]', `${AGENT_ID}, e2e-web-2`);
  await page.click('[data-testid="group-detail"] button:has-text("Save")');
  await page.waitForSelector(`[data-testid="group-detail"] h2:has-text("${AGENT_ID}, e2e-web-2")`);
  await page.click('text=+ New config');
  await page.fill('input[aria-label="config name"]', 'nginx-access');
  await page.selectOption('select[aria-label="target logstore"]', LOGSTORE);
  await page.fill('input[aria-label="log path"]', logDir);
  await page.fill('input[aria-label="file pattern"]', 'access*.log');
  const sample = nginxLine(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), 7, 404);
  await page.fill('textarea[aria-label="sample"]', sample);
  // Regex mode first: the console suggests a regex built from the sample, and the preview parses with it.
  await page.click('button[data-mode="regex"]');
  await page.waitForSelector('.suggestion >> text=Use it');
  await page.click('.suggestion >> text=Use it');
  await page.waitForSelector('[data-testid="preview"] >> text="/shop/item/7"');
  await page.waitForSelector('[data-testid="preview"] >> text="2026-01-02T03:04:05Z"');
  await shot('03-collection-regex');
  // nginx mode: the agent's nginx parser names the fields and takes the time from time_local.
  await page.click('button[data-mode="nginx"]');
  await page.waitForSelector('[data-testid="preview"] th:text-is("remote_addr")');
  const preview = (await page.locator('[data-testid="preview"] tbody tr').first().textContent()) ?? '';
  assert.match(preview, /parsed/);
  assert.match(preview, /2026-01-02T03:04:05Z/, 'time parsed from time_local');
  assert.match(preview, /\/shop\/item\/7/);
  await page.check('input[aria-label="apply to web"]');
  await page.click('button:has-text("Create and apply")');
  await page.waitForSelector('text=Saved and applied to web');
  await page.waitForSelector('[data-testid="group-detail"] .chip:has-text("nginx-access")');

  // ---- a real agent, no --config: it joins group "web" by its user-defined id and receives the config ----
  const file = join(logDir, 'access.log');
  await writeFile(file, '');
  agent = await startAgent({
    url: server.url,
    project: PROJECT,
    dataDir: agentData,
    configs: [],
    extraArgs: ['--user-defined-id', AGENT_ID, '--heartbeat-interval', '1'],
  });
  await page.waitForSelector('[data-testid="group-detail"] [data-testid="machine-row"]', { timeout: 30_000 });
  const now = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) lines.push(nginxLine(new Date(now - (LINES - i) * 1000), i, i % 4 === 0 ? 500 : 200));
  await appendFile(file, `${lines.join('\n')}\n`);
  // The agent's status shows the file once it has read it.
  await page.locator('[data-testid="group-detail"] [data-testid="machine-row"]').first().click();
  await page.waitForSelector(`[data-testid="agent-detail"] >> text="${file}"`, { timeout: 30_000 });
  // …and, a heartbeat later, that it has read and committed all of it.
  await until('the agent to report the file read and committed', async () =>
    /(\d+(\.\d)?) KiB \/ \1 KiB/.test(
      (await page.locator('[data-testid="agent-detail"] .file-row').first().textContent()) ?? '',
    ),
  );
  await shot('04-collection-agent');

  // ---- search: the lines are found, the histogram counts them ----
  await goTo('search');
  await page.selectOption('select[aria-label="logstore"]', LOGSTORE);
  const deadline = Date.now() + 60_000;
  let total = '';
  while (Date.now() < deadline) {
    await page.click('[data-testid="run-search"]');
    await page.waitForSelector('[data-testid="run-search"]:not([disabled])');
    total = (await page.locator('[data-testid="hist-total"]').textContent()) ?? '';
    if (total === `${LINES} logs`) break;
    await sleep(1000);
  }
  if (total !== `${LINES} logs`) {
    const client = testClient(server.url);
    const agents = await client.call({ method: 'GET', project: PROJECT, path: '/logtail/machines' });
    const id = (JSON.parse(agents.body.toString()) as { machines: { 'machine-uniqueid': string }[] }).machines[0]?.[
      'machine-uniqueid'
    ];
    const detail = await client.call({ method: 'GET', project: PROJECT, path: `/logtail/machines/${id}` });
    const all = await client.send({
      method: 'GET',
      project: PROJECT,
      path: `/logstores/${LOGSTORE}`,
      query: { type: 'log', from: '0', to: String(Math.floor(Date.now() / 1000) + 86400 * 400), query: '*', line: '3' },
    });
    console.log('LAST HIST', lastHistogram, Date.now());
    console.log('ALL TIME', all.status, all.body.toString().slice(0, 1500));
    client.close();
    assert.fail(
      `histogram total ${total}, expected ${LINES}\nagent output: ${agent.output().slice(-2000)}\nagent status: ${detail.body}`,
    );
  }
  const bars = await page
    .locator('.histogram-svg rect.bar')
    .evaluateAll((els) => els.reduce((s, e) => s + Number(e.getAttribute('data-count')), 0));
  assert.equal(bars, LINES, 'the histogram bars add up to the lines appended');
  assert.equal((await page.locator('[data-testid="log-row"]').count()) > 0, true);
  // Newest first: the first row is the last line appended.
  assert.match(
    (await page.locator('[data-testid="log-row"]').first().textContent()) ?? '',
    new RegExp(`/shop/item/${LINES - 1}\\b`),
  );
  // Drag across the histogram's last sixth: the range becomes that absolute window, which still holds every line.
  const box = (await page.locator('.histogram-svg').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.83, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.92, box.y + box.height / 2, { steps: 5 });
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await until(
    'the zoomed range',
    async () => (await page.locator('select[aria-label="time range"]').inputValue()) === 'absolute',
  );
  await until(
    'the zoomed count',
    async () => ((await page.locator('[data-testid="hist-total"]').textContent()) ?? '') === `${LINES} logs`,
  );
  const zoomedFrom = await page.locator('input[aria-label="from"]').inputValue();
  assert.ok(zoomedFrom !== '', 'the absolute range shows its start');
  // Expand it and filter on its status by clicking the value.
  await page.locator('[data-testid="log-row"] .log-line').first().click();
  await page.locator('table.fields tr:has(th:text-is("status")) button.value').click();
  await until('the clicked value in the query', async () =>
    /status: "200"/.test(await page.locator('input[aria-label="query"]').inputValue()),
  );
  await until(
    'the filtered count',
    async () =>
      ((await page.locator('[data-testid="hist-total"]').textContent()) ?? '') === `${LINES - LINES / 4} logs`,
  );
  await page.locator('[data-testid="log-row"] .log-line').first().click();
  await shot('05-search');

  // Live tail: new lines show up without pressing Search.
  await page.fill('input[aria-label="query"]', '*');
  await page.check('input[aria-label="live tail"]');
  const more: string[] = [];
  for (let i = LINES; i < LINES + 5; i++) more.push(nginxLine(new Date(), i, 200));
  await appendFile(file, `${more.join('\n')}\n`);
  await until(
    'the tailed lines',
    async () => ((await page.locator('[data-testid="hist-total"]').textContent()) ?? '') === `${LINES + 5} logs`,
    60_000,
  );
  assert.match((await page.locator('[data-testid="log-row"]').first().textContent()) ?? '', /\/shop\/item\/44\b/);
  await page.uncheck('input[aria-label="live tail"]');

  // A parse error is shown at its position.
  await page.fill('input[aria-label="query"]', 'status:500 and (path:/a');
  await page.click('[data-testid="run-search"]');
  await page.waitForSelector('[data-testid="query-error"] pre.caret');
  assert.match((await page.locator('[data-testid="query-error"]').textContent()) ?? '', /\^/);
  await shot('06-search-error');

  // ---- | select draws a chart ----
  await page.fill('input[aria-label="query"]', '* | select status, count(*) as n group by status order by status');
  await page.click('[data-testid="run-search"]');
  await page.waitForSelector('.chart[data-chart] svg');
  const kind = await page.locator('.chart').getAttribute('data-chart');
  assert.equal(kind, 'pie', 'two categories and one measure: a pie');
  assert.match((await page.locator('.legend').textContent()) ?? '', /200 — 35/);
  assert.match((await page.locator('.sql-table').textContent()) ?? '', /500/);
  await shot('07-search-sql-pie');
  await page.click('button[data-kind="bar"]');
  await page.waitForSelector('.chart[data-chart="bar"] rect');
  assert.equal(await page.locator('.chart[data-chart="bar"] rect').count(), 2);
  await page.fill(
    'input[aria-label="query"]',
    '* | select from_unixtime(__time__ - __time__ % 10) as t, count(*) as n group by t order by t',
  );
  await page.click('[data-testid="run-search"]');
  await page.waitForSelector('.chart[data-chart="line"] polyline');
  assert.ok((await page.locator('.chart[data-chart="line"] circle').count()) >= 4, 'a point per 10 s');
  await shot('08-search-sql-line');

  // 100,000 result rows: the table renders only the rows in view, and scrolls to the last one.
  await page.fill('input[aria-label="query"]', '* | select unnest(range(100000)) as r limit 100000');
  await page.click('[data-testid="run-search"]');
  await page.waitForSelector('.sql-table .vlist[data-rows="100000"]');
  const rendered = await page.locator('.sql-table .vlist .sql-tr').count();
  assert.ok(rendered > 0 && rendered < 100, `rows in the DOM: ${rendered} of 100000`);
  await page.evaluate("document.querySelector('.sql-table .vlist').scrollTop = 1e9");
  await page.waitForSelector('.sql-table .vlist .sql-tr >> text="99999"');
  assert.ok((await page.locator('.sql-table .vlist .sql-tr').count()) < 100);
  await shot('08b-search-sql-100k-rows');

  // ---- quotas and usage ----
  await goTo('quotas');
  await page.waitForSelector(`.usage-row:has-text("${LOGSTORE}")`);
  await page.fill('input[aria-label="writeBytesPerSec"]', '1048576');
  await page.click('text=Save quota');
  await page.waitForSelector('text=Quota saved');
  await shot('09-quotas');
  assert.deepEqual(pageErrors, [], 'no script errors in the page');
}
