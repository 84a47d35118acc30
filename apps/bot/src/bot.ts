import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { createFlags } from '@qsb/flags';
import { type BotMetrics, createBotMetrics, ShardStatusValues } from '@qsb/metrics';
import {
  createIdentifySchedule,
  type ProcessShards,
  planShards,
  type ShardPlan,
  shardsForProcess,
} from '@qsb/sharding';
import { type APIGatewayBotInfo, Client, Events, GatewayIntentBits, REST, Routes, Status } from 'discord.js';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { commands } from './commands/commands.ts';
import type { BotConfig } from './config/env.ts';
import { SlottedIdentifyThrottler } from './discord/throttler.ts';
import { createHttpServer } from './http/server.ts';
import { createInteractionHandler, type InteractionHandler } from './interactions/handler.ts';

/** The flags the bot's commands use: a misspelled name fails to compile. */
export const FlagNames = ['quantum'] as const;

export interface BotDependencies {
  readonly logger: Logger;
  /** Monotonic clock in ms for durations. */
  readonly now?: () => number;
}

/** A running bot. */
export interface RunningBot {
  readonly port: number;
  readonly plan: ShardPlan;
  readonly shards: ProcessShards;
  readonly metrics: BotMetrics;
  readonly client: Client;
  readonly handler: InteractionHandler;
  /** Resolves when every owned shard is READY. */
  readonly ready: Promise<void>;
  /** Stops new work, finishes what is in flight, closes the shards and the HTTP server. */
  stop(): Promise<void>;
}

const statusValue: Record<number, number> = {
  [Status.Ready]: ShardStatusValues.ready,
  [Status.Connecting]: ShardStatusValues.connecting,
  [Status.Reconnecting]: ShardStatusValues.reconnecting,
  [Status.Idle]: ShardStatusValues.idle,
  [Status.Nearly]: ShardStatusValues.nearly,
  [Status.Disconnected]: ShardStatusValues.disconnected,
  [Status.WaitingForGuilds]: ShardStatusValues.waitingForGuilds,
  [Status.Identifying]: ShardStatusValues.identifying,
  [Status.Resuming]: ShardStatusValues.resuming,
};

const abortableSleep = (ms: number, signal: AbortSignal) => sleepFor(ms, undefined, { signal });

/**
 * Starts the bot: asks Discord for the gateway limits, plans the shards, serves /metrics, registers the
 * commands if this is the designated process, and connects this process's shards.
 */
