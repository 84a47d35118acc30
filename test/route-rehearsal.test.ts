import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Rehearsal,
  type RehearsalBot,
  rehearsalCommand,
  startRehearsal,
} from './support/route-rehearsal.ts';

// The router rehearsal: the local Discord, two bot processes (production and the canary) following
// the plan in the store, steady traffic, and `qsb route` moving the canary's share live. The bots are
// the rehearsal bot (discord.js clients and followPlan) and apps/example-bot on @qsb/runtime.
const cases: [kind: 'redis' | 'file', bot: RehearsalBot][] = [
  ['redis', 'route-bot'],
  ['file', 'route-bot'],
  ['redis', 'runtime'],
  ['file', 'runtime'],
];

/** What to print when an interaction was answered twice: which, by whom, and the bots' last lines. */
const twiceReport = (r: Rehearsal, twice: readonly string[]) =>
  `answered twice:\n${twice.join('\n')}\n--- production:\n${r.bots.production.output()}\n--- canary:\n${r.bots.canary.output()}`;

describe.each(cases)('router rehearsal (local Discord, two bot processes, %s store, %s)', (kind, bot) => {
  let r: Rehearsal;
  beforeAll(async () => {
    r = await startRehearsal(kind, 20, bot);
  });
  afterAll(() => r?.close());

  it('moves 20% -> 50% -> 0% under traffic: none answered twice, none unanswered, only moved shards identify', async () => {
    r.sim.traffic.start({ ratePerSecond: 30, commands: [rehearsalCommand[bot]] });
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
      `rehearsal (${kind}, ${bot}) 20 -> 50 -> 0: ${JSON.stringify(result)}, identified shards ${JSON.stringify(identified)}, ${seconds.toFixed(1)} s for both moves`,
    );
    expect(result.total).toBeGreaterThan(50);
    expect(result.twoOrMore, twiceReport(r, result.twice)).toBe(0);
    expect(result.zero).toBe(0);
    // Only moved shards identify: 20 -> 50 the canary connects 3-5; 50 -> 0 production connects 1-5
    // (or keeps 3-5 open, when the second move starts before it closed them; the runtime resumes the
    // sessions it saved on closing them instead of identifying).
    const identifies = r.identifiesSince(identifiesBefore).join('\n');
    expect(
      identified.every((shard) => shard >= 1 && shard <= 5),
      identifies,
    ).toBe(true);
    expect(identified.length, identifies).toBeGreaterThanOrEqual(3);
    // 8 at most here; more where a loaded machine (CI) starves the canary past its lease and production
    // fails over to its shards and back: still only shards 1-5, none answered twice or unanswered.
    expect(identified.length, `${identifies}\n${twiceReport(r, [])}`).toBeLessThanOrEqual(16);
  }, 180_000);

  it('fails over: kill -9 of the canary, production takes its shards after the lease time, the canary takes them back', async () => {
    await r.route(20);
    await r.answeredBy(1, 'canary', r.now());
    const killedAt = r.now();
    await r.stopBot('canary', 'SIGKILL');
    const taken = await r.answeredBy(1, 'production', killedAt);
    // When production answered, not when the interaction was created: a resumed session replays.
    const answeredAt =
      r.sim.stats().interactions.list.find((i) => i.shardId === 1 && i.dispatchedAt === taken)?.answers[0]
        ?.at ?? taken;
    const down = await r.outcomes(killedAt, answeredAt);
    console.log(
      `rehearsal (${kind}, ${bot}) kill -9 of the canary: production answers its guilds after ${((answeredAt - killedAt) / 1000).toFixed(1)} s, ${down.zero} interactions unanswered meanwhile, ${down.twoOrMore} answered twice`,
    );
    expect(down.twoOrMore, twiceReport(r, down.twice)).toBe(0);
    r.startBot('canary', 20);
    const backAt = await r.answeredBy(1, 'canary', r.now());
    const after = await r.outcomes(killedAt);
    expect(after.twoOrMore, twiceReport(r, after.twice)).toBe(0);
    const since = await r.outcomes(backAt);
    expect(since.zero).toBe(0);
  }, 180_000);

  // A stuck dyno (SIGSTOP: no timer, no socket read) is not a crash: when it wakes, its lease has
  // run out and production has its shards; it must not answer on what it knew before.
  it.runIf(bot === 'runtime')(
    'survives a stuck canary: stopped 3 s, twice, it answers nothing on its old view when it wakes',
    async () => {
      r.sim.traffic.start({ ratePerSecond: 30, commands: [rehearsalCommand[bot]] });
      await r.route(20);
      await r.allAnswering(20, r.now());
      const from = r.now();
      for (const ms of [3000, 3000]) {
        const taken = r.now();
        r.bots.canary.process.kill('SIGSTOP');
        await r.answeredBy(1, 'production', taken);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - (r.now() - taken))));
        r.bots.canary.process.kill('SIGCONT');
        await r.answeredBy(1, 'canary', r.now());
      }
      const result = await r.outcomes(from);
      console.log(`rehearsal (${kind}, ${bot}) stuck canary twice: ${JSON.stringify(result)}`);
      expect(result.twoOrMore, twiceReport(r, result.twice)).toBe(0);
    },
    180_000,
  );
});
