/**
 * Request and response body compression (sls-api.md §3.1, §3.3, §4).
 *
 * Every size limit is enforced before the output buffer exists: LZ4 gets its exact size from `x-log-bodyrawsize`
 * (checked against the limit first), and zlib is capped with `maxOutputLength`, so neither a lying header nor a
 * deflate bomb can make the server allocate more than `maxRawBytes`.
 *
 * zstd (SLS accepts lz4, deflate and zstd) goes through `zstd-napi`, built from source at install (the segment
 * store already needs it). Its output buffer is sized before decoding — from `x-log-bodyrawsize`, else the frames'
 * declared content size, else the limit — and one-shot decoding into it fails rather than grows, so a zstd bomb is
 * refused without the memory.
 */
import { deflateSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { Compressor } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import type { SentCodec } from '../storage/shard-log/shard-log.js';
import { SlsError } from './errors.js';
import { lz4BlockCompress, lz4BlockDecompress, lz4BlockDecompressInto } from './lz4-block.js';

export interface BodyLimits {
  /** Largest accepted body once decompressed, in bytes. */
  readonly maxRawBytes: number;
}

/** sls-api.md §8: PutLogs bodies are ≤ 10 MB raw. */
export const DEFAULT_MAX_RAW_BODY_BYTES = 10 * 1024 * 1024;

export interface DecodedBody {
  /** The uncompressed body. */
  readonly raw: Buffer;
  /** How the received body was compressed (store the received bytes with this codec). */
  readonly codec: SentCodec;
}

const RAW_SIZE = /^[0-9]{1,15}$/;

function parseRawSize(header: string | undefined, limits: BodyLimits): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (!RAW_SIZE.test(text)) throw new SlsError('InvalidBodyRawSize', `invalid x-log-bodyrawsize "${header}"`);
  const n = Number(text);
  if (n > limits.maxRawBytes) {
    throw new SlsError('PostBodyTooLarge', `x-log-bodyrawsize ${n} is over the limit of ${limits.maxRawBytes} bytes`);
  }
  return n;
}

function tooLarge(size: number, limits: BodyLimits): SlsError {
  return new SlsError('PostBodyTooLarge', `body of ${size} bytes is over the limit of ${limits.maxRawBytes} bytes`);
}

/** Normalizes `x-log-compresstype`; `undefined` and `''` mean plain. */
export function parseCompressType(header: string | undefined): SentCodec {
  const t = header?.trim().toLowerCase() ?? '';
  switch (t) {
    case '':
    case 'none':
      return 'none';
    case 'lz4':
      return 'lz4';
    case 'deflate':
      return 'deflate';
    case 'zstd':
      return 'zstd';
    default:
      throw new SlsError('InvalidCompressType', `unsupported x-log-compresstype "${header}"; use lz4, deflate or zstd`);
  }
}

/** Inflates a zlib stream, refusing to produce more than `max` bytes. */
export function inflateLimited(body: Uint8Array, max: number, limits: BodyLimits): Buffer {
  try {
    // maxOutputLength must be ≥ 1.
    return inflateSync(body, { maxOutputLength: Math.max(max, 1) });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SlsError('PostBodyTooLarge', `deflate body inflates past the limit of ${limits.maxRawBytes} bytes`, {
        cause: err,
      });
    }
    throw new SlsError('PostBodyUncompressError', 'deflate body is not a valid zlib stream', { cause: err });
  }
}

/**
 * Decodes a PutLogs body per `x-log-compresstype` / `x-log-bodyrawsize`. `lz4` requires the raw size header
 * (`MissingBodyRawSize`) and must decode to exactly that many bytes; `deflate` only uses it as an upper bound
 * (clients are sloppy with it); a plain body ignores it.
 */
export function decodeRequestBody(
  body: Buffer,
  compressType: string | undefined,
  rawSizeHeader: string | undefined,
  limits: BodyLimits,
  scratch?: Buffer,
): DecodedBody {
  const codec = parseCompressType(compressType);
  switch (codec) {
    case 'none':
      if (body.length > limits.maxRawBytes) throw tooLarge(body.length, limits);
      return { raw: body, codec };
    case 'lz4': {
      if (rawSizeHeader === undefined) {
        throw new SlsError('MissingBodyRawSize', 'x-log-bodyrawsize is required with x-log-compresstype lz4');
      }
      const rawSize = parseRawSize(rawSizeHeader, limits)!;
      // With `scratch` (PutLogs: the bytes are only validated), an lz4 body is decoded into it: `raw` is then a view
      // of it, valid until the caller's next decode.
      return {
        raw: scratch ? lz4BlockDecompressInto(body, rawSize, scratch) : lz4BlockDecompress(body, rawSize),
        codec,
      };
    }
    case 'deflate': {
      const rawSize = parseRawSize(rawSizeHeader, limits);
      // A header of 0 is what sloppy clients send for "unknown"; only a positive size can tighten the cap.
      const raw = inflateLimited(body, limits.maxRawBytes, limits);
      if (rawSize !== undefined && rawSize > 0 && raw.length !== rawSize) {
        throw new SlsError(
          'PostBodyUncompressError',
          `deflate body inflates to ${raw.length} bytes, but x-log-bodyrawsize says ${rawSize}`,
        );
      }
      return { raw, codec };
    }
    case 'zstd':
      return { raw: zstdDecompressLimited(body, parseRawSize(rawSizeHeader, limits), limits), codec };
  }
}

