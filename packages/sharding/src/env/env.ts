import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';
import type { DynoSlot } from '../plan/dyno.ts';
import { type Deployment, MAX_SHARD_COUNT } from '../plan/plan.ts';

/** What the sharding variables of the environment say about this process. */
export interface ShardingEnv {
  /** `CANARY=true` makes the canary; unset, production. */
  readonly deployment: Deployment;
  /** `SHARD_PERCENT`: the canary's share, read by both deployments so that they agree. */
  readonly percent: number;
  /** `SHARD_COUNT`: undefined when unset (the caller decides whether that is allowed). */
  readonly shardCount: number | undefined;
  /** `DYNO` and `DYNO_COUNT`: this process's place among its deployment's dynos. */
  readonly dyno: DynoSlot;
  /** `MAX_CONCURRENCY`: undefined when unset (the caller asks Discord). */
  readonly maxConcurrency: number | undefined;
  /** `CANARY_TAKES_SHARD_ZERO`: whether the canary may own shard 0 (DMs) below 100%. */
  readonly canaryTakesShardZero: boolean;
}

/** @defaultValue what an unset variable means */
export const ShardingEnvDefaults = {
  percent: 20,
  dynoCount: 1,
  canaryTakesShardZero: false,
} as const;

/** Heroku process types that run once rather than as part of a deployment's formation. */
const ONE_OFF_DYNO_TYPES = new Set(['run', 'release', 'scheduler']);

const PERCENT = /^(?:100(?:\.0{1,2})?|[0-9]{1,2}(?:\.[0-9]{1,2})?)$/;
const POSITIVE_INT = /^[1-9][0-9]{0,9}$/;
const DYNO = /^([A-Za-z0-9_-]+)\.([1-9][0-9]{0,5})$/;

type Env = Readonly<Record<string, string | undefined>>;

function refuse(name: string, value: string, allowed: string): ShardingError {
  return new ShardingError(
    ShardingErrorCodes.InvalidEnvironment,
    `${name}=${JSON.stringify(value)}: ${allowed}`,
  );
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined) return fallback;
  switch (value.toLowerCase()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      throw refuse(name, value, 'must be true, false, 1 or 0');
  }
}

function readPositiveInt(env: Env, name: string, max: number): number | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!POSITIVE_INT.test(value) || n > max) throw refuse(name, value, `must be an integer from 1 to ${max}`);
  return n;
}

function readPercent(env: Env): number {
  const value = env.SHARD_PERCENT;
  if (value === undefined) return ShardingEnvDefaults.percent;
  if (!PERCENT.test(value)) {
    throw refuse('SHARD_PERCENT', value, 'must be a number from 0 to 100 with at most two decimals');
  }
  return Number(value);
}

function readDyno(env: Env): DynoSlot {
  const count = readPositiveInt(env, 'DYNO_COUNT', 10_000) ?? ShardingEnvDefaults.dynoCount;
  const value = env.DYNO;
  if (value === undefined) return { index: 1, count };
  const match = DYNO.exec(value);
  if (!match)
    throw refuse('DYNO', value, 'must be <process type>.<index from 1>, as Heroku sets it (worker.3)');
  const [, type = '', digits = ''] = match;
  // A one-off dyno (`heroku run qsb shards`) is not part of the formation: it answers for the whole deployment.
  if (ONE_OFF_DYNO_TYPES.has(type)) return { index: 1, count: 1 };
  const index = Number(digits);
  if (index > count) {
    throw refuse(
      'DYNO',
      value,
      `index ${index} is above DYNO_COUNT=${count}; set DYNO_COUNT to the number of dynos`,
    );
  }
  return { index, count };
}

/**
 * Reads the sharding variables. Unset variables take the documented defaults; a malformed value is
 * refused, never replaced by a default.
 *
 * | variable | meaning | unset |
 * | --- | --- | --- |
 * | `CANARY` | `true`/`1` for the canary, `false`/`0` for production | production |
 * | `SHARD_PERCENT` | the canary's share of shards, 0..100 | 20 |
 * | `SHARD_COUNT` | total shards, same on both apps | undefined |
 * | `DYNO`, `DYNO_COUNT` | this dyno (`worker.3`) and how many run | 1 of 1 |
 * | `MAX_CONCURRENCY` | identify buckets | undefined |
 * | `CANARY_TAKES_SHARD_ZERO` | canary may own shard 0 below 100% | false |
 *
 * @throws {@link ShardingError} `INVALID_ENVIRONMENT`, whose message names the variable, its value and what is allowed.
 */
export function parseShardingEnv(env: Env): ShardingEnv {
  return {
    deployment: readBoolean(env, 'CANARY', false) ? 'canary' : 'production',
    percent: readPercent(env),
    shardCount: readPositiveInt(env, 'SHARD_COUNT', MAX_SHARD_COUNT),
    dyno: readDyno(env),
    maxConcurrency: readPositiveInt(env, 'MAX_CONCURRENCY', 1024),
    canaryTakesShardZero: readBoolean(
      env,
      'CANARY_TAKES_SHARD_ZERO',
      ShardingEnvDefaults.canaryTakesShardZero,
    ),
  };
}
