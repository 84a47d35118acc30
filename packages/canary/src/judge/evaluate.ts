import type { JudgeConfig, MetricConfig } from '../config/config.ts';
import {
  type Comparison,
  compareLevels,
  compareMeans,
  compareRates,
  MinLevelPoints,
} from '../stats/estimators.ts';
import {
  type Component,
  component,
  type Decision,
  DefaultDispersionPrior,
  dataFactor,
  decide,
  type Levels,
} from '../stats/sequential.ts';
import type { MetricData } from './extract.ts';

/** What the judge decided about one metric. */
export type MetricDecision = Decision | 'no-data' | 'invalid' | 'ignored';

/**
 * An effect with its anytime-valid interval and the tolerated effect, on the scale people read. The
 * bound on the bad side is at the false-rollback level, the other at the false-promotion level: a
 * metric fails when the interval lies wholly beyond the tolerance, and passes when it lies within.
 */
export interface EffectReport {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  /** The largest change tolerated in the bad direction (a ratio, or a difference in the metric's unit). */
  readonly tolerance: number;
}

/** Roughly how much more data a metric needs before it decides. */
export interface DataNeeded {
  /** Times the data gathered so far (the interval narrows as one over its square root). */
  readonly factor: number;
  /** More seconds at the current traffic; null when the estimate sits on the tolerance. */
  readonly moreSeconds: number | null;
  /** More canary exposure (interactions, shard-hours, readings), in `exposureUnit`. */
  readonly moreCanary: number | null;
  readonly exposureUnit: string;
}

/** The reason for one metric: both sides' values, the effect and its interval, the decision. */
export interface MetricReason {
  readonly metric: string;
  readonly kind: MetricConfig['kind'];
  readonly critical: boolean;
  readonly mustPass: boolean;
  readonly unit: string;
  readonly decision: MetricDecision;
  readonly canary: number | null;
  readonly production: number | null;
  /** canary / production (for latency, the ratio of geometric means). */
  readonly ratio?: EffectReport;
  /** canary - production, in `unit`. */
  readonly difference?: EffectReport;
  /** The variance inflation used for overdispersion (1 = as the counting model says). */
  readonly dispersion?: number;
  /** This metric's share of the false-rollback budget. */
  readonly alpha: number;
  /** Intervals with data on both sides. */
  readonly intervals: number;
  readonly needed?: DataNeeded;
  readonly message: string;
  readonly notes: readonly string[];
}

interface VerdictBase {
  readonly elapsedSeconds: number;
  readonly minDurationSeconds: number;
  readonly reasons: readonly MetricReason[];
  /** Where the point estimates lean, for progress displays (not a decision). */
  readonly leaning: 'promote' | 'rollback' | 'continue';
  /** One sentence for people. */
  readonly summary: string;
}

/** The judge's verdict: a discriminated union on `verdict`. */
export type Verdict =
  | (VerdictBase & { readonly verdict: 'promote' })
  | (VerdictBase & { readonly verdict: 'rollback'; readonly failed: readonly string[] })
  | (VerdictBase & {
      readonly verdict: 'continue';
      readonly waitingFor: readonly string[];
      /** The largest extra time any awaited metric needs, when it can be estimated. */
      readonly moreSeconds: number | null;
    });

function toReport(c: Component, ratio: boolean, sign: 1 | -1): EffectReport {
  const f = ratio ? Math.exp : (x: number) => x;
  return {
    estimate: f(c.estimate),
    lower: f(sign === 1 ? c.rollback.lower : c.pass.lower),
    upper: f(sign === 1 ? c.pass.upper : c.rollback.upper),
    tolerance: f(sign * c.tolerance),
  };
}

function compare(data: MetricData): Comparison | undefined {
  const tuning = { prior: DefaultDispersionPrior };
  if (data.kind === 'rate') return compareRates(data.intervals, tuning);
  if (data.kind === 'histogram') return compareMeans(data.intervals, tuning);
  return compareLevels(data.points);
}

function exposure(data: MetricData): { amount: number; unit: string } {
  if (data.kind === 'rate') {
    return {
      amount: data.intervals.reduce((s, i) => s + (i.a > 0 && i.b > 0 ? i.a : 0), 0),
      unit: 'exposure',
    };
  }
  if (data.kind === 'histogram') {
    return { amount: data.intervals.reduce((s, i) => s + i.canary.n, 0), unit: 'observations' };
  }
  return { amount: data.points.length, unit: 'readings' };
}

const fmt = (x: number) => (Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3));

function explain(
  config: MetricConfig,
  decision: MetricDecision,
  ratio?: EffectReport,
  diff?: EffectReport,
): string {
  const parts: string[] = [];
  if (ratio) {
    parts.push(
      `${fmt(ratio.estimate)}x production (${fmt(ratio.lower)}x to ${fmt(ratio.upper)}x, tolerated ${fmt(ratio.tolerance)}x)`,
    );
  }
  if (diff) {
    const unit = config.unit ? ` ${config.unit}` : '';
    parts.push(
      `${diff.estimate >= 0 ? '+' : ''}${fmt(diff.estimate)}${unit} (${fmt(diff.lower)} to ${fmt(diff.upper)}, tolerated ${diff.tolerance >= 0 ? '+' : ''}${fmt(diff.tolerance)})`,
    );
  }
  const what = {
    pass: 'within tolerance',
    fail: 'regressed beyond tolerance',
    inconclusive: 'not decided yet',
    'no-data': 'no data',
    invalid: 'invalid data',
    ignored: 'ignored',
  }[decision];
  return `${config.name}: ${what}${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`;
}

