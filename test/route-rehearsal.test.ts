import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { readOrBootPlan } from '@qsb/router';
import { createStore } from '@qsb/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../apps/qsb/src/main.ts';
import { type Child, startChild, stopChild } from './support/processes.ts';
import { type RedisServer, startRedis } from './support/redis.ts';
import { waitFor } from './support/wait.ts';

// The router rehearsal: the local Discord, two bot processes (production and the canary) following
// the plan in a real Redis, steady traffic, and `qsb route` moving the canary 20% -> 50% -> 0%.
const SHARDS = 10;
const timings = {
  leaseTtlMs: 2000,
  maxViewAgeMs: 600,
  cutoverLeadMs: 1200,
  graceMs: 2000,
  interactionMaxAgeMs: 2000,
  connectTimeoutMs: 30_000,
};

let redis: RedisServer;
let sim: DiscordSimHandle;
const bots: Child[] = [];
let storeUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  storeUrl = `${redis.url}?prefix=rehearsal:`;
  sim = await startDiscordSim({
    guilds: 200,
    shards: SHARDS,
    maxConcurrency: 16,
    identifyWindowMs: 100,
    heartbeatIntervalMs: 5000,
    interactionDeadlineMs: 3000,
    seed: 11,
  });
  const store = await createStore(storeUrl);
  await readOrBootPlan(store, { shardCount: SHARDS, percent: 20, timings }, await store.now());
  await store.close();
  for (const canary of ['false', 'true']) {
    bots.push(
      startChild(process.execPath, ['--import', 'tsx', 'test/support/route-bot.ts'], {
        PATH: process.env.PATH ?? '',
        QSB_STORE: storeUrl,
        CANARY: canary,
        SHARD_COUNT: String(SHARDS),
        SHARD_PERCENT: '20',
        SIM_API: sim.apiUrl,
        SIM_TOKEN: sim.token,
      }),
    );
  }
});

afterAll(async () => {
  sim?.traffic.stop();
  await Promise.all(bots.map((bot) => stopChild(bot)));
  await sim?.close();
  await redis?.stop();
});

/** Interactions dispatched since `from`, by number of answers, once all of them are past their deadline. */
async function outcomes(
  from: number,
): Promise<{ zero: number; one: number; twoOrMore: number; total: number }> {
  const last = sim.stats({ interactionList: false }).now;
  await waitFor('the last interactions to pass their deadline', () =>
    sim.stats({ interactionList: false }).now > last + 3500 ? true : undefined,
  );
  const list = sim.stats().interactions.list.filter((i) => i.dispatchedAt >= from && i.dispatchedAt <= last);
  const count = (n: (answers: number) => boolean) => list.filter((i) => n(i.answers.length)).length;
  return {
    zero: count((a) => a === 0),
    one: count((a) => a === 1),
    twoOrMore: count((a) => a >= 2),
    total: list.length,
  };
}

describe('router rehearsal (local Discord, two bot processes, Redis)', () => {
  it('moves 20% -> 50% -> 0% under traffic: none answered twice, none unanswered, only moved shards identify', async () => {
    // Warm up: every shard answers (the canary holds its lease long enough to answer its own).
    sim.traffic.start({ ratePerSecond: 30, commands: ['ping'] });
    await waitFor(
      'every shard to answer',
      () => {
        const recent = sim
          .stats()
          .interactions.list.filter((i) => i.dispatchedAt > sim.stats({ interactionList: false }).now - 4000);
        const answered = new Set(recent.filter((i) => i.answers.length === 1).map((i) => i.shardId));
        return answered.size === SHARDS ? true : undefined;
      },
      60_000,
    );
    const from = sim.stats({ interactionList: false }).now;
    const identifiesBefore = sim.stats().identifies.length;
    const err: string[] = [];
    const started = Date.now();
    for (const percent of ['50', '0']) {
      const code = await runCli(['route', '--percent', percent, '--json'], {
        env: { QSB_STORE: storeUrl },
        out: () => undefined,
        err: (line) => err.push(line),
      });
      expect(code, err.join('\n')).toBe(0);
    }
    const seconds = (Date.now() - started) / 1000;
    sim.traffic.stop();
    const result = await outcomes(from);
    const identified = sim
      .stats()
      .identifies.slice(identifiesBefore)
      .map((i) => i.shard?.[0] ?? -1);
    console.log(
      `rehearsal: ${JSON.stringify(result)}, identifies ${JSON.stringify(identified)}, ${seconds.toFixed(1)} s for both moves`,
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
});
