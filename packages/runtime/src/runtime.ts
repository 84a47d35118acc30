import { randomBytes } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { DiscordAPIError, REST } from '@discordjs/rest';
import type { IIdentifyThrottler } from '@discordjs/ws';
import { createFlags, type Flags, FlagsError, loadFeatureFile } from '@qsb/flags';
import { type BotMetrics, createBotMetrics, ShardStatusValues, startRemoteWriter } from '@qsb/metrics';
import { followPlan, type PlanFollowing, RouteMember, ruleOwner } from '@qsb/router';
import {
  createIdentifySchedule,
  type ProcessShards,
  planShards,
  type ShardPlan,
  shardsForProcess,
} from '@qsb/sharding';
import { createStore, type Store } from '@qsb/store';
import {
  type APIChatInputApplicationCommandInteraction,
  type APIGatewayBotInfo,
  ApplicationCommandType,
  GatewayDispatchEvents,
  type GatewayDispatchPayload,
  GatewayIntentBits,
  InteractionType,
  Routes,
} from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { parseRuntimeEnv, type RuntimeConfig, type StoreSpec } from './config/env.ts';
import { RuntimeError, RuntimeErrorCodes } from './errors/RuntimeError.ts';
import { Backoff } from './gateway/backoff.ts';
import { FatalCloseCodes, type ShardListener, ShardSet, type ShardState } from './gateway/shards.ts';
import { createHttpServer } from './http/server.ts';
import {
  type AbortableSleep,
  SlottedIdentifyThrottler,
  StoreIdentifyThrottler,
} from './identify/throttlers.ts';
import {
  ACK_DEADLINE_MS,
  type Command,
  createInteractionHandler,
  type InteractionHandler,
} from './interactions/handler.ts';
import { type CommandInteraction, createCommandInteraction } from './interactions/interaction.ts';
import { createLogger } from './logging/logger.ts';
import { registerRouteMetrics } from './routing/metrics.ts';
import { SessionBook } from './sessions/sessions.ts';

/** A raw gateway event handler: the event's `d` and the shard that delivered it. */
export type RawEventHandler = (data: unknown, shardId: number) => void;

/** What every runtime needs: the bot's commands. */
export interface RuntimeRequiredOptions<F extends string> {
  readonly commands: readonly Command<F>[];
}

/** What a runtime may be given. */
export interface RuntimeOptionalOptions<F extends string> {
  /** The bot's name: the User-Agent suffix (`name/deployment`) and Unleash's `appName`. */
  readonly name: string;
  /** The flag names the commands use; `ctx.flag()` accepts only these. */
  readonly flags: readonly F[];
  /** Raw gateway events by name (`GUILD_CREATE`, `MESSAGE_CREATE`, ...), called as they arrive. */
  readonly events: Readonly<Partial<Record<`${GatewayDispatchEvents}`, RawEventHandler>>>;
  /** Gateway intents. @defaultValue `GatewayIntentBits.Guilds` */
  readonly intents: number;
  /** The environment to read. @defaultValue `process.env` */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A logger of your own; by default one is built from LOG_LEVEL with every secret redacted. */
  readonly logger: Logger;
  /** Opens the store `QSB_STORE` names; the runtime closes it when it stops. */
  readonly openStore: (spec: StoreSpec) => Promise<Store>;
  /** A store of the caller's, used instead of `QSB_STORE` and left open at stop (several runtimes in one process). */
  readonly store: Store;
  /** The answer gate of a live handoff: whether this process answers an interaction of a shard it holds. */
  readonly shouldAnswer: (shardId: number, interaction: CommandInteraction) => boolean;
  /**
   * Follow the routing plan in the store (`@qsb/router`): the shards held and who answers come from the
   * plan, which `qsb route` moves live. @defaultValue `QSB_ROUTE=live` (unset or `off`: the shards of
   * `SHARD_PERCENT`, fixed)
   */
  readonly route: boolean;
  /** Uniform randomness in [0, 1), for the reconnect jitter and the process identity. */
  readonly random: () => number;
  /** Monotonic clock in ms, for durations. */
  readonly now: () => number;
  /** Wall clock in ms since the epoch, for the identify schedule. */
  readonly wallClock: () => number;
  readonly sleep: AbortableSleep;
  /** Reconnect backoff: delay after the second consecutive failure, in ms. @defaultValue 1000 */
  readonly backoffBaseMs: number;
  /** A session lease lives this long unless renewed (every third of it). @defaultValue `QSB_SESSION_LEASE_TTL_MS`, 15000 */
  readonly sessionLeaseTtlMs: number;
}

