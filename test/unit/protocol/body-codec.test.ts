import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { nginxGroup } from '../../../bench/protocol-fixtures.js';
import { decodeRequestBody, encodeResponseBody } from '../../../src/protocol/body-codec.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { lz4BlockCompress, lz4BlockDecompress } from '../../../src/protocol/lz4-block.js';
import { throwsSls } from './sls-error-assert.js';

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

test('zstd and unknown compress types are InvalidCompressType', () => {
  throwsSls(() => decodeRequestBody(raw, 'zstd', '10', limits), 'InvalidCompressType', /zstd/);
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
  assert.equal(encodeResponseBody(raw, 'zstd, deflate;q=0.5, lz4').compressType, 'deflate');
  assert.equal(encodeResponseBody(raw, ' LZ4 ,deflate').compressType, 'lz4');
});
