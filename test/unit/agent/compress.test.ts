import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { BufferPool } from '../../../src/agent/send/buffer-pool.js';
import { BodyCompressor, DEFAULT_LZ4_ACCELERATION } from '../../../src/agent/send/compress.js';
import { lz4BlockDecompress, lz4BlockDecompressJs } from '../../../src/protocol/lz4-block.js';

function inputs(): Buffer[] {
  const text = Buffer.from(
    Array.from({ length: 6000 }, (_, i) => `10.0.${i % 256}.1 - - "GET /p/${i % 97} HTTP/1.1" 200 ${i}`).join('\n'),
  );
  return [Buffer.from('x'), text, randomBytes(300_000), Buffer.concat([text, randomBytes(2_000_000), text])];
}

/** A compressor made while `SLUICE_AGENT_LZ4` is `choice` (the environment is restored afterwards). */
function compressorWith(choice: string | undefined, acceleration?: number): BodyCompressor {
  const before = process.env['SLUICE_AGENT_LZ4'];
  if (choice === undefined) delete process.env['SLUICE_AGENT_LZ4'];
  else process.env['SLUICE_AGENT_LZ4'] = choice;
  try {
    return acceleration === undefined ? new BodyCompressor() : new BodyCompressor(acceleration);
  } finally {
    if (before === undefined) delete process.env['SLUICE_AGENT_LZ4'];
    else process.env['SLUICE_AGENT_LZ4'] = before;
  }
}

/** Which native LZ4 packages built here (both are optional dependencies). */
function built(): { addon: boolean; lz4: boolean } {
  const require = createRequire(import.meta.url);
  let addon = false;
  try {
    addon = existsSync(join(dirname(require.resolve('sluice-lz4/package.json')), 'build/Release/sluice_lz4.node'));
  } catch {
    addon = false;
  }
  let lz4 = true;
  try {
    require.resolve('lz4/build/Release/lz4.node');
  } catch {
    lz4 = false;
  }
  return { addon, lz4 };
}

for (const [impl, acceleration] of [
  ['default', undefined],
  ['default', 1],
  ['default', 1000],
  ['lz4', undefined],
  ['napi', undefined],
] as const) {
  test(`batch bodies are raw LZ4 blocks both decoders read back (${impl}, acceleration ${acceleration ?? 'default'})`, () => {
    const c = compressorWith(impl === 'default' ? undefined : impl, acceleration);
    if (impl === 'napi') assert.equal(c.implementation, 'lz4-napi');
    if (impl === 'lz4') assert.notEqual(c.implementation, 'sluice-lz4 (C)');
    const pool = new BufferPool();
    for (const raw of inputs()) {
      const { view, slab } = c.compress(raw, pool);
      assert.ok(lz4BlockDecompress(view, raw.length).equals(raw), `${c.implementation}: ${raw.length} bytes`);
      assert.ok(lz4BlockDecompressJs(view, raw.length).equals(raw));
      pool.release(slab);
    }
  });
}

test('the fastest native LZ4 that built is the one in use: our addon, then the lz4 package, then lz4-napi', () => {
  const b = built();
  const c = compressorWith(undefined);
  assert.equal(c.implementation, b.addon ? 'sluice-lz4 (C)' : b.lz4 ? 'lz4 (C)' : 'lz4-napi');
  assert.equal(c.acceleration, DEFAULT_LZ4_ACCELERATION);
});

test('the addon passes the acceleration on: a larger one gives a larger block for the same input', (t) => {
  if (!built().addon) {
    t.skip('sluice-lz4 did not build here');
    return;
  }
  const raw = inputs()[3]!;
  const pool = new BufferPool();
  const size = (acceleration: number): number => {
    const { view, slab } = compressorWith(undefined, acceleration).compress(raw, pool);
    const n = view.length;
    pool.release(slab);
    return n;
  };
  const [a1, a8, a1000] = [size(1), size(8), size(1000)];
  assert.ok(a1 < a8 && a8 < a1000, `block sizes at acceleration 1, 8, 1000: ${a1}, ${a8}, ${a1000}`);
});
