import { describe, expect, it } from 'vitest';
import { FlagsError, parseFlagsEnv } from '../../src/index.ts';

describe('parseFlagsEnv', () => {
  it('is undefined with no Unleash variable: the file alone decides', () => {
    expect(parseFlagsEnv({})).toBeUndefined();
  });

  it('reads the server, the token and the refresh interval', () => {
    expect(
      parseFlagsEnv({
        UNLEASH_URL: 'https://u.example/api/',
        UNLEASH_API_TOKEN: 't',
        UNLEASH_REFRESH_INTERVAL_MS: '1000',
      }),
    ).toEqual({ url: 'https://u.example/api/', apiToken: 't', refreshIntervalMs: 1000 });
  });

  it.each([
    [{ UNLEASH_API_TOKEN: 't' }, 'UNLEASH_API_TOKEN is set but UNLEASH_URL is not'],
    [{ UNLEASH_URL: 'https://u.example/api/' }, 'UNLEASH_URL is set but UNLEASH_API_TOKEN is not'],
    [{ UNLEASH_URL: 'u.example', UNLEASH_API_TOKEN: 't' }, 'UNLEASH_URL="u.example": must be an http(s) URL'],
    [{ UNLEASH_URL: 'ftp://u.example/', UNLEASH_API_TOKEN: 't' }, 'UNLEASH_URL="ftp://u.example/": must be'],
    [
      { UNLEASH_URL: 'http://u/', UNLEASH_API_TOKEN: 't', UNLEASH_REFRESH_INTERVAL_MS: '5s' },
      'UNLEASH_REFRESH_INTERVAL_MS="5s": must be an integer from 100',
    ],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => parseFlagsEnv(env)).toThrow(FlagsError);
    expect(() => parseFlagsEnv(env)).toThrow(`invalid environment: ${message}`);
  });
});
