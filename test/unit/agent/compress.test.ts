import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { BufferPool } from '../../../src/agent/send/buffer-pool.js';
import { BodyCompressor } from '../../../src/agent/send/compress.js';
import { lz4BlockDecompress, lz4BlockDecompressJs } from '../../../src/protocol/lz4-block.js';

function inputs(): Buffer[] {
  const text = Buffer.from(
    Array.from({ length: 6000 }, (_, i) => `10.0.${i % 256}.1 - - "GET /p/${i % 97} HTTP/1.1" 200 ${i}`).join('\n'),
  );
  return [Buffer.from('x'), text, randomBytes(300_000), Buffer.concat([text, randomBytes(2_000_000), text])];
}

for (const impl of ['default', 'napi'] as const) {
  test(`batch bodies are raw LZ4 blocks both decoders read back (${impl})`, () => {
    const before = process.env['SLUICE_AGENT_LZ4'];
    if (impl === 'napi') process.env['SLUICE_AGENT_LZ4'] = 'napi';
    const c = new BodyCompressor();
    if (before === undefined) delete process.env['SLUICE_AGENT_LZ4'];
    else process.env['SLUICE_AGENT_LZ4'] = before;
    if (impl === 'napi') assert.equal(c.implementation, 'lz4-napi');
    const pool = new BufferPool();
    for (const raw of inputs()) {
      const { view, slab } = c.compress(raw, pool);
      assert.ok(lz4BlockDecompress(view, raw.length).equals(raw), `${c.implementation}: ${raw.length} bytes`);
      assert.ok(lz4BlockDecompressJs(view, raw.length).equals(raw));
      pool.release(slab);
    }
  });
}

test('the reference C LZ4 is the one in use where the optional package built', () => {
  let built = true;
  try {
    // Same load as compress.ts: the binding alone.
    createRequire(import.meta.url).resolve('lz4/build/Release/lz4.node');
  } catch {
    built = false;
  }
  const expected = built && process.env['SLUICE_AGENT_LZ4'] !== 'napi' ? 'lz4 (C)' : 'lz4-napi';
  assert.equal(new BodyCompressor().implementation, expected);
});
