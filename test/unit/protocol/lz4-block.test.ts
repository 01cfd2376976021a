import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nginxGroup } from '../../../bench/protocol-fixtures.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import {
  lz4BlockCompress,
  lz4BlockDecompress,
  lz4BlockDecompressInto,
  lz4BlockDecompressJs,
  lz4BlockStore,
  lz4Decoder,
} from '../../../src/protocol/lz4-block.js';
import { throwsSls } from './sls-error-assert.js';

/** Scratch for lz4BlockDecompressInto (PutLogs validation, index builds): every test runs it like the others. */
const scratch = Buffer.alloc(4 * 1024 * 1024);

const DECODERS = [
  ['native', lz4BlockDecompress],
  ['js', lz4BlockDecompressJs],
  ['native into scratch', (src: Uint8Array, n: number) => lz4BlockDecompressInto(src, n, scratch)],
] as const;

const raw = encodeLogGroup(nginxGroup(300));
const block = lz4BlockCompress(raw);

test('compress produces a raw block (no size prefix) that both decoders restore', () => {
  assert.ok(block.length < raw.length / 2, 'log data compresses');
  // A frame would start with the magic 04 22 4d 18; a size-prefixed block with the LE length.
  assert.notEqual(block.readUInt32LE(0), raw.length);
  for (const [name, dec] of DECODERS) assert.deepEqual(dec(block, raw.length), raw, name);
});

test('round trips: empty, tiny, incompressible, highly repetitive, overlapping matches', () => {
  const random = Buffer.alloc(5000);
  let s = 1;
  for (let i = 0; i < random.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    random[i] = s >>> 24;
  }
  for (const input of [
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.from('abcdabcdabcdabcdabcdabcd'),
    random,
    Buffer.alloc(100_000, 7),
  ]) {
    const b = lz4BlockCompress(input);
    for (const [name, dec] of DECODERS) assert.deepEqual(dec(b, input.length), input, `${name} ${input.length}`);
  }
});

test('a literals-only block (what GO sends for incompressible data) decodes', () => {
  for (const n of [0, 1, 14, 15, 16, 269, 270, 271, 1000]) {
    const input = Buffer.alloc(n, 0x41);
    const b = lz4BlockStore(input);
    for (const [name, dec] of DECODERS) assert.deepEqual(dec(b, n), input, `${name} ${n}`);
  }
});

test('declared size mismatch is PostBodyUncompressError (both shorter and longer)', () => {
  for (const [, dec] of DECODERS) {
    throwsSls(() => dec(block, raw.length + 1), 'PostBodyUncompressError');
    throwsSls(() => dec(block, raw.length - 1), 'PostBodyUncompressError');
    throwsSls(() => dec(block, 0), 'PostBodyUncompressError');
    throwsSls(() => dec(block, -1), 'PostBodyUncompressError');
    throwsSls(() => dec(block, 1.5), 'PostBodyUncompressError');
  }
});

test('truncated blocks are PostBodyUncompressError', () => {
  for (const [, dec] of DECODERS) {
    for (const cut of [1, 2, 10, block.length >> 1, block.length - 1]) {
      throwsSls(() => dec(block.subarray(0, cut), raw.length), 'PostBodyUncompressError');
    }
  }
});

test('offsets before the start of the output are rejected, not read', () => {
  // token: 1 literal + match, literal 'a', offset 5 (> 1 byte written so far)
  const bad = Buffer.from([0x10, 0x61, 0x05, 0x00, 0x00]);
  const zero = Buffer.from([0x10, 0x61, 0x00, 0x00, 0x00]);
  for (const [, dec] of DECODERS) {
    throwsSls(() => dec(bad, 10), 'PostBodyUncompressError');
    throwsSls(() => dec(zero, 10), 'PostBodyUncompressError');
  }
});

test('garbage and mutated blocks: both decoders agree, only PostBodyUncompressError, never a crash', () => {
  let seed = 5;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 8;
  };
  const small = encodeLogGroup(nginxGroup(20));
  const smallBlock = lz4BlockCompress(small);
  for (let n = 0; n < 20_000; n++) {
    let src: Buffer;
    let size: number;
    if (n % 2 === 1) {
      src = Buffer.from(smallBlock);
      for (let k = 0; k < 1 + (rnd() % 4); k++) src[rnd() % src.length] = rnd() & 255;
      if (n % 5 === 0) src = src.subarray(0, rnd() % src.length);
      size = n % 3 === 0 ? rnd() % (small.length * 2) : small.length;
    } else {
      src = Buffer.alloc(rnd() % 64);
      for (let i = 0; i < src.length; i++) src[i] = rnd() & 255;
      size = rnd() % 4096;
    }
    const results = DECODERS.map(([, dec]) => {
      try {
        return dec(src, size);
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'PostBodyUncompressError', String(err));
        return 'error';
      }
    });
    assert.deepEqual(results[0], results[1], `case ${n}`);
  }
});

test('lz4BlockDecompressInto: a view of the scratch when it fits (C decoder), a buffer of its own when not', () => {
  const out = lz4BlockDecompressInto(block, raw.length, scratch);
  assert.ok(out.equals(raw));
  if (lz4Decoder === 'lz4 (C)') assert.equal(out.buffer, scratch.buffer, 'decoded into the scratch');
  const small = Buffer.alloc(raw.length - 1);
  const own = lz4BlockDecompressInto(block, raw.length, small);
  assert.ok(own.equals(raw));
  assert.notEqual(own.buffer, small.buffer);
  // A failed decode into the scratch is the same error as any other.
  throwsSls(() => lz4BlockDecompressInto(block.subarray(0, 10), raw.length, scratch), 'PostBodyUncompressError');
});
