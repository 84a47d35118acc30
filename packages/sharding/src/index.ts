export { parseShardingEnv, type ShardingEnv, ShardingEnvDefaults } from './env/env.ts';
export { ShardingError, type ShardingErrorCode, ShardingErrorCodes } from './errors/ShardingError.ts';
export { parseSnowflake, shardForGuild } from './guild/snowflake.ts';
export {
  createIdentifySchedule,
  type IdentifySchedule,
  type IdentifyScheduleOptions,
  type IdentifySlot,
} from './identify/schedule.ts';
export { diffPlans, type PlanDiff } from './plan/diff.ts';
export { type DynoSlot, type ProcessShards, shardsForProcess, splitAmongDynos } from './plan/dyno.ts';
export {
  canaryShardTotal,
  DefaultShardPlanOptions,
  type Deployment,
  deploymentForShard,
  type GuildPlacement,
  identifyBuckets,
  MAX_SHARD_COUNT,
  percentToBasisPoints,
  placeGuild,
  planShards,
  type ShardPlan,
  type ShardPlanOptionalOptions,
  type ShardPlanOptions,
  type ShardPlanRequiredOptions,
} from './plan/plan.ts';
