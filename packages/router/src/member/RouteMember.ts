import { randomBytes } from 'node:crypto';
import type { Lease, Store } from '@qsb/store';
import {
  type AnswerDecision,
  type AnswerReason,
  type LeaseView,
  type RouteSelf,
  shouldAnswer,
} from '../decide/shouldAnswer.ts';
import type { RouterLogger } from '../logger.ts';
import { type BootPlan, moving, type RoutingPlan, shardsOf } from '../plan/plan.ts';
import { ackKey, type MoveAck, memberLease, readOrBootPlan, type StoredPlan } from '../plan/planStore.ts';

/** Options of {@link RouteMember}. */
export interface RouteMemberOptions {
  readonly store: Store;
  /** This process: its deployment and its dyno (1-based). */
  readonly self: RouteSelf;
  /** The plan to write when the store has none (from this process's `SHARD_PERCENT`, ...). */
  readonly boot: BootPlan;
  readonly logger: RouterLogger;
  /** This process's clock; the store's clock is estimated from it at every refresh. @defaultValue Date.now */
  readonly clock?: () => number;
  /** The owner name of this process's lease. @defaultValue `${deployment}/${dyno}/<random>` */
  readonly identity?: string;
}

/** What a member reports for metrics (`qsb_route_epoch`, `qsb_route_phase{phase}`, `qsb_route_decisions_total{reason}`). */
export interface RouteMemberSnapshot {
  readonly epoch: number;
  readonly phase: RoutingPlan['phase'] | 'None';
  readonly percent: number;
  readonly leaseHeld: boolean;
  /** How old the view is, on the store clock. */
  readonly viewAgeMs: number;
  /** Decisions made so far, by reason. */
  readonly decisions: Readonly<Partial<Record<AnswerReason, number>>>;
}

/**
 * A bot process's side of the router: holds its member lease, keeps a fresh view of the plan and of
 * the canary's leases, acknowledges moves (and READY shards when receiving), and decides per
 * interaction with {@link shouldAnswer}. The runtime calls {@link RouteMember.refresh} on a timer
 * (every {@link RouteMember.refreshIntervalMs}), connects {@link RouteMember.wantedShards}, reports READY
 * shards with {@link RouteMember.setReady} and asks {@link RouteMember.decide} for each interaction.
 */
export class RouteMember {
  public readonly identity: string;
  private readonly store: Store;
  private readonly self: RouteSelf;
  private readonly boot: BootPlan;
  private readonly logger: RouterLogger;
  private readonly clock: () => number;
  /** Upper bounds of (store clock - this clock) from the last refreshes; the smallest is used. */
  private offsets: number[] = [];
  private offset = 0;
  /** The cutover this process has read, and when it first read it (store clock, after the read). */
  private cutoverSeen: { readonly at: number; readonly seenAt: number } | undefined;
  private current: StoredPlan | undefined;
  private lease: Lease | undefined;
  /** When the current token was acquired (store clock): renewals keep it. */
  private acquiredAt = 0;
  private view: LeaseView = { viewAt: Number.NEGATIVE_INFINITY, canaryMembers: [] };
  private ready = new Set<number>();
  private lastAck: string | undefined;
  private warnedConfig = false;
  private warnedHeld = false;
  private readonly decisions: Partial<Record<AnswerReason, number>> = {};
  /** Per canary dyno: since when it has been seen absent without a gap. */
  private readonly absentSince: Record<number, number> = {};

  public constructor(options: RouteMemberOptions) {
    this.store = options.store;
    this.self = options.self;
    this.boot = options.boot;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.identity =
      options.identity ?? `${options.self.deployment}/${options.self.dyno}/${randomBytes(3).toString('hex')}`;
  }

  /** The plan this process follows; undefined before the first refresh. */
  public get plan(): RoutingPlan | undefined {
    return this.current?.plan;
  }

  /** What this process knows of the leases. */
  public get leaseView(): LeaseView {
    return this.view;
  }

  /** How often to refresh so that the view stays fresh and the lease alive. */
  public get refreshIntervalMs(): number {
    const timings = this.current?.plan.timings;
    return timings === undefined ? 250 : Math.min(timings.maxViewAgeMs / 3, timings.leaseTtlMs / 3);
  }

