import type { Deployment } from '@qsb/sharding';
import { movedAtCutover, movingShards, type RouteOwner, type RoutingPlan, ruleOwner } from '../plan/plan.ts';

/** The process deciding: its deployment and its dyno (1-based). */
export interface RouteSelf {
  readonly deployment: Deployment;
  readonly dyno: number;
}

/** What a process knows of the leases, from its last read of the store. */
export interface LeaseView {
  /**
   * When the plan and the leases were last read, on the store's clock, taken before the read was sent
   * (so that it is never later than the read itself).
   */
  readonly viewAt: number;
  /** This process's own member lease; undefined when it holds none. */
  readonly own?: {
    readonly expiresAt: number;
    /** When this token was first acquired (store clock, taken after the reply: never earlier). */
    readonly acquiredAt: number;
  };
  /** The canary dynos (1-based) that held a live member lease at `viewAt`. */
  readonly canaryMembers: readonly number[];
  /**
   * Per canary dyno without a lease: since when this process has seen it absent in views no more than
   * `maxViewAgeMs` apart (store clock, taken after the read). No lease of that dyno can have answered
   * an interaction created since, so a failover answers only those (a resumed session replays older
   * ones, which the canary may have answered before it died).
   */
  readonly canaryAbsentSince?: Readonly<Record<number, number>>;
  /**
   * When this process first read the plan's current cutover (store clock, taken after the read: never
   * earlier than the commit was visible). Used while the router has not yet confirmed the commit
   * (`plan.cutoverVisibleBy`); unknown counts as now.
   */
  readonly cutoverSeenAt?: number;
}

/** Why a process answers an interaction or leaves it. */
export type AnswerReason =
  | 'owner'
  | 'failover'
  | 'not-owner'
  | 'too-old'
  | 'stale-view'
  | 'moving-stale-view'
  | 'lease-lost'
  | 'lease-too-new'
  | 'canary-alive'
  | 'before-failover'
  | 'cutover-settling';

/** The decision for one interaction. */
export interface AnswerDecision {
  readonly answer: boolean;
  readonly reason: AnswerReason;
  /** Who owns it by the plan's cutover rule. */
  readonly owner: RouteOwner;
}

const DISCORD_EPOCH = 1_420_070_400_000n;

/** The creation time of a snowflake, ms since the Unix epoch. */
export function snowflakeTime(snowflake: string | bigint): number {
  return Number((BigInt(snowflake) >> 22n) + DISCORD_EPOCH);
}

/** A snowflake created at `ms` (the lowest one of that millisecond), for tests and simulations. */
export function snowflakeAt(ms: number): string {
  return ((BigInt(ms) - DISCORD_EPOCH) << 22n).toString();
}

/**
 * Whether the process `self` answers the interaction `snowflake` received on `shardId`, decided from
 * its view of the plan and of the leases at `now` (store clock). Every process of both deployments
 * decides alone; the rules below make at most one of them answer:
 *
 * - The owner is given by the plan's cutover rule on the interaction's creation time; the rule only
 *   changes when a cutover T is committed, `cutoverLeadMs` ahead, and every view used to answer is
 *   younger than `maxViewAgeMs < cutoverLeadMs`, so no process answers by a rule replaced before T.
 * - The canary answers only with a fresh view and a live lease, and only interactions created
 *   `maxViewAgeMs` after it took the lease: a production process that saw it absent (and answered its
 *   shards) has looked again by then. Creation time, not arrival, so that replays are covered too.
 * - Production answers its own shards while it holds its lease (a second process of the same dyno,
 *   such as an overlapping restart, waits for it).
 * - Production answers the canary's shards (failover) only with a fresh view in which that canary
 *   dyno held no lease, and only interactions created since it has seen that dyno absent without a
 *   gap (the canary may have answered earlier ones before it died; a resumed session replays them). Production answers its own shards on a stale view too (a store outage does not
 *   take the bot down), except the shards of a move it has seen start: no cutover can be committed
 *   without its acknowledgement of the move, so a stale view of `Stable` is still right.
 * - An interaction older than `interactionMaxAgeMs` is left: Discord no longer accepts an answer.
 * - On a shard that changed owner at the last cutover, the new owner answers an interaction created
 *   from T on only once every view from before the commit has aged out: created at or after the time
 *   the commit was visible (`plan.cutoverVisibleBy`, else when this process first read it) plus
 *   `maxViewAgeMs`. Normally that is before T; a commit slowed by the store delays the new owner
 *   instead of letting a giver on its older view answer past T.
 */
export function shouldAnswer(
  plan: RoutingPlan,
  self: RouteSelf,
  shardId: number,
  snowflake: string | bigint,
  now: number,
  leases: LeaseView,
): AnswerDecision {
  const createdAt = snowflakeTime(snowflake);
  const owner = ruleOwner(plan, shardId, createdAt);
  const decide = (answer: boolean, reason: AnswerReason): AnswerDecision => ({ answer, reason, owner });
  const { timings } = plan;
  if (now - createdAt > timings.interactionMaxAgeMs) return decide(false, 'too-old');
  const fresh = now - leases.viewAt < timings.maxViewAgeMs;
  const answer = (reason: 'owner' | 'failover'): AnswerDecision => {
    // The cheap time test first: past the settling time no shard plan needs computing (the hot path).
    const settledAt = (plan.cutoverVisibleBy ?? leases.cutoverSeenAt ?? now) + timings.maxViewAgeMs;
    if (createdAt >= plan.cutoverAt && createdAt < settledAt && movedAtCutover(plan, shardId))
      return decide(false, 'cutover-settling');
    return decide(true, reason);
  };

  if (self.deployment === 'canary') {
    if (owner.deployment !== 'canary' || owner.dyno !== self.dyno) return decide(false, 'not-owner');
    if (!fresh) return decide(false, 'stale-view');
    // Margin for the gap between this process's estimate of the store clock and the store's own.
    const own = leases.own;
    if (own === undefined || now >= own.expiresAt - timings.maxViewAgeMs / 2)
      return decide(false, 'lease-lost');
    // By creation time, not arrival: a replayed interaction from before may have had a failover answer.
    if (createdAt < own.acquiredAt + timings.maxViewAgeMs) return decide(false, 'lease-too-new');
    return answer('owner');
  }

  if (owner.deployment === 'production') {
    if (owner.dyno !== self.dyno) return decide(false, 'not-owner');
    // A fresh view without the lease: another process of this dyno holds it (an overlapping restart).
    if (fresh && leases.own === undefined) return decide(false, 'lease-lost');
    if (!fresh && plan.phase === 'Connecting' && movingShards(plan).includes(shardId)) {
      return decide(false, 'moving-stale-view');
    }
    return answer('owner');
  }

  // The canary's interaction: production takes it only while that canary dyno is gone.
  const taker = ((owner.dyno - 1) % plan.dynos.production) + 1;
  if (taker !== self.dyno) return decide(false, 'not-owner');
  if (!fresh) return decide(false, 'stale-view');
  if (leases.canaryMembers.includes(owner.dyno)) return decide(false, 'canary-alive');
  const absentSince = leases.canaryAbsentSince?.[owner.dyno];
  if (absentSince === undefined || createdAt < absentSince) return decide(false, 'before-failover');
  return answer('failover');
}
