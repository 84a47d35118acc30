import type { MetricDecision } from '@qsb/canary';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RolloutPhases, type TickState } from './summary.ts';

/** `qsb_judge_metric_decision` values (0 while waiting, as Flagger's `flagger_canary_status` counts). */
export const DecisionValues = {
  inconclusive: 0,
  pass: 1,
  fail: 2,
  'no-data': 3,
  invalid: 4,
  ignored: 5,
} as const satisfies Record<MetricDecision, number>;

/** Every metric `qsb monitor` exports on its dashboard port (Grafana's panels and the alerts read them). */
export const RolloutMetricNames = {
  phase: 'qsb_rollout_phase',
  elapsed: 'qsb_rollout_elapsed_seconds',
  remaining: 'qsb_rollout_remaining_seconds',
  minDuration: 'qsb_rollout_min_duration_seconds',
  shardShare: 'qsb_canary_shard_share',
  trafficShare: 'qsb_canary_traffic_share',
  verdict: 'qsb_judge_verdict',
  decision: 'qsb_judge_metric_decision',
  estimate: 'qsb_judge_metric_estimate',
  lower: 'qsb_judge_metric_lower',
  upper: 'qsb_judge_metric_upper',
  tolerance: 'qsb_judge_metric_tolerance',
  lastTick: 'qsb_monitor_last_tick_timestamp_seconds',
  interval: 'qsb_monitor_interval_seconds',
  scrapes: 'qsb_monitor_scrapes_total',
  failedScrapes: 'qsb_monitor_scrape_failures_total',
} as const;

/** The monitor's rollout metrics on a registry of their own; `update` sets them from a tick. */
export interface RolloutMetrics {
  readonly registry: Registry;
  readonly update: (state: TickState) => void;
}

/** Registers the rollout metrics on `registry` (the monitor's own, never the global one). */
export function createRolloutMetrics(registry: Registry): RolloutMetrics {
  const registers = [registry];
  const n = RolloutMetricNames;
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const phase = gauge(
    n.phase,
    'The rollout phase: 1 for the current one (progressing, promoted, rolled_back, undecided), 0 for the others.',
    ['phase'],
  );
  const elapsed = gauge(n.elapsed, 'Seconds since the first scrape of the rollout.');
  const remaining = gauge(n.remaining, "Seconds left until the monitor's deadline; 0 once decided.");
  const minDuration = gauge(n.minDuration, 'The earliest a promotion may happen, in seconds from the start.');
  const shardShare = gauge(n.shardShare, "The canary's share of the shards both deployments own (0 to 1).");
  const trafficShare = gauge(n.trafficShare, "The canary's share of the interactions both handle (0 to 1).");
  const verdict = gauge(
    n.verdict,
    "The judge's verdict: 1 for the current one (promote, rollback, continue).",
    ['verdict'],
  );
  const decision = gauge(
    n.decision,
    'Per metric: 0 waiting (inconclusive), 1 pass, 2 fail, 3 no data, 4 invalid, 5 ignored.',
    ['metric'],
  );
  const scale = ['metric', 'scale'] as const;
  const estimate = gauge(
    n.estimate,
    'The estimated effect per metric: scale ratio (canary / production) or difference.',
    scale,
  );
  const lower = gauge(n.lower, "The lower bound of the effect's anytime-valid interval.", scale);
  const upper = gauge(n.upper, "The upper bound of the effect's anytime-valid interval.", scale);
  const tolerance = gauge(n.tolerance, 'The largest effect tolerated in the bad direction.', scale);
  const lastTick = gauge(n.lastTick, 'When the monitor last judged (Unix seconds).');
  const interval = gauge(n.interval, 'Seconds between two ticks of the monitor.');
  const scrapes = new Counter({
    name: n.scrapes,
    help: 'Scrapes taken per deployment.',
    labelNames: ['deployment'],
    registers,
  });
  const failed = new Counter({
    name: n.failedScrapes,
    help: 'Ticks whose scrape of either deployment failed.',
    registers,
  });
  let seenScrapes = 0;
  let seenFailures = 0;
  return {
    registry,
    update(state) {
      for (const p of RolloutPhases) phase.set({ phase: p }, p === state.phase ? 1 : 0);
      elapsed.set(state.elapsedSeconds);
      remaining.set(state.remainingSeconds);
      minDuration.set(state.verdict.minDurationSeconds);
      if (state.canaryShardShare !== null) shardShare.set(state.canaryShardShare);
      if (state.canaryTrafficShare !== null) trafficShare.set(state.canaryTrafficShare);
      for (const v of ['promote', 'rollback', 'continue'] as const) {
        verdict.set({ verdict: v }, v === state.verdict.verdict ? 1 : 0);
      }
      for (const r of state.verdict.reasons) {
        decision.set({ metric: r.metric }, DecisionValues[r.decision]);
        for (const [s, report] of [
          ['ratio', r.ratio],
          ['difference', r.difference],
        ] as const) {
          if (!report) continue;
          const labels = { metric: r.metric, scale: s };
          estimate.set(labels, report.estimate);
          lower.set(labels, report.lower);
          upper.set(labels, report.upper);
          tolerance.set(labels, report.tolerance);
        }
      }
      lastTick.set(state.timeMs / 1000);
      interval.set(state.intervalSeconds);
      if (state.scrapes > seenScrapes) {
        for (const d of ['production', 'canary']) scrapes.inc({ deployment: d }, state.scrapes - seenScrapes);
        seenScrapes = state.scrapes;
      }
      if (state.failedScrapes > seenFailures) {
        failed.inc(state.failedScrapes - seenFailures);
        seenFailures = state.failedScrapes;
      }
    },
  };
}
