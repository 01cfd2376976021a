/** The public surface of the SLS wire layer. Anything not exported here is private to src/protocol/. */
export type { BodyLimits, DecodedBody, EncodedBody } from './body-codec.js';
export {
  DEFAULT_MAX_RAW_BODY_BYTES,
  decodeRequestBody,
  encodeResponseBody,
  inflateLimited,
  parseCompressType,
} from './body-codec.js';
export { decodeCursor, encodeCursor } from './cursor.js';
export type { SlsErrorCode } from './errors.js';
export { isSlsError, SLS_ERROR_STATUS, SlsError } from './errors.js';
export type { HashRange } from './hash-range.js';
export {
  HASH_KEY_MAX,
  HASH_KEY_MIN,
  initialRanges,
  keyInRange,
  md5Key,
  midKey,
  parseHashKey,
  splitKeyValid,
} from './hash-range.js';
export type { JsonLogGroupOptions } from './json-log-group.js';
export { decodeJsonLogGroup } from './json-log-group.js';
export type { Log, LogContent, LogGroup, LogTag, SlsLogPackage } from './log-group.js';
export {
  decodeLogGroup,
  decodeLogGroupList,
  decodeSlsLogPackageList,
  encodeLogGroup,
  encodeLogGroupList,
  splitLogGroupList,
} from './log-group.js';
export type { LogGroupLimits, LogGroupStats } from './log-group-validate.js';
export {
  DEFAULT_LOG_GROUP_LIMITS,
  DEFAULT_MAX_KEY_BYTES,
  DEFAULT_MAX_LOGS_PER_GROUP,
  DEFAULT_MAX_SOURCE_BYTES,
  DEFAULT_MAX_TOPIC_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  MAX_TIME_NS,
  validateLogGroup,
} from './log-group-validate.js';
export { lz4BlockCompress, lz4BlockDecompress, lz4BlockDecompressJs, lz4BlockStore } from './lz4-block.js';
export type { QueryParam } from './query-string.js';
export {
  decodeFormComponent,
  encodeQuery,
  parseQuery,
  queryToRecord,
  rfc3986Encode,
  sortParams,
} from './query-string.js';
export type {
  CanonicalRequestV4Input,
  HeaderValue,
  ParsedAuthorization,
  RequestHeaders,
  SignedRequest,
  SignInput,
  StringToSignV1Input,
  VerifyOptions,
} from './signature.js';
export {
  canonicalRequestV4,
  canonicalResourceV1,
  contentMd5Hex,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  isoBasicDate,
  parseAuthorization,
  parseRequestDate,
  sha256Hex,
  signRequestV1,
  signRequestV4,
  stringToSignV1,
  stringToSignV4,
  verifyRequest,
} from './signature.js';
