import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rehearsal, startRehearsal } from './support/route-rehearsal.ts';

// The router rehearsal: the local Discord, two bot processes (production and the canary) following
// the plan in the store, steady traffic, and `qsb route` moving the canary's share live.
describe.each(['redis', 'file'] as const)(
  'router rehearsal (local Discord, two bot processes, %s store)',
  (kind) => {
    let r: Rehearsal;
    beforeAll(async () => {
      r = await startRehearsal(kind, 20);
    });
    afterAll(() => r?.close());

    it('moves 20% -> 50% -> 0% under traffic: none answered twice, none unanswered, only moved shards identify', async () => {
      r.sim.traffic.start({ ratePerSecond: 30, commands: ['ping'] });
      await r.allAnswering(20, r.now());
      const from = r.now();
      const identifiesBefore = r.sim.stats().identifies.length;
      const started = Date.now();
      await r.route(50);
      await r.route(0);
      const seconds = (Date.now() - started) / 1000;
      const result = await r.outcomes(from);
      const identified = r.identifiedSince(identifiesBefore);
      console.log(
        `rehearsal (${kind}) 20 -> 50 -> 0: ${JSON.stringify(result)}, identified shards ${JSON.stringify(identified)}, ${seconds.toFixed(1)} s for both moves`,
      );
      expect(result.total).toBeGreaterThan(50);
      expect(result.twoOrMore).toBe(0);
      expect(result.zero).toBe(0);
      // Only moved shards identify: 20 -> 50 the canary connects 3-5; 50 -> 0 production connects 1-5
      // (or keeps 3-5 open, when the second move starts before it closed them).
      expect(identified.every((shard) => shard >= 1 && shard <= 5)).toBe(true);
      expect(identified.length).toBeGreaterThanOrEqual(5);
      expect(identified.length).toBeLessThanOrEqual(8);
    }, 180_000);

    it('fails over: kill -9 of the canary, production takes its shards after the lease time, the canary takes them back', async () => {
      await r.route(20);
      await r.answeredBy(1, 'canary', r.now());
      const killedAt = r.now();
      await r.stopBot('canary', 'SIGKILL');
      const takenAt = await r.answeredBy(1, 'production', killedAt);
      const down = await r.outcomes(killedAt, takenAt);
      console.log(
        `rehearsal (${kind}) kill -9 of the canary: production answers its guilds after ${((takenAt - killedAt) / 1000).toFixed(1)} s, ${down.zero} interactions unanswered meanwhile, ${down.twoOrMore} answered twice`,
      );
      expect(down.twoOrMore).toBe(0);
      r.startBot('canary', 20);
      const backAt = await r.answeredBy(1, 'canary', r.now());
      const after = await r.outcomes(backAt);
      expect(after.twoOrMore).toBe(0);
      expect(after.zero).toBe(0);
    }, 180_000);
  },
);
