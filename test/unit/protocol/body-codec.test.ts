import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { compress, decompress } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { nginxGroup } from '../../../bench/protocol-fixtures.js';
import { decodeRequestBody, encodeResponseBody } from '../../../src/protocol/body-codec.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress, lz4BlockDecompress } from '../../../src/protocol/lz4-block.js';
import { throwsSls } from './sls-error-assert.js';

/** A zstd frame written by the streaming API, which leaves its content size out of the header. */
function zstdStreamed(data: Buffer): Buffer {
  const cctx = new zstdBinding.CCtx();
  const out = Buffer.alloc(data.length + 1024);
  let produced = 0;
  // Two calls: a first flush before the end leaves the frame's content size unknown.
  const half = data.length >> 1;
  for (const [src, op] of [
    [data.subarray(0, half), zstdBinding.EndDirective.flush],
    [data.subarray(half), zstdBinding.EndDirective.end],
  ] as const) {
    let input = src;
    for (;;) {
      const [left, wrote, read] = cctx.compressStream2(out.subarray(produced), input, op);
      produced += wrote;
      input = input.subarray(read);
      if (left === 0 && input.length === 0) break;
    }
  }
  assert.equal(zstdBinding.getFrameContentSize(out.subarray(0, produced)), null);
  return out.subarray(0, produced);
}

const raw = encodeLogGroup(nginxGroup(100));
const limits = { maxRawBytes: 10 * 1024 * 1024 };

test('plain bodies pass through (raw size header ignored: clients are sloppy with it)', () => {
  for (const ct of [undefined, '', 'none']) {
    const d = decodeRequestBody(raw, ct, '0', limits);
    assert.equal(d.raw, raw);
    assert.equal(d.codec, 'none');
  }
  throwsSls(() => decodeRequestBody(raw, undefined, undefined, { maxRawBytes: raw.length - 1 }), 'PostBodyTooLarge');
});

test('lz4: needs a valid x-log-bodyrawsize, checked against the limit before decoding', () => {
  const body = lz4BlockCompress(raw);
  const d = decodeRequestBody(body, 'lz4', String(raw.length), limits);
  assert.deepEqual(d.raw, raw);
  assert.equal(d.codec, 'lz4');
  assert.deepEqual(decodeRequestBody(body, 'LZ4', ` ${raw.length} `, limits).raw, raw);
  throwsSls(() => decodeRequestBody(body, 'lz4', undefined, limits), 'MissingBodyRawSize');
  for (const bad of ['', 'abc', '-1', '1.5', '1e6', '99999999999999999999']) {
    throwsSls(() => decodeRequestBody(body, 'lz4', bad, limits), 'InvalidBodyRawSize');
  }
  // 9 GB declared: rejected by the limit, not by trying to allocate it.
  throwsSls(() => decodeRequestBody(body, 'lz4', '9000000000', limits), 'PostBodyTooLarge');
  throwsSls(
    () => decodeRequestBody(body, 'lz4', String(raw.length), { maxRawBytes: raw.length - 1 }),
    'PostBodyTooLarge',
  );
  throwsSls(() => decodeRequestBody(body, 'lz4', String(raw.length + 1), limits), 'PostBodyUncompressError');
  throwsSls(() => decodeRequestBody(Buffer.from('garbage!'), 'lz4', '100', limits), 'PostBodyUncompressError');
});

test('deflate (zlib stream, aliyun-sdk): decoded, size cross-checked when given', () => {
  const body = deflateSync(raw);
  assert.deepEqual(decodeRequestBody(body, 'deflate', String(raw.length), limits).raw, raw);
  assert.deepEqual(decodeRequestBody(body, 'deflate', undefined, limits).raw, raw);
  assert.deepEqual(decodeRequestBody(body, 'deflate', '0', limits).raw, raw);
  assert.equal(decodeRequestBody(body, 'deflate', undefined, limits).codec, 'deflate');
  throwsSls(() => decodeRequestBody(body, 'deflate', String(raw.length - 1), limits), 'PostBodyUncompressError');
  throwsSls(() => decodeRequestBody(Buffer.from('not zlib'), 'deflate', undefined, limits), 'PostBodyUncompressError');
  throwsSls(
    () => decodeRequestBody(body.subarray(0, body.length - 8), 'deflate', undefined, limits),
    'PostBodyUncompressError',
  );
});

