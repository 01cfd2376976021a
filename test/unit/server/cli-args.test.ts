/**
 * `parseArgs` from src/cli/args.ts (kept under test/unit/server/ with the other front-end tests): `--a b`,
 * `--a=b`, bool flags, positional words, and usage errors for unknown options and missing values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs, UsageError } from '../../../src/cli/args.js';

const KNOWN = { host: 'value', port: 'value', config: 'value', help: 'bool', verbose: 'bool' } as const;

describe('parseArgs', () => {
  test('--name value and --name=value', () => {
    assert.deepEqual(parseArgs(['--host', '0.0.0.0', '--port=7001'], KNOWN), {
      flags: { host: '0.0.0.0', port: '7001' },
      positional: [],
    });
  });

  test('a value may contain = and may be empty with the = form', () => {
    assert.deepEqual(parseArgs(['--config=a=b.yaml', '--host='], KNOWN).flags, { config: 'a=b.yaml', host: '' });
  });

  test('a value may start with a single dash', () => {
    assert.deepEqual(parseArgs(['--config', '-'], KNOWN).flags, { config: '-' });
  });

  test('bool flags take no value; --flag=value keeps the text', () => {
    assert.deepEqual(parseArgs(['--help', 'serve'], KNOWN), { flags: { help: 'true' }, positional: ['serve'] });
    assert.deepEqual(parseArgs(['--verbose=false'], KNOWN).flags, { verbose: 'false' });
  });

  test('positional words keep their order around flags', () => {
    assert.deepEqual(parseArgs(['a', '--port', '1', 'b', '--help', 'c'], KNOWN), {
      flags: { port: '1', help: 'true' },
      positional: ['a', 'b', 'c'],
    });
  });

  test('the last of a repeated option wins', () => {
    assert.deepEqual(parseArgs(['--port', '1', '--port=2'], KNOWN).flags, { port: '2' });
  });

  test('an unknown option is a UsageError naming it', () => {
    assert.throws(() => parseArgs(['--nope'], KNOWN), { name: 'UsageError', message: 'unknown option --nope' });
    assert.throws(() => parseArgs(['--nope=1'], KNOWN), { name: 'UsageError', message: 'unknown option --nope' });
    assert.throws(() => parseArgs(['--'], KNOWN), UsageError);
  });

  test('a missing value is a UsageError naming the option', () => {
    assert.throws(() => parseArgs(['--port'], KNOWN), { name: 'UsageError', message: 'option --port needs a value' });
    assert.throws(() => parseArgs(['--port', '--host', 'x'], KNOWN), {
      name: 'UsageError',
      message: 'option --port needs a value',
    });
  });

  test('no arguments', () => {
    assert.deepEqual(parseArgs([], KNOWN), { flags: {}, positional: [] });
  });
});
