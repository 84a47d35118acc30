import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const bot = (storeUrl: string, canary: boolean, apiUrl: string, token: string): Child =>
  startChild(process.execPath, ['--import', 'tsx', 'test/support/route-bot.ts'], {
    PATH: process.env.PATH ?? '',
    QSB_STORE: storeUrl,
    CANARY: String(canary),
    SHARD_COUNT: String(SHARDS),
    SHARD_PERCENT: '20',
    SIM_API: apiUrl,
    SIM_TOKEN: token,
  });

describe.each(['redis', 'file'] as const)(
  'router rehearsal (local Discord, two bot processes, %s store)',
  (kind) => {
    let redis: RedisServer | undefined;
    let folder: string | undefined;
    let sim: DiscordSimHandle;
    let storeUrl: string;
    const bots: Child[] = [];

    beforeAll(async () => {
      if (kind === 'redis') {
        redis = await startRedis();
        storeUrl = `${redis.url}?prefix=rehearsal:`;
      } else {
        folder = mkdtempSync(join(tmpdir(), 'qsb-rehearsal-'));
        storeUrl = `file:${join(folder, 'store.json')}`;
      }
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
      bots.push(bot(storeUrl, false, sim.apiUrl, sim.token), bot(storeUrl, true, sim.apiUrl, sim.token));
    });

    afterAll(async () => {
      sim?.traffic.stop();
      await Promise.all(bots.map((child) => stopChild(child)));
      await sim?.close();
      await redis?.stop();
      if (folder) rmSync(folder, { recursive: true, force: true });
    });

    const now = () => sim.stats({ interactionList: false }).now;

    /** Interactions dispatched in [from, to], by number of answers, once all of them are past their deadline. */
    async function outcomes(from: number, to = now()) {
      await waitFor('the last interactions to pass their deadline', () =>
        now() > to + 3500 ? true : undefined,
      );
      const list = sim
        .stats()
        .interactions.list.filter((i) => i.dispatchedAt >= from && i.dispatchedAt <= to);
      const count = (n: (answers: number) => boolean) => list.filter((i) => n(i.answers.length)).length;
      return {
        zero: count((a) => a === 0),
        one: count((a) => a === 1),
        twoOrMore: count((a) => a >= 2),
        total: list.length,
      };
    }

    /** Waits until an interaction on `shard` dispatched after `after` was answered by `deployment`. */
    const answeredBy = (shard: number, deployment: string, after: number) =>
      waitFor(
        `${deployment} to answer on shard ${shard}`,
        () =>
          sim
            .stats()
            .interactions.list.find(
              (i) =>
                i.shardId === shard &&
                i.dispatchedAt > after &&
                i.answers[0]?.userAgent?.includes(deployment),
            )?.dispatchedAt,
        60_000,
      );

    const route = async (percent: string) => {
      const err: string[] = [];
      const code = await runCli(['route', '--percent', percent, '--json'], {
        env: { QSB_STORE: storeUrl },
        out: () => undefined,
        err: (line) => err.push(line),
      });
      expect(code, err.join('\n')).toBe(0);
    };

    it('moves 20% -> 50% -> 0% under traffic: none answered twice, none unanswered, only moved shards identify', async () => {
      sim.traffic.start({ ratePerSecond: 30, commands: ['ping'] });
      // Warm up: every shard answers (the canary waits a little after taking its lease).
      const warm = now();
      await Promise.all([answeredBy(1, 'canary', warm), answeredBy(2, 'canary', warm)]);
      for (const shard of [0, 3, 4, 5, 6, 7, 8, 9]) await answeredBy(shard, 'production', warm);
      const from = now();
      const identifiesBefore = sim.stats().identifies.length;
      const started = Date.now();
      await route('50');
      await route('0');
      const seconds = (Date.now() - started) / 1000;
      const result = await outcomes(from);
      const identified = sim
        .stats()
        .identifies.slice(identifiesBefore)
        .map((i) => i.shard?.[0] ?? -1);
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
      await route('20');
      const warm = now();
      await answeredBy(1, 'canary', warm);
      const killedAt = now();
      await stopChild(bots[1] as Child, 'SIGKILL');
      const takenAt = await answeredBy(1, 'production', killedAt);
      const down = await outcomes(killedAt, takenAt);
      console.log(
        `rehearsal (${kind}) kill -9 of the canary: production answers its guilds after ${((takenAt - killedAt) / 1000).toFixed(1)} s, ${down.zero} interactions unanswered meanwhile, ${down.twoOrMore} answered twice`,
      );
      expect(down.twoOrMore).toBe(0);
      bots[1] = bot(storeUrl, true, sim.apiUrl, sim.token);
      const backAt = await answeredBy(1, 'canary', now());
      const after = await outcomes(backAt);
      expect(after.twoOrMore).toBe(0);
      expect(after.zero).toBe(0);
    }, 180_000);
  },
);
