import pino, { type DestinationStream, type Level, type Logger } from 'pino';

/**
 * Paths pino censors in every log line: the bot token wherever a library puts it, authorization headers,
 * every field named like a secret, and request bodies (a reply body is user content and may hold a
 * follow-up webhook URL).
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
  'requestBody',
  '*.requestBody',
  '*.*.requestBody',
  'config.token',
  'config.metricsToken',
  'config.unleash.apiToken',
  'env.DISCORD_TOKEN',
  'env.METRICS_TOKEN',
  'env.UNLEASH_API_TOKEN',
  'env.QSB_STORE',
] as const;

/**
 * Interaction and webhook tokens by shape, wherever they appear in a line (a URL in an error, a body, a
 * message): `/interactions/<id>/<token>`, `/webhooks/<id>/<token>`, and Discord's interaction tokens,
 * which start with the base64 of `interaction:`. Whoever holds one can post as the bot for 15 minutes.
 */
const TokenPatterns: readonly [RegExp, string][] = [
  [/(\/interactions\/\d+\/)[^/\s"?\\]+/g, '$1[Redacted]'],
  [/(\/webhooks\/\d+\/)[^/\s"?\\]+/g, '$1[Redacted]'],
  [/aW50ZXJhY3Rpb246[A-Za-z0-9_\-:.=+/]*/g, '[Redacted]'],
  [/(rediss?:\/\/[^:/@\s"]*:)[^@/\s"]+@/g, '$1***@'],
];

/** Replaces every token-shaped substring of `text` and every known secret. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[Redacted]');
  for (const [pattern, replacement] of TokenPatterns) out = out.replace(pattern, replacement);
  return out;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level: Level;
  readonly deployment: 'canary' | 'production';
  readonly version: string;
  /** Secret values to scrub from messages too (a token can hide in an error message or a URL). */
  readonly secrets: readonly string[];
  readonly destination?: DestinationStream;
}

/**
 * A plain copy of an error for a log line: type, message, code, status, method, URL, stack and cause,
 * and nothing else. pino's own serializer copies every enumerable property, which for a WebSocket
 * error event is a graph of sockets that cannot be serialised (`[unable to serialize, circular
 * reference]`); a request error would also carry the request body.
 */
export function describeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) {
    if (error !== null && typeof error === 'object') {
      const inner = (error as { error?: unknown; message?: unknown }).error;
      if (inner instanceof Error && depth < 3) return describeError(inner, depth + 1);
      const message = (error as { message?: unknown }).message;
      return { type: error.constructor?.name ?? 'Object', message: String(message ?? error) };
    }
    return { type: typeof error, message: String(error) };
  }
  const fields = error as Error & { code?: unknown; status?: unknown; method?: unknown; url?: unknown };
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  for (const key of ['code', 'status', 'method', 'url'] as const) {
    const value = fields[key];
    if (typeof value === 'string' || typeof value === 'number') out[key] = value;
  }
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.cause !== undefined && depth < 3) out.cause = describeError(error.cause, depth + 1);
  return out;
}

/**
 * The runtime's pino logger: JSON lines, secrets redacted by path, by value and by shape (interaction
 * tokens), deployment and version on every line, errors under `err` logged by {@link describeError}.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets.filter((s) => s.length >= 8);
  return pino(
    {
      level: options.level,
      base: { deployment: options.deployment, version: options.version, pid: process.pid },
      redact: { paths: [...RedactedPaths], censor: '[Redacted]' },
      serializers: { err: (error: unknown) => describeError(error) },
      hooks: {
        // Scrub by value and shape as well: a token may appear inside a message or an error's text.
        streamWrite: (line) => scrubSecrets(line, secrets),
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