/** Options of {@link startRuntime}. */
export type RuntimeOptions<F extends string> = RuntimeRequiredOptions<F> & Partial<RuntimeOptionalOptions<F>>;

/** @defaultValue the optional options of {@link startRuntime} that are plain values */
export const RuntimeDefaults = {
  name: 'qsb-bot',
  intents: GatewayIntentBits.Guilds,
  backoffBaseMs: 1000,
} as const satisfies Partial<RuntimeOptionalOptions<string>>;

/** A running runtime. */
export interface Runtime {
  readonly config: RuntimeConfig;
  readonly logger: Logger;
  readonly port: number;
  readonly plan: ShardPlan;
  readonly shards: ProcessShards;
  readonly metrics: BotMetrics;
  readonly store: Store;
  /** Resolves when every shard this process holds is READY. */
  readonly ready: Promise<void>;
  /** Resolves (never rejects) when a shard was closed for good: the process should exit non-zero. */
  readonly fatal: Promise<RuntimeError>;
  /** The shards this process holds now. */
  heldShards(): number[];
  /** Takes shards on (claims their session leases, resumes or identifies them): a live handoff's step. */
  addShards(ids: readonly number[]): Promise<void>;
  /** Gives shards up: closes them resumably and saves their sessions for the next holder. */
  removeShards(ids: readonly number[]): Promise<void>;
  /**
   * Stops new work, saves the sessions, finishes what is in flight, closes everything. Idempotent.
   * With `handoffWaitMs`, each shard keeps answering until a successor process waits for its session
   * (or that long), so that a rolling restart loses nothing while the new process boots.
   */
  stop(options?: { readonly handoffWaitMs?: number }): Promise<void>;
}

/** Reads `QSB_ROUTE`: `live` follows the routing plan in the store; unset or `off` does not. */
export function parseRouteEnv(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'off') return false;
  if (value === 'live') return true;
  throw new RuntimeError(
    RuntimeErrorCodes.InvalidEnvironment,
    `QSB_ROUTE=${JSON.stringify(value)}: allowed are live (follow the routing plan in the store) and off (unset: off)`,
  );
}

/** Discord's epoch in a snowflake's top bits. */
const DISCORD_EPOCH = 1_420_070_400_000n;
const snowflakeTime = (id: string) => Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
/** Clock skew tolerated before an interaction is taken as expired without trying. */
const EXPIRY_MARGIN_MS = 500;

const defaultSleep: AbortableSleep = (ms, signal) => sleepFor(ms, undefined, { signal });

const stateValue: Record<ShardState, number> = {
  connecting: ShardStatusValues.connecting,
  ready: ShardStatusValues.ready,
  closed: ShardStatusValues.reconnecting,
};

/** Opens the store `QSB_STORE` names with the store package. */
const defaultOpenStore = (spec: StoreSpec): Promise<Store> => createStore(spec.url);

/**
 * Whom a flag is evaluated for. In a DM there is no guild: the user stands in for it, so that a rollout
 * sticky on `guildId` gates each user in DMs as it gates each guild elsewhere (`qsb flags eval --user`
 * without `--guild` evaluates the same way).
 */
export function flagTarget(interaction: Pick<CommandInteraction, 'guildId' | 'user'>): {
  guild: string;
  user: string;
} {
  return { guild: interaction.guildId ?? interaction.user.id, user: interaction.user.id };
}

/** Step: refuse a flags file that is missing or malformed before anything connects. */
function checkFlagsFile(config: RuntimeConfig, usesFlags: boolean): void {
  if (!usesFlags && !config.flagsFileSet) return;
  try {
    loadFeatureFile(config.flagsFile);
  } catch (error) {
    if (error instanceof FlagsError)
      throw new RuntimeError(RuntimeErrorCodes.FlagsFileMissing, error.message);
    throw error;
  }
}

/** Step: ask Discord for the gateway and its limits; a refused token names DISCORD_TOKEN. */
async function fetchGateway(rest: REST): Promise<APIGatewayBotInfo> {
  try {
    return (await rest.get(Routes.gatewayBot())) as APIGatewayBotInfo;
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) {
      throw new RuntimeError(RuntimeErrorCodes.TokenRejected, 'GET /gateway/bot answered 401 Unauthorized');
    }
    throw error;
  }
}

