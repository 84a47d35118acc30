import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';
import { shardForGuild } from '../guild/snowflake.ts';

/** The two deployments of the bot. */
export type Deployment = 'canary' | 'production';

/** The largest shard count accepted; far above any bot's needs, it bounds the work of one plan. */
export const MAX_SHARD_COUNT = 1 << 20;

export interface ShardPlanRequiredOptions {
  /** Total number of gateway shards, identical for every process of both deployments. */
  shardCount: number;
  /** The canary's share of shards in percent, 0 to 100, at most two decimals. */
  percent: number;
}

export interface ShardPlanOptionalOptions {
  /** Discord's `session_start_limit.max_concurrency`: shards in one identify bucket are `id % maxConcurrency`. */
  maxConcurrency: number;
  /**
   * Whether the canary may take shard 0 below 100%. Shard 0 receives every event without a guild (DMs),
   * so by default it stays with production until the canary takes everything.
   */
  canaryTakesShardZero: boolean;
}

export type ShardPlanOptions = ShardPlanRequiredOptions & Partial<ShardPlanOptionalOptions>;

/** @defaultValue the plan's optional options */
export const DefaultShardPlanOptions = {
  maxConcurrency: 1,
  canaryTakesShardZero: false,
} as const satisfies ShardPlanOptionalOptions;

/** Which shards each deployment owns. Plain data: it serialises to JSON as is. */
export interface ShardPlan {
  readonly shardCount: number;
  readonly percent: number;
  readonly maxConcurrency: number;
  readonly canaryTakesShardZero: boolean;
  /** The canary's shard ids, ascending. */
  readonly canary: readonly number[];
  /** Production's shard ids, ascending. Together with `canary`, every shard exactly once. */
  readonly production: readonly number[];
}

function invalid(detail: string): ShardingError {
  return new ShardingError(ShardingErrorCodes.InvalidOption, detail);
}

function checkShardCount(shardCount: number): void {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARD_COUNT) {
    throw invalid(`shardCount ${shardCount} must be an integer from 1 to ${MAX_SHARD_COUNT}`);
  }
}

/**
 * The percent in hundredths (basis points), so that all rounding below is exact integer arithmetic.
 *
 * @throws {@link ShardingError} `INVALID_OPTION` outside 0..100 or with more than two decimals.
 */
export function percentToBasisPoints(percent: number): number {
  const bp = Math.round(percent * 100);
  if (!Number.isFinite(percent) || percent < 0 || percent > 100 || Math.abs(percent * 100 - bp) > 1e-6) {
    throw invalid(`percent ${percent} must be a number from 0 to 100 with at most two decimals`);
  }
  return bp;
}

/**
 * How many shards the canary owns.
 *
 * Rounding rule: `floor(shardCount * percent / 100)`, never above what was asked, except that any
 * percent above 0 gives at least one shard when there are two or more. Below 100% production always
 * keeps at least one shard; at 100% the canary owns every shard. The count never decreases as the
 * percent grows.
 */
export function canaryShardTotal(shardCount: number, percent: number): number {
  checkShardCount(shardCount);
  const bp = percentToBasisPoints(percent);
  if (bp === 10_000) return shardCount;
  if (bp === 0 || shardCount < 2) return 0;
  return Math.max(1, Math.floor((shardCount * bp) / 10_000));
}

/**
 * Plans which shards each deployment owns.
 *
 * The canary takes shards in one fixed order: 1, 2, 3, ... and shard 0 last (first when
 * `canaryTakesShardZero`). Because the order does not depend on the percent, the canary's shards at
 * p% are a subset of its shards at q% for p <= q: ramping never moves a guild that is already on the
 * canary back to production. Consecutive ids fall in consecutive identify buckets (`id % maxConcurrency`),
 * so the canary's shards are spread over the buckets evenly (the counts per bucket differ by at most one).
 *
 * @example
 * planShards({ shardCount: 10, percent: 20 });
 * // => { canary: [1, 2], production: [0, 3, 4, 5, 6, 7, 8, 9], ... }
 */
export function planShards(options: ShardPlanOptions): ShardPlan {
  const { shardCount, percent, maxConcurrency, canaryTakesShardZero } = {
    ...DefaultShardPlanOptions,
    ...options,
  };
  checkShardCount(shardCount);
  if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 1) {
    throw invalid(`maxConcurrency ${maxConcurrency} must be an integer >= 1`);
  }
  const total = canaryShardTotal(shardCount, percent);
  const canary: number[] = [];
  const production: number[] = [];
  if (total === shardCount) {
    for (let id = 0; id < shardCount; id++) canary.push(id);
  } else if (canaryTakesShardZero) {
    for (let id = 0; id < shardCount; id++) (id < total ? canary : production).push(id);
  } else {
    production.push(0);
    for (let id = 1; id < shardCount; id++) (id <= total ? canary : production).push(id);
  }
  return { shardCount, percent, maxConcurrency, canaryTakesShardZero, canary, production };
}

/** The deployment that owns a shard in a plan. */
export function deploymentForShard(plan: ShardPlan, shardId: number): Deployment {
  if (!Number.isSafeInteger(shardId) || shardId < 0 || shardId >= plan.shardCount) {
    throw invalid(`shard ${shardId} must be an integer from 0 to ${plan.shardCount - 1}`);
  }
  if (plan.canary.length === plan.shardCount) return 'canary';
  if (plan.canary.length === 0) return 'production';
  // The canary's shards are a contiguous run of ids (see planShards), bounded by its first and last.
  const first = plan.canary[0] ?? 0;
  const last = plan.canary[plan.canary.length - 1] ?? 0;
  return shardId >= first && shardId <= last ? 'canary' : 'production';
}

/** Which shard receives a guild's events, and which deployment serves it. */
export interface GuildPlacement {
  readonly id: string;
  readonly shard: number;
  readonly deployment: Deployment;
}

/** Which shard and which deployment serve a guild. */
export function placeGuild(plan: ShardPlan, guildId: string): GuildPlacement {
  const shard = shardForGuild(guildId, plan.shardCount);
  return { id: guildId, shard, deployment: deploymentForShard(plan, shard) };
}

/** Groups shard ids by identify bucket (`id % maxConcurrency`); index i holds bucket i's shards. */
export function identifyBuckets(shardIds: readonly number[], maxConcurrency: number): number[][] {
  const buckets: number[][] = Array.from({ length: maxConcurrency }, () => []);
  for (const id of shardIds) buckets[id % maxConcurrency]?.push(id);
  return buckets;
}
