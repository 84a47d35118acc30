import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { PlanKey, type RouteTimings, readOrBootPlan } from '@qsb/router';
import { planShards } from '@qsb/sharding';
import { createStore } from '@qsb/store';
import { runCli } from '../../apps/qsb/src/main.ts';
import { type Child, startChild, stopChild } from './processes.ts';
import { type RedisServer, startRedis } from './redis.ts';
import { waitFor } from './wait.ts';

/** Shards of the rehearsal's local Discord. */
export const REHEARSAL_SHARDS = 10;

/** The plan's timings, shortened so that a move takes seconds. */
export const rehearsalTimings: RouteTimings = {
  // Long enough that a bot process starved by a loaded machine (CI) keeps its lease.
  leaseTtlMs: 3000,
  maxViewAgeMs: 600,
  cutoverLeadMs: 1200,
  graceMs: 2000,
  interactionMaxAgeMs: 2000,
  connectTimeoutMs: 30_000,
};

/** Interactions by number of answers. */
export interface Outcomes {
  readonly zero: number;
  readonly one: number;
  readonly twoOrMore: number;
  readonly total: number;
  /** The interactions answered more than once: shard, creation and answer times, who answered. */
  readonly twice: string[];
}

/**
 * The router rehearsal: the local Discord, a store (Redis or a file), a production and a canary bot
 * process (`test/support/route-bot.ts`) following the store's plan. `close()` stops all of it.
 */
