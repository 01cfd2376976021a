/**
 * pathMatches decides, on a config change, which checkpointed files the new config still follows; it must agree with
 * the directory scanner (logPath, maxDepth, filePattern, excludes). If it says "no" for a file the new config does
 * match, a reload stops collecting that file; if "yes" for one it does not, the old file is followed anyway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCollectionConfig } from '../../../src/agent/config/logtail-config.js';
import { pathMatches } from '../../../src/agent/config/path-match.js';

const config = (detail: Record<string, unknown>) =>
  parseCollectionConfig({
    configName: 'c',
    inputDetail: { logPath: '/var/log/app', filePattern: '*.log', ...detail },
    outputDetail: { logstoreName: 'ls1' },
  });

test('logPath, depth, pattern and excludes', () => {
  const flat = config({});
  assert.equal(pathMatches(flat, '/var/log/app/a.log'), true);
  assert.equal(pathMatches(flat, '/var/log/app/a.log.1'), false, 'name must match the glob');
  assert.equal(pathMatches(flat, '/var/log/app/sub/a.log'), false, 'maxDepth 0: no subdirectories');
  assert.equal(pathMatches(flat, '/var/log/other/a.log'), false, 'outside logPath');
  assert.equal(pathMatches(flat, '/var/log/application/a.log'), false, 'a sibling sharing the prefix');

  const deep = config({ maxDepth: 2, excludeDirs: ['tmp*'], excludeFiles: ['debug*'] });
  assert.equal(pathMatches(deep, '/var/log/app/x/y/a.log'), true);
  assert.equal(pathMatches(deep, '/var/log/app/x/y/z/a.log'), false, 'three levels down');
  assert.equal(pathMatches(deep, '/var/log/app/tmp1/a.log'), false, 'excluded directory');
  assert.equal(pathMatches(deep, '/var/log/app/x/debug.log'), false, 'excluded file');

  assert.equal(pathMatches(config({ filePattern: 'access{,.1}.log' }), '/var/log/app/access.1.log'), true);
});
