/**
 * Stable codes of {@link ShardingError}. Operators alert on codes; messages may change.
 */
export const ShardingErrorCodes = {
  InvalidEnvironment: 'INVALID_ENVIRONMENT',
  InvalidOption: 'INVALID_OPTION',
  InvalidSnowflake: 'INVALID_SNOWFLAKE',
} as const;

export type ShardingErrorCode = (typeof ShardingErrorCodes)[keyof typeof ShardingErrorCodes];

const messages: Record<ShardingErrorCode, (detail: string) => string> = {
  INVALID_ENVIRONMENT: (detail) => `invalid environment: ${detail}`,
  INVALID_OPTION: (detail) => `invalid sharding option: ${detail}`,
  INVALID_SNOWFLAKE: (detail) => `invalid snowflake: ${detail}`,
};

/**
 * Raised for input that cannot be planned: a malformed environment variable, an option out of range,
 * a guild id that is not a snowflake. `detail` names the input, the value and what is allowed.
 */
export class ShardingError extends Error {
  public readonly code: ShardingErrorCode;
  public readonly detail: string;

  public constructor(code: ShardingErrorCode, detail: string) {
    super(messages[code](detail));
    this.code = code;
    this.detail = detail;
  }

  public override get name(): string {
    return `ShardingError[${this.code}]`;
  }
}
