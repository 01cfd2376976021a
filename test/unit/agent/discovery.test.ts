import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCollectionConfig } from '../../../src/agent/config/logtail-config.js';
import { DirScanner } from '../../../src/agent/discovery/dir-scanner.js';
import { globToRegExp } from '../../../src/agent/discovery/glob.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-agent-discovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('file-name globs', () => {
  const m = (g: string, name: string) => globToRegExp(g).test(name);
  assert.ok(m('*.log', 'app.log'));
  assert.ok(!m('*.log', 'app.log.1'));
  assert.ok(m('app.log*', 'app.log.1'));
  assert.ok(m('access-?.log', 'access-1.log'));
  assert.ok(m('[ab]*.log', 'b.log'));
  assert.ok(!m('[!ab]*.log', 'b.log'));
  assert.ok(m('{access,error}.log', 'error.log'));
  assert.ok(!m('a.log', 'aXlog'), 'dots are literal');
});

test('scanner: depth, pattern, exclusions; a directory is re-listed only when it changed', () => {
  mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
  mkdirSync(join(dir, 'skip'), { recursive: true });
  for (const p of ['top.log', 'a/one.log', 'a/b/two.log', 'a/b/c/three.log', 'skip/no.log', 'a/x.txt', 'a/tmp.log'])
    writeFileSync(join(dir, p), 'x\n');
  const config = parseCollectionConfig({
    inputDetail: {
      logPath: dir,
      filePattern: '*.log',
      maxDepth: 2,
      excludeDirs: ['skip'],
      excludeFiles: ['tmp*'],
    },
    outputDetail: { logstoreName: 'abc' },
  });
  const scanner = new DirScanner(config, 0, () => undefined);
  const names = () =>
    scanner
      .scan()
      .map((f) => f.path.slice(dir.length + 1))
      .sort();
  assert.deepEqual(names(), ['a/b/two.log', 'a/one.log', 'top.log']);
  writeFileSync(join(dir, 'a', 'new.log'), 'y\n');
  assert.deepEqual(names(), ['a/b/two.log', 'a/new.log', 'a/one.log', 'top.log']);
  scanner.close();
});
