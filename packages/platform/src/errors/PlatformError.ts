/** Stable codes of {@link PlatformError}. Operators alert on codes; messages may change. */
export const PlatformErrorCodes = {
  /** HEROKU_API_KEY or another required setting is missing or malformed. */
  InvalidConfiguration: 'INVALID_CONFIGURATION',
  /** An app name the pipeline does not know, or that the platform does not have. */
  UnknownApp: 'UNKNOWN_APP',
  /** A git ref that does not name a commit. */
  UnknownRef: 'UNKNOWN_REF',
  /** The platform answered with an error (Heroku's `{id, message}`, shown in one line). */
  Api: 'API_ERROR',
  /** The request budget is spent (HTTP 429, or `RateLimit-Remaining` at 0 for too long). */
  RateLimited: 'RATE_LIMITED',
  /** A build ended `failed`. */
  BuildFailed: 'BUILD_FAILED',
  /** A release ended `failed`, or its processes never came up. */
  ReleaseFailed: 'RELEASE_FAILED',
  /** There is no earlier release to roll back to, or no build to copy. */
  NothingToDo: 'NOTHING_TO_DO',
  /** Waiting for something (a build, readiness) took longer than allowed. */
  Timeout: 'TIMEOUT',
} as const;

/** One of {@link PlatformErrorCodes}. */
export type PlatformErrorCode = (typeof PlatformErrorCodes)[keyof typeof PlatformErrorCodes];

const messages: Record<PlatformErrorCode, (detail: string) => string> = {
  INVALID_CONFIGURATION: (detail) => `invalid platform configuration: ${detail}`,
  UNKNOWN_APP: (detail) => `unknown app: ${detail}`,
  UNKNOWN_REF: (detail) => `unknown git ref: ${detail}`,
  API_ERROR: (detail) => `platform API error: ${detail}`,
  RATE_LIMITED: (detail) => `rate limited: ${detail}`,
  BUILD_FAILED: (detail) => `build failed: ${detail}`,
  RELEASE_FAILED: (detail) => `release failed: ${detail}`,
  NOTHING_TO_DO: (detail) => `nothing to do: ${detail}`,
  TIMEOUT: (detail) => `timed out: ${detail}`,
};

/**
 * Raised by every platform for what an operator must act on. `detail` names the input or the answer
 * that was wrong; `status` is the HTTP status when the platform answered one.
 */
export class PlatformError extends Error {
  public readonly code: PlatformErrorCode;
  public readonly detail: string;
  public readonly status: number | undefined;

  public constructor(code: PlatformErrorCode, detail: string, status?: number) {
    super(messages[code](detail));
    this.code = code;
    this.detail = detail;
    this.status = status;
  }

  public override get name(): string {
    return `PlatformError[${this.code}]`;
  }
}
