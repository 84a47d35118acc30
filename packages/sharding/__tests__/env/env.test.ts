import { describe, expect, it } from 'vitest';
import { parseShardingEnv, ShardingError } from '../../src/index.ts';

describe('parseShardingEnv', () => {
  it('uses the documented defaults for what is unset', () => {
    expect(parseShardingEnv({})).toEqual({
      deployment: 'production',
      percent: 20,
      shardCount: undefined,
      dyno: { index: 1, count: 1 },
      maxConcurrency: undefined,
      canaryTakesShardZero: false,
    });
  });

  it('reads a canary dyno', () => {
    expect(
      parseShardingEnv({
        CANARY: 'true',
        SHARD_PERCENT: '12.5',
        SHARD_COUNT: '16',
        DYNO: 'worker.3',
        DYNO_COUNT: '4',
        MAX_CONCURRENCY: '16',
      }),
    ).toEqual({
      deployment: 'canary',
      percent: 12.5,
      shardCount: 16,
      dyno: { index: 3, count: 4 },
      maxConcurrency: 16,
      canaryTakesShardZero: false,
    });
  });

  it('treats a one-off dyno as the whole deployment', () => {
    expect(parseShardingEnv({ DYNO: 'run.4821', DYNO_COUNT: '2' }).dyno).toEqual({ index: 1, count: 1 });
  });

  it.each([
    [
      { SHARD_PERCENT: 'abc' },
      'SHARD_PERCENT="abc": must be a number from 0 to 100 with at most two decimals',
    ],
    [{ SHARD_PERCENT: '150' }, 'SHARD_PERCENT="150"'],
    [{ SHARD_PERCENT: '-5' }, 'SHARD_PERCENT="-5"'],
    [{ SHARD_PERCENT: '' }, 'SHARD_PERCENT=""'],
    [{ SHARD_PERCENT: '20%' }, 'SHARD_PERCENT="20%"'],
    [{ SHARD_COUNT: '0' }, 'SHARD_COUNT="0": must be an integer from 1 to'],
    [{ SHARD_COUNT: '16.0' }, 'SHARD_COUNT="16.0"'],
    [{ SHARD_COUNT: '99999999' }, 'SHARD_COUNT="99999999"'],
    [{ CANARY: 'maybe' }, 'CANARY="maybe": must be true, false, 1 or 0'],
    [{ CANARY: '' }, 'CANARY=""'],
    [{ DYNO: 'worker' }, 'DYNO="worker": must be <process type>.<index from 1>'],
    [{ DYNO: 'worker.0' }, 'DYNO="worker.0"'],
    [{ DYNO: 'worker.3', DYNO_COUNT: '2' }, 'DYNO="worker.3": index 3 is above DYNO_COUNT=2'],
    [{ DYNO_COUNT: 'two' }, 'DYNO_COUNT="two"'],
    [{ MAX_CONCURRENCY: '0' }, 'MAX_CONCURRENCY="0"'],
    [{ CANARY_TAKES_SHARD_ZERO: 'yes' }, 'CANARY_TAKES_SHARD_ZERO="yes"'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    let error: unknown;
    try {
      parseShardingEnv(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ShardingError);
    expect((error as ShardingError).code).toBe('INVALID_ENVIRONMENT');
    expect((error as ShardingError).message).toContain(message);
    expect((error as ShardingError).message).not.toContain('\n');
  });
});