/** The ratio component: exact mixture bounds where the estimator has them, else the normal mixture. */
function logRatioComponent(
  estimate: NonNullable<Comparison['logRatio']>,
  tolerance: number,
  levels: Levels,
): Component {
  const { bounds } = estimate;
  if (!bounds) return component(estimate, tolerance, RatioMixingScale, levels);
  return {
    estimate: estimate.estimate,
    tolerance,
    rollback: bounds(Math.min(1, 2 * levels.alpha)),
    pass: bounds(Math.min(1, 2 * levels.beta)),
  };
}

/**
 * A histogram's absolute tolerance `a` as a log ratio: a canary mean `a` above production's mean, when
 * both means straddle their average `m`, is the ratio `(m + a/2) / (m - a/2)` (symmetric in the
 * sides, so swapping them mirrors the decision). Read on the log scale, whose mean is far less noisy
 * than the mean of raw latencies with their long tail, so a regression by `a` is told apart with much
 * less traffic; it assumes a regression scales latency rather than reshaping its distribution, and
 * uses the measured means as plug-ins. Undefined when the means are too small for `a` to be a ratio.
 */
function ratioAtMeans(comparison: Comparison, absolute: number): number | undefined {
  const m = (comparison.canary + comparison.production) / 2;
  if (!(absolute > 0) || !(m > absolute / 2) || !Number.isFinite(m)) return undefined;
  return Math.log((m + absolute / 2) / (m - absolute / 2));
}

/** The mixing scale of log ratios estimated with a plug-in variance (latency, gauges): about 20%. */
const RatioMixingScale = 0.2;
/** The mixing scale of differences, in absolute tolerances. */
const DifferenceMixingFactor = 10;

function judgeMetric(
  config: MetricConfig,
  data: MetricData,
  levels: { readonly alpha: number; readonly beta: number },
  elapsedSeconds: number,
): MetricReason {
  const { alpha } = levels;
  const sign = config.direction === 'increase' ? 1 : -1;
  const base = {
    metric: config.name,
    kind: config.kind,
    critical: config.critical,
    mustPass: config.mustPass,
    unit: config.unit,
    alpha,
    notes: [...data.status.notes.slice(-5)],
  };
  if (data.status.invalid !== undefined) {
    return {
      ...base,
      decision: 'invalid',
      canary: null,
      production: null,
      intervals: 0,
      message: `${config.name}: invalid data: ${data.status.invalid}`,
    };
  }
  const comparison = compare(data);
  if (!comparison) {
    const why =
      data.status.missing ??
      (data.kind === 'gauge'
        ? `fewer than ${MinLevelPoints} paired readings so far`
        : 'no interval with data on both sides so far');
    const decision = config.noData === 'ignore' ? 'ignored' : 'no-data';
    return {
      ...base,
      decision,
      canary: null,
      production: null,
      intervals: 0,
      message: `${config.name}: ${decision === 'ignored' ? 'ignored (no data)' : 'no data'}: ${why}`,
    };
  }
  // Mixing scales: wide on purpose. A scale much narrower than the estimate's standard error widens
  // the boundary a lot, a wider one only by a logarithm (at alpha = 0.01 the boundary is 3.6 standard
  // errors at its best and 4.3 at 1,000 times the best scale).
  const absoluteAsRatio =
    data.kind === 'histogram' ? ratioAtMeans(comparison, config.tolerance.absolute) : undefined;
  const logTolerance = Math.max(Math.log(config.tolerance.relative), absoluteAsRatio ?? 0);
  const ratioComponent = comparison.logRatio && logRatioComponent(comparison.logRatio, logTolerance, levels);
  const differenceScale =
    DifferenceMixingFactor *
    (config.tolerance.absolute > 0
      ? config.tolerance.absolute
      : Math.max(Math.abs(comparison.production), 1e-9));
  // Rates: the difference is tested with its variance at the tolerance (a score test), not at the
  // estimate, whose variance grows with the very regression it measures.
  const measured = comparison.difference;
  const differenceComponent =
    measured &&
    component(
      {
        estimate: measured.estimate,
        variance: measured.varianceAt?.(sign * config.tolerance.absolute) ?? measured.variance,
      },
      config.tolerance.absolute,
      differenceScale,
      levels,
    );
  // Latency: the absolute tolerance is tested through the ratio it amounts to (above), so the noisy
  // difference of raw means is reported but does not decide.
  const decisive =
    absoluteAsRatio !== undefined && ratioComponent
      ? [ratioComponent]
      : [ratioComponent, differenceComponent];
  const components = decisive.filter((c): c is Component => c !== undefined);
  const decision = decide(components, sign);
  const ratio = ratioComponent && toReport(ratioComponent, true, sign);
  const difference = differenceComponent && toReport(differenceComponent, false, sign);
  let needed: DataNeeded | undefined;
  if (decision === 'inconclusive') {
    const factor = dataFactor(components, sign);
    const { amount, unit } = exposure(data);
    const finite = Number.isFinite(factor) && factor < 1e6;
    needed = {
      factor: finite ? factor : Infinity,
      moreSeconds: finite ? elapsedSeconds * (factor - 1) : null,
      moreCanary: finite ? amount * (factor - 1) : null,
      exposureUnit: unit,
    };
  }
  let message = explain(config, decision, ratio, difference);
  if (needed) {
    message +=
      needed.moreSeconds === null
        ? '; the estimate sits at the tolerance, so more data may not decide it soon'
        : `; needs about ${fmt(needed.factor)}x the data so far (~${Math.ceil(needed.moreSeconds)} s more at this traffic)`;
  }
  return {
    ...base,
    decision,
    canary: comparison.canary,
    production: comparison.production,
    ...(ratio ? { ratio } : {}),
    ...(difference ? { difference } : {}),
    dispersion: comparison.dispersion,
    intervals: comparison.intervals,
    ...(needed ? { needed } : {}),
    message,
  };
}

