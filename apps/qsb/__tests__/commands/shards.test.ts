import { describe, expect, it } from 'vitest';
import { qsb } from '../support/qsb.ts';

describe('qsb shards', () => {
  it('prints the plan as one JSON object', async () => {
    const { code, out } = await qsb(['shards', '--shard-count', '16', '--percent', '20', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(out);
    expect(plan.shardCount).toBe(16);
    expect(plan.canary).toEqual([1, 2, 3]);
    expect(plan.production).toEqual([0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(plan.guilds).toBeUndefined();
  });

  it('answers for the process described by the environment', async () => {
    const { code, out } = await qsb(['shards', '--json'], {
      CANARY: 'true',
      SHARD_PERCENT: '50',
      SHARD_COUNT: '10',
      DYNO: 'worker.2',
      DYNO_COUNT: '2',
    });
    expect(code).toBe(0);
    const plan = JSON.parse(out);
    expect(plan.canary).toEqual([1, 2, 3, 4, 5]);
    expect(plan.process).toEqual({ deployment: 'canary', dyno: { index: 2, count: 2 }, shardIds: [4, 5] });
  });

  it('places guilds with --guild, repeatable', async () => {
    const { out } = await qsb([
      'shards',
      '--shard-count',
      '16',
      '--percent',
      '20',
      '--guild',
      '81384788765712384',
      '--guild',
      '302094807046684672',
      '--json',
    ]);
    expect(JSON.parse(out).guilds).toEqual([
      { id: '81384788765712384', shard: 2, deployment: 'canary' },
      { id: '302094807046684672', shard: 10, deployment: 'production' },
    ]);
  });

  it('prints a readable table with buckets', async () => {
    const { out } = await qsb(['shards', '--shard-count', '16', '--percent', '20', '--max-concurrency', '4']);
    expect(out).toContain('canary         3 shards  ~18.8% of guilds  1-3');
    expect(out).toContain('bucket 1: canary 1 | production 5, 9, 13');
  });

  it.each([
    [['shards', '--shard-count', '0'], "'--shard-count <n>' argument '0' is invalid"],
    [['shards', '--shard-count', '4', '--percent', 'abc'], "'--percent <p>' argument 'abc' is invalid"],
    [['shards', '--shard-count', '4', '--guild', 'nope'], 'guild id "nope" is not a snowflake'],
    [['shards'], 'pass --shard-count or set SHARD_COUNT'],
    [['shards', '--bogus'], "unknown option '--bogus'"],
  ])('refuses %j with exit code 3', async (argv, message) => {
    const { code, out, err } = await qsb(argv);
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain(message);
  });

  it('refuses a malformed environment, naming the variable', async () => {
    const { code, err } = await qsb(['shards', '--shard-count', '4'], { SHARD_PERCENT: '150' });
    expect(code).toBe(3);
    expect(err).toBe(
      'qsb: invalid environment: SHARD_PERCENT="150": must be a number from 0 to 100 with at most two decimals',
    );
  });

  it('has --help on the command', async () => {
    const { code, out } = await qsb(['shards', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('--shard-count <n>');
  });
});
