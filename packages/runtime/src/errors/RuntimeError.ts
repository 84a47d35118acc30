/** Stable codes of {@link RuntimeError}: operators alert on these, messages may change. */
export const RuntimeErrorCodes = {
  /** An environment variable is malformed or missing. */
  InvalidEnvironment: 'INVALID_ENVIRONMENT',
  /** The file `FLAGS_FILE` names cannot be read. */
  FlagsFileMissing: 'FLAGS_FILE_MISSING',
  /** Discord refused `DISCORD_TOKEN`. */
  TokenRejected: 'TOKEN_REJECTED',
  /** Discord closed a shard with a code that forbids reconnecting (4004, 4010-4014). */
  FatalClose: 'FATAL_CLOSE',
  /** An option passed to the runtime by code is invalid. */
  InvalidOption: 'INVALID_OPTION',
} as const;

/** One of {@link RuntimeErrorCodes}. */
export type RuntimeErrorCode = (typeof RuntimeErrorCodes)[keyof typeof RuntimeErrorCodes];

/** What each code means, prefixed to the detail of every message. */
const Messages: Record<RuntimeErrorCode, string> = {
  INVALID_ENVIRONMENT: 'invalid environment',
  FLAGS_FILE_MISSING: 'invalid environment: FLAGS_FILE',
  TOKEN_REJECTED: 'invalid environment: DISCORD_TOKEN was refused by Discord',
  FATAL_CLOSE: 'Discord closed a shard for good',
  INVALID_OPTION: 'invalid runtime option',
};

/** An error of the runtime, rendered `RuntimeError[CODE]`, with one line naming what was wrong. */
export class RuntimeError extends Error {
  public constructor(
    public readonly code: RuntimeErrorCode,
    public readonly detail: string,
  ) {
    super(`${Messages[code]}: ${detail}`);
  }

  public override get name(): string {
    return `RuntimeError[${this.code}]`;
  }
}
