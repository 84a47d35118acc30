import { randomBytes } from 'node:crypto';
import { type Deployment, diffPlans, type PlanDiff } from '@qsb/sharding';
import type { Lease, Store } from '@qsb/store';
import { RouterError, RouterErrorCodes } from './errors/RouterError.ts';
import type { RouterLogger } from './logger.ts';
import { cancelMove, type MoveStep, missingAcks, nextMoveStep, startMove } from './move/steps.ts';
import {
  checkPercent,
  moving,
  type RouteMove,
  type RoutePhase,
  type RoutingPlan,
  shardPlanAt,
  shardsOf,
} from './plan/plan.ts';
import { readAcks, readPlan, type StoredPlan, writePlan } from './plan/planStore.ts';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  readonly store: Store;
  readonly logger: RouterLogger;
  /** Waits between polls of a move; tests pass one that moves an injected clock. @defaultValue setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** How often a move polls the store. @defaultValue 100 */
  readonly pollMs?: number;
  /** Makes move ids. @defaultValue random hex */
  readonly newId?: () => string;
}

/** Which shards a process slot holds by the plan. */
export interface RouteHolding {
  readonly deployment: Deployment;
  readonly dyno: number;
  readonly shards: readonly number[];
  /** The member lease of that slot, if live. */
  readonly lease?: Lease;
  /** For a canary dyno without a live lease: the production dyno answering its shards (failover). */
  readonly failoverTo?: string;
}

/** What `status()` reports. */
export interface RouteStatus {
  readonly plan: RoutingPlan;
  readonly phase: RoutePhase;
  readonly epoch: number;
  readonly holdings: readonly RouteHolding[];
  readonly leases: readonly Lease[];
  /** During `Connecting`: who the move still waits for. */
  readonly waitingFor: readonly string[];
}

/** A move's plan: which shards go where, and the share of guilds that moves. */
export interface MovePreview {
  readonly from: number;
  readonly to: number;
  readonly diff: PlanDiff;
  /** The share of guilds that changes deployment (shards move whole; guilds spread evenly over shards). */
  readonly guildShare: number;
  /** Phases the move goes through, in order. */
  readonly order: readonly string[];
}

/** Progress of a move, for `onProgress`. */
export interface MoveProgress {
  readonly phase: RoutePhase;
  readonly epoch: number;
  readonly reason: string;
  /** Receiving shards READY so far, during `Connecting`. */
  readonly ready: number;
  readonly moving: number;
}

/** Options of `move()`. */
export interface MoveOptions {
  readonly onProgress?: (progress: MoveProgress) => void;
  /** Aborting during `Connecting` aborts the move; later, the call returns and a new call finishes it. */
  readonly signal?: AbortSignal;
}

