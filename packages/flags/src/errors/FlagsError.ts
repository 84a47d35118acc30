/**
 * Stable codes of {@link FlagsError}. Operators alert on codes; messages may change.
 */
export const FlagsErrorCodes = {
  InvalidFile: 'INVALID_FILE',
  InvalidEnvironment: 'INVALID_ENVIRONMENT',
  InvalidOption: 'INVALID_OPTION',
  MetricRegistered: 'METRIC_REGISTERED',
} as const;

export type FlagsErrorCode = (typeof FlagsErrorCodes)[keyof typeof FlagsErrorCodes];

const messages: Record<FlagsErrorCode, (detail: string) => string> = {
  INVALID_FILE: (detail) => `invalid flags file: ${detail}`,
  INVALID_ENVIRONMENT: (detail) => `invalid environment: ${detail}`,
  INVALID_OPTION: (detail) => `invalid flags option: ${detail}`,
  METRIC_REGISTERED: (detail) => `metric already registered: ${detail}`,
};

/**
 * Raised for input the flags client cannot use: a flags file that is not Unleash's feature format,
 * a malformed `UNLEASH_*` variable, an option out of range. `detail` names the input, the value and
 * what is allowed.
 */
export class FlagsError extends Error {
  public readonly code: FlagsErrorCode;
  public readonly detail: string;

  public constructor(code: FlagsErrorCode, detail: string) {
    super(messages[code](detail));
    this.code = code;
    this.detail = detail;
  }

  public override get name(): string {
    return `FlagsError[${this.code}]`;
  }
}