  /**
   * The store's clock as this process estimates it: never earlier than the store's clock (so that a
   * view or a lease is never taken for younger than it is), by at most the fastest recent round trip.
   */
  public storeNow(): number {
    return this.clock() + this.offset;
  }

  /**
   * One round trip to the store: the clock, the lease (renewed, or acquired again with a new token),
   * the plan (the boot plan if there is none), the canary's leases, and this process's acknowledgement
   * of a move under way. Errors propagate; the view then ages until a refresh succeeds.
   */
  public async refresh(): Promise<void> {
    const sent = this.clock();
    const viewAt = await this.store.now();
    // The store read its clock after `sent`: the offset is at most this. A reply delayed after the read
    // (a busy event loop) only makes the bound looser, never wrong; the tightest recent bound is kept.
    this.offsets = [...this.offsets.slice(-7), viewAt - sent];
    this.offset = Math.min(...this.offsets);
    const stored = await readOrBootPlan(this.store, this.boot, viewAt);
    this.follow(stored);
    const plan = stored.plan;
    const followed = this.current?.plan.cutoverAt ?? plan.cutoverAt;
    if (this.cutoverSeen?.at !== followed) this.cutoverSeen = { at: followed, seenAt: this.storeNow() };
    await this.holdLease(plan.timings.leaseTtlMs);
    const canary = await this.store.leases(memberLease('canary', ''));
    const canaryMembers = canary.map((lease) => Number(lease.name.split(':').at(-1)));
    // After the read: a lease that ended before the read ended before this time too.
    const readAt = this.storeNow();
    const unbroken = viewAt - this.view.viewAt < plan.timings.maxViewAgeMs;
    for (let dyno = 1; dyno <= plan.dynos.canary; dyno++) {
      if (canaryMembers.includes(dyno)) delete this.absentSince[dyno];
      else if (this.absentSince[dyno] === undefined || !unbroken) this.absentSince[dyno] = readAt;
    }
    const canaryAbsentSince = { ...this.absentSince };
    const own = this.lease && { expiresAt: this.lease.expiresAt, acquiredAt: this.acquiredAt };
    const cutoverSeenAt = this.cutoverSeen?.seenAt;
    this.view =
      own === undefined
        ? { viewAt, canaryMembers, canaryAbsentSince, cutoverSeenAt }
        : { viewAt, own, canaryMembers, canaryAbsentSince, cutoverSeenAt };
    await this.acknowledge(plan);
  }

  /** Reports which shards have a READY session; acknowledged at the next refresh of a move. */
  public setReady(shardIds: Iterable<number>): void {
    this.ready = new Set(shardIds);
  }

  /** Whether this process answers the interaction `snowflake` received on `shardId`. */
  public decide(shardId: number, snowflake: string | bigint): AnswerDecision {
    const plan = this.current?.plan;
    const decision: AnswerDecision =
      plan === undefined
        ? {
            answer: false,
            reason: 'stale-view',
            owner: { deployment: this.self.deployment, dyno: this.self.dyno },
          }
        : shouldAnswer(plan, this.self, shardId, snowflake, this.storeNow(), this.view);
    this.decisions[decision.reason] = (this.decisions[decision.reason] ?? 0) + 1;
    return decision;
  }

  /** The plan this process follows, its lease and its decisions, for metrics. */
  public snapshot(): RouteMemberSnapshot {
    const plan = this.current?.plan;
    return {
      epoch: plan?.epoch ?? 0,
      phase: plan?.phase ?? 'None',
      percent: plan?.percent ?? this.boot.percent,
      leaseHeld: this.lease !== undefined,
      viewAgeMs: Math.max(0, this.storeNow() - this.view.viewAt),
      decisions: { ...this.decisions },
    };
  }

