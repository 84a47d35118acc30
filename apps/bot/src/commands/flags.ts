/** The flags the bot's commands use: a misspelled name fails to compile. */
export const FlagNames = ['quantum'] as const;

/** One of {@link FlagNames}. */
export type FlagName = (typeof FlagNames)[number];
