import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { previewParse, suggestRegex } from '../../../src/server/console/parse-preview.js';

const config = (inputDetail: Record<string, unknown>) => ({ inputDetail, outputDetail: { logstoreName: 'app' } });
const fields = (l: { fields?: readonly (readonly [string, string])[] }) => Object.fromEntries(l.fields ?? []);

describe('parse preview (the agent parsers on a sample)', () => {
  test('single line: each line whole in content, blank lines skipped', () => {
    const r = previewParse(config({ logType: 'common_reg_log' }), 'one\n\ntwo\n');
    assert.deepEqual(
      r.logs.map((l) => [l.status, fields(l)['content']]),
      [
        ['parsed', 'one'],
        ['parsed', 'two'],
      ],
    );
  });

  test('multiline: a log begins at a line matching the begin regex', () => {
    const sample = '2026-01-01 10:00:00 boom\n  at a()\n  at b()\n2026-01-01 10:00:01 ok';
    const r = previewParse(config({ logType: 'common_reg_log', logBeginRegex: '\\d{4}-\\d{2}-\\d{2} .*' }), sample);
    assert.equal(r.logs.length, 2);
    assert.equal(fields(r.logs[0]!)['content'], '2026-01-01 10:00:00 boom\n  at a()\n  at b()');
  });

  test('JSON with a time key; a line that is not JSON is unmatched', () => {
    const r = previewParse(
      config({ logType: 'json_log', timeKey: 'ts', timeFormat: '%Y-%m-%d %H:%M:%S' }),
      '{"ts":"2026-01-02 03:04:05","level":"info","n":{"a":1}}\nnot json',
    );
    assert.equal(r.logs[0]!.status, 'parsed');
    assert.equal(r.logs[0]!.time, Date.UTC(2026, 0, 2, 3, 4, 5) / 1000);
    assert.deepEqual(fields(r.logs[0]!), { ts: '2026-01-02 03:04:05', level: 'info', n: '{"a":1}' });
    assert.equal(r.logs[1]!.status, 'unmatched');
    assert.deepEqual(fields(r.logs[1]!), { __raw_log__: 'not json' });
  });

  test('a time value that does not parse is flagged', () => {
    const r = previewParse(
      config({ logType: 'json_log', timeKey: 'ts', timeFormat: '%Y-%m-%d' }),
      '{"ts":"yesterday"}',
    );
    assert.ok(r.logs[0]!.timeError);
    assert.equal(r.logs[0]!.time, undefined);
  });

  test('delimiter with quotes, and a filter that drops a line', () => {
    const r = previewParse(
      config({
        logType: 'delimiter_log',
        separator: ',',
        quote: '"',
        key: ['level', 'msg'],
        filterKey: ['level'],
        filterRegex: ['error|warn'],
      }),
      'error,"a, b"\ninfo,c',
    );
    assert.deepEqual(fields(r.logs[0]!), { level: 'error', msg: 'a, b' });
    assert.equal(r.logs[1]!.status, 'filtered');
  });

  test('a config the agent refuses names the field', () => {
    assert.throws(
      () => previewParse(config({ logType: 'common_reg_log', regex: '(a)(b)', key: ['a'] }), 'ab'),
      /inputDetail\.key/,
    );
    assert.throws(() => previewParse(config({ logType: 'yaml' }), 'x'), /inputDetail\.logType/);
  });
});

describe('regex suggestion', () => {
  test('an nginx line: groups for quoted parts, brackets, the request line', () => {
    const line =
      '10.1.2.3 - bob [22/Nov/2026:10:00:00 +0000] "POST /api/x?y=1 HTTP/2.0" 201 35 "https://a.b/c" "curl/8.1"';
    const s = suggestRegex(line)!;
    assert.deepEqual(s.keys, [
      'ip',
      'key_2',
      'key_3',
      'time',
      'method',
      'request_uri',
      'protocol',
      'status',
      'size',
      'referer',
      'user_agent',
    ]);
    const m = new RegExp(`^(?:${s.regex})$`).exec(line)!;
    assert.equal(m[6], '/api/x?y=1');
    assert.equal(m[11], 'curl/8.1');
    assert.equal(s.timeKey, 'time');
    assert.equal(s.timeFormat, '%d/%b/%Y:%H:%M:%S %z');
    // The suggestion is a config the agent accepts, and parses the line into those names and its time.
    const r = previewParse(
      config({ logType: 'common_reg_log', regex: s.regex, key: s.keys, timeKey: s.timeKey, timeFormat: s.timeFormat }),
      line,
    );
    assert.equal(fields(r.logs[0]!)['request_uri'], '/api/x?y=1');
    assert.equal(r.logs[0]!.time, Date.UTC(2026, 10, 22, 10) / 1000);
  });

  test('an application line; blanks and escaped quotes', () => {
    assert.deepEqual(suggestRegex('2026-01-02 03:04:05.123 WARN  [main] done in 12 ms')!.keys, [
      'date',
      'time',
      'level',
      'key_4',
      'key_5',
      'key_6',
      'size',
      'key_8',
    ]);
    for (const [line, format, t] of [
      ['2026-01-02T03:04:05+08:00 up', '%Y-%m-%dT%H:%M:%S%z', Date.UTC(2026, 0, 1, 19, 4, 5) / 1000],
      ['x "2026-01-02 03:04:05" y', '%Y-%m-%d %H:%M:%S', Date.UTC(2026, 0, 2, 3, 4, 5) / 1000],
    ] as const) {
      const sg = suggestRegex(line)!;
      assert.equal(sg.timeFormat, format, line);
      const r = previewParse(
        config({ logType: 'common_reg_log', regex: sg.regex, key: sg.keys, timeKey: sg.timeKey, timeFormat: format }),
        line,
      );
      assert.equal(r.logs[0]!.time, t, line);
    }
    const q = 'a "say \\"hi\\"" b';
    assert.ok(new RegExp(`^(?:${suggestRegex(q)!.regex})$`).test(q));
    assert.equal(suggestRegex(''), undefined);
    assert.equal(suggestRegex(undefined), undefined);
  });
});
