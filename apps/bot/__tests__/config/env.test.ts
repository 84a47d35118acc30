import { describe, expect, it } from 'vitest';
import { ConfigError, parseBotEnv } from '../../src/config/env.ts';

const base = { DISCORD_TOKEN: 'a.b.c', SHARD_COUNT: '16' };

describe('parseBotEnv', () => {
  it('makes production by default, at info, with documented defaults', () => {
    const config = parseBotEnv(base);
    expect(config.sharding.deployment).toBe('production');
    expect(config.sharding.percent).toBe(20);
    expect(config.logLevel).toBe('info');
    expect(config.apiUrl).toBe('https://discord.com/api');
    expect(config.port).toBe(3000);
    expect(config.registerCommands).toBe(true);
    expect(config.identifyWindowMs).toBe(5000);
  });

  it('makes the canary at debug, which does not register commands', () => {
    const config = parseBotEnv({ ...base, CANARY: 'true', SHARD_PERCENT: '20' });
    expect(config.sharding.deployment).toBe('canary');
    expect(config.logLevel).toBe('debug');
    expect(config.registerCommands).toBe(false);
  });

  it('takes a DISCORD_API_URL copied with /v10 as the API root', () => {
    expect(parseBotEnv({ ...base, DISCORD_API_URL: 'http://127.0.0.1:5000/api/v10/' }).apiUrl).toBe(
      'http://127.0.0.1:5000/api',
    );
    expect(parseBotEnv({ ...base, DISCORD_API_URL: 'http://127.0.0.1:5000/api' }).apiUrl).toBe(
      'http://127.0.0.1:5000/api',
    );
  });

  it('lets production alone at 0% take Discord’s recommended shard count', () => {
    expect(parseBotEnv({ DISCORD_TOKEN: 't.t.t', SHARD_PERCENT: '0' }).sharding.shardCount).toBeUndefined();
  });

  it.each([
    [{ SHARD_COUNT: undefined }, 'SHARD_COUNT is not set: it is required whenever a canary can run'],
    [{ SHARD_COUNT: undefined, CANARY: 'true', SHARD_PERCENT: '0' }, 'SHARD_COUNT is not set'],
    [{ DISCORD_TOKEN: undefined }, 'DISCORD_TOKEN is not set'],
    [{ DISCORD_TOKEN: '' }, 'DISCORD_TOKEN is not set'],
    [{ SHARD_PERCENT: 'abc' }, 'SHARD_PERCENT="abc": must be a number from 0 to 100'],
    [{ CANARY: 'maybe' }, 'CANARY="maybe": must be true, false, 1 or 0'],
    [{ PORT: '70000' }, 'PORT="70000": must be an integer from 0 to 65535'],
    [{ DISCORD_API_URL: 'not a url' }, 'DISCORD_API_URL="not a url": must be an absolute http(s) URL'],
    [{ DISCORD_API_URL: 'ftp://x' }, 'DISCORD_API_URL="ftp://x": must be an http(s) URL'],
    [
      { DISCORD_API_URL: 'https://discord.com/api/v9' },
      'DISCORD_API_URL="https://discord.com/api/v9": must be the API root without a version',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace'],
    [{ IDENTIFY_WINDOW_MS: '0' }, 'IDENTIFY_WINDOW_MS="0"'],
    [{ REGISTER_COMMANDS: 'sometimes' }, 'REGISTER_COMMANDS="sometimes"'],
    [{ UNLEASH_URL: 'http://127.0.0.1:4242/api' }, 'UNLEASH_URL is set but UNLEASH_API_TOKEN is not'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters'],
    [{ QSB_VERSION: 'v 1' }, 'QSB_VERSION="v 1"'],
  ])('refuses %j with one line', (override, message) => {
    const env: Record<string, string | undefined> = { ...base, ...override };
    let error: unknown;
    try {
      parseBotEnv(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
