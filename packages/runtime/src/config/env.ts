import { FlagsError, parseFlagsEnv, type UnleashServerOptions } from '@qsb/flags';
import { parseShardingEnv, type ShardingEnv, ShardingError } from '@qsb/sharding';
import { parseStoreUrl, StoreError, type StoreKind } from '@qsb/store';
import type { Level } from 'pino';
import { RuntimeError, RuntimeErrorCodes } from '../errors/RuntimeError.ts';

/** Where the session store is, as `QSB_STORE` names it: the value, checked, and where it points. */
export interface StoreSpec {
  readonly kind: StoreKind;
  /** `QSB_STORE` as given (undefined: the default file), for `createStore`. */
  readonly url: string | undefined;
  /** Printable, password masked. */
  readonly description: string;
}

/** How identifies are spaced: the shared wall-clock schedule, or leases `identify:<bucket>` in the store. */
export type IdentifyMode = 'schedule' | 'store';

/** Everything the runtime reads from its environment. */
export interface RuntimeConfig {
  readonly token: string;
  /** discord.js `rest.api`; `https://discord.com/api` unless DISCORD_API_URL points elsewhere. */
  readonly apiUrl: string;
  readonly sharding: ShardingEnv;
  /** Identify window per bucket in ms: Discord's 5,000 unless IDENTIFY_WINDOW_MS says otherwise (a local Discord). */
  readonly identifyWindowMs: number;
  readonly host: string;
  readonly port: number;
  /** Bearer token required on /metrics, when set. */
  readonly metricsToken: string | undefined;
  /**
   * `METRICS_REMOTE_WRITE_URL`: where this dyno pushes its own series every
   * `METRICS_REMOTE_WRITE_INTERVAL_MS` (Prometheus remote write), so that several dynos behind Heroku's
   * router are all seen. A secret: the URL may carry credentials.
   */
  readonly remoteWrite: { readonly url: string; readonly intervalMs: number } | undefined;
  readonly logLevel: Level;
  readonly version: string;
  /** Heroku's dyno name (`web.2`), for the `dyno` metric label; empty when unset. */
  readonly dynoName: string;
  /** Whether this process registers the slash commands (one designated process; production dyno 1 by default). */
  readonly registerCommands: boolean;
  /** Seconds a SIGTERM leaves in-flight work before the process exits anyway (Heroku kills at 30). */
  readonly shutdownGraceMs: number;
  /**
   * `QSB_HANDOFF_WAIT_MS`: after SIGTERM, how long each shard keeps answering while no successor
   * process has asked for its session (Heroku starts the new dyno as it stops the old one).
   */
  readonly handoffWaitMs: number;
  /**
   * `QSB_SESSION_LEASE_TTL_MS`: how long a session lease lives unless renewed (every third of it). Shorter
   * hands a dead process's shards over sooner; longer tolerates a slower store.
   */
  readonly sessionLeaseTtlMs: number;
  /** The feature-flag file, and an Unleash server if one is configured. */
  readonly flagsFile: string;
  readonly unleash: UnleashServerOptions | undefined;
  /** Whether FLAGS_FILE was set (then a missing file is refused even for a bot without flags). */
  readonly flagsFileSet: boolean;
  /** The session store (`QSB_STORE`); unset: a file under `.qsb/` in the working directory. */
  readonly store: StoreSpec;
  /**
   * `QSB_IDENTIFY`: `store` takes an identify lease per bucket in the store (every process of the bot
   * must then share that store); `schedule` keeps the wall-clock slots. Unset: `store` for a Redis
   * store, `schedule` otherwise.
   */
  readonly identify: IdentifyMode;
}

/** @defaultValue what an unset variable means */
export const RuntimeConfigDefaults = {
  apiUrl: 'https://discord.com/api',
  identifyWindowMs: 5000,
  host: '0.0.0.0',
  port: 3000,
  version: 'dev',
  shutdownGraceMs: 25_000,
  handoffWaitMs: 10_000,
  sessionLeaseTtlMs: 15_000,
  flagsFile: 'flags/features.json',
} as const;

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

type Env = Readonly<Record<string, string | undefined>>;

function configError(detail: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCodes.InvalidEnvironment, detail);
}

function refuse(name: string, value: string, allowed: string): RuntimeError {
  return configError(`${name}=${JSON.stringify(value)}: ${allowed}`);
}

/**
 * Reads `QSB_STORE` (`memory:`, `file:PATH`, `redis://...`, `rediss://...`; unset: `.qsb/store.json` in
 * the working directory) with the store package's own parser, so that the bot and `qsb` agree.
 */
export function parseStoreSpec(value: string | undefined): StoreSpec {
  try {
    const location = parseStoreUrl(value);
    return { kind: location.kind, url: value, description: location.description };
  } catch (error) {
    if (error instanceof StoreError) throw configError(error.detail);
    throw error;
  }
}

function readInt(env: Env, name: string, min: number, max: number): number | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]{1,10}$/.test(value) || n < min || n > max) {
    throw refuse(name, value, `must be an integer from ${min} to ${max}`);
  }
  return n;
}

function readBool(env: Env, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw refuse(name, value, 'must be true, false, 1 or 0');
}

function readUrl(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse(name, value, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw refuse(name, value, 'must be an http(s) URL');
  return value.replace(/\/+$/, '');
}

/**
 * DISCORD_API_URL is the API root (discord.js adds the version). A URL copied with the version the bot
 * speaks (`.../api/v10`) is accepted as its root; any other version is refused, since the bot would
 * get nothing but bare 404s.
 */
function readRemoteWrite(env: Env): RuntimeConfig['remoteWrite'] {
  const value = env.METRICS_REMOTE_WRITE_URL;
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // The value is not repeated: it may hold credentials.
    throw configError('METRICS_REMOTE_WRITE_URL must be an absolute http(s) URL (value not shown)');
  }
  return {
    url: value,
    intervalMs: readInt(env, 'METRICS_REMOTE_WRITE_INTERVAL_MS', 1000, 300_000) ?? 15_000,
  };
}