export async function startBot(config: BotConfig, deps: BotDependencies): Promise<RunningBot> {
  const { logger } = deps;
  const now = deps.now ?? (() => performance.now());
  const deployment = config.sharding.deployment;

  const rest = new REST({ api: config.apiUrl, userAgentAppendix: `quantum-superbot/${deployment}` }).setToken(
    config.token,
  );
  const gateway = (await rest.get(Routes.gatewayBot())) as APIGatewayBotInfo;
  const shardCount = config.sharding.shardCount ?? gateway.shards;
  const maxConcurrency = config.sharding.maxConcurrency ?? gateway.session_start_limit.max_concurrency;
  if (gateway.shards > shardCount) {
    logger.warn(
      { shardCount, recommended: gateway.shards },
      'SHARD_COUNT is below Discord’s recommendation: raise it on both apps together',
    );
  }
  const plan = planShards({
    shardCount,
    percent: config.sharding.percent,
    maxConcurrency,
    canaryTakesShardZero: config.sharding.canaryTakesShardZero,
  });
  const shards = shardsForProcess(plan, deployment, config.sharding.dyno);
  const owned = new Set(shards.shardIds);
  logger.info(
    {
      shardCount,
      percent: plan.percent,
      maxConcurrency,
      shards: shards.shardIds,
      dyno: config.sharding.dyno,
    },
    'shard plan',
  );

  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version: config.version, dyno: config.dynoName });
  metrics.shardsOwned.set(shards.shardIds.length);
  for (const id of shards.shardIds) metrics.shardReady.set({ shard: String(id) }, 0);

  const flags = createFlags({
    appName: 'quantum-superbot',
    deployment,
    registry,
    logger,
    names: FlagNames,
    file: config.flagsFile,
    version: config.version,
    ...(shards.shardIds[0] !== undefined ? { shardId: shards.shardIds[0] } : {}),
    ...(config.unleash ? { unleash: config.unleash } : {}),
  });
  // Bounded: until flags arrive every flag is off (fail closed), and the bot connects anyway.
  const flagStatus = await flags.ready;
  logger.info({ flags: flagStatus }, 'feature flags loaded');
  const schedule = createIdentifySchedule({ shardCount, maxConcurrency, windowMs: config.identifyWindowMs });
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    // discord.js refuses an empty shard list; a process that owns none never logs in (below), but must
    // run: a canary at 0% waits for its share, a spare dyno for a shard.
    ...(shards.shardIds.length > 0 ? { shards: [...shards.shardIds], shardCount } : {}),
    rest: { api: config.apiUrl, userAgentAppendix: `quantum-superbot/${deployment}` },
    ws: {
      buildIdentifyThrottler: () =>
        new SlottedIdentifyThrottler({
          schedule,
          now: Date.now,
          sleep: abortableSleep,
          onWait: (shard, ms) =>
            logger.debug({ shard, waitMs: Math.round(ms) }, 'waiting for the identify slot'),
        }),
    },
  });

  const handler = createInteractionHandler({
    commands,
    metrics,
    logger,
    shardCount,
    ownedShards: owned,
    now,
    shardPing: (id) => client.ws.shards.get(id)?.ping ?? -1,
    context: {
      flag: (name, interaction) => flags.flag(name, interaction),
      report: (text, interaction) => {
        metrics.userReports.inc();
        logger.warn(
          { report: text, guild: interaction.guildId, user: interaction.user.id, command: 'report' },
          'user reported a problem',
        );
      },
    },
  });

  const shardLabel = (id: number) => ({ shard: String(id) });
  client.on(Events.InteractionCreate, (interaction) => void handler.handle(interaction));
  client.on(Events.Raw, (packet: { t?: string | null }) => {
    if (packet.t) metrics.gatewayDispatches.inc({ event: packet.t });
  });
  client.on(Events.ShardReady, (id) => {
    metrics.shardReady.set(shardLabel(id), 1);
    logger.info({ shard: id }, 'shard ready');
  });
  client.on(Events.ShardResume, (id, replayed) => {
    metrics.shardResumes.inc(shardLabel(id));
    metrics.shardReady.set(shardLabel(id), 1);
    logger.info({ shard: id, replayed }, 'shard resumed');
  });
  // Set once stop() begins: closing the shards on purpose is not a reconnect.
  let closing = false;
  client.on(Events.ShardReconnecting, (id) => {
    if (closing) return;
    metrics.shardReconnects.inc(shardLabel(id));
    metrics.shardReady.set(shardLabel(id), 0);
    logger.warn({ shard: id }, 'shard reconnecting');
  });
  client.on(Events.ShardDisconnect, (event, id) => {
    metrics.shardReady.set(shardLabel(id), 0);
    logger.error({ shard: id, code: event.code }, 'shard disconnected and will not reconnect');
  });
  client.on(Events.ShardError, (error, id) => logger.error({ err: error, shard: id }, 'shard error'));
  client.on(Events.Debug, (message) => {
    // discord.js emits no event for op 9; its debug line is the only signal.
    const match = /^\[WS => Shard (\d+)\] Invalid session/.exec(message);
    if (match?.[1] !== undefined) {
      metrics.shardInvalidSessions.inc({ shard: match[1] });
      logger.warn({ shard: Number(match[1]) }, 'invalid session');
    }
    logger.trace({ discord: message }, 'discord.js');
  });

  const notReadyShards = () =>
    shards.shardIds.filter((id) => client.ws.shards.get(id)?.status !== Status.Ready);
  const server: Server = createHttpServer({
    registry,
    metricsToken: config.metricsToken,
    notReadyShards,
    beforeScrape: () => {
      for (const [id, shard] of client.ws.shards) {
        metrics.shardStatus.set(shardLabel(id), statusValue[shard.status] ?? ShardStatusValues.idle);
        if (shard.ping >= 0) metrics.shardHeartbeatLatency.set(shardLabel(id), shard.ping / 1000);
      }
    },
  });
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.host }, 'http server listening: /metrics, /healthz, /readyz');

  if (config.registerCommands) {
    const app = (await rest.get(Routes.currentApplication())) as { id: string };
    await rest.put(Routes.applicationCommands(app.id), { body: commands.map((c) => c.definition) });
    logger.info({ commands: commands.map((c) => c.name) }, 'slash commands registered');
  }

  const ready =
    shards.shardIds.length === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const check = () => {
            if (notReadyShards().length === 0) {
              client.off(Events.ShardReady, check);
              resolve();
            }
          };
          client.on(Events.ShardReady, check);
        });
  if (shards.shardIds.length === 0) {
    logger.warn({ dyno: config.sharding.dyno }, 'this dyno owns no shard: more dynos than shards');
  } else {
    await client.login(config.token);
  }

  let stopping: Promise<void> | undefined;
  return {
    port,
    plan,
    shards,
    metrics,
    client,
    handler,
    ready,
    stop() {
      stopping ??= (async () => {
        logger.info(
          { inFlight: handler.inFlight },
          'stopping: closing shards, finishing in-flight interactions',
        );
        // Close the shards first (no new dispatch arrives), then let the interactions already received finish.
        closing = true;
        await client.destroy();
        await handler.drain();
        flags.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
