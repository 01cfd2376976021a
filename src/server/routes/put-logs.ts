import { decodeRequestBody } from '../../protocol/body-codec.js';
import { SlsError } from '../../protocol/errors.js';
import { parseHashKey } from '../../protocol/hash-range.js';
import { decodeJsonLogGroup } from '../../protocol/json-log-group.js';
import { decodeSlsLogPackageList, encodeLogGroup } from '../../protocol/log-group.js';
import { DEFAULT_LOG_GROUP_LIMITS, type LogGroupLimits, validateLogGroup } from '../../protocol/log-group-validate.js';
import { lz4BlockCompress } from '../../protocol/lz4-block.js';
import { type AppendEntry, idempotencyIdProblem, type PayloadCodec } from '../../storage/shard-log/shard-log.js';
import type { RequestContext, Router } from '../router.js';
import type { RouteDeps } from './deps.js';
import { requireHostProject } from './projects.js';

/**
 * PutLogs: `/logstores/{ls}/shards/lb` (any shard), `/logstores/{ls}/shards/route?key=<hash>` (the shard owning the
 * hash), and `POST /logstores/{ls}` (the same, as the JSON form and web-tracking STS clients send it). The body is
 * decompressed and validated whole before anything is written, then stored as it arrived (LZ4 stays LZ4).
 *
 * Sluice extension: `x-log-idempotency-id` (1-128 printable ASCII characters, no space) makes a write idempotent
 * within its logstore. A batch whose id is already stored is not stored again; the answer is the same empty 200 plus
 * `x-log-idempotent-replay: 1`. A batch_group body (several LogGroups) counts as one batch: the id covers all of its
 * packages, stored or replayed together (LogService.put keeps it with the last record).
 */
export function registerPutLogsRoutes(router: Router, deps: RouteDeps): void {
  const { limits } = deps;
  const groupLimits: LogGroupLimits = {
    ...DEFAULT_LOG_GROUP_LIMITS,
    maxLogsPerGroup: limits.maxLogsPerGroup,
    maxValueBytes: limits.maxValueBytes,
  };
  const put = async (ctx: RequestContext, hashKey: string | undefined) => {
    const project = requireHostProject(ctx);
    const idempotencyId = idempotencyIdOf(ctx);
    const entries = decodeEntries(ctx, limits.maxRawBodyBytes, groupLimits);
    const result = await deps.service.put(project, ctx.params['logstore']!, entries, hashKey, idempotencyId);
    return result.replay ? { headers: { [REPLAY_HEADER]: '1' } } : {};
  };
  const maxBodyBytes = limits.maxBodyBytes;

  router.add({
    method: 'POST',
    pattern: '/logstores/:logstore/shards/lb',
    maxBodyBytes,
    handle: (ctx) => put(ctx, optionalHashKey(header(ctx, 'x-log-hashkey'))),
  });
  router.add({
    method: 'POST',
    pattern: '/logstores/:logstore/shards/route',
    maxBodyBytes,
    handle: (ctx) => {
      const key = ctx.query['key'] ?? header(ctx, 'x-log-hashkey');
      if (key === undefined || key === '') throw new SlsError('ParameterInvalid', 'route needs key=<32 hex chars>');
      return put(ctx, parseHashKey(key));
    },
  });
  router.add({
    method: 'POST',
    pattern: '/logstores/:logstore',
    maxBodyBytes,
    handle: (ctx) => put(ctx, optionalHashKey(header(ctx, 'x-log-hashkey'))),
  });
}

const IDEMPOTENCY_HEADER = 'x-log-idempotency-id';
const REPLAY_HEADER = 'x-log-idempotent-replay';

/** The request's idempotency id; absent is fine, present but malformed is refused before anything is decoded. */
function idempotencyIdOf(ctx: RequestContext): string | undefined {
  const raw = ctx.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  // Node joins a repeated header with ", ", which the no-space rule refuses; an array is taken the same way.
  const id = Array.isArray(raw) ? raw.join(', ') : raw;
  const problem = idempotencyIdProblem(id);
  if (problem !== undefined) throw new SlsError('ParameterInvalid', `${IDEMPOTENCY_HEADER} ${problem}`);
  return id;
}