function readApiUrl(env: Env): string | undefined {
  const url = readUrl(env, 'DISCORD_API_URL');
  if (url === undefined) return undefined;
  const version = /\/v([0-9]+)$/.exec(url);
  if (version === null) return url;
  if (version[1] === '10') return url.slice(0, -'/v10'.length);
  throw refuse(
    'DISCORD_API_URL',
    env.DISCORD_API_URL ?? '',
    `must be the API root without a version (like https://discord.com/api or http://127.0.0.1:P/api): the bot speaks v10 and adds it`,
  );
}

/**
 * Reads and checks the whole environment before anything connects. A malformed value is refused with
 * one line; nothing malformed is replaced by a default.
 *
 * Shard-count agreement: both deployments must identify with the same total, and Discord's recommended
 * count changes as the bot grows, so `SHARD_COUNT` is required whenever a canary can be running (this
 * process is the canary, or production leaves it a share). Only production at `SHARD_PERCENT=0`, alone,
 * may leave it unset and take Discord's recommendation.
 */
export function parseRuntimeEnv(env: Env): RuntimeConfig {
  let sharding: ShardingEnv;
  let unleash: UnleashServerOptions | undefined;
  try {
    sharding = parseShardingEnv(env);
    unleash = parseFlagsEnv(env);
  } catch (error) {
    if (error instanceof ShardingError) throw configError(error.detail);
    if (error instanceof FlagsError) throw configError(error.detail);
    throw error;
  }
  const token = env.DISCORD_TOKEN;
  if (token === undefined || token.length === 0) {
    throw configError('DISCORD_TOKEN is not set: the bot token is required');
  }
  if (/\s/.test(token)) throw configError('DISCORD_TOKEN contains whitespace');
  if (sharding.shardCount === undefined && (sharding.deployment === 'canary' || sharding.percent > 0)) {
    throw configError(
      `SHARD_COUNT is not set: it is required whenever a canary can run (CANARY=${env.CANARY ?? 'unset'}, SHARD_PERCENT=${sharding.percent}), so that both deployments identify with the same total`,
    );
  }
  const level = env.LOG_LEVEL;
  if (level !== undefined && !LEVELS.includes(level as Level)) {
    throw refuse('LOG_LEVEL', level, `must be one of ${LEVELS.join(', ')}`);
  }
  const version =
    env.QSB_VERSION ?? env.HEROKU_RELEASE_VERSION ?? env.SOURCE_VERSION ?? RuntimeConfigDefaults.version;
  if (!/^[A-Za-z0-9._+-]{1,64}$/.test(version)) {
    throw refuse(
      'QSB_VERSION',
      version,
      'must be 1 to 64 letters, digits, dots, dashes, pluses or underscores',
    );
  }
  const metricsToken = env.METRICS_TOKEN;
  if (metricsToken !== undefined && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    throw configError('METRICS_TOKEN must be at least 16 characters without whitespace');
  }
  const store = parseStoreSpec(env.QSB_STORE);
  const identify = env.QSB_IDENTIFY ?? (store.kind === 'redis' ? 'store' : 'schedule');
  if (identify !== 'store' && identify !== 'schedule') {
    throw refuse('QSB_IDENTIFY', identify, 'must be schedule or store');
  }
  const shutdownGraceMs =
    readInt(env, 'SHUTDOWN_GRACE_MS', 0, 28_000) ?? RuntimeConfigDefaults.shutdownGraceMs;
  const handoffWaitMs =
    readInt(env, 'QSB_HANDOFF_WAIT_MS', 0, 28_000) ??
    Math.min(RuntimeConfigDefaults.handoffWaitMs, shutdownGraceMs / 2);
  if (handoffWaitMs >= shutdownGraceMs && shutdownGraceMs > 0) {
    throw refuse(
      'QSB_HANDOFF_WAIT_MS',
      String(handoffWaitMs),
      `must be below SHUTDOWN_GRACE_MS (${shutdownGraceMs}), which must leave time to save the sessions`,
    );
  }
  const isFirstProductionDyno = sharding.deployment === 'production' && sharding.dyno.index === 1;
  return {
    token,
    apiUrl: readApiUrl(env) ?? RuntimeConfigDefaults.apiUrl,
    sharding,
    identifyWindowMs: readInt(env, 'IDENTIFY_WINDOW_MS', 1, 60_000) ?? RuntimeConfigDefaults.identifyWindowMs,
    host: env.HOST ?? RuntimeConfigDefaults.host,
    port: readInt(env, 'PORT', 0, 65_535) ?? RuntimeConfigDefaults.port,
    metricsToken,
    remoteWrite: readRemoteWrite(env),
    logLevel: (level as Level | undefined) ?? (sharding.deployment === 'canary' ? 'debug' : 'info'),
    version,
    dynoName: env.DYNO ?? '',
    registerCommands: readBool(env, 'REGISTER_COMMANDS') ?? isFirstProductionDyno,
    shutdownGraceMs,
    handoffWaitMs,
    sessionLeaseTtlMs:
      readInt(env, 'QSB_SESSION_LEASE_TTL_MS', 300, 300_000) ?? RuntimeConfigDefaults.sessionLeaseTtlMs,
    flagsFile: env.FLAGS_FILE ?? RuntimeConfigDefaults.flagsFile,
    unleash,
    flagsFileSet: env.FLAGS_FILE !== undefined,
    store,
    identify,
  };
}
