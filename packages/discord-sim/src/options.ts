import { DiscordSimError, DiscordSimErrorCodes } from './errors/DiscordSimError.ts';
import { nodeTimers, type SimTimers } from './timers.ts';

/**
 * The bot token the local Discord accepts when none is given. It has the shape of a real token
 * (base64 user id, timestamp, HMAC) but authenticates nowhere else.
 */
export const DEFAULT_SIM_TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAw.GsimLo.cal-discord-token-for-tests-only-000000';

export interface DiscordSimOptionalOptions {
  /** How many guilds the bot is in. */
  guilds: number;
  /** The shard count `GET /gateway/bot` recommends. */
  shards: number;
  /** `session_start_limit.max_concurrency`: identify buckets are `shard_id % maxConcurrency`. */
  maxConcurrency: number;
  /** One IDENTIFY per bucket per this many ms, for the token, across every connection. */
  identifyWindowMs: number;
  /** `session_start_limit.total`: IDENTIFYs allowed per reset period. */
  sessionStartLimit: number;
  /** When the session start limit resets (ms after the first IDENTIFY of the period). */
  sessionStartResetMs: number;
  /** The bot token accepted (`Authorization: Bot <token>` and IDENTIFY). */
  token: string;
  /** Seed of the world: the same seed gives the same guild ids and sizes. */
  seed: number;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** `heartbeat_interval` in HELLO. A connection silent for 1.5 intervals is closed with 4009. */
  heartbeatIntervalMs: number;
  /** How long an interaction may wait for its first answer before it is unknown (10062). */
  interactionDeadlineMs: number;
  /** How long an interaction token's webhooks (follow-ups, edits) work after dispatch. */
  interactionTokenLifetimeMs: number;
  /** How long a disconnected session can still be resumed. */
  resumeWindowMs: number;
  /** Events kept per session for RESUME; older ones cannot be replayed (INVALID_SESSION instead). */
  replayBufferSize: number;
  /** Guilds one shard may hold; more on a shard closes the IDENTIFY with 4011 (sharding required). */
  maxGuildsPerShard: number;
  /** Large bots must use a multiple of this shard count, or IDENTIFY closes with 4010. */
  shardCountMultiple: number;
  /** Privileged intents enabled for the application (bits of GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT); others close with 4014. */
  privilegedIntents: number;
  /** The clock (Unix ms) every decision uses: deadlines, identify windows, snowflakes. */
  now: () => number;
  /** Timers for the heartbeat deadline and delayed dispatches; tests pass a fake and fire them by hand. */
  timers: SimTimers;
}

/** Options of {@link startDiscordSim}; every one has a default. */
export type DiscordSimOptions = Partial<DiscordSimOptionalOptions>;

/** @defaultValue the local Discord's options, close to Discord's own numbers */
export const DiscordSimDefaults = {
  guilds: 10,
  shards: 1,
  maxConcurrency: 1,
  identifyWindowMs: 5_000,
  sessionStartLimit: 1_000,
  sessionStartResetMs: 86_400_000,
  token: DEFAULT_SIM_TOKEN,
  seed: 1,
  port: 0,
  heartbeatIntervalMs: 41_250,
  interactionDeadlineMs: 3_000,
  interactionTokenLifetimeMs: 15 * 60_000,
  resumeWindowMs: 180_000,
  replayBufferSize: 2_048,
  maxGuildsPerShard: 2_500,
  shardCountMultiple: 1,
  privilegedIntents: 0,
  now: Date.now,
  timers: nodeTimers,
} as const satisfies DiscordSimOptionalOptions;

function check(ok: boolean, detail: string): void {
  if (!ok) throw new DiscordSimError(DiscordSimErrorCodes.InvalidOption, detail);
}

const int = (x: number, min: number, max: number) => Number.isSafeInteger(x) && x >= min && x <= max;

/** Fills defaults and checks every option, naming the first bad one. */
export function resolveSimOptions(options: DiscordSimOptions): DiscordSimOptionalOptions {
  const o: DiscordSimOptionalOptions = { ...DiscordSimDefaults, ...options };
  check(int(o.guilds, 0, 1_000_000), `guilds ${o.guilds} must be an integer from 0 to 1000000`);
  check(int(o.shards, 1, 1 << 20), `shards ${o.shards} must be an integer from 1 to ${1 << 20}`);
  check(
    int(o.maxConcurrency, 1, 1024),
    `maxConcurrency ${o.maxConcurrency} must be an integer from 1 to 1024`,
  );
  check(int(o.identifyWindowMs, 0, 86_400_000), `identifyWindowMs ${o.identifyWindowMs} must be 0..86400000`);
  check(int(o.sessionStartLimit, 0, 1e9), `sessionStartLimit ${o.sessionStartLimit} must be an integer >= 0`);
  check(int(o.sessionStartResetMs, 1, 1e10), `sessionStartResetMs ${o.sessionStartResetMs} must be >= 1`);
  check(
    typeof o.token === 'string' && /^[\x21-\x7e]{1,200}$/.test(o.token),
    `token ${JSON.stringify(o.token)} must be 1 to 200 printable ASCII characters without spaces`,
  );
  check(Number.isSafeInteger(o.seed), `seed ${o.seed} must be an integer`);
  check(int(o.port, 0, 65_535), `port ${o.port} must be an integer from 0 to 65535`);
  check(
    int(o.heartbeatIntervalMs, 1, 3_600_000),
    `heartbeatIntervalMs ${o.heartbeatIntervalMs} must be 1..3600000`,
  );
  check(int(o.interactionDeadlineMs, 0, 3_600_000), `interactionDeadlineMs must be 0..3600000`);
  check(int(o.interactionTokenLifetimeMs, 0, 86_400_000), `interactionTokenLifetimeMs must be 0..86400000`);
  check(int(o.resumeWindowMs, 0, 86_400_000), `resumeWindowMs ${o.resumeWindowMs} must be 0..86400000`);
  check(int(o.replayBufferSize, 1, 1_000_000), `replayBufferSize ${o.replayBufferSize} must be 1..1000000`);
  check(int(o.maxGuildsPerShard, 1, 1e9), `maxGuildsPerShard ${o.maxGuildsPerShard} must be >= 1`);
  check(int(o.shardCountMultiple, 1, 1 << 20), `shardCountMultiple ${o.shardCountMultiple} must be >= 1`);
  check(int(o.privilegedIntents, 0, 2 ** 31), `privilegedIntents ${o.privilegedIntents} must be a bitfield`);
  check(typeof o.now === 'function', 'now must be a function returning Unix milliseconds');
  check(typeof o.timers?.setTimeout === 'function', 'timers must have setTimeout(callback, ms)');
  return o;
}