/** Step: the shard plan and this process's part of it. */
function plan(config: RuntimeConfig, gateway: APIGatewayBotInfo, logger: Logger) {
  const shardCount = config.sharding.shardCount ?? gateway.shards;
  const maxConcurrency = config.sharding.maxConcurrency ?? gateway.session_start_limit.max_concurrency;
  if (gateway.shards > shardCount) {
    logger.warn(
      { shardCount, recommended: gateway.shards },
      'SHARD_COUNT is below Discord’s recommendation: raise it on both apps together',
    );
  }
  const shardPlan = planShards({
    shardCount,
    percent: config.sharding.percent,
    maxConcurrency,
    canaryTakesShardZero: config.sharding.canaryTakesShardZero,
  });
  const shards = shardsForProcess(shardPlan, config.sharding.deployment, config.sharding.dyno);
  logger.info(
    {
      shardCount,
      percent: shardPlan.percent,
      maxConcurrency,
      shards: shards.shardIds,
      dyno: config.sharding.dyno,
    },
    'shard plan',
  );
  return { shardCount, maxConcurrency, plan: shardPlan, shards };
}

/** Step: serve /metrics, /healthz and /readyz. */
async function serve(server: Server, config: RuntimeConfig, logger: Logger): Promise<number> {
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.host }, 'http server listening: /metrics, /healthz, /readyz');
  return port;
}

/** Step: register the slash commands (one designated process). */
async function registerCommands(
  rest: REST,
  commands: readonly Command<string>[],
  logger: Logger,
): Promise<void> {
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  await rest.put(Routes.applicationCommands(app.id), { body: commands.map((c) => c.definition) });
  logger.info({ commands: commands.map((c) => c.name) }, 'slash commands registered');
}

/**
 * Starts a bot: reads and checks the environment (before any request), plans the shards, serves the
 * HTTP endpoints, registers the commands if this is the designated process, and connects each shard,
 * resuming the session a previous process left in the store. Each shard dispatches as soon as it is
 * READY. Resolves once the shards are connecting; `ready` resolves when all are READY.
 *
 * @example
 * const runtime = await startRuntime({ commands: [ping] });
 * process.once('SIGTERM', () => void runtime.stop());
 */
