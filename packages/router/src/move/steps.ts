import { diffPlans } from '@qsb/sharding';
import { type RouteMove, type RoutingPlan, shardPlanAt, shardsOf } from '../plan/plan.ts';
import type { MoveAck } from '../plan/planStore.ts';

/** What the router does next for the plan it read. */
export type MoveStep =
  | { readonly kind: 'write'; readonly plan: RoutingPlan }
  | { readonly kind: 'wait'; readonly reason: string; readonly ready: number; readonly moving: number }
  | { readonly kind: 'done'; readonly plan: RoutingPlan };

function next(
  plan: RoutingPlan,
  now: number,
  change: Partial<RoutingPlan> & { reason: string },
): RoutingPlan {
  return { ...plan, ...change, epoch: plan.epoch + 1, updatedAt: now };
}

/**
 * The plan that starts a move to `to` (`Connecting`), or a `Stable` plan at `to` when no shard changes
 * owner (then the cutover rule stays as it is). The caller checked that no move is under way.
 */
export function startMove(plan: RoutingPlan, to: number, now: number, id: string): RoutingPlan {
  const diff = diffPlans(shardPlanAt(plan, plan.percent), shardPlanAt(plan, to));
  if (diff.toCanary.length + diff.toProduction.length === 0) {
    return next(plan, now, {
      percent: to,
      phase: 'Stable',
      reason: `${plan.percent}% -> ${to}% moves no shard`,
    });
  }
  const move: RouteMove = {
    id,
    from: plan.percent,
    to,
    startedAt: now,
    connectDeadline: now + plan.timings.connectTimeoutMs,
  };
  const shards = [...diff.toCanary, ...diff.toProduction].length;
  return next(plan, now, {
    phase: 'Connecting',
    move,
    reason: `move ${plan.percent}% -> ${to}%: receivers connect ${shards} shard(s)`,
  });
}

/** The members whose acknowledgement a move waits for, and what each still lacks. */
export function missingAcks(
  plan: RoutingPlan,
  acks: ReadonlyMap<string, MoveAck>,
): { missing: string[]; ready: number; moving: number } {
  const move = plan.move as RouteMove;
  const missing: string[] = [];
  let ready = 0;
  let moving = 0;
  for (const deployment of ['production', 'canary'] as const) {
    for (let dyno = 1; dyno <= plan.dynos[deployment]; dyno++) {
      const owner = { deployment, dyno };
      const before = new Set(shardsOf(plan, move.from, owner));
      const receiving = shardsOf(plan, move.to, owner).filter((shard) => !before.has(shard));
      const ack = acks.get(`${deployment}:${dyno}`);
      const got = receiving.filter((shard) => ack?.ready.includes(shard)).length;
      moving += receiving.length;
      ready += got;
      // Production answers on a stale view, so each production dyno must have seen the move;
      // the canary only answers on a fresh view and needs no acknowledgement unless it receives.
      if ((deployment === 'production' && ack === undefined) || got < receiving.length) {
        missing.push(
          `${deployment}:${dyno} (${ack === undefined ? 'no acknowledgement' : `${got} of ${receiving.length} shards READY`})`,
        );
      }
    }
  }
  return { missing, ready, moving };
}

/**
 * The next step of the move in `plan`, given the members' acknowledgements and the store clock. Pure
 * and idempotent: a router that crashed reads the plan again and takes the same step.
 */
export function nextMoveStep(plan: RoutingPlan, acks: ReadonlyMap<string, MoveAck>, now: number): MoveStep {
  const { timings } = plan;
  switch (plan.phase) {
    case 'Stable':
    case 'Aborted':
      return { kind: 'done', plan };
    case 'Connecting': {
      const move = plan.move as RouteMove;
      const { missing, ready, moving } = missingAcks(plan, acks);
      if (missing.length === 0) {
        const cutoverAt = now + timings.cutoverLeadMs;
        // A new cutover is unconfirmed until the router has read it back.
        const { cutoverVisibleBy: _confirmed, ...unconfirmed } = plan;
        return {
          kind: 'write',
          plan: next(unconfirmed, now, {
            phase: 'CuttingOver',
            previousPercent: move.from,
            percent: move.to,
            cutoverAt,
            reason: `every receiver is READY on its ${moving} shard(s); cutover at ${new Date(cutoverAt).toISOString()}`,
          }),
        };
      }
      if (now >= move.connectDeadline) {
        return {
          kind: 'write',
          plan: next(plan, now, {
            phase: 'Aborted',
            reason: `move ${move.from}% -> ${move.to}% aborted: not ready by the deadline: ${missing.join(', ')}`,
          }),
        };
      }
      return { kind: 'wait', reason: `waiting for ${missing.join(', ')}`, ready, moving };
    }
    case 'CuttingOver':
      // `now` is read after the plan, so the commit was visible by then: the receivers answer by the
      // new rule only from this plus maxViewAgeMs (normally well before T).
      if (plan.cutoverVisibleBy === undefined) {
        return {
          kind: 'write',
          plan: next(plan, now, {
            cutoverVisibleBy: now,
            reason: `cutover at ${new Date(plan.cutoverAt).toISOString()} confirmed: visible to every reader by ${new Date(now).toISOString()}`,
          }),
        };
      }
      if (now >= plan.cutoverAt) {
        return {
          kind: 'write',
          plan: next(plan, now, {
            phase: 'Draining',
            reason: `cutover time passed; givers close their moved sessions after ${timings.graceMs} ms`,
          }),
        };
      }
      return { kind: 'wait', reason: 'waiting for the cutover time', ready: 0, moving: 0 };
    case 'Draining': {
      if (now >= plan.cutoverAt + timings.graceMs) {
        const { move: _done, ...rest } = plan;
        return {
          kind: 'write',
          plan: next(rest as RoutingPlan, now, { phase: 'Stable', reason: `move to ${plan.percent}% done` }),
        };
      }
      return { kind: 'wait', reason: 'draining the givers', ready: 0, moving: 0 };
    }
  }
}

/** The `Aborted` plan for an operator's cancel during `Connecting` (later phases finish instead). */
export function cancelMove(plan: RoutingPlan, now: number, why: string): RoutingPlan | undefined {
  if (plan.phase !== 'Connecting') return undefined;
  return next(plan, now, { phase: 'Aborted', reason: `move aborted: ${why}` });
}
