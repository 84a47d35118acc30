import { shardForGuild } from '@qsb/sharding';
import { describe, expect, it } from 'vitest';
import { createWorld, DISCORD_EPOCH, makeSnowflake, snowflakeTime } from '../../src/index.ts';

describe('snowflakes', () => {
  it('encode their creation time', () => {
    const at = Date.UTC(2020, 5, 1, 12);
    const id = makeSnowflake(at, 1, 2, 3);
    expect(snowflakeTime(id)).toBe(at);
    expect(BigInt(id) & 0xfffn).toBe(3n);
    // Discord's documented example: 175928847299117063 was created 2016-04-30T11:18:25.796Z.
    expect(new Date(snowflakeTime('175928847299117063')).toISOString()).toBe('2016-04-30T11:18:25.796Z');
  });
});

describe('createWorld', () => {
  it('is the same for the same seed and different for another', () => {
    const a = createWorld(50, 42);
    expect(createWorld(50, 42).guilds.map((g) => g.id)).toEqual(a.guilds.map((g) => g.id));
    expect(createWorld(50, 43).guilds.map((g) => g.id)).not.toEqual(a.guilds.map((g) => g.id));
  });

  it('spreads guild creation over years, with unique ids that match their timestamps', () => {
    const w = createWorld(500, 1);
    const ids = new Set(w.guilds.map((g) => g.id));
    expect(ids.size).toBe(500);
    const years = new Set(w.guilds.map((g) => new Date(g.createdAt).getUTCFullYear()));
    expect(years.size).toBeGreaterThanOrEqual(8);
    for (const g of w.guilds) {
      expect(snowflakeTime(g.id)).toBe(g.createdAt);
      expect(g.createdAt).toBeGreaterThan(DISCORD_EPOCH);
      expect(g.channels[0]?.guildId).toBe(g.id);
    }
  });

  it('has heavy-tailed guild sizes: most small, a few very large', () => {
    const sizes = createWorld(2_000, 3)
      .guilds.map((g) => g.memberCount)
      .sort((a, b) => a - b);
    const median = sizes[1_000] ?? 0;
    const max = sizes.at(-1) ?? 0;
    expect(median).toBeLessThan(20);
    expect(max).toBeGreaterThan(median * 100);
    // The largest 1% of guilds hold a large share of all members.
    const total = sizes.reduce((a, b) => a + b, 0);
    const top = sizes.slice(-20).reduce((a, b) => a + b, 0);
    expect(top / total).toBeGreaterThan(0.3);
  });

  it('spreads guilds over shards by (id >> 22) % n', () => {
    const w = createWorld(1_000, 9);
    const counts = [0, 0, 0, 0];
    for (const g of w.guilds) counts[shardForGuild(g.id, 4)] = (counts[shardForGuild(g.id, 4)] ?? 0) + 1;
    for (const c of counts) expect(c).toBeGreaterThan(180);
  });
});
