/**
 * Stable codes of {@link StoreError}. Operators alert on codes; messages may change.
 */
export const StoreErrorCodes = {
  InvalidUrl: 'INVALID_STORE_URL',
  InvalidArgument: 'INVALID_ARGUMENT',
  Unreachable: 'STORE_UNREACHABLE',
  LockTimeout: 'LOCK_TIMEOUT',
  CorruptFile: 'CORRUPT_FILE',
  Closed: 'STORE_CLOSED',
} as const;

export type StoreErrorCode = (typeof StoreErrorCodes)[keyof typeof StoreErrorCodes];

const messages: Record<StoreErrorCode, (detail: string) => string> = {
  INVALID_STORE_URL: (detail) => `invalid store: ${detail}`,
  INVALID_ARGUMENT: (detail) => `invalid store argument: ${detail}`,
  STORE_UNREACHABLE: (detail) => `store unreachable: ${detail}`,
  LOCK_TIMEOUT: (detail) => `store lock not obtained: ${detail}`,
  CORRUPT_FILE: (detail) => `store file is not valid: ${detail}`,
  STORE_CLOSED: (detail) => `store is closed: ${detail}`,
};

/**
 * Raised by the store: a `QSB_STORE` that names no store, a store that cannot be reached, a file lock
 * that could not be taken, an operation after `close()`. `detail` names the input and what is allowed,
 * and never contains a password.
 */
export class StoreError extends Error {
  public readonly code: StoreErrorCode;
  public readonly detail: string;

  public constructor(code: StoreErrorCode, detail: string, options?: { cause?: unknown }) {
    super(messages[code](detail), options);
    this.code = code;
    this.detail = detail;
  }

  public override get name(): string {
    return `StoreError[${this.code}]`;
  }
}