export async function startRuntime<const F extends string = never>(
  options: RuntimeOptions<F>,
): Promise<Runtime> {
  const o = { ...RuntimeDefaults, ...options };
  const config = parseRuntimeEnv(o.env ?? process.env);
  const routing = o.route ?? parseRouteEnv((o.env ?? process.env).QSB_ROUTE);
  const flagNames = o.flags ?? [];
  checkFlagsFile(config, flagNames.length > 0);
  const logger =
    o.logger ??
    createLogger({
      level: config.logLevel,
      deployment: config.sharding.deployment,
      version: config.version,
      secrets: [
        config.token,
        config.metricsToken ?? '',
        config.unleash?.apiToken ?? '',
        config.remoteWrite?.url ?? '',
      ],
    });
  const random = o.random ?? Math.random;
  const now = o.now ?? (() => performance.now());
  const sleep = o.sleep ?? defaultSleep;
  const wallClock = o.wallClock ?? Date.now;
  const deployment = config.sharding.deployment;
  const owner = `${deployment}/${config.dynoName || 'local'}/${process.pid}-${randomBytes(3).toString('hex')}`;

  const ownsStore = o.store === undefined;
  const store = o.store ?? (await (o.openStore ?? defaultOpenStore)(config.store));
  const rest = new REST({ api: config.apiUrl, userAgentAppendix: `${o.name}/${deployment}` }).setToken(
    config.token,
  );
  const gateway = await fetchGateway(rest);
  const { shardCount, maxConcurrency, plan: shardPlan, shards } = plan(config, gateway, logger);

  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version: config.version, dyno: config.dynoName });
  // `member` is read at each scrape: it exists once routing has started.
  const routeMetrics = registerRouteMetrics(registry, routing ? () => member : undefined, store.description);
  const flags: Flags<F> = createFlags<F>({
    appName: o.name,
    deployment,
    registry,
    logger,
    names: flagNames,
    ...(flagNames.length > 0 || config.flagsFileSet
      ? { file: config.flagsFile }
      : { data: { version: 2, features: [] } }),
    version: config.version,
    ...(shards.shardIds[0] !== undefined ? { shardId: shards.shardIds[0] } : {}),
    ...(config.unleash ? { unleash: config.unleash } : {}),
  });
  // Bounded: until flags arrive every flag is off (fail closed), and the bot connects anyway.
  logger.info({ flags: await flags.ready }, 'feature flags loaded');

  const held = new Set<number>();
  let member: RouteMember | undefined;
  let following: PlanFollowing | undefined;
  /** Shards being given up: their events after the saved sequence are left to the next holder. */
  const leaving = new Set<number>();
  let unhealthy: string | undefined;
  let resolveFatal: (error: RuntimeError) => void = () => {};
  const fatal = new Promise<RuntimeError>((resolve) => {
    resolveFatal = resolve;
  });
  /** Shards being closed and claimed again after a lost lease: a stop waits for them. */
  const recovering = new Set<Promise<void>>();
  const abort = new AbortController();
  // Every waiting shard listens on it: as many listeners as shards is expected.
  setMaxListeners(0, abort.signal);
  const label = (id: number) => ({ shard: String(id) });

  let lastElsewhereWarning = Number.NEGATIVE_INFINITY;
  let elsewhereSinceWarning = 0;
  const handler: InteractionHandler = createInteractionHandler<F>({
    onAnsweredElsewhere: (about) => {
      routeMetrics.answeredElsewhere.inc();
      elsewhereSinceWarning++;
      // At most once a minute: a disagreement answers many interactions twice.
      if (wallClock() - lastElsewhereWarning < 60_000) return;
      lastElsewhereWarning = wallClock();
      logger.warn(
        { ...about, count: elsewhereSinceWarning },
        routing
          ? 'another process had already answered this interaction (Discord 40060): the deployments disagree on who owns the shard; check that every process of both apps uses the same QSB_STORE'
          : 'another process had already answered this interaction (Discord 40060): the deployments disagree on who owns the shard; check SHARD_PERCENT and SHARD_COUNT on both apps, or run both with QSB_ROUTE=live on one QSB_STORE',
      );
      elsewhereSinceWarning = 0;
    },
    commands: o.commands,
    metrics,
    logger,
    now,
    shardPing: (id) => shardSet.ping(id),
    flag: (name, interaction) => flags.flag(name, flagTarget(interaction)),
    ...(o.shouldAnswer || routing
      ? {
          // Under routing, the plan decides first; a caller's own gate still applies.
          shouldAnswer: (shardId: number, interaction: CommandInteraction) =>
            (!routing || (member?.decide(shardId, interaction.id).answer ?? false)) &&
            (o.shouldAnswer?.(shardId, interaction) ?? true),
        }
      : {}),
  });

  const sessions = new SessionBook({
    store,
    owner,
    // Under routing both deployments hold a session on a moving shard at once.
    ...(routing ? { namespace: deployment } : {}),
    shardCount,
    sleep,
    onWait: (shard, holder) =>
      logger.info({ shard, holder }, 'waiting for the session lease held by another process'),
    now,
    leaseTtlMs: o.sessionLeaseTtlMs ?? config.sessionLeaseTtlMs,
    onLost: (shard, reason) => {
      const recovery = recover(shard, reason)
        .catch((error: unknown) => logger.error({ shard, err: error }, 'could not reclaim the shard'))
        .finally(() => recovering.delete(recovery));
      recovering.add(recovery);
    },
    onSlowRenewal: (passMs, leases, ttlMs) =>
      logger.warn(
        { passMs: Math.round(passMs), leases, ttlMs },
        'renewing the session leases took over a third of their TTL: the store is too slow for this load',
      ),
    onError: (error, what) => logger.error({ err: error }, `store error ${what}`),
  });

  const backoff = new Backoff({ random, baseMs: o.backoffBaseMs });
  const throttler: IIdentifyThrottler =
    config.identify === 'store'
      ? new StoreIdentifyThrottler({
          store,
          maxConcurrency,
          windowMs: config.identifyWindowMs,
          owner,
          sleep,
          onWait: (shard, ms) =>
            logger.debug({ shard, waitMs: Math.round(ms) }, 'waiting for a free identify slot'),
        })
      : new SlottedIdentifyThrottler({
          schedule: createIdentifySchedule({ shardCount, maxConcurrency, windowMs: config.identifyWindowMs }),
          now: wallClock,
          sleep,
          onWait: (shard, ms) =>
            logger.debug({ shard, waitMs: Math.round(ms) }, 'waiting for the identify slot'),
        });

  /** Whether this process owned `shardId` when interaction `id` was created, by the routing plan's rule. */
  const ownedAtCreation = (shardId: number, id: string): boolean => {
    const routed = routing ? member?.plan : undefined;
    if (routed === undefined) return true;
    const owner = ruleOwner(routed, shardId, snowflakeTime(id));
    return owner.deployment === deployment && owner.dyno === config.sharding.dyno.index;
  };
  const readyWaiters: (() => void)[] = [];
  const checkReady = () => {
    if (notReady().length > 0) return;
    for (const resolve of readyWaiters.splice(0)) resolve();
  };
  const listener: ShardListener = {
    dispatch(shardId, payload: GatewayDispatchPayload) {
      // Without a lease surely held, another process may answer on this shard: this one stays silent.
      if (leaving.has(shardId) || !held.has(shardId) || !sessions.mayAct(shardId)) return;
      sessions.handled(shardId, payload.s);
      metrics.gatewayDispatches.inc({ event: payload.t });
      if (
        payload.t === GatewayDispatchEvents.InteractionCreate &&
        payload.d.type === InteractionType.ApplicationCommand &&
        payload.d.data.type === ApplicationCommandType.ChatInput
      ) {
        const raw = payload.d as APIChatInputApplicationCommandInteraction;
        // A replay after a restart can hold interactions whose 3 s are long gone: answering them costs
        // requests that the fresh ones need. Their snowflake says when Discord created them.
        const age = wallClock() - snowflakeTime(raw.id);
        if (age > ACK_DEADLINE_MS + EXPIRY_MARGIN_MS) {
          // Counted only if it was this process's to answer: a session resumed after a move back
          // replays what the other deployment answered meanwhile, which is not this version's failure.
          if (ownedAtCreation(shardId, raw.id))
            metrics.observeInteraction(raw.data.name, 'timeout', age / 1000);
          logger.debug(
            { interaction: raw.id, shard: shardId, ageMs: age },
            'interaction expired before it arrived',
          );
        } else {
          void handler.handle(createCommandInteraction(raw, shardId, rest));
        }
      }
      const custom = o.events?.[payload.t];
      if (custom) {
        try {
          custom(payload.d, shardId);
        } catch (error) {
          logger.error({ err: error, event: payload.t, shard: shardId }, 'event handler failed');
        }
      }
    },
    ready(shardId, how, replayed) {
      const wasFailing = backoff.failures(shardId) > 1;
      backoff.reset(shardId);
      metrics.shardReady.set(label(shardId), 1);
      if (how === 'resumed') metrics.shardResumes.inc(label(shardId));
      logger.info(
        {
          shard: shardId,
          ...(how === 'resumed' ? { replayed } : {}),
          ...(wasFailing ? { reconnected: true } : {}),
        },
        how === 'resumed' ? 'shard resumed' : 'shard ready',
      );
      checkReady();
    },
    closed(shardId, code) {
      if (leaving.has(shardId) || !held.has(shardId)) return;
      metrics.shardReady.set(label(shardId), 0);
      if (FatalCloseCodes.has(code)) {
        unhealthy ??= `shard ${shardId} closed with ${code}`;
        const error = new RuntimeError(
          code === 4004 ? RuntimeErrorCodes.TokenRejected : RuntimeErrorCodes.FatalClose,
          code === 4004
            ? `the gateway closed shard ${shardId} with 4004 (authentication failed)`
            : `shard ${shardId} closed with ${code}: Discord will refuse it until the configuration changes`,
        );
        logger.fatal({ shard: shardId, code, err: error }, 'shard closed for good: the process is unhealthy');
        resolveFatal(error);
        return;
      }
      metrics.shardReconnects.inc(label(shardId));
      // Logged once per change of state: the first close after a healthy session.
      if (backoff.failures(shardId) === 0) logger.warn({ shard: shardId, code }, 'shard reconnecting');
      else
        logger.debug({ shard: shardId, code, failures: backoff.failures(shardId) }, 'shard reconnect failed');
    },
    invalidSession(shardId, resumable) {
      metrics.shardInvalidSessions.inc(label(shardId));
      logger.warn({ shard: shardId, resumable }, 'invalid session');
    },
    error(shardId, error) {
      logger.error({ shard: shardId, err: error }, 'shard error');
    },
    heartbeat(shardId, latency) {
      metrics.shardHeartbeatLatency.set(label(shardId), latency / 1000);
    },
    debug(shardId, message) {
      logger.trace({ shard: shardId, discord: message }, '@discordjs/ws');
    },
  };

  const shardSet = new ShardSet({
    token: config.token,
    intents: o.intents,
    rest,
    shardCount,
    gateway,
    throttler,
    sessions,
    listener,
    beforeReconnect(shardId) {
      const delay = backoff.next(shardId);
      if (backoff.failures(shardId) === 2) {
        logger.warn({ shard: shardId, delayMs: Math.round(delay) }, 'shard cannot reconnect: backing off');
      } else if (delay > 0) {
        logger.debug(
          { shard: shardId, delayMs: delay, failures: backoff.failures(shardId) },
          'reconnect backoff',
        );
      }
      return delay > 0 ? sleep(delay, abort.signal).catch(() => {}) : undefined;
    },
  });

  // The shards this process is to hold: planned ones count before their claim starts, so that /readyz
  // never answers 200 before the process has even begun connecting them.
  const wanted = new Set<number>(shards.shardIds);
  const notReady = () => [...wanted].filter((id) => shardSet.state(id) !== 'ready').sort((a, b) => a - b);
  // The shards this process is to hold, from the first scrape on (as the plan says), not the ones
  // whose lease it has taken so far.
  metrics.shardsOwned.set(wanted.size);
  for (const id of wanted) {
    metrics.shardReady.set(label(id), 0);
    for (const counter of [metrics.shardReconnects, metrics.shardResumes, metrics.shardInvalidSessions]) {
      counter.inc(label(id), 0);
    }
  }

  async function addShards(ids: readonly number[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        if (held.has(id)) return;
        held.add(id);
        wanted.add(id);
        for (const counter of [metrics.shardReconnects, metrics.shardResumes, metrics.shardInvalidSessions]) {
          counter.inc(label(id), 0);
        }
        metrics.shardReady.set(label(id), 0);
        metrics.shardsOwned.set(wanted.size);
        try {
          const how = await sessions.claim(id, abort.signal);
          logger.info({ shard: id, how }, how === 'resume' ? 'resuming the saved session' : 'identifying');
          if (!held.has(id) || abort.signal.aborted) return;
          shardSet.add(id);
        } catch (error) {
          if (!abort.signal.aborted) logger.error({ shard: id, err: error }, 'could not claim the session');
        }
      }),
    );
  }

  async function removeShards(ids: readonly number[], save = true): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        if (!held.has(id) || (leaving.has(id) && save)) return;
        leaving.add(id);
        sessions.keep(id);
        await shardSet.remove(id);
        try {
          if (save) await sessions.save(id);
          else await sessions.release(id);
        } catch (error) {
          logger.error({ shard: id, err: error }, 'could not save the session');
        }
        held.delete(id);
        wanted.delete(id);
        leaving.delete(id);
        // A shard given away is not this process's any more: a series left at 0 would count it as an
        // owned shard not READY (the judge's readiness is the mean of qsb_shard_ready).
        for (const gauge of [metrics.shardReady, metrics.shardStatus, metrics.shardHeartbeatLatency])
          gauge.remove(label(id));
        metrics.shardsOwned.set(wanted.size);
      }),
    );
  }

  /** Whether `shardId` is still this process's: by the routing plan under live routing, else by the shard plan. */
  const stillOurs = (shardId: number) =>
    routing ? (member?.wantedShards().includes(shardId) ?? false) : shards.shardIds.includes(shardId);

  /**
   * A lease lost while the process lives (a renewal too late, the store away): stop answering on the
   * shard at once, close it, and, if it is still this process's, claim it again as at boot (wait for
   * the lease, resume what the store offers, else identify on the schedule).
   */
  async function recover(shardId: number, reason: string): Promise<void> {
    if (!held.has(shardId) || leaving.has(shardId)) return;
    leaving.add(shardId);
    logger.error({ shard: shardId, reason }, 'lost the session lease: stopped answering on the shard');
    await removeShards([shardId], false);
    if (abort.signal.aborted) return;
    if (!stillOurs(shardId)) {
      logger.info(
        { shard: shardId, reason: 'no longer this process’s by the plan' },
        'not reclaiming the shard',
      );
      return;
    }
    logger.info(
      { shard: shardId, reason: `lease ${reason}; still this process’s by the plan` },
      'reclaiming the shard',
    );
    await addShards([shardId]);
  }

  const server = createHttpServer({
    registry,
    metricsToken: config.metricsToken,
    notReadyShards: notReady,
    unhealthyReason: () => unhealthy,
    beforeScrape: () => {
      for (const id of held)
        metrics.shardStatus.set(label(id), stateValue[shardSet.state(id) ?? 'connecting']);
    },
  });
  const port = await serve(server, config, logger);
  const writer =
    config.remoteWrite &&
    startRemoteWriter({
      registry,
      url: config.remoteWrite.url,
      intervalMs: config.remoteWrite.intervalMs,
      onError: (error) => logger.warn({ err: error }, 'remote write failed; the next push tries again'),
    });
  if (config.registerCommands) await registerCommands(rest, o.commands, logger);

  if (shards.shardIds.length === 0) {
    logger.warn({ dyno: config.sharding.dyno }, 'this dyno owns no shard: more dynos than shards');
  }
  const ready = new Promise<void>((resolve) => {
    readyWaiters.push(resolve);
  });
  // Not awaited: a shard whose session lease is still held elsewhere must not hold the others back.
  const adding = routing ? startRouting() : addShards(shards.shardIds);
  void adding.then(checkReady);

  /** Follows the plan in the store: its first step connects this process's shards by the plan. */
  async function startRouting(): Promise<void> {
    member = new RouteMember({
      store,
      self: { deployment, dyno: config.sharding.dyno.index },
      boot: {
        shardCount,
        percent: config.sharding.percent,
        maxConcurrency,
        // Only this deployment's dyno count is known here; the first plan assumes the same for both.
        dynos: { canary: config.sharding.dyno.count, production: config.sharding.dyno.count },
      },
      logger,
      clock: wallClock,
      identity: owner,
    });
    following = followPlan({
      member,
      logger,
      shards: {
        held: () => [...held].filter((id) => !leaving.has(id)),
        ready: () => [...held].filter((id) => shardSet.state(id) === 'ready'),
        // Not awaited: a claim may wait for a session lease, and the plan's loop must keep its pace.
        add: async (ids) => void addShards(ids),
        remove: async (ids) => void removeShards(ids.filter((id) => !leaving.has(id))),
      },
    });
    await following.step();
    // The shards of SHARD_PERCENT counted as wanted until the plan was read; the store's plan may give
    // this process others (a release while a move had the share elsewhere): /readyz must not wait for
    // shards that the plan gives to the other deployment.
    for (const id of [...wanted]) {
      if (held.has(id)) continue;
      wanted.delete(id);
      for (const gauge of [metrics.shardReady, metrics.shardStatus, metrics.shardHeartbeatLatency])
        gauge.remove(label(id));
    }
    metrics.shardsOwned.set(wanted.size);
  }

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    port,
    plan: shardPlan,
    shards,
    metrics,
    store,
    ready,
    fatal,
    heldShards: () => [...held].sort((a, b) => a - b),
    addShards,
    removeShards,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        const handoffWaitMs = stopOptions.handoffWaitMs ?? 0;
        logger.info(
          { inFlight: handler.inFlight, handoffWaitMs },
          'stopping: saving sessions, finishing in-flight interactions',
        );
        await following?.stop();
        abort.abort();
        await adding;
        await Promise.all(recovering);
        // Close each shard resumably and save its session at the last handled event; from then on the
        // next process answers, and this one only finishes what it already started. With a handoff
        // wait, a shard is given up when its successor asks for it: until then it keeps answering.
        const saved = [...held];
        const waiting = new AbortController();
        setMaxListeners(0, waiting.signal);
        await Promise.all(
          saved.map(async (id) => {
            // A shard still waiting for its lease has nothing to hand over.
            if (handoffWaitMs > 0 && sessions.holds(id)) {
              const asked = await sessions.awaitSuccessor(id, handoffWaitMs, waiting.signal);
              logger.info(
                { shard: id, successor: asked },
                asked ? 'handing the session over' : 'no successor came',
              );
            }
            await removeShards([id]);
          }),
        );
        logger.info({ shards: saved }, 'sessions saved');
        await handler.drain();
        // The last counts, after the last interaction, reach the receiver before the process ends.
        await writer
          ?.stop()
          .catch((error: unknown) => logger.warn({ err: error }, 'last remote write failed'));
        sessions.close();
        flags.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (ownsStore) await store.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
