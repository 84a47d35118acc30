import { describe, expect, it } from 'vitest';
import { parseRuntimeEnv, parseStoreSpec } from '../../src/config/env.ts';
import { RuntimeError } from '../../src/errors/RuntimeError.ts';

const base = { DISCORD_TOKEN: 'a.b.c', SHARD_COUNT: '16' };

describe('parseRuntimeEnv', () => {
  it('makes production by default, at info, with documented defaults', () => {
    const config = parseRuntimeEnv(base);
    expect(config.sharding.deployment).toBe('production');
    expect(config.sharding.percent).toBe(20);
    expect(config.logLevel).toBe('info');
    expect(config.apiUrl).toBe('https://discord.com/api');
    expect(config.port).toBe(3000);
    expect(config.registerCommands).toBe(true);
    expect(config.identifyWindowMs).toBe(5000);
    expect(config.sessionLeaseTtlMs).toBe(15_000);
    expect(parseRuntimeEnv({ ...base, QSB_SESSION_LEASE_TTL_MS: '3000' }).sessionLeaseTtlMs).toBe(3000);
  });

  it('makes the canary at debug, which does not register commands', () => {
    const config = parseRuntimeEnv({ ...base, CANARY: 'true', SHARD_PERCENT: '20' });
    expect(config.sharding.deployment).toBe('canary');
    expect(config.logLevel).toBe('debug');
    expect(config.registerCommands).toBe(false);
  });

  it('takes a DISCORD_API_URL copied with /v10 as the API root', () => {
    expect(parseRuntimeEnv({ ...base, DISCORD_API_URL: 'http://127.0.0.1:5000/api/v10/' }).apiUrl).toBe(
      'http://127.0.0.1:5000/api',
    );
    expect(parseRuntimeEnv({ ...base, DISCORD_API_URL: 'http://127.0.0.1:5000/api' }).apiUrl).toBe(
      'http://127.0.0.1:5000/api',
    );
  });

  it('lets production alone at 0% take Discord’s recommended shard count', () => {
    expect(
      parseRuntimeEnv({ DISCORD_TOKEN: 't.t.t', SHARD_PERCENT: '0' }).sharding.shardCount,
    ).toBeUndefined();
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
    [
      { METRICS_REMOTE_WRITE_URL: 'ftp://user:hunter2@x/' },
      'METRICS_REMOTE_WRITE_URL must be an absolute http(s) URL (value not shown)',
    ],
    [
      { METRICS_REMOTE_WRITE_URL: 'http://x/api/v1/write', METRICS_REMOTE_WRITE_INTERVAL_MS: '10' },
      'METRICS_REMOTE_WRITE_INTERVAL_MS="10"',
    ],
    [{ QSB_VERSION: 'v 1' }, 'QSB_VERSION="v 1"'],
    [{ QSB_STORE: 'postgres://x' }, 'QSB_STORE="postgres://x" is not a store; allowed: memory:, file:PATH'],
    [{ QSB_STORE: 'file:' }, 'QSB_STORE="file:" names no file'],
    [{ QSB_IDENTIFY: 'fast' }, 'QSB_IDENTIFY="fast": must be schedule or store'],
    [
      { QSB_SESSION_LEASE_TTL_MS: '100' },
      'QSB_SESSION_LEASE_TTL_MS="100": must be an integer from 300 to 300000',
    ],
  ])('refuses %j with one line', (override, message) => {
    const env: Record<string, string | undefined> = { ...base, ...override };
    let error: unknown;
    try {
      parseRuntimeEnv(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('names the store: a file under .qsb/ by default, memory, a file, Redis', () => {
    expect(parseRuntimeEnv(base).store).toMatchObject({ kind: 'file', url: undefined });
    expect(parseRuntimeEnv(base).store.description).toMatch(/\.qsb\/store\.json$/);
    expect(parseRuntimeEnv(base).identify).toBe('schedule');
    expect(parseStoreSpec('memory:').kind).toBe('memory');
    expect(parseStoreSpec('file:/tmp/s.json')).toMatchObject({
      kind: 'file',
      description: 'file:/tmp/s.json',
    });
    const redis = parseRuntimeEnv({ ...base, QSB_STORE: 'redis://:pw@127.0.0.1:6379/0' });
    expect(redis.store.kind).toBe('redis');
    expect(redis.identify).toBe('store');
  });

  it('never prints a Redis password it refuses', () => {
    expect(() => parseStoreSpec('redis://:hunter2@')).toThrow(/QSB_STORE=/);
    expect(() => parseStoreSpec('redis://:hunter2@')).not.toThrow(/hunter2/);
    expect(() => parseStoreSpec('mongodb://u:hunter2@h')).not.toThrow(/hunter2/);
  });
});
