/**
 * The SLS error vocabulary: one table pairs each code with its HTTP status. Every failure a client can see is an
 * `SlsError` built from this table, so code, status and docs stay in step (test/unit/protocol/errors-doc.test.ts checks
 * the table against docs/api.md).
 */
export const SLS_ERROR_STATUS = {
  // Request envelope
  MissingAPIVersion: 400,
  InvalidAPIVersion: 400,
  MissingDate: 400,
  InvalidDateFormat: 400,
  RequestTimeExpired: 400,
  MissingBodyRawSize: 400,
  InvalidBodyRawSize: 400,
  InvalidCompressType: 400,
  MissingContentType: 400,
  InvalidContentType: 415,
  MissingContentLength: 411,
  InvalidContentMD5: 400,
  // Auth
  Unauthorized: 401,
  SignatureNotMatch: 401,
  InvalidAccessKeyId: 401,
  // Quota
  WriteQuotaExceed: 403,
  ShardWriteQuotaExceed: 403,
  ReadQuotaExceed: 403,
  ProjectQuotaExceed: 403,
  // Resources
  ProjectNotExist: 404,
  LogStoreNotExist: 404,
  ShardNotExist: 404,
  ProjectAlreadyExist: 400,
  LogStoreAlreadyExist: 400,
  ProjectNotEmpty: 400,
  LogStoreWithoutShard: 400,
  ShardReadOnly: 400,
  // Consumer groups and shippers
  ConsumerGroupAlreadyExist: 400,
  ConsumerGroupNotExist: 404,
  ConsumerNotMatchShard: 400,
  ShipperAlreadyExist: 400,
  ShipperNotExist: 404,
  // Machine groups, Logtail configs, agents
  MachineGroupAlreadyExist: 400,
  MachineGroupNotExist: 404,
  ConfigAlreadyExist: 400,
  ConfigNotExist: 404,
  MachineNotExist: 404,
  // Bodies and parameters
  ParameterInvalid: 400,
  InvalidCursor: 400,
  PostBodyInvalid: 400,
  PostBodyTooLarge: 400,
  PostBodyUncompressError: 400,
  InvalidTimestamp: 400,
  InvalidKey: 400,
  InvalidEncoding: 400,
  InvalidLogSize: 400,
  ProjectInfoInvalid: 400,
  LogStoreInfoInvalid: 400,
  // Index and query
  IndexConfigNotExist: 404,
  IndexAlreadyExist: 400,
  InvalidQueryString: 400,
  InvalidTimeRange: 400,
  InvalidOffset: 400,
  InvalidLine: 400,
  InvalidReverse: 400,
  // Routing and server
  NotFound: 404,
  MethodNotAllowed: 405,
  InternalServerError: 500,
  ServerBusy: 503,
} as const satisfies Record<string, number>;

export type SlsErrorCode = keyof typeof SLS_ERROR_STATUS;

export class SlsError extends Error {
  readonly code: SlsErrorCode;
  readonly status: number;

  constructor(code: SlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlsError';
    this.code = code;
    this.status = SLS_ERROR_STATUS[code];
  }

  toJSON(): { errorCode: string; errorMessage: string } {
    return { errorCode: this.code, errorMessage: this.message };
  }
}

export function isSlsError(err: unknown): err is SlsError {
  return err instanceof SlsError;
}
