/**
 * Error replies of the MongoDB simulator: `{ ok: 0, errmsg, code, codeName }` with the server's own codes, from the
 * manual's "Error Codes" page (https://www.mongodb.com/docs/manual/reference/error-codes/).
 */
export const ErrorCodes = {
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  CursorNotFound: 43,
  NoMatchingDocument: 47,
  NamespaceExists: 48,
  CommandNotFound: 59,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  NoReplicationEnabled: 76,
  NotYetInitialized: 94,
  SnapshotTooOld: 239,
  NoSuchTransaction: 251,
  InvalidResumeToken: 260,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
  Location40573: 40573,
  Location51770: 51770,
  DuplicateKey: 11000,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;

/** A command failure the simulator reports to the client as an error reply. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly code: number;

  constructor(
    readonly codeName: ErrorCodeName,
    message: string,
    readonly errorLabels: readonly string[] = [],
  ) {
    super(message);
    this.code = ErrorCodes[codeName];
  }
}