const zstdDctx = new zstdBinding.DCtx();

/** The frames' total declared content size, or null when a frame does not declare it (or the body is not zstd). */
function zstdDeclaredSize(body: Uint8Array): number | null {
  let total = 0;
  let frame = body;
  try {
    while (frame.length > 0) {
      const size = zstdBinding.getFrameContentSize(frame);
      if (size === null) return null;
      total += size;
      frame = frame.subarray(zstdBinding.findFrameCompressedSize(frame));
    }
  } catch {
    return null;
  }
  return total;
}

/**
 * Decodes zstd frames into a buffer sized up front. A positive `x-log-bodyrawsize` must be exact (as for lz4); 0 or
 * absent means unknown, and the declared frame size, else the limit, bounds the output.
 */
export function zstdDecompressLimited(body: Uint8Array, rawSize: number | undefined, limits: BodyLimits): Buffer {
  const declared = zstdDeclaredSize(body);
  if (declared !== null && declared > limits.maxRawBytes) {
    throw new SlsError(
      'PostBodyTooLarge',
      `zstd body declares ${declared} bytes, over the limit of ${limits.maxRawBytes}`,
    );
  }
  const known = rawSize !== undefined && rawSize > 0 ? rawSize : undefined;
  if (known !== undefined && declared !== null && declared !== known) {
    throw new SlsError(
      'PostBodyUncompressError',
      `zstd body declares ${declared} bytes, but x-log-bodyrawsize says ${known}`,
    );
  }
  const capacity = known ?? declared ?? limits.maxRawBytes;
  // One spare byte: output that fills the whole buffer of an unknown size may have been cut.
  const out = Buffer.allocUnsafe(known === undefined && declared === null ? capacity + 1 : Math.max(capacity, 1));
  let n: number;
  try {
    n = zstdDctx.decompress(out, body);
  } catch (err) {
    if (/too small/i.test((err as Error).message) && known === undefined && declared === null) {
      throw new SlsError('PostBodyTooLarge', `zstd body decompresses past the limit of ${limits.maxRawBytes} bytes`, {
        cause: err,
      });
    }
    throw new SlsError('PostBodyUncompressError', 'body is not valid zstd data of the declared size', { cause: err });
  }
  if (n > capacity) {
    throw new SlsError('PostBodyTooLarge', `zstd body decompresses past the limit of ${limits.maxRawBytes} bytes`);
  }
  if (known !== undefined && n !== known) {
    throw new SlsError(
      'PostBodyUncompressError',
      `zstd body decompresses to ${n} bytes, but x-log-bodyrawsize says ${known}`,
    );
  }
  return out.subarray(0, n);
}

export interface EncodedBody {
  readonly body: Buffer;
  /** Set when compressed: send as `x-log-compresstype` (and the raw length as `x-log-bodyrawsize`). */
  readonly compressType?: 'lz4' | 'deflate' | 'zstd';
}

const zstdResponses = new Compressor();
// Level 1: responses are made per request; higher levels cost more CPU than they save on the loopback or a LAN.
zstdResponses.setParameters({ compressionLevel: 1 });

/**
 * Compresses a response body (PullLogs, GetLogsV2) with the client's first supported `Accept-Encoding` entry
 * (`lz4`, `deflate`, `zstd`); `""`, absent, or only unsupported encodings mean plain.
 */
export function encodeResponseBody(raw: Buffer, acceptEncoding: string | undefined): EncodedBody {
  if (acceptEncoding === undefined) return { body: raw };
  for (const entry of acceptEncoding.split(',')) {
    const name = entry.split(';')[0]!.trim().toLowerCase();
    if (name === 'lz4') return { body: lz4BlockCompress(raw), compressType: 'lz4' };
    // Level 1: responses are made per request and the network win of higher levels is small on log data.
    if (name === 'deflate') {
      return { body: deflateSync(raw, { level: zlibConstants.Z_BEST_SPEED }), compressType: 'deflate' };
    }
    if (name === 'zstd') return { body: zstdResponses.compress(raw), compressType: 'zstd' };
  }
  return { body: raw };
}
