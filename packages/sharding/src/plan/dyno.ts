import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';
import type { Deployment, ShardPlan } from './plan.ts';

/** Which dyno of its deployment this process is. Heroku numbers dynos from 1 (`DYNO=worker.3`). */
export interface DynoSlot {
  /** 1-based index of this dyno. */
  index: number;
  /** How many dynos the deployment runs. */
  count: number;
}

/** What one process identifies with. */
export interface ProcessShards {
  readonly deployment: Deployment;
  /** The shard count to send in IDENTIFY: always the plan's total, never this process's share. */
  readonly shardCount: number;
  /** The shard ids this process owns, ascending. */
  readonly shardIds: readonly number[];
}

/**
 * Splits a deployment's shards among its dynos: contiguous runs in id order, the first
 * `shards % count` dynos taking one more. Dyno runs never overlap and leave no gap; a dyno beyond the
 * number of shards owns none.
 */
export function splitAmongDynos(shardIds: readonly number[], slot: DynoSlot): number[] {
  const { index, count } = slot;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ShardingError(ShardingErrorCodes.InvalidOption, `dyno count ${count} must be an integer >= 1`);
  }
  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new ShardingError(
      ShardingErrorCodes.InvalidOption,
      `dyno index ${index} must be an integer from 1 to the dyno count ${count}`,
    );
  }
  const base = Math.floor(shardIds.length / count);
  const extra = shardIds.length % count;
  const i = index - 1;
  const start = i * base + Math.min(i, extra);
  const size = base + (i < extra ? 1 : 0);
  return shardIds.slice(start, start + size);
}

/** The shards one process owns: its deployment's share of the plan, split among the deployment's dynos. */
export function shardsForProcess(
  plan: ShardPlan,
  deployment: Deployment,
  slot: DynoSlot = { index: 1, count: 1 },
): ProcessShards {
  return {
    deployment,
    shardCount: plan.shardCount,
    shardIds: splitAmongDynos(plan[deployment], slot),
  };
}
