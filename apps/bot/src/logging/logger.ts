import pino, { type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Paths pino censors in every log line: the bot token wherever a library puts it, authorization headers,
 * and every field named like a secret.
 */
export const RedactedPaths = [
  'token',
  '*.token',
  '*.*.token',
  'apiToken',
  '*.apiToken',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
  'config.token',
  'config.metricsToken',
  'config.unleash.apiToken',
  'env.DISCORD_TOKEN',
  'env.METRICS_TOKEN',
  'env.UNLEASH_API_TOKEN',
] as const;

export interface LoggerOptions {
  level: Level;
  deployment: 'canary' | 'production';
  version: string;
  /** Secret values to scrub from messages too (a token can hide in an error message or a URL). */
  secrets: readonly string[];
  destination?: DestinationStream;
}

/** The bot's pino logger: JSON lines, secrets redacted by path and by value, deployment and version on every line. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets.filter((s) => s.length >= 8);
  const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[Redacted]'), text);
  return pino(
    {
      level: options.level,
      base: { deployment: options.deployment, version: options.version, pid: process.pid },
      redact: { paths: [...RedactedPaths], censor: '[Redacted]' },
      hooks: {
        // Scrub by value as well: the token may appear inside a message or an error's text.
        streamWrite: (line) => scrub(line),
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
