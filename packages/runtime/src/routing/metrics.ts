import { type AnswerReason, type RouteMember, RoutePhases } from '@qsb/router';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The runtime's routing metrics; see {@link registerRouteMetrics}. */
export interface RouteMetrics {
  /** Counts an answer Discord refused because another process had answered the interaction (40060). */
  readonly answeredElsewhere: Counter;
}

/**
 * Registers what a process knows of routing, so that Prometheus can see two deployments disagree:
 *
 * - `qsb_interactions_answered_elsewhere_total`: answers Discord refused as already acknowledged
 *   (40060). Another process answered first: the deployments disagree on who owns a shard. Counted
 *   with or without live routing, and seen without any store (two apps on different `QSB_STORE`s,
 *   or with overlapping `SHARD_PERCENT`s).
 * - With live routing (`member` returns the process's {@link RouteMember}): `qsb_route_epoch`,
 *   `qsb_route_phase{phase}`, `qsb_route_canary_percent`, `qsb_route_view_age_seconds`,
 *   `qsb_route_member_lease` (1 while held), `qsb_route_decisions_total{reason}` and
 *   `qsb_route_plan_info{store}` (the store the plan is read from, without credentials): every
 *   process of both deployments must show the same store and, but for a moment, the same epoch.
 */
export function registerRouteMetrics(
  registry: Registry,
  member: (() => RouteMember | undefined) | undefined,
  storeDescription: string,
): RouteMetrics {
  const registers = [registry];
  const answeredElsewhere = new Counter({
    name: 'qsb_interactions_answered_elsewhere_total',
    help: 'Answers Discord refused because another process had already answered the interaction (40060)',
    registers,
  });
  if (member === undefined) return { answeredElsewhere };
  const snapshot = () => member()?.snapshot();
  new Gauge({
    name: 'qsb_route_epoch',
    help: 'Epoch of the routing plan this process follows (0 before it has read one)',
    registers,
    collect() {
      this.set(snapshot()?.epoch ?? 0);
    },
  });
  new Gauge({
    name: 'qsb_route_phase',
    help: 'Phase of the routing plan this process follows: 1 for the current phase',
    labelNames: ['phase'],
    registers,
    collect() {
      const phase = snapshot()?.phase;
      for (const p of RoutePhases) this.set({ phase: p }, p === phase ? 1 : 0);
    },
  });
  new Gauge({
    name: 'qsb_route_canary_percent',
    help: "The canary's percent of shards in the routing plan this process follows",
    registers,
    collect() {
      const s = snapshot();
      if (s !== undefined) this.set(s.percent);
    },
  });
  new Gauge({
    name: 'qsb_route_view_age_seconds',
    help: 'Age of this process’s last read of the plan and the leases; past maxViewAgeMs it holds back',
    registers,
    collect() {
      const s = snapshot();
      if (s !== undefined && Number.isFinite(s.viewAgeMs)) this.set(s.viewAgeMs / 1000);
    },
  });
  new Gauge({
    name: 'qsb_route_member_lease',
    help: 'Whether this process holds its member lease (1) or not (0): without it, it does not answer',
    registers,
    collect() {
      this.set(snapshot()?.leaseHeld ? 1 : 0);
    },
  });
  new Gauge({
    name: 'qsb_route_plan_info',
    help: 'The store this process reads the routing plan from (credentials removed)',
    labelNames: ['store'],
    registers,
    collect() {
      this.set({ store: storeDescription }, 1);
    },
  });
  const counted: Partial<Record<AnswerReason, number>> = {};
  new Counter({
    name: 'qsb_route_decisions_total',
    help: 'Answer decisions of the routing plan by reason (owner, failover, not-owner, stale-view, ...)',
    labelNames: ['reason'],
    registers,
    collect() {
      const decisions = snapshot()?.decisions ?? {};
      for (const [reason, total] of Object.entries(decisions) as [AnswerReason, number][]) {
        const before = counted[reason] ?? 0;
        const delta = total >= before ? total - before : total;
        if (delta > 0) this.inc({ reason }, delta);
        counted[reason] = total;
      }
    },
  });
  return { answeredElsewhere };
}
