import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';
import type { ShardPlan } from './plan.ts';

/** The shards that change owner between two plans of the same shard count. */
export interface PlanDiff {
  /** Shards production hands to the canary (a ramp up). */
  readonly toCanary: readonly number[];
  /** Shards the canary hands back to production (a ramp down or a rollback). */
  readonly toProduction: readonly number[];
}

/**
 * Which shards move, and in which direction, when going from one plan to another.
 *
 * @throws {@link ShardingError} `INVALID_OPTION` when the plans have different shard counts: every guild
 * moves then, and the change is a full re-shard rather than a diff.
 */
export function diffPlans(from: ShardPlan, to: ShardPlan): PlanDiff {
  if (from.shardCount !== to.shardCount) {
    throw new ShardingError(
      ShardingErrorCodes.InvalidOption,
      `cannot diff plans of ${from.shardCount} and ${to.shardCount} shards: a change of shard count re-shards every guild`,
    );
  }
  const before = new Set(from.canary);
  const after = new Set(to.canary);
  return {
    toCanary: to.canary.filter((id) => !before.has(id)),
    toProduction: from.canary.filter((id) => !after.has(id)),
  };
}