/** Turns the request body into the records to append, validating every LogGroup in it. */
function decodeEntries(ctx: RequestContext, maxRawBytes: number, groupLimits: LogGroupLimits): AppendEntry[] {
  const contentType = (header(ctx, 'content-type') ?? '').toLowerCase();
  const compressType = header(ctx, 'x-log-compresstype');
  const rawSize = header(ctx, 'x-log-bodyrawsize');
  if (ctx.body.length === 0) throw new SlsError('PostBodyInvalid', 'PutLogs body is empty');

  if (contentType.startsWith('application/json')) {
    const { raw } = decodeRequestBody(ctx.body, compressType, rawSize, { maxRawBytes });
    const group = encodeLogGroup(decodeJsonLogGroup(raw));
    checkGroup(group, groupLimits);
    return [{ payload: group, codec: 'none', rawSize: group.length }];
  }
  if (contentType !== '' && !contentType.startsWith('application/x-protobuf')) {
    throw new SlsError(
      'InvalidContentType',
      `Content-Type ${contentType} is not supported; use application/x-protobuf or application/json`,
    );
  }
  if (contentType === '')
    throw new SlsError('MissingContentType', 'PutLogs needs Content-Type application/x-protobuf or application/json');

  if (header(ctx, 'x-log-mode') === 'batch_group') {
    // The body is an uncompressed SlsLogPackageList; each package is one LogGroup compressed on its own.
    const packages = decodeSlsLogPackageList(ctx.body);
    if (packages.length === 0) throw new SlsError('PostBodyInvalid', 'batch_group body holds no package');
    let total = 0;
    return packages.map((p) => {
      const codec: PayloadCodec = p.compressType ?? 'lz4';
      const size = codec === 'none' ? p.data.length : p.uncompressSize;
      total += size ?? 0;
      if (total > maxRawBytes)
        throw new SlsError('PostBodyTooLarge', `batch is over the limit of ${maxRawBytes} raw bytes`);
      const { raw } = decodeRequestBody(
        Buffer.from(p.data.buffer, p.data.byteOffset, p.data.length),
        codec === 'none' ? undefined : codec,
        size === undefined ? undefined : String(size),
        { maxRawBytes },
        scratchFor(size),
      );
      checkGroup(raw, groupLimits);
      return storedEntry(p.data, codec, raw);
    });
  }

  const { raw, codec } = decodeRequestBody(ctx.body, compressType, rawSize, { maxRawBytes }, scratchFor(rawSize));
  checkGroup(raw, groupLimits);
  return [storedEntry(ctx.body, codec, raw)];
}

/** Bodies decoded only to be validated (lz4: the record keeps the bytes as sent) are decoded into this buffer. */
let scratch = Buffer.alloc(0);
const MAX_SCRATCH = 16 * 1024 * 1024;

/**
 * The scratch buffer for a body of `rawSize` (header text) raw bytes, grown when needed up to MAX_SCRATCH; larger
 * bodies get a buffer of their own. Everything that reads the decoded bytes runs before the handler yields.
 */
function scratchFor(rawSize: string | undefined | number): Buffer | undefined {
  const n = Number(rawSize);
  if (!Number.isSafeInteger(n) || n <= 0 || n > MAX_SCRATCH) return undefined;
  if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH, Math.max(n, 2 * scratch.length)));
  return scratch;
}

/** Validates one LogGroup; an empty one is refused rather than stored as a record that holds nothing. */
function checkGroup(raw: Uint8Array, limits: LogGroupLimits): void {
  const stats = validateLogGroup(raw, limits);
  if (stats.logCount === 0) throw new SlsError('PostBodyInvalid', 'the LogGroup holds no log');
}

/**
 * LZ4 and plain bodies are kept as sent; deflate and zstd bodies are stored as LZ4 of the decoded LogGroup, so
 * readers (PullLogs, the index builders) only ever meet LZ4 or plain records, at LZ4's size on disk.
 */
function storedEntry(sent: Uint8Array, codec: PayloadCodec, raw: Uint8Array): AppendEntry {
  if (codec === 'lz4' || codec === 'none') return { payload: sent, codec, rawSize: raw.length };
  return { payload: lz4BlockCompress(raw), codec: 'lz4', rawSize: raw.length };
}

function optionalHashKey(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : parseHashKey(value);
}

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
