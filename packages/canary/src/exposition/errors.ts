/** Stable codes of {@link CanaryError}; operators and tests match on these, messages may change. */
export const CanaryErrorCodes = {
  MalformedExposition: 'MalformedExposition',
  MalformedRecording: 'MalformedRecording',
  InvalidConfig: 'InvalidConfig',
  ScrapeFailed: 'ScrapeFailed',
  QueryFailed: 'QueryFailed',
} as const;
export type CanaryErrorCode = (typeof CanaryErrorCodes)[keyof typeof CanaryErrorCodes];

/** An error of the canary judge's inputs (metrics text, recordings, configuration, sources). */
export class CanaryError extends Error {
  public readonly code: CanaryErrorCode;

  public constructor(code: CanaryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  public override get name(): string {
    return `CanaryError[${this.code}]`;
  }
}
