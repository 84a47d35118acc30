import {
  type Deployment,
  diffPlans,
  percentToBasisPoints,
  planShards,
  ShardingError,
  type ShardPlan,
  splitAmongDynos,
} from '@qsb/sharding';
import { RouterError, RouterErrorCodes } from '../errors/RouterError.ts';

/**
 * The phases of the routing plan. A move goes `Stable -> Connecting -> CuttingOver -> Draining -> Stable`,
 * or `Connecting -> Aborted` when a receiver does not report READY in time. `Aborted` routes like
 * `Stable` at the old percent.
 */
export const RoutePhases = ['Stable', 'Connecting', 'CuttingOver', 'Draining', 'Aborted'] as const;

/** One phase of the routing plan; see {@link RoutePhases}. */
export type RoutePhase = (typeof RoutePhases)[number];

/**
 * Timings every process reads from the plan, so that all of them decide with the same numbers.
 * The safety argument needs `maxViewAgeMs < cutoverLeadMs` and `interactionMaxAgeMs <= graceMs`.
 */
export interface RouteTimings {
  /** A member's lease lasts this long without renewal. @defaultValue 3000 */
  readonly leaseTtlMs: number;
  /** A view of the plan and the leases older than this is stale: a member acting on it must hold back. @defaultValue 1000 */
  readonly maxViewAgeMs: number;
  /** The cutover time T is committed this far ahead of the commit. @defaultValue 2000 */
  readonly cutoverLeadMs: number;
  /** After T the giver keeps its sessions this long for interactions created before T. @defaultValue 5000 */
  readonly graceMs: number;
  /** An interaction older than this is answered by nobody (Discord has dropped it). @defaultValue 5000 */
  readonly interactionMaxAgeMs: number;
  /** Receivers must report READY within this long, or the move aborts. @defaultValue 60000 */
  readonly connectTimeoutMs: number;
}

/** @defaultValue the timings of a new plan */
export const DefaultRouteTimings = {
  leaseTtlMs: 3000,
  maxViewAgeMs: 1000,
  cutoverLeadMs: 2000,
  graceMs: 5000,
  interactionMaxAgeMs: 5000,
  connectTimeoutMs: 60_000,
} as const satisfies RouteTimings;

/** The move under way (or the last one, in `Aborted`). */
export interface RouteMove {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly startedAt: number;
  /** Receivers must report READY before this (store clock). */
  readonly connectDeadline: number;
}

/**
 * The routing plan, stored as JSON under {@link PlanKey}, written by compare-and-set only.
 *
 * Who answers an interaction depends on its creation time: before `cutoverAt` the owner under
 * `previousPercent`, from `cutoverAt` on the owner under `percent`. Only the commit of a cutover changes
 * that rule; every other write (a new phase, a new move) leaves it as it was.
 */
export interface RoutingPlan {
  readonly schema: 1;
  /** Grows by one with every write. */
  readonly epoch: number;
  readonly shardCount: number;
  readonly maxConcurrency: number;
  readonly canaryTakesShardZero: boolean;
  /** How many dynos each deployment runs; shards are split among them with `splitAmongDynos`. */
  readonly dynos: { readonly canary: number; readonly production: number };
  /** The canary's percent for interactions created at or after `cutoverAt`. */
  readonly percent: number;
  /** The canary's percent for interactions created before `cutoverAt`. */
  readonly previousPercent: number;
  /** The last committed cutover time T (ms since the Unix epoch); 0 before the first move. */
  readonly cutoverAt: number;
  /**
   * A store time by which the commit of `cutoverAt` was visible to every reader (the router's clock
   * after it read the committed plan back); unset until the router has confirmed it. A view of the plan
   * before the commit is used until at most this plus `maxViewAgeMs`, so only then may the new owner of
   * a moved shard answer: a slow write (a file store under I/O pressure) delays the receiver instead of
   * letting a giver on its older view answer past T.
   */
  readonly cutoverVisibleBy?: number;
  readonly phase: RoutePhase;
  readonly move?: RouteMove;
  readonly timings: RouteTimings;
  /** Why the plan is in this phase, as logged. */
  readonly reason: string;
  readonly updatedAt: number;
}

/** The store key of the routing plan. */
export const PlanKey = 'route:plan';

/** Who answers: a deployment and its dyno (1-based). */
export interface RouteOwner {
  readonly deployment: Deployment;
  readonly dyno: number;
}

/** Whether a move is under way (it blocks another one). */
export function moving(plan: RoutingPlan): boolean {
  return plan.phase === 'Connecting' || plan.phase === 'CuttingOver' || plan.phase === 'Draining';
}

/** The shard plan (`@qsb/sharding`) of this routing plan at `percent`. */
export function shardPlanAt(plan: RoutingPlan, percent: number): ShardPlan {
  return planShards({
    shardCount: plan.shardCount,
    percent,
    maxConcurrency: plan.maxConcurrency,
    canaryTakesShardZero: plan.canaryTakesShardZero,
  });
}

/** The deployment and dyno that own `shardId` at `percent`. */
export function ownerAt(plan: RoutingPlan, percent: number, shardId: number): RouteOwner {
  const shards = shardPlanAt(plan, percent);
  const deployment: Deployment = shards.canary.includes(shardId) ? 'canary' : 'production';
  const count = plan.dynos[deployment];
  for (let dyno = 1; dyno <= count; dyno++) {
    if (splitAmongDynos(shards[deployment], { index: dyno, count }).includes(shardId))
      return { deployment, dyno };
  }
  return { deployment, dyno: 1 };
}

