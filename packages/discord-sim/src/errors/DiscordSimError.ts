/**
 * Stable codes of {@link DiscordSimError}. Operators alert on codes; messages may change.
 */
export const DiscordSimErrorCodes = {
  InvalidOption: 'INVALID_OPTION',
  UnknownGuild: 'UNKNOWN_GUILD',
  UnknownChannel: 'UNKNOWN_CHANNEL',
  Closed: 'CLOSED',
} as const;

export type DiscordSimErrorCode = (typeof DiscordSimErrorCodes)[keyof typeof DiscordSimErrorCodes];

const messages: Record<DiscordSimErrorCode, (detail: string) => string> = {
  INVALID_OPTION: (detail) => `invalid local Discord option: ${detail}`,
  UNKNOWN_GUILD: (detail) => `unknown guild: ${detail}`,
  UNKNOWN_CHANNEL: (detail) => `unknown channel: ${detail}`,
  CLOSED: (detail) => `the local Discord is closed: ${detail}`,
};

/** Raised by the local Discord's typed API for bad options or references to things it does not have. */
export class DiscordSimError extends Error {
  public readonly code: DiscordSimErrorCode;
  public readonly detail: string;

  public constructor(code: DiscordSimErrorCode, detail: string) {
    super(messages[code](detail));
    this.code = code;
    this.detail = detail;
  }

  public override get name(): string {
    return `DiscordSimError[${this.code}]`;
  }
}
