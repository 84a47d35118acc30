import { Writable } from 'node:stream';
import { startDiscordSim } from '@qsb/discord-sim';
import { createFlags } from '@qsb/flags';
import { createBotMetrics } from '@qsb/metrics';
import type { Interaction } from 'discord.js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startBot } from '../apps/bot/src/bot.ts';
import { commands } from '../apps/bot/src/commands/commands.ts';
import { parseBotEnv } from '../apps/bot/src/config/env.ts';
import { createInteractionHandler } from '../apps/bot/src/interactions/handler.ts';
import { compare, printTable } from './lib/compare.ts';

const flagData = {
  version: 2,
  features: [
    {
      name: 'quantum',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '50', stickiness: 'guildId', groupId: 'quantum' },
          constraints: [{ contextName: 'deployment', operator: 'IN', values: ['canary'] }],
        },
      ],
    },
  ],
};

/**
 * An interaction as discord.js hands it over. Its reply either serialises the body as discord.js would
 * (`memory`), or posts it to the local Discord's callback route over HTTP, as a real reply does (`http`).
 */
function fakeInteraction(
  input: { id: string; token: string; guildId: string },
  commandName: string,
  answer: (id: string, token: string, body: string) => Promise<void>,
): Interaction {
  return {
    id: input.id,
    guildId: input.guildId,
    commandName,
    user: { id: '222078108977594368' },
    member: null,
    replied: false,
    deferred: false,
    isChatInputCommand: () => true,
    options: { getString: () => 'text' },
    async reply(body: unknown) {
      await answer(input.id, input.token, JSON.stringify({ type: 4, data: body }));
      (this as { replied: boolean }).replied = true;
    },
  } as unknown as Interaction;
}

const nullStream = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

async function instrumentation(): Promise<void> {
  const quantum = commands.find((c) => c.name === 'quantum');
  if (!quantum) throw new Error('no /quantum command');
  const sim = await startDiscordSim({ guilds: 64, shards: 16, seed: 3 });
  const guilds = sim.world.guilds.map((g) => g.id);
  const bareContext = { shardPing: 42, flag: () => true, report: () => {} };

  const build = (level: 'info' | 'debug') => {
    const registry = new Registry();
    const metrics = createBotMetrics({ registry, deployment: 'canary', version: 'bench' });
    const logger = pino({ level }, nullStream());
    const flags = createFlags({
      appName: 'bench',
      deployment: 'canary',
      registry,
      logger,
      names: ['quantum'],
      data: flagData,
      watch: false,
    });
    return createInteractionHandler({
      commands,
      metrics,
      logger,
      shardCount: 16,
      ownedShards: new Set(Array.from({ length: 16 }, (_, i) => i)),
      now: () => performance.now(),
      shardPing: () => 42,
      context: { flag: (name, i) => flags.flag(name, i), report: () => {} },
    });
  };
  const info = build('info');
  const debug = build('debug');
  let g = 0;
  let next = 1_100_000_000_000_000_000n;
  const inMemory = async () => {};
  const overHttp = async (id: string, token: string, body: string) => {
    const res = await fetch(`${sim.apiUrl}/v10/interactions/${id}/${token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bot ${sim.token}` },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`callback answered ${res.status}`);
  };
  const memoryInteraction = () =>
    fakeInteraction(
      { id: String(next++), token: 't', guildId: guilds[g++ % guilds.length] ?? '' },
      'quantum',
      inMemory,
    );
  const httpInteraction = () => {
    const sent = sim.sendInteraction({ command: 'quantum', guildId: guilds[g++ % guilds.length] ?? '' });
    return fakeInteraction(
      { id: sent.id, token: sent.token, guildId: sent.guildId ?? '' },
      'quantum',
      overHttp,
    );
  };
  await compare(
    'instrumentation per handled interaction (/quantum: metrics, flag, logs), reply in memory',
    {
      name: 'reference: the same command, bare',
      fn: () => quantum.execute(memoryInteraction() as never, bareContext as never),
    },
    [
      { name: 'instrumented, production (info logs)', fn: () => info.handle(memoryInteraction()) },
      { name: 'instrumented, canary (debug logs)', fn: () => debug.handle(memoryInteraction()) },
    ],
  );
  await compare(
    'instrumentation per handled interaction, reply over HTTP to the local Discord',
    {
      name: 'reference: the same command, bare',
      fn: () => quantum.execute(httpInteraction() as never, bareContext as never),
    },
    [
      { name: 'instrumented, production (info logs)', fn: () => info.handle(httpInteraction()) },
      { name: 'instrumented, canary (debug logs)', fn: () => debug.handle(httpInteraction()) },
      // Measured again last: the spread between the two reference rows is this machine's drift.
      {
        name: 'reference again, bare',
        fn: () => quantum.execute(httpInteraction() as never, bareContext as never),
      },
    ],
  );
  await sim.close();
}

/** 16 shards READY with max_concurrency 1 and a 500 ms identify window, against ceil(16 / 1) x 500 ms. */
async function readyTime(): Promise<void> {
  const runs = Number(process.env.QSB_BENCH_READY_RUNS ?? 3);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const sim = await startDiscordSim({
      guilds: 160,
      shards: 16,
      maxConcurrency: 1,
      identifyWindowMs: 500,
      seed: run,
    });
    const config = parseBotEnv({
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.apiUrl,
      SHARD_COUNT: '16',
      SHARD_PERCENT: '0',
      IDENTIFY_WINDOW_MS: '500',
      HOST: '127.0.0.1',
      PORT: '0',
      REGISTER_COMMANDS: 'false',
    });
    const started = performance.now();
    const bot = await startBot(config, { logger: pino({ level: 'silent' }) });
    await bot.ready;
    times.push(performance.now() - started);
    const stats = sim.stats();
    await bot.stop();
    await sim.close();
    if (stats.invalidSessions.length > 0) {
      const gaps = stats.identifies.map(
        (i) => `shard ${i.shard?.[0]} at +${i.at - (stats.identifies[0]?.at ?? 0)} ms: ${i.outcome}`,
      );
      throw new Error(`INVALID_SESSION while 16 shards identified:\n${gaps.join('\n')}`);
    }
  }
  const bound = Math.ceil(16 / 1) * 500;
  printTable('16 shards READY, max_concurrency 1, 500 ms identify window', [
    { name: 'bound: ceil(16 / 1) x 500 ms', meanMs: bound, ratio: 1, samples: 1 },
    ...times.map((ms, i) => ({
      name: `run ${i + 1}: every shard READY`,
      meanMs: ms,
      ratio: ms / bound,
      samples: 1,
    })),
  ]);
}

export default async function run(): Promise<void> {
  await instrumentation();
  await readyTime();
}
