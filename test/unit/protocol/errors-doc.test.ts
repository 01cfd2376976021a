/**
 * Keeps the error catalogue (src/protocol/errors.ts) and docs/api.md in step: every code the server can answer with
 * is documented with the same HTTP status, and the docs name no code the server does not have. Fails when a code is
 * added, removed or re-statused on one side only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SLS_ERROR_STATUS, SlsError } from '../../../src/protocol/errors.js';
import { REPO_ROOT } from '../../helpers/server-process.js';

function documentedCodes(): Map<string, number> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Errors'));
  const rows = new Map<string, number>();
  for (const m of section.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)) rows.set(m[1]!, Number(m[2]));
  return rows;
}

test('every error code is documented with its HTTP status', () => {
  const documented = documentedCodes();
  for (const [code, status] of Object.entries(SLS_ERROR_STATUS)) {
    assert.equal(documented.get(code), status, `docs/api.md: ${code} should be listed with status ${status}`);
  }
});

test('the docs list no code the server does not have', () => {
  for (const code of documentedCodes().keys()) {
    assert.ok(code in SLS_ERROR_STATUS, `docs/api.md lists ${code}, which src/protocol/errors.ts does not define`);
  }
});

test('SlsError carries code, status and the SLS JSON shape', () => {
  const err = new SlsError('LogStoreNotExist', 'logstore app does not exist');
  assert.equal(err.status, 404);
  assert.deepEqual(err.toJSON(), { errorCode: 'LogStoreNotExist', errorMessage: 'logstore app does not exist' });
});
