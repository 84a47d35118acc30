import { FlagsError, FlagsErrorCodes } from '../errors/FlagsError.ts';

/** Where a real Unleash server is, read from `UNLEASH_URL`, `UNLEASH_API_TOKEN`, `UNLEASH_REFRESH_INTERVAL_MS`. */
export interface UnleashServerOptions {
  /** The server's API root, e.g. `https://unleash.example.com/api/`. */
  readonly url: string;
  /** A client (backend) API token. */
  readonly apiToken: string;
  /** How often to poll, in milliseconds. @defaultValue 15000 */
  readonly refreshIntervalMs?: number;
  /** Timeout of one request, in milliseconds. @defaultValue 10000 */
  readonly timeoutMs?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function refuse(name: string, value: string, allowed: string): FlagsError {
  return new FlagsError(FlagsErrorCodes.InvalidEnvironment, `${name}=${JSON.stringify(value)}: ${allowed}`);
}

/**
 * Reads the Unleash variables. With neither `UNLEASH_URL` nor `UNLEASH_API_TOKEN`, the result is
 * undefined: the flags file alone decides (no network). Setting one without the other is refused.
 *
 * @throws {@link FlagsError} `INVALID_ENVIRONMENT` naming the variable, its value and what is allowed.
 */
export function parseFlagsEnv(env: Env): UnleashServerOptions | undefined {
  const url = env.UNLEASH_URL;
  const apiToken = env.UNLEASH_API_TOKEN;
  if (url === undefined && apiToken === undefined) return undefined;
  if (url === undefined || url === '') {
    throw new FlagsError(
      FlagsErrorCodes.InvalidEnvironment,
      'UNLEASH_API_TOKEN is set but UNLEASH_URL is not: set both, or neither to use the flags file alone',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('UNLEASH_URL', url, 'must be an http(s) URL such as https://unleash.example.com/api/');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw refuse('UNLEASH_URL', url, 'must be an http(s) URL such as https://unleash.example.com/api/');
  }
  if (apiToken === undefined || apiToken === '') {
    throw new FlagsError(
      FlagsErrorCodes.InvalidEnvironment,
      'UNLEASH_URL is set but UNLEASH_API_TOKEN is not: set a client API token, or unset UNLEASH_URL',
    );
  }
  const interval = env.UNLEASH_REFRESH_INTERVAL_MS;
  if (interval === undefined) return { url, apiToken };
  const n = Number(interval);
  if (!/^[1-9][0-9]{0,8}$/.test(interval) || n < 100) {
    throw refuse(
      'UNLEASH_REFRESH_INTERVAL_MS',
      interval,
      'must be an integer from 100 to 999999999 (milliseconds)',
    );
  }
  return { url, apiToken, refreshIntervalMs: n };
}
