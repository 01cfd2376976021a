/**
 * The heap growth `sluice serve` asks of V8 (see SERVER_HEAP_GROWING_PERCENT): set unless node was started with its
 * own `--heap-growing-percent`, in either spelling V8 accepts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { SERVER_HEAP_GROWING_PERCENT, serverHeapFlag } from '../../../src/cli/serve.js';

test('serve sets the heap growing factor when node was started without one', () => {
  assert.equal(serverHeapFlag([]), `--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`);
  assert.equal(serverHeapFlag(['--max-old-space-size=512', '--enable-source-maps']), '--heap-growing-percent=300');
});

test("node's own --heap-growing-percent wins", () => {
  assert.equal(serverHeapFlag(['--heap-growing-percent=50']), undefined);
  assert.equal(serverHeapFlag(['--heap_growing_percent=150']), undefined);
  assert.equal(serverHeapFlag(['--heap-growing-percent']), undefined);
  // A flag that merely starts the same way is not it.
  assert.equal(serverHeapFlag(['--heap-growing-percentage=5']), '--heap-growing-percent=300');
});