  /**
   * The shards this process should hold sessions on now: its own under both sides of the cutover rule
   * while the grace period runs, the receiving shards of a move, and (production) the shards of canary
   * dynos whose lease is gone. Sorted.
   */
  public wantedShards(): number[] {
    const plan = this.current?.plan;
    if (plan === undefined) return [];
    const now = this.storeNow();
    const wanted = new Set(shardsOf(plan, plan.percent, this.self));
    if (now < plan.cutoverAt + plan.timings.graceMs)
      for (const s of shardsOf(plan, plan.previousPercent, this.self)) wanted.add(s);
    if (plan.move !== undefined && moving(plan))
      for (const s of shardsOf(plan, plan.move.to, this.self)) wanted.add(s);
    if (this.self.deployment === 'production') {
      for (let dyno = 1; dyno <= plan.dynos.canary; dyno++) {
        if (
          this.view.canaryMembers.includes(dyno) ||
          ((dyno - 1) % plan.dynos.production) + 1 !== this.self.dyno
        )
          continue;
        for (const s of shardsOf(plan, plan.percent, { deployment: 'canary', dyno })) wanted.add(s);
      }
    }
    return [...wanted].sort((a, b) => a - b);
  }

  /** Gives the lease up (on shutdown), so that failover does not wait for it to expire. */
  public async leave(): Promise<void> {
    if (this.lease !== undefined) await this.store.release(this.lease).catch(() => false);
    this.lease = undefined;
    this.view = { ...this.view, viewAt: Number.NEGATIVE_INFINITY };
  }

  private follow(stored: StoredPlan): void {
    const previous = this.current?.plan;
    // A view never goes back: an older epoch read from a lagging replica is ignored.
    if (previous !== undefined && stored.plan.epoch < previous.epoch) return;
    this.current = stored;
    const plan = stored.plan;
    if (previous?.epoch !== plan.epoch) {
      this.logger.info(
        { epoch: plan.epoch, phase: plan.phase, percent: plan.percent, member: this.identity },
        `following the routing plan: ${plan.phase} (${plan.reason})`,
      );
    }
    if (!this.warnedConfig && this.boot.percent !== plan.percent && !moving(plan)) {
      this.warnedConfig = true;
      this.logger.warn(
        { configured: this.boot.percent, plan: plan.percent, epoch: plan.epoch },
        `SHARD_PERCENT=${this.boot.percent} disagrees with the store's plan (${plan.percent}%): following the store`,
      );
    }
  }

  private async holdLease(ttlMs: number): Promise<void> {
    if (this.lease !== undefined) {
      const before = this.lease.expiresAt;
      this.lease = await this.store.renew(this.lease, ttlMs);
      if (this.lease !== undefined) {
        // A renewal that became visible only after the old expiry (a slow write) left a moment in which
        // others read the lease as gone: from their side it is a new lease, so it is treated as one.
        const after = this.storeNow();
        if (after >= before) this.acquiredAt = after;
        return;
      }
      this.logger.warn({ member: this.identity }, 'member lease lost: acquiring it again');
    }
    this.lease = await this.store.acquire(
      memberLease(this.self.deployment, this.self.dyno),
      this.identity,
      ttlMs,
    );
    // After the reply, not the store's stamp (expiresAt - ttl): the write may have become visible to
    // others well after the store read its clock, and they may have seen no lease until then.
    if (this.lease !== undefined) this.acquiredAt = Math.max(this.lease.expiresAt - ttlMs, this.storeNow());
    // Logged once per loss, not at every refresh.
    if (this.lease === undefined && !this.warnedHeld) {
      this.logger.warn(
        { member: this.identity, lease: memberLease(this.self.deployment, this.self.dyno) },
        'member lease held by another process of the same dyno: not answering until it is free',
      );
    }
    this.warnedHeld = this.lease === undefined;
  }

  private async acknowledge(plan: RoutingPlan): Promise<void> {
    if (plan.phase !== 'Connecting' || plan.move === undefined) return;
    const before = new Set(shardsOf(plan, plan.move.from, this.self));
    const receiving = shardsOf(plan, plan.move.to, this.self).filter((s) => !before.has(s));
    const ack: MoveAck = {
      moveId: plan.move.id,
      epoch: plan.epoch,
      ready: receiving.filter((s) => this.ready.has(s)),
    };
    const text = JSON.stringify(ack);
    if (text === this.lastAck) return;
    await this.store.set(ackKey(plan.move.id, this.self.deployment, this.self.dyno), text, {
      ttlMs: plan.timings.connectTimeoutMs * 2,
    });
    this.lastAck = text;
  }
}
