import { Writable } from 'node:stream';
import { startDiscordSim } from '@qsb/discord-sim';
import { createFlags } from '@qsb/flags';
import { createBotMetrics } from '@qsb/metrics';
import { type CommandInteraction, createInteractionHandler } from '@qsb/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { commands } from '../apps/bot/src/commands/commands.ts';
import { compare } from './lib/compare.ts';

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
 * An interaction as the runtime hands it over. Its reply either serialises the body as discord.js would
 * (`memory`), or posts it to the local Discord's callback route over HTTP, as a real reply does (`http`).
 */
function fakeInteraction(
  input: { id: string; token: string; guildId: string },
  commandName: string,
  answer: (id: string, token: string, body: string) => Promise<void>,
): CommandInteraction {
  return {
    id: input.id,
    applicationId: '1',
    guildId: input.guildId,
    channelId: null,
    shardId: 0,
    commandName,
    user: { id: '222078108977594368', username: 'bench' },
    replied: false,
    deferred: false,
    options: { getString: () => 'text' } as unknown as CommandInteraction['options'],
    async reply(body: unknown) {
      await answer(
        input.id,
        input.token,
        JSON.stringify({ type: 4, data: typeof body === 'string' ? { content: body } : body }),
      );
      (this as { replied: boolean }).replied = true;
    },
    async deferReply() {},
    async editReply() {},
    async followUp() {},
  };
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
  const bareContext = {
    shardPing: 42,
    flag: () => true,
    logger: pino({ level: 'silent' }),
    metrics: undefined,
  };

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
      now: () => performance.now(),
      shardPing: () => 42,
      flag: (name, i) => flags.flag(name, i),
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

export default async function run(): Promise<void> {
  await instrumentation();
}