export interface Rehearsal {
  readonly sim: DiscordSimHandle;
  readonly storeUrl: string;
  /** Production's and the canary's processes. */
  readonly bots: { production: Child; canary: Child };
  /** The local Discord's clock. */
  now(): number;
  startBot(deployment: 'production' | 'canary', percent: number): Child;
  /** Stops a bot process (SIGTERM: it leaves; SIGKILL: it crashes). */
  stopBot(deployment: 'production' | 'canary', signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the dispatch time of the first interaction on `shard` after `after` answered by `deployment`. */
  answeredBy(shard: number, deployment: 'production' | 'canary', after: number): Promise<number>;
  /** Waits until every shard was answered by its owner at `percent` after `after`. */
  allAnswering(percent: number, after: number): Promise<void>;
  /** Interactions dispatched in [from, to], once all of them are past their deadline. */
  outcomes(from: number, to?: number): Promise<Outcomes>;
  /** Shards identified (a session created: READY) since the `index`-th IDENTIFY. */
  identifiedSince(index: number): number[];
  /** Every IDENTIFY since the `index`-th, refused ones too, for messages. */
  identifiesSince(index: number): string[];
  /** `qsb route --percent P` in this process; throws on a non-zero exit. */
  route(percent: number): Promise<void>;
  /** Replaces the plan by a new one at `percent`, as a restart with a new `SHARD_PERCENT` would boot it. */
  resetPlan(percent: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Which bot runs: `route-bot` (test/support/route-bot.ts: discord.js clients and `followPlan`) or
 * `runtime` (apps/example-bot on `@qsb/runtime` with `QSB_ROUTE=live`).
 */
export type RehearsalBot = 'route-bot' | 'runtime';

/** The slash command each bot answers. */
export const rehearsalCommand: Record<RehearsalBot, string> = { 'route-bot': 'ping', runtime: 'hello' };

/** Starts the local Discord, the store and both bot processes at `percent`. */
export async function startRehearsal(
  kind: 'redis' | 'file',
  percent = 20,
  botKind: RehearsalBot = 'route-bot',
): Promise<Rehearsal> {
  let redis: RedisServer | undefined;
  let folder: string | undefined;
  let storeUrl: string;
  if (kind === 'redis') {
    redis = await startRedis();
    storeUrl = `${redis.url}?prefix=rehearsal:`;
  } else {
    folder = mkdtempSync(join(tmpdir(), 'qsb-rehearsal-'));
    storeUrl = `file:${join(folder, 'store.json')}`;
  }
  const sim = await startDiscordSim({
    guilds: 200,
    shards: REHEARSAL_SHARDS,
    maxConcurrency: 16,
    identifyWindowMs: 100,
    heartbeatIntervalMs: 5000,
    interactionDeadlineMs: 3000,
    seed: 11,
  });
  const resetPlan = async (p: number) => {
    const store = await createStore(storeUrl);
    try {
      await store.delete(PlanKey);
      await readOrBootPlan(
        store,
        { shardCount: REHEARSAL_SHARDS, percent: p, timings: rehearsalTimings },
        await store.now(),
      );
    } finally {
      await store.close();
    }
  };
  await resetPlan(percent);
  const startBot = (deployment: 'production' | 'canary', p: number) =>
    botKind === 'route-bot'
      ? startChild(process.execPath, ['--import', 'tsx', 'test/support/route-bot.ts'], {
          PATH: process.env.PATH ?? '',
          QSB_STORE: storeUrl,
          CANARY: String(deployment === 'canary'),
          SHARD_COUNT: String(REHEARSAL_SHARDS),
          SHARD_PERCENT: String(p),
          SIM_API: sim.apiUrl,
          SIM_TOKEN: sim.token,
        })
      : startChild(process.execPath, ['--import', 'tsx', 'apps/example-bot/src/main.ts'], {
          PATH: process.env.PATH ?? '',
          HOST: '127.0.0.1',
          PORT: '0',
          QSB_STORE: storeUrl,
          QSB_ROUTE: 'live',
          CANARY: String(deployment === 'canary'),
          SHARD_COUNT: String(REHEARSAL_SHARDS),
          SHARD_PERCENT: String(p),
          DISCORD_TOKEN: sim.token,
          DISCORD_API_URL: sim.apiUrl,
          IDENTIFY_WINDOW_MS: '150',
          LOG_LEVEL: 'info',
        });
  const bots = { production: startBot('production', percent), canary: startBot('canary', percent) };
  const now = () => sim.stats({ interactionList: false }).now;
  const answeredBy = (shard: number, deployment: string, after: number) =>
    waitFor(
      `${deployment} to answer on shard ${shard}`,
      () =>
        sim
          .stats()
          .interactions.list.find(
            (i) =>
              i.shardId === shard && i.dispatchedAt > after && i.answers[0]?.userAgent?.includes(deployment),
          )?.dispatchedAt,
      60_000,
    );
  return {
    sim,
    storeUrl,
    bots,
    now,
    startBot: (deployment, p) => {
      bots[deployment] = startBot(deployment, p);
      return bots[deployment];
    },
    stopBot: (deployment, signal = 'SIGTERM') => stopChild(bots[deployment], signal),
    answeredBy,
    async allAnswering(p, after) {
      const plan = planShards({ shardCount: REHEARSAL_SHARDS, percent: p });
      await Promise.all([
        ...plan.canary.map((shard) => answeredBy(shard, 'canary', after)),
        ...plan.production.map((shard) => answeredBy(shard, 'production', after)),
      ]);
    },
    async outcomes(from, to = now()) {
      await waitFor('the last interactions to pass their deadline', () =>
        now() > to + 3500 ? true : undefined,
      );
      const list = sim
        .stats()
        .interactions.list.filter((i) => i.dispatchedAt >= from && i.dispatchedAt <= to);
      const count = (n: (answers: number) => boolean) => list.filter((i) => n(i.answers.length)).length;
      const twice = list
        .filter((i) => i.answers.length >= 2)
        .map(
          (i) =>
            `shard ${i.shardId} created ${i.dispatchedAt - from} ms: ${i.answers.map((a) => `${a.userAgent?.split(' ').at(-1)} at +${a.at - i.dispatchedAt} ms`).join(', ')}`,
        );
      return {
        zero: count((a) => a === 0),
        one: count((a) => a === 1),
        twoOrMore: count((a) => a >= 2),
        total: list.length,
        twice,
      };
    },
    identifiedSince: (index) =>
      sim
        .stats()
        .identifies.slice(index)
        .filter((i) => i.outcome === 'ready')
        .map((i) => i.shard?.[0] ?? -1),
    identifiesSince: (index) =>
      sim
        .stats()
        .identifies.slice(index)
        .map((i) => `shard ${i.shard?.[0]} ${i.outcome} at ${i.at} by ${JSON.stringify(i.properties)}`),
    async route(p) {
      const err: string[] = [];
      const code = await runCli(['route', '--percent', String(p), '--json'], {
        env: { QSB_STORE: storeUrl },
        out: () => undefined,
        err: (line) => err.push(line),
      });
      if (code !== 0) throw new Error(`qsb route --percent ${p} exited ${code}:\n${err.join('\n')}`);
    },
    resetPlan,
    async close() {
      sim.traffic.stop();
      await Promise.all([stopChild(bots.production), stopChild(bots.canary)]);
      await sim.close();
      await redis?.stop();
      if (folder) rmSync(folder, { recursive: true, force: true });
    },
  };
}
