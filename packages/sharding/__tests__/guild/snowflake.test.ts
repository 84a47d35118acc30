import { describe, expect, it } from 'vitest';
import { parseSnowflake, ShardingError, shardForGuild } from '../../src/index.ts';

// Expected shards computed independently with arbitrary-precision integers (Python's `(id >> 22) % n`).
// The last three ids are where a float conversion of the id gives the wrong shard.
const vectors: [guildId: string, shards: Record<number, number>][] = [
  ['81384788765712384', { 1: 0, 2: 0, 16: 2, 1000: 698, 4096: 770 }], // Discord API
  ['222078108977594368', { 1: 0, 2: 0, 16: 8, 1000: 192, 4096: 1080 }], // discord.js
  ['613425648685547541', { 1: 0, 2: 0, 16: 8, 1000: 544, 4096: 632 }], // Discord Developers
  ['302094807046684672', { 1: 0, 2: 0, 16: 10, 1000: 650, 4096: 378 }], // Minecraft
  ['1029139488211566653', { 1: 0, 2: 0, 16: 12, 1000: 476, 4096: 1484 }],
  ['0', { 1: 0, 2: 0, 16: 0, 1000: 0, 4096: 0 }],
  ['4194303', { 1: 0, 2: 0, 16: 0, 1000: 0, 4096: 0 }],
  ['4194304', { 1: 0, 2: 1, 16: 1, 1000: 1, 4096: 1 }],
  ['1029139488212779007', { 1: 0, 2: 0, 16: 12, 1000: 476, 4096: 1484 }],
  ['18446744073709551615', { 1: 0, 2: 1, 16: 15, 1000: 103, 4096: 4095 }],
];

describe('shardForGuild', () => {
  for (const [guildId, shards] of vectors) {
    for (const [count, shard] of Object.entries(shards)) {
      it(`guild ${guildId} over ${count} shards is on shard ${shard}`, () => {
        expect(shardForGuild(guildId, Number(count))).toBe(shard);
      });
    }
  }

  it.each(['', 'abc', '-1', '1.5', ' 123', '123456789012345678901', '18446744073709551616', '0x10'])(
    'refuses %j as a guild id',
    (id) => {
      expect(() => parseSnowflake(id)).toThrow(ShardingError);
      expect(() => shardForGuild(id, 16)).toThrow(/INVALID_SNOWFLAKE|not a snowflake|larger than/);
    },
  );

  it.each([0, -1, 1.5, Number.NaN])('refuses shard count %d', (count) => {
    expect(() => shardForGuild('81384788765712384', count)).toThrow(/shardCount/);
  });
});
