/** Endpoint suffixes with a port, scheme or leading dot could never match a Host header: refuse them at start. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServerConfig, ConfigError } from '../../../src/server/config.js';

const sources = { flags: {}, env: {} };

test('endpoints must be bare host names', () => {
  for (const bad of ['sls.example.com:7000', '.sls.example.com', 'http://sls.example.com', '', 'a..b']) {
    assert.throws(
      () => buildServerConfig({ endpoints: [bad] }, sources),
      ConfigError,
      `should refuse ${JSON.stringify(bad)}`,
    );
  }
  const config = buildServerConfig({ endpoints: ['SLS.Example.com'] }, sources);
  assert.ok(config.endpoints.includes('sls.example.com'));
});