/** The router's operations, for `qsb route`, `qsb status`, `qsb rollback` and `qsb promote`. */
export interface Router {
  /** The plan, its phase and epoch, which slot holds which shards, the leases, what a move waits for. */
  status(): Promise<RouteStatus>;
  /** What a move to `percent` would change; refuses like `move` does, and writes nothing. */
  preview(percent: number): Promise<MovePreview>;
  /**
   * Moves the canary to `percent` and resolves with the final plan (`Stable`, or `Aborted`). Refused
   * before anything is written when the percent is invalid, there is no plan, or a move to another
   * percent is under way; a move to the same percent is continued (after a crash of its router).
   */
  move(percent: number, options?: MoveOptions): Promise<RoutingPlan>;
  /**
   * Starts a move to `percent` (writes `Connecting`) and returns without waiting; `step()` continues
   * it. Refuses like `move`. Returns the plan as it is after the call.
   */
  begin(percent: number): Promise<RoutingPlan>;
  /** Reads the plan and takes one step of the move under way (used by `move`, and by tests). */
  step(): Promise<MoveStep>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Builds the router over a store.
 *
 * @example
 * ```ts
 * const router = createRouter({ store, logger });
 * const preview = await router.preview(50); // refuses 150, a move under way, an empty store
 * await router.move(50, { onProgress: (p) => console.log(p.phase, p.reason) });
 * ```
 */
export function createRouter(options: RouterOptions): Router {
  const { store, logger } = options;
  const sleep = options.sleep ?? defaultSleep;
  const pollMs = options.pollMs ?? 100;
  const newId = options.newId ?? (() => randomBytes(4).toString('hex'));

  const read = async (): Promise<StoredPlan> => {
    const stored = await readPlan(store);
    if (stored === undefined) {
      throw new RouterError(
        RouterErrorCodes.NoPlan,
        `${store.description}: no bot has started against this store yet`,
      );
    }
    return stored;
  };

  const commit = async (current: StoredPlan, plan: RoutingPlan): Promise<StoredPlan | undefined> => {
    const written = await writePlan(store, current, plan);
    if (written !== undefined) {
      // Logged by the one writer that won the compare-and-set: once per transition.
      logger.info(
        {
          epoch: plan.epoch,
          from: current.plan.phase,
          phase: plan.phase,
          percent: plan.percent,
          move: plan.move?.id,
        },
        current.plan.phase === plan.phase
          ? `route ${plan.phase}: ${plan.reason}`
          : `route ${current.plan.phase} -> ${plan.phase}: ${plan.reason}`,
      );
    }
    return written;
  };

  const refuse = (plan: RoutingPlan, percent: number): void => {
    if (moving(plan) && (plan.move as RouteMove).to !== percent) {
      const move = plan.move as RouteMove;
      throw new RouterError(
        RouterErrorCodes.MoveInProgress,
        `${move.from}% -> ${move.to}% is ${plan.phase} (epoch ${plan.epoch}); wait for it, or run the same move again to continue it`,
      );
    }
  };

  const step = async (): Promise<MoveStep> => {
    const current = await read();
    const acks = current.plan.move ? await readAcks(store, current.plan.move.id) : new Map();
    const now = await store.now();
    const decided = nextMoveStep(current.plan, acks, now);
    if (decided.kind === 'write') await commit(current, decided.plan);
    return decided;
  };

  const begin = async (percent: number): Promise<RoutingPlan> => {
    checkPercent(percent);
    let current = await read();
    const move = current.plan.move;
    if (
      current.plan.phase === 'Connecting' &&
      move &&
      move.to !== percent &&
      (await store.now()) >= move.connectDeadline
    ) {
      // A move whose router died before its deadline: abort it (nobody cut over), then start this one.
      await step();
      current = await read();
    }
    refuse(current.plan, percent);
    if (moving(current.plan) || current.plan.percent === percent) return current.plan;
    const started = await commit(current, startMove(current.plan, percent, await store.now(), newId()));
    if (started === undefined) {
      throw new RouterError(
        RouterErrorCodes.Conflict,
        'another writer changed the plan first; nothing was started',
      );
    }
    return started.plan;
  };

  return {
    begin,

    async status() {
      const { plan } = await read();
      const leases = await store.leases('route:member:');
      const holdings: RouteHolding[] = [];
      for (const deployment of ['production', 'canary'] as const) {
        for (let dyno = 1; dyno <= plan.dynos[deployment]; dyno++) {
          const lease = leases.find((l) => l.name === `route:member:${deployment}:${dyno}`);
          const shards = shardsOf(plan, plan.percent, { deployment, dyno });
          if (lease !== undefined) holdings.push({ deployment, dyno, shards, lease });
          else if (deployment === 'canary' && shards.length > 0) {
            const failoverTo = `production:${((dyno - 1) % plan.dynos.production) + 1}`;
            holdings.push({ deployment, dyno, shards, failoverTo });
          } else holdings.push({ deployment, dyno, shards });
        }
      }
      const waitingFor =
        plan.phase === 'Connecting' && plan.move
          ? missingAcks(plan, await readAcks(store, plan.move.id)).missing
          : [];
      return { plan, phase: plan.phase, epoch: plan.epoch, holdings, leases, waitingFor };
    },

    async preview(percent) {
      checkPercent(percent);
      const { plan } = await read();
      refuse(plan, percent);
      const from = moving(plan) ? (plan.move as RouteMove).from : plan.percent;
      const diff = diffPlans(shardPlanAt(plan, from), shardPlanAt(plan, percent));
      const order = [
        `Connecting: ${diff.toCanary.length ? `canary connects ${diff.toCanary.join(', ')}` : `production connects ${diff.toProduction.join(', ')}`} and reports READY`,
        `CuttingOver: interactions from T = commit + ${plan.timings.cutoverLeadMs} ms go to the receiver`,
        `Draining: the giver closes the moved sessions at T + ${plan.timings.graceMs} ms`,
        `Stable at ${percent}%`,
      ];
      const guildShare = (diff.toCanary.length + diff.toProduction.length) / plan.shardCount;
      return {
        from,
        to: percent,
        diff,
        guildShare,
        order: guildShare === 0 ? [`Stable at ${percent}%`] : order,
      };
    },

    async move(percent, moveOptions = {}) {
      await begin(percent);
      let current = await read();
      for (;;) {
        if (moveOptions.signal?.aborted) {
          const cancelled = cancelMove(current.plan, await store.now(), 'cancelled by the operator');
          if (cancelled !== undefined && (await commit(current, cancelled)) !== undefined) return cancelled;
          return (await read()).plan;
        }
        const decided = await step();
        current = await read();
        const { plan } = current;
        if (decided.kind === 'done') return plan;
        moveOptions.onProgress?.({
          phase: plan.phase,
          epoch: plan.epoch,
          reason: decided.kind === 'wait' ? decided.reason : plan.reason,
          ready: decided.kind === 'wait' ? decided.ready : 0,
          moving: decided.kind === 'wait' ? decided.moving : 0,
        });
        if (decided.kind === 'wait') await sleep(pollMs, moveOptions.signal);
      }
    },

    step,
  };
}