function leansBad(reason: MetricReason, sign: 1 | -1): boolean {
  const beyond = (e: EffectReport | undefined) =>
    e === undefined || (sign === 1 ? e.estimate > e.tolerance : e.estimate < e.tolerance);
  return (
    (reason.ratio !== undefined || reason.difference !== undefined) &&
    beyond(reason.ratio) &&
    beyond(reason.difference)
  );
}

/**
 * Judges the data gathered so far: pure, so the same data always gives the same verdict.
 *
 * - `rollback` as soon as a critical metric regressed beyond its tolerance (or has no data and its
 *   policy is `rollback`);
 * - `promote` once `minDurationSeconds` have passed, every `mustPass` metric is shown within
 *   tolerance, and no metric is invalid or waiting for data under the `continue` policy;
 * - otherwise `continue`, saying which metrics it waits for and about how long.
 */
export function evaluate(config: JudgeConfig, data: readonly MetricData[], elapsedSeconds: number): Verdict {
  // Only critical metrics can roll back, so only they share the false-rollback budget; an
  // informational metric is judged at the level of the smallest critical share.
  const criticalWeight = config.metrics.reduce((s, m) => s + (m.critical ? m.weight : 0), 0);
  const totalWeight = criticalWeight > 0 ? criticalWeight : config.metrics.reduce((s, m) => s + m.weight, 0);
  const reasons = config.metrics.map((m, i) => {
    const d = data[i];
    if (!d) throw new RangeError(`no data slot for metric ${m.name}`);
    const share = m.weight / totalWeight;
    return judgeMetric(m, d, { alpha: config.alpha * share, beta: config.beta * share }, elapsedSeconds);
  });
  const base = { elapsedSeconds, minDurationSeconds: config.minDurationSeconds, reasons };
  const failed = reasons.filter(
    (r, i) =>
      r.critical &&
      (r.decision === 'fail' || (r.decision === 'no-data' && config.metrics[i]?.noData === 'rollback')),
  );
  const leaning = reasons.some(
    (r, i) => r.critical && leansBad(r, config.metrics[i]?.direction === 'decrease' ? -1 : 1),
  )
    ? 'rollback'
    : reasons.every((r) => !r.mustPass || r.decision === 'pass')
      ? 'promote'
      : 'continue';
  if (failed.length > 0) {
    return {
      ...base,
      verdict: 'rollback',
      failed: failed.map((r) => r.metric),
      leaning: 'rollback',
      summary: `rollback: ${failed.map((r) => r.message).join('; ')}`,
    };
  }
  const waiting = reasons.filter(
    (r) => r.decision === 'invalid' || r.decision === 'no-data' || (r.mustPass && r.decision !== 'pass'),
  );
  const early = elapsedSeconds < config.minDurationSeconds;
  if (waiting.length === 0 && !early) {
    const passed = reasons.filter((r) => r.decision === 'pass').map((r) => r.metric);
    return {
      ...base,
      verdict: 'promote',
      leaning,
      summary: `promote: ${passed.join(', ')} within tolerance after ${Math.round(elapsedSeconds)} s`,
    };
  }
  const times = waiting.map((r) => r.needed?.moreSeconds ?? null);
  const moreSeconds =
    waiting.length === 0
      ? Math.max(0, config.minDurationSeconds - elapsedSeconds)
      : times.some((t) => t === null)
        ? null
        : Math.max(...(times as number[]), config.minDurationSeconds - elapsedSeconds);
  const why =
    waiting.length === 0
      ? `the minimum duration (${config.minDurationSeconds} s) has not passed`
      : waiting.map((r) => r.message).join('; ');
  return {
    ...base,
    verdict: 'continue',
    waitingFor: waiting.map((r) => r.metric),
    moreSeconds,
    leaning,
    summary: `continue: ${why}`,
  };
}