test('deflate bomb: 64 MB of zeros in ~64 KB is cut off at the limit', () => {
  const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  assert.ok(bomb.length < 100 * 1024);
  const before = process.memoryUsage().arrayBuffers;
  throwsSls(() => decodeRequestBody(bomb, 'deflate', undefined, { maxRawBytes: 1024 * 1024 }), 'PostBodyTooLarge');
  // The declared size alone is enough to refuse.
  throwsSls(
    () => decodeRequestBody(bomb, 'deflate', String(64 * 1024 * 1024), { maxRawBytes: 1024 * 1024 }),
    'PostBodyTooLarge',
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 * 1024 * 1024);
});

test('zstd bodies decode exactly, with or without x-log-bodyrawsize, in one frame or several', () => {
  const z = compress(raw);
  for (const size of [String(raw.length), '0', undefined]) {
    const d = decodeRequestBody(z, 'zstd', size, limits);
    assert.deepEqual(d.raw, raw);
    assert.equal(d.codec, 'zstd');
  }
  const half = raw.length >> 1;
  const twoFrames = Buffer.concat([compress(raw.subarray(0, half)), compress(raw.subarray(half))]);
  assert.deepEqual(decodeRequestBody(twoFrames, 'zstd', String(raw.length), limits).raw, raw);
});

test('zstd: wrong sizes, garbage and bombs are refused before the memory is spent', () => {
  const z = compress(raw);
  throwsSls(() => decodeRequestBody(z, 'zstd', String(raw.length + 1), limits), 'PostBodyUncompressError');
  throwsSls(() => decodeRequestBody(z, 'zstd', String(raw.length - 1), limits), 'PostBodyUncompressError');
  throwsSls(() => decodeRequestBody(raw, 'zstd', String(raw.length), limits), 'PostBodyUncompressError');
  throwsSls(() => decodeRequestBody(z.subarray(0, z.length - 3), 'zstd', undefined, limits), 'PostBodyUncompressError');
  // 64 MiB of zeros declares its size in the frame: refused from the header alone.
  const before = process.memoryUsage().arrayBuffers;
  const bomb = compress(Buffer.alloc(64 * 1024 * 1024));
  throwsSls(() => decodeRequestBody(bomb, 'zstd', undefined, { maxRawBytes: 1024 * 1024 }), 'PostBodyTooLarge');
  throwsSls(
    () => decodeRequestBody(bomb, 'zstd', String(64 * 1024 * 1024), { maxRawBytes: 1024 * 1024 }),
    'PostBodyTooLarge',
  );
  // A streamed frame declares no size: decoding stops at the limit.
  const streamed = zstdStreamed(Buffer.alloc(4 * 1024 * 1024));
  throwsSls(() => decodeRequestBody(streamed, 'zstd', undefined, { maxRawBytes: 1024 * 1024 }), 'PostBodyTooLarge');
  assert.equal(decodeRequestBody(streamed, 'zstd', undefined, limits).raw.length, 4 * 1024 * 1024);
  assert.ok(process.memoryUsage().arrayBuffers - before < 96 * 1024 * 1024);
});

test('unknown compress types are InvalidCompressType', () => {
  throwsSls(() => decodeRequestBody(raw, 'gzip', '10', limits), 'InvalidCompressType', /gzip/);
  throwsSls(() => decodeRequestBody(raw, 'snappy', '10', limits), 'InvalidCompressType');
});

test('encodeResponseBody honours the first supported Accept-Encoding', () => {
  assert.deepEqual(encodeResponseBody(raw, undefined), { body: raw });
  assert.deepEqual(encodeResponseBody(raw, ''), { body: raw });
  assert.deepEqual(encodeResponseBody(raw, 'gzip, br'), { body: raw });
  const lz = encodeResponseBody(raw, 'lz4');
  assert.equal(lz.compressType, 'lz4');
  assert.deepEqual(lz4BlockDecompress(lz.body, raw.length), raw);
  const df = encodeResponseBody(raw, 'deflate');
  assert.equal(df.compressType, 'deflate');
  assert.deepEqual(inflateSync(df.body), raw);
  // First supported wins; unsupported entries and q-values are skipped.
  assert.equal(encodeResponseBody(raw, 'br, deflate;q=0.5, lz4').compressType, 'deflate');
  const zs = encodeResponseBody(raw, 'zstd, lz4');
  assert.equal(zs.compressType, 'zstd');
  assert.deepEqual(decompress(zs.body), raw);
  assert.equal(encodeResponseBody(raw, ' LZ4 ,deflate').compressType, 'lz4');
});
