import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigFieldError, parseCollectionConfig } from '../../../src/agent/config/logtail-config.js';
import { fieldParserFor, splitDelimited } from '../../../src/agent/parse/parsers.js';
import { checkUserRegex, compileUserRegex } from '../../../src/agent/parse/safe-regex.js';
import { compileTimeFormat } from '../../../src/agent/parse/time-format.js';

function config(detail: Record<string, unknown>): ReturnType<typeof parseCollectionConfig> {
  return parseCollectionConfig({
    configName: 'c',
    inputType: 'file',
    inputDetail: { logPath: '/var/log', filePattern: '*.log', ...detail },
    outputDetail: { logstoreName: 'access' },
  });
}

function pairs(f: string[] | undefined): Record<string, string> | undefined {
  if (f === undefined) return undefined;
  const o: Record<string, string> = {};
  for (let i = 0; i < f.length; i += 2) o[f[i]!] = f[i + 1]!;
  return o;
}

test('regex mode with keys (the sls-api.md §5.10 sample)', () => {
  const c = config({
    logType: 'common_reg_log',
    regex: '(\\S+) - (\\S+) \\[([^\\]]+)\\] "(\\w+) ([^"]*)" (\\d+)',
    key: ['remote_addr', 'remote_user', 'time_local', 'method', 'url', 'status'],
  });
  const p = fieldParserFor(c)!;
  assert.deepEqual(pairs(p('127.0.0.1 - - [10/Jan/2025:08:00:00 +0800] "GET / HTTP/1.1" 200')), {
    remote_addr: '127.0.0.1',
    remote_user: '-',
    time_local: '10/Jan/2025:08:00:00 +0800',
    method: 'GET',
    url: '/ HTTP/1.1',
    status: '200',
  });
  // The regex must match the whole entry, as Logtail's does.
  assert.equal(p('127.0.0.1 - - [10/Jan/2025:08:00:00 +0800] "GET / HTTP/1.1" 200 trailing'), undefined);
});

test('json, delimiter with quotes, nginx and apache presets', () => {
  const j = fieldParserFor(config({ logType: 'json_log' }))!;
  assert.deepEqual(pairs(j('{"a":"x","n":3,"o":{"b":true}}')), { a: 'x', n: '3', o: '{"b":true}' });
  assert.equal(j('not json'), undefined);
  assert.equal(j('[1,2]'), undefined);

  const d = fieldParserFor(config({ logType: 'delimiter_log', separator: ',', quote: '"', key: ['a', 'b', 'c'] }))!;
  assert.deepEqual(pairs(d('1,"x, ""y""",3')), { a: '1', b: 'x, "y"', c: '3' });
  assert.equal(d('1,2'), undefined, 'column count differs');
  assert.deepEqual(splitDelimited('a\t\tb', '\t', '"'), ['a', '', 'b']);
  assert.equal(splitDelimited('"open', ',', '"'), undefined);

  const n = fieldParserFor(config({ logType: 'nginx' }))!;
  const line =
    '10.1.2.3 - bob [01/Jan/2026:10:00:00 +0000] "GET /api/v1?id=1 HTTP/1.1" 200 512 "https://r.example/" "curl/8.1.0" 0.012 0.011';
  assert.deepEqual(pairs(n(line)), {
    remote_addr: '10.1.2.3',
    remote_user: 'bob',
    time_local: '01/Jan/2026:10:00:00 +0000',
    method: 'GET',
    request_uri: '/api/v1?id=1',
    protocol: 'HTTP/1.1',
    status: '200',
    body_bytes_sent: '512',
    http_referer: 'https://r.example/',
    http_user_agent: 'curl/8.1.0',
    request_time: '0.012',
    upstream_response_time: '0.011',
  });
  const a = fieldParserFor(config({ logType: 'apache' }))!;
  assert.equal(pairs(a('1.2.3.4 - - [01/Jan/2026:10:00:00 +0000] "POST /x HTTP/1.0" 404 -'))!['status'], '404');
});

test('time formats with zones', () => {
  const nginx = compileTimeFormat('%d/%b/%Y:%H:%M:%S %z', 0);
  assert.deepEqual(nginx('10/Jan/2025:08:00:00 +0800'), { sec: Date.UTC(2025, 0, 10, 0, 0, 0) / 1000, ns: 0 });
  const local = compileTimeFormat('%Y-%m-%d %H:%M:%S.%f', 8 * 60);
  assert.deepEqual(local('2025-01-10 08:00:00.123'), { sec: Date.UTC(2025, 0, 10, 0, 0, 0) / 1000, ns: 123_000_000 });
  assert.deepEqual(compileTimeFormat('%s', 0)('1700000000'), { sec: 1_700_000_000, ns: 0 });
  assert.deepEqual(compileTimeFormat('%F %T', 0)('2026-01-01 00:00:01'), { sec: 1_767_225_601, ns: 0 });
  assert.equal(nginx('yesterday'), undefined);
  assert.throws(() => compileTimeFormat('%Q', 0), ConfigFieldError);
});

test('config errors name the field', () => {
  const bad = (detail: Record<string, unknown>, field: RegExp): void =>
    assert.throws(
      () => config(detail),
      (e: unknown) => e instanceof ConfigFieldError && field.test(e.message),
    );
  bad({ logPath: 'relative' }, /^inputDetail\.logPath/);
  bad({ filePattern: 'a/*.log' }, /^inputDetail\.filePattern/);
  bad({ maxDepth: -1 }, /^inputDetail\.maxDepth/);
  bad({ logType: 'xml' }, /^inputDetail\.logType/);
  bad({ regex: '(a)(b)', key: ['a'] }, /^inputDetail\.key: has 1 names but the regex has 2 groups/);
  bad({ regex: '(a', key: ['a'] }, /^inputDetail\.regex: is not a valid/);
  bad({ regex: '(a)\\1', key: ['a'] }, /^inputDetail\.regex: uses backreferences/);
  bad({ logBeginRegex: '(?=x)' }, /^inputDetail\.logBeginRegex: uses lookaround/);
  bad({ timeKey: 't' }, /^inputDetail\.timeFormat/);
  bad({ timeZone: 'Mars' }, /^inputDetail\.timeZone/);
  bad({ logType: 'delimiter_log', separator: ',,', key: ['a'] }, /^inputDetail\.separator/);
  assert.throws(
    () => parseCollectionConfig({ inputDetail: { logPath: '/x', filePattern: '*' }, outputDetail: {} }),
    /outputDetail\.logstoreName/,
  );
  assert.equal(config({}).logType, 'line', 'no regex = one log per line');
});

test('a catastrophic user regex does not hang the agent (linear-time fallback)', () => {
  assert.equal(checkUserRegex('(a+)+b', 'f'), 1);
  const re = compileUserRegex('(a+)+b', true);
  const started = process.hrtime.bigint();
  assert.equal(re.exec(`${'a'.repeat(5000)}c`), null);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // Backtracking would take longer than the age of the universe; the automaton takes milliseconds.
  assert.ok(ms < 5_000, `took ${ms} ms`);
});