/** The owner of an interaction created at `createdAt` on `shardId`, by the plan's cutover rule. */
export function ruleOwner(plan: RoutingPlan, shardId: number, createdAt: number): RouteOwner {
  return ownerAt(plan, createdAt >= plan.cutoverAt ? plan.percent : plan.previousPercent, shardId);
}

/** Whether `shardId` changed owner (deployment or dyno) at the plan's last cutover. */
export function movedAtCutover(plan: RoutingPlan, shardId: number): boolean {
  if (plan.percent === plan.previousPercent) return false;
  const before = ownerAt(plan, plan.previousPercent, shardId);
  const after = ownerAt(plan, plan.percent, shardId);
  return before.deployment !== after.deployment || before.dyno !== after.dyno;
}

/** The shards of the move under way, both directions, ascending; empty when none. */
export function movingShards(plan: RoutingPlan): number[] {
  if (plan.move === undefined || !moving(plan)) return [];
  const diff = diffPlans(shardPlanAt(plan, plan.move.from), shardPlanAt(plan, plan.move.to));
  return [...diff.toCanary, ...diff.toProduction].sort((a, b) => a - b);
}

/** The shards a deployment's dyno owns at `percent`. */
export function shardsOf(plan: RoutingPlan, percent: number, owner: RouteOwner): number[] {
  const shards = shardPlanAt(plan, percent);
  return splitAmongDynos(shards[owner.deployment], {
    index: owner.dyno,
    count: plan.dynos[owner.deployment],
  });
}

/**
 * Checks a percent given by an operator: 0 to 100, at most two decimals. `what` names the input.
 *
 * @throws {@link RouterError} `INVALID_PERCENT`
 */
export function checkPercent(percent: number, what = '--percent'): number {
  try {
    percentToBasisPoints(percent);
  } catch (error) {
    if (!(error instanceof ShardingError)) throw error;
    throw new RouterError(
      RouterErrorCodes.InvalidPercent,
      `${what} ${percent}: allowed is a number from 0 to 100 with at most two decimals`,
    );
  }
  return percent;
}

/** What a process boots with when the store has no plan yet (from `SHARD_COUNT`, `SHARD_PERCENT`, ...). */
export interface BootPlan {
  readonly shardCount: number;
  readonly percent: number;
  readonly maxConcurrency?: number;
  readonly canaryTakesShardZero?: boolean;
  readonly dynos?: { readonly canary: number; readonly production: number };
  readonly timings?: Partial<RouteTimings>;
}

/** The first plan, at epoch 1. */
export function initialPlan(boot: BootPlan, now: number): RoutingPlan {
  const plan: RoutingPlan = {
    schema: 1,
    epoch: 1,
    shardCount: boot.shardCount,
    maxConcurrency: boot.maxConcurrency ?? 1,
    canaryTakesShardZero: boot.canaryTakesShardZero ?? false,
    dynos: boot.dynos ?? { canary: 1, production: 1 },
    percent: checkPercent(boot.percent, 'SHARD_PERCENT'),
    previousPercent: boot.percent,
    cutoverAt: 0,
    phase: 'Stable',
    timings: { ...DefaultRouteTimings, ...boot.timings },
    reason: `first plan, from a process booting with SHARD_PERCENT=${boot.percent}`,
    updatedAt: now,
  };
  shardPlanAt(plan, plan.percent);
  return plan;
}

/**
 * Reads a stored plan, checking what the router relies on.
 *
 * @throws {@link RouterError} `INVALID_PLAN` naming what is wrong.
 */
export function parsePlan(text: string): RoutingPlan {
  let plan: RoutingPlan;
  try {
    plan = JSON.parse(text) as RoutingPlan;
  } catch {
    throw new RouterError(RouterErrorCodes.InvalidPlan, `${PlanKey} is not JSON`);
  }
  const bad = (what: string): never => {
    throw new RouterError(RouterErrorCodes.InvalidPlan, `${PlanKey} ${what}`);
  };
  if (typeof plan !== 'object' || plan === null || plan.schema !== 1) bad('has no schema 1');
  if (!Number.isSafeInteger(plan.epoch) || plan.epoch < 1) bad(`has epoch ${plan.epoch}`);
  if (!RoutePhases.includes(plan.phase))
    bad(`has phase ${JSON.stringify(plan.phase)}, allowed: ${RoutePhases.join(', ')}`);
  if (moving(plan) && plan.move === undefined) bad(`is in phase ${plan.phase} without a move`);
  if (typeof plan.timings !== 'object' || plan.timings === null) bad('has no timings');
  if (plan.cutoverVisibleBy !== undefined && !Number.isFinite(plan.cutoverVisibleBy))
    bad(`has cutoverVisibleBy ${JSON.stringify(plan.cutoverVisibleBy)}`);
  try {
    shardPlanAt(plan, plan.percent);
    shardPlanAt(plan, plan.previousPercent);
  } catch (error) {
    bad(`cannot be planned: ${(error as Error).message}`);
  }
  return plan;
}
