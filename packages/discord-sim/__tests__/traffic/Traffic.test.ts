import { describe, expect, it } from 'vitest';
import type { GatewayEvent, SendInteractionInput } from '../../src/index.ts';
import { createWorld, seededRandom } from '../../src/index.ts';
import { Traffic } from '../../src/traffic/Traffic.ts';
import { SnowflakeFactory, snowflakeTime } from '../../src/world/snowflake.ts';
import { manualClock } from '../helpers.ts';

function traffic(guilds = 50) {
  const world = createWorld(guilds, 5);
  const clock = manualClock();
  const random = seededRandom(11);
  const interactions: SendInteractionInput[] = [];
  const events: GatewayEvent[] = [];
  const t = new Traffic({
    world,
    gateway: {
      dispatch: (e) => {
        events.push(e);
        return [];
      },
    },
    random,
    ids: new SnowflakeFactory(random, clock.now),
    now: clock.now,
    sendInteraction: (input) => interactions.push(input),
  });
  return { t, world, clock, interactions, events };
}

describe('Traffic', () => {
  it('sends the configured rate on the injected clock', () => {
    const { t, clock, interactions } = traffic();
    const options = { ratePerSecond: 250, commands: ['ping', 'roll'] };
    clock.advance(2_000);
    expect(t.tick(options)).toBe(500);
    clock.advance(6);
    expect(t.tick(options)).toBe(1);
    expect(new Set(interactions.map((i) => i.command))).toEqual(new Set(['ping', 'roll']));
  });

  it('draws commands by weight, with their options', () => {
    const { t, clock, interactions } = traffic();
    const options = {
      ratePerSecond: 1_000,
      commands: [
        { name: 'ping', weight: 7 },
        { name: 'quantum', weight: 2 },
        { name: 'report', weight: 1, options: { text: 'it broke' } },
      ],
    };
    clock.advance(10_000);
    expect(t.tick(options)).toBe(10_000);
    const count = (name: string) => interactions.filter((i) => i.command === name).length;
    // Binomial spread at n = 10,000: 4 standard deviations of each share.
    expect(Math.abs(count('ping') - 7_000)).toBeLessThan(200);
    expect(Math.abs(count('quantum') - 2_000)).toBeLessThan(160);
    expect(Math.abs(count('report') - 1_000)).toBeLessThan(120);
    expect(interactions.find((i) => i.command === 'report')?.options).toEqual({ text: 'it broke' });
    expect(interactions.find((i) => i.command === 'ping')?.options).toBeUndefined();
  });

  it('spreads events over guilds in proportion to their size', () => {
    const { t, world, clock, interactions } = traffic(30);
    const options = { ratePerSecond: 20_000, commands: ['ping'] };
    clock.advance(1_000);
    t.tick(options);
    const total = world.guilds.reduce((a, g) => a + g.memberCount, 0);
    const largest = [...world.guilds].sort((a, b) => b.memberCount - a.memberCount)[0];
    const share = interactions.filter((i) => i.guildId === largest?.id).length / interactions.length;
    expect(share).toBeCloseTo((largest?.memberCount ?? 0) / total, 1);
  });

  it('sends MESSAGE_CREATE with snowflake ids for the message share', () => {
    const { t, clock, interactions, events } = traffic();
    const options = { ratePerSecond: 1_000, commands: ['ping'], messageShare: 0.5 };
    clock.advance(1_000);
    t.tick(options);
    expect(events.length + interactions.length).toBe(1_000);
    expect(events.length).toBeGreaterThan(400);
    expect(events.length).toBeLessThan(600);
    const first = events[0]?.d as { id: string; guild_id: string };
    expect(snowflakeTime(first.id)).toBe(clock.now());
    expect(events[0]?.t).toBe('MESSAGE_CREATE');
    expect(events[0]?.guildId).toBe(first.guild_id);
  });
});
