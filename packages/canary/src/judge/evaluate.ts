import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import type { JudgeConfig, MetricConfig } from '../config/config.ts';
import {
  type Comparison,
  compareLevels,
  compareMeans,
  compareRates,
  compareTrends,
  MinLevelPoints,
  MinTrendPoints,
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
import {
  type BoundaryCache,
  createBoundaryCache,
  powerQuantile,
  spendingBoundaries,
} from '../stats/spending.ts';
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
  /**
   * The share of the window's information gathered (elapsed time over the window; 1 at the deadline,
   * and in open-ended mode, where every look is valid on its own).
   */
  readonly informationFraction: number;
  /**
   * The smallest regression the data would catch with the configured power (80%) by the end of the
   * window: a ratio to production and, where the metric has one, a difference in `unit`.
   */
  readonly detectable?: Detectable;
  /** The group-sequential test at this look: its z statistic and the boundary it must reach to roll back. */
  readonly test?: { readonly z: number; readonly boundary: number };
  readonly message: string;
  readonly notes: readonly string[];
}

/** The smallest regression caught with the configured power: as a ratio, and as a difference. */
export interface Detectable {
  readonly ratio?: number;
  readonly difference?: number;
}

interface VerdictBase {
  readonly elapsedSeconds: number;
  /** The window the verdict is due within (null: open-ended, anytime-valid). */
  readonly durationSeconds: number | null;
  readonly minDurationSeconds: number;
  readonly reasons: readonly MetricReason[];
  /** Where the point estimates lean, for progress displays (not a decision). */
  readonly leaning: 'promote' | 'rollback' | 'continue';
  /** The metric the leaning rests on, when one does. */
  readonly leaningOn?: string;
  /** The canary's scrapes: how many failed in all, and in a row up to now. */
  readonly health: ScrapeHealth;
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

function compare(config: MetricConfig, data: MetricData): Comparison | undefined {
  const tuning = { prior: DefaultDispersionPrior };
  if (data.kind === 'rate') return compareRates(data.intervals, tuning);
  if (data.kind === 'histogram') return compareMeans(data.intervals, tuning);
  if (config.kind === 'gauge' && config.trend) {
    return compareTrends(data.points.filter((p) => p.t >= config.warmupSeconds));
  }
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

const fmt = (x: number) =>
  !Number.isFinite(x) ? String(x) : Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3);

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

/** One component's test of its tolerance, on the bad-side scale: z above 0 leans bad. */
interface Test {
  readonly z: number;
  readonly se: number;
  readonly ratio: boolean;
  readonly tolerance: number;
  /** The estimate on the bad-side scale. */
  readonly bad: number;
}

/** A t statistic with `df` degrees of freedom as the normal z of the same tail probability. */
function tAsZ(t: number, df: number | undefined): number {
  if (df === undefined || !Number.isFinite(t)) return t;
  if (df < 1) return 0;
  return t >= 0 ? -normalQuantile(tCdf(-t, df), 0, 1) : normalQuantile(tCdf(t, df), 0, 1);
}

function zOf(bad: number, tolerance: number, se: number, df?: number): number {
  if (se > 0 && Number.isFinite(se)) return tAsZ((bad - tolerance) / se, df);
  // A noiseless reading (every shard READY on both sides): the sign of the gap decides alone.
  if (se === 0) return bad > tolerance ? Infinity : bad < tolerance ? -Infinity : 0;
  return 0;
}

/** Where a look stands in the window, and the boundaries of this metric's share of the budget. */
interface Look {
  /** The current look's information fraction. */
  readonly fraction: number;
  readonly final: boolean;
  /** Boundary (z) at this look, and the one expected at the deadline. */
  readonly boundary: number;
  readonly finalBoundary: number;
}

function lookAt(fractions: readonly number[], alpha: number, final: boolean, cache: BoundaryCache): Look {
  const bounds = spendingBoundaries(fractions, alpha, cache);
  const boundary = bounds.at(-1) ?? Infinity;
  const finalBoundary = final
    ? boundary
    : (spendingBoundaries([...fractions, 1], alpha, cache).at(-1) ?? Infinity);
  return { fraction: fractions.at(-1) ?? 0, final, boundary, finalBoundary };
}

interface MetricContext {
  readonly levels: Levels;
  readonly elapsedSeconds: number;
  /** Absent in open-ended mode. */
  readonly look?: Look;
  readonly power: number;
  readonly durationSeconds: number | null;
}

/**
 * The smallest regression caught with probability `power` by the end of the window: the tolerance
 * plus (final boundary + the power's z) standard errors, the standard error shrinking as one over the
 * square root of the information still to come. In open-ended mode the boundary is the mixture's now.
 */
function detectableOf(
  tests: readonly Test[],
  sign: 1 | -1,
  production: number,
  ctx: MetricContext,
  components: readonly Component[],
): { detectable: Detectable; log: number | undefined; gap: number } {
  const zp = powerQuantile(ctx.power);
  let ratioLog: number | undefined;
  let difference: number | undefined;
  let gap = 0;
  for (const [i, t] of tests.entries()) {
    let boundary: number;
    let se = t.se;
    if (ctx.look) {
      boundary = ctx.look.finalBoundary;
      se *= Math.sqrt(Math.max(ctx.look.fraction, 1e-9));
    } else {
      const c = components[i];
      boundary = c && t.se > 0 ? badWidth(c, sign) / t.se : 0;
    }
    const mde = t.tolerance + (boundary + zp) * se;
    gap = Math.max(gap, (boundary + zp) * se);
    if (t.ratio) ratioLog = Math.max(ratioLog ?? -Infinity, mde);
    else difference = Math.max(difference ?? -Infinity, mde);
  }
  // A regression must exceed every tolerance: the detectable ratio is the largest of them.
  const fromDifference =
    difference !== undefined && production > 0 ? Math.log(1 + difference / production) : undefined;
  const log =
    ratioLog === undefined && fromDifference === undefined
      ? undefined
      : Math.max(ratioLog ?? -Infinity, fromDifference ?? -Infinity);
  return {
    detectable: {
      ...(log !== undefined ? { ratio: Math.exp(sign * log) } : {}),
      ...(difference !== undefined ? { difference: sign * difference } : {}),
    },
    log,
    gap,
  };
}

function badWidth(c: Component, sign: 1 | -1): number {
  return sign === 1 ? c.estimate - c.rollback.lower : c.rollback.upper - c.estimate;
}

function testsOf(
  comparison: Comparison,
  ratioComponent: Component | undefined,
  differenceComponent: Component | undefined,
  varianceAtTolerance: number | undefined,
  sign: 1 | -1,
): Test[] {
  const tests: Test[] = [];
  const log = comparison.logRatio;
  if (ratioComponent && log) {
    const tolerance = ratioComponent.tolerance;
    const bad = sign * log.estimate;
    const score = log.scoreAt?.(sign * tolerance);
    const se = score ? score.se : Math.sqrt(log.variance);
    tests.push({
      z: score ? sign * score.z : zOf(bad, tolerance, se, comparison.degreesOfFreedom),
      se,
      ratio: true,
      tolerance,
      bad,
    });
  }
  if (differenceComponent && comparison.difference) {
    const tolerance = differenceComponent.tolerance;
    const bad = sign * comparison.difference.estimate;
    const se = Math.sqrt(varianceAtTolerance ?? comparison.difference.variance);
    tests.push({ z: zOf(bad, tolerance, se, comparison.degreesOfFreedom), se, ratio: false, tolerance, bad });
  }
  return tests;
}

function judgeMetric(config: MetricConfig, data: MetricData, ctx: MetricContext): MetricReason {
  const { levels, elapsedSeconds } = ctx;
  const { alpha } = levels;
  const sign = config.direction === 'increase' ? 1 : -1;
  const base = {
    metric: config.name,
    kind: config.kind,
    critical: config.critical,
    mustPass: config.mustPass,
    unit: config.unit,
    alpha,
    informationFraction: ctx.look?.fraction ?? 1,
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
  const comparison = compare(config, data);
  if (!comparison) {
    const why =
      data.status.missing ??
      (data.kind === 'gauge'
        ? `fewer than ${config.kind === 'gauge' && config.trend ? MinTrendPoints : MinLevelPoints} paired readings so far`
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
  const trend = config.kind === 'gauge' && config.trend;
  // Mixing scales: wide on purpose. A scale much narrower than the estimate's standard error widens
  // the boundary a lot, a wider one only by a logarithm (at alpha = 0.01 the boundary is 3.6 standard
  // errors at its best and 4.3 at 1,000 times the best scale).
  const absoluteAsRatio =
    data.kind === 'histogram' ? ratioAtMeans(comparison, config.tolerance.absolute) : undefined;
  const logTolerance = Math.max(Math.log(config.tolerance.relative), absoluteAsRatio ?? 0);
  const ratioComponent =
    !trend && comparison.logRatio ? logRatioComponent(comparison.logRatio, logTolerance, levels) : undefined;
  const differenceScale =
    DifferenceMixingFactor *
    (config.tolerance.absolute > 0
      ? config.tolerance.absolute
      : Math.max(Math.abs(comparison.production), 1e-9));
  // Rates: the difference is tested with its variance at the tolerance (a score test), not at the
  // estimate, whose variance grows with the very regression it measures.
  const measured = comparison.difference;
  const varianceAtTolerance = measured?.varianceAt?.(sign * config.tolerance.absolute);
  const differenceComponent =
    measured &&
    component(
      { estimate: measured.estimate, variance: varianceAtTolerance ?? measured.variance },
      config.tolerance.absolute,
      differenceScale,
      levels,
    );
  // Latency: the absolute tolerance is tested through the ratio it amounts to (above), so the noisy
  // difference of raw means is reported but does not decide.
  const latencyByRatio = absoluteAsRatio !== undefined && ratioComponent !== undefined;
  const decisive = latencyByRatio ? [ratioComponent] : [ratioComponent, differenceComponent];
  const components = decisive.filter((c): c is Component => c !== undefined);
  const tests = testsOf(
    comparison,
    ratioComponent,
    latencyByRatio ? undefined : differenceComponent,
    varianceAtTolerance,
    sign,
  );
  const leansBad = tests.length > 0 && tests.every((t) => t.bad > t.tolerance);
  const {
    detectable,
    log: detectableLog,
    gap,
  } = detectableOf(tests, sign, Math.abs(comparison.production), ctx, components);
  const z = tests.length > 0 ? Math.min(...tests.map((t) => t.z)) : 0;
  let decision: Decision;
  if (ctx.look) {
    const { boundary, final } = ctx.look;
    // Every component beyond its boundary: a regression must exceed all tolerances.
    const rejected = Number.isFinite(boundary) && tests.length > 0 && z >= boundary;
    const early = decide(components, sign) === 'pass';
    decision = rejected
      ? 'fail'
      : early || (final && (config.mustPass || !leansBad))
        ? 'pass'
        : 'inconclusive';
  } else decision = decide(components, sign);
  // Too little data to have caught the largest tolerable regression: not a pass yet.
  const limit = config.maxDetectable;
  let limitFactor: number | undefined;
  if (decision === 'pass' && limit !== undefined) {
    const have = trend ? sign * (detectable.difference ?? Infinity) : detectableLog;
    const want = trend ? limit : Math.log(limit);
    const tol = trend ? config.tolerance.absolute : logTolerance;
    if (have !== undefined && have > want) {
      decision = 'inconclusive';
      limitFactor = want > tol ? (gap / (want - tol)) ** 2 : Infinity;
    }
  }
  const ratio =
    ratioComponent && toReport(ratioComponent, true, sign, ctx.look, tests[0], comparison.logRatio?.scoreAt);
  const difference =
    differenceComponent &&
    toReport(
      differenceComponent,
      false,
      sign,
      ctx.look,
      tests.find((t) => !t.ratio),
    );
  let needed: DataNeeded | undefined;
  if (decision === 'inconclusive') {
    const factor =
      limitFactor ??
      (ctx.look && ctx.durationSeconds !== null && !ctx.look.final && elapsedSeconds > 0
        ? ctx.durationSeconds / elapsedSeconds
        : dataFactor(components, sign));
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
  if (decision === 'pass') message += `; ${caught(detectable, config, ctx.power)}`;
  if (needed) {
    message +=
      limitFactor !== undefined
        ? `; ${caught(detectable, config, ctx.power)}, more than the limit ${trend ? fmt(limit ?? 0) : `${fmt(limit ?? 0)}x`}`
        : '';
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
    ...(tests.length > 0 ? { detectable } : {}),
    ...(ctx.look ? { test: { z, boundary: ctx.look.boundary } } : {}),
    message,
  };
}

/** "1.9x or more would have been caught 80% of the time". */
function caught(detectable: Detectable, config: MetricConfig, power: number): string {
  const pct = `${Math.round(power * 100)}%`;
  const unit = config.unit ? ` ${config.unit}` : '';
  const what =
    detectable.ratio !== undefined && !(config.kind === 'gauge' && config.trend)
      ? `${fmt(detectable.ratio)}x`
      : detectable.difference !== undefined
        ? `${detectable.difference >= 0 ? '+' : ''}${fmt(detectable.difference)}${unit}`
        : 'nothing';
  return `no regression detected; ${what} or more would have been caught ${pct} of the time`;
}

/**
 * The effect for people. In group-sequential mode the bound on the bad side is the repeated
 * confidence bound at this look's boundary (the tolerance lies beyond it exactly when the look rolls
 * back, up to the score test's own standard error for rates); the other bound is the anytime-valid
 * bound at the false-promotion level.
 */
function toReport(
  c: Component,
  ratio: boolean,
  sign: 1 | -1,
  look: Look | undefined,
  test?: Test,
  scoreAt?: (t0: number) => { z: number },
): EffectReport {
  const f = ratio ? Math.exp : (x: number) => x;
  let lower = sign === 1 ? c.rollback.lower : c.pass.lower;
  let upper = sign === 1 ? c.pass.upper : c.rollback.upper;
  if (look && test) {
    const bound = !Number.isFinite(look.boundary)
      ? -sign * Infinity
      : scoreAt
        ? invertScore(scoreAt, sign, look.boundary)
        : c.estimate - sign * look.boundary * test.se;
    if (sign === 1) lower = bound;
    else upper = bound;
  }
  return { estimate: f(c.estimate), lower: f(lower), upper: f(upper), tolerance: f(sign * c.tolerance) };
}

/**
 * The log ratio at which the score test's bad-side z equals `boundary`: the repeated confidence
 * bound, so that a rollback is exactly the tolerance lying beyond it (z falls as the tested ratio rises).
 */
function invertScore(scoreAt: (t0: number) => { z: number }, sign: 1 | -1, boundary: number): number {
  let lo = -6;
  let hi = 6;
  const z = (t: number) => sign * scoreAt(t).z;
  if (sign === 1 ? z(lo) < boundary : z(hi) < boundary) return -sign * Infinity;
  for (let k = 0; k < 40; k++) {
    const mid = (lo + hi) / 2;
    // sign 1: z falls with t, the bound is the largest t with z >= boundary; sign -1 mirrors.
    const beyond = z(mid) >= boundary;
    if (sign === 1 ? beyond : !beyond) lo = mid;
    else hi = mid;
  }
  return sign === 1 ? lo : hi;
}

/** The canary's scrapes as the judge saw them. */
export interface ScrapeHealth {
  /** Canary scrapes that failed in all. */
  readonly failed: number;
  /** Canary scrapes that failed in a row, up to the latest. */
  readonly failedInARow: number;
  /** Whether production's latest scrape failed (nothing to compare with). */
  readonly productionDown: boolean;
  /** Canary scrapes attempted, answered or not. */
  readonly attempts: number;
  /** Canary scrapes answered since the latest failure (Infinity when none failed). */
  readonly answeredSinceFailure: number;
}

/** More than this share of failed canary scrapes blocks promotion, however the latest went. */
const MaxFailedShare = 0.1;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /**
   * Elapsed seconds at every look so far, the current one last (the judge looks after each scrape);
   * the group-sequential boundaries depend on when the earlier looks were.
   * @defaultValue `[elapsedSeconds]`
   */
  readonly looks?: readonly number[];
  /** @defaultValue no failed scrape */
  readonly health?: ScrapeHealth;
  /** Boundaries computed at earlier looks. @defaultValue a new cache */
  readonly cache?: BoundaryCache;
}

/** A look within this many seconds of the deadline is the last one (scrapes take a moment). */
const DeadlineSlackSeconds = 1;

function leaningOf(
  reasons: readonly MetricReason[],
  config: JudgeConfig,
): Pick<VerdictBase, 'leaning' | 'leaningOn'> {
  let worst: MetricReason | undefined;
  let worstZ = -Infinity;
  for (const [i, r] of reasons.entries()) {
    const m = config.metrics[i];
    if (!r.critical || !m || !leansBadReport(r, m.direction === 'decrease' ? -1 : 1)) continue;
    const z = r.test?.z ?? 0;
    if (!worst || z > worstZ) {
      worst = r;
      worstZ = z;
    }
  }
  if (worst) return { leaning: 'rollback', leaningOn: worst.metric };
  const waiting = reasons.find((r) => r.mustPass && r.decision !== 'pass');
  if (!waiting) return { leaning: 'promote' };
  return { leaning: 'continue', leaningOn: waiting.metric };
}

function leansBadReport(reason: MetricReason, sign: 1 | -1): boolean {
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
 * Group-sequential (the default, `durationSeconds` set): each critical metric spends its share of
 * `alpha` over the window with O'Brien-Fleming-type boundaries, so early looks roll back only a clear
 * regression; at the deadline a metric with no detected regression passes (unless its detectable
 * effect exceeds `maxDetectable`). Open-ended (`durationSeconds: null`): anytime-valid intervals.
 *
 * - `rollback` as soon as a critical metric regressed beyond its tolerance (or has no data and its
 *   policy is `rollback`), or the canary failed `unreachableScrapes` scrapes in a row;
 * - `promote` once `minDurationSeconds` have passed, every `mustPass` metric passes, no critical
 *   metric's estimate lies beyond its tolerance, no metric is invalid or waiting for data under the
 *   `continue` policy, and the canary's latest scrapes answered;
 * - otherwise `continue`, saying which metrics it waits for and about how long.
 */
export function evaluate(
  config: JudgeConfig,
  data: readonly MetricData[],
  elapsedSeconds: number,
  options: EvaluateOptions = {},
): Verdict {
  const health = options.health ?? {
    failed: 0,
    failedInARow: 0,
    productionDown: false,
    attempts: 0,
    answeredSinceFailure: Infinity,
  };
  const cache = options.cache ?? createBoundaryCache();
  const duration = config.durationSeconds;
  const looks = options.looks ?? [elapsedSeconds];
  const final = duration !== null && (looks.at(-1) ?? elapsedSeconds) >= duration - DeadlineSlackSeconds;
  const fractions =
    duration === null
      ? []
      : looks.map((t, i) => (i === looks.length - 1 && final ? 1 : Math.min(1, t / duration)));
  // Only critical metrics can roll back, so only they share the false-rollback budget; an
  // informational metric is judged at the level of the smallest critical share.
  const criticalWeight = config.metrics.reduce((s, m) => s + (m.critical ? m.weight : 0), 0);
  const totalWeight = criticalWeight > 0 ? criticalWeight : config.metrics.reduce((s, m) => s + m.weight, 0);
  const reasons = config.metrics.map((m, i) => {
    const d = data[i];
    if (!d) throw new RangeError(`no data slot for metric ${m.name}`);
    const share = m.weight / totalWeight;
    const levels = { alpha: config.alpha * share, beta: config.beta * share };
    return judgeMetric(m, d, {
      levels,
      elapsedSeconds,
      power: config.power,
      durationSeconds: duration,
      ...(duration === null ? {} : { look: lookAt(fractions, levels.alpha, final, cache) }),
    });
  });
  const base = {
    elapsedSeconds,
    durationSeconds: duration,
    minDurationSeconds: config.minDurationSeconds,
    reasons,
    health,
  };
  const failed = reasons.filter(
    (r, i) =>
      r.critical &&
      (r.decision === 'fail' ||
        // Missing when read, not merely before the first interval.
        (r.decision === 'no-data' &&
          config.metrics[i]?.noData === 'rollback' &&
          data[i]?.status.missing !== undefined)),
  );
  const lean = leaningOf(reasons, config);
  const unreachable = health.failedInARow >= config.unreachableScrapes;
  if (failed.length > 0 || unreachable) {
    const why = [
      ...(unreachable
        ? [
            `the canary did not answer ${health.failedInARow} scrapes in a row (limit ${config.unreachableScrapes})`,
          ]
        : []),
      ...failed.map((r) => r.message),
    ];
    return {
      ...base,
      verdict: 'rollback',
      failed: [...(unreachable ? ['scrapes'] : []), ...failed.map((r) => r.metric)],
      leaning: 'rollback',
      ...(failed[0] ? { leaningOn: failed[0].metric } : {}),
      summary: `rollback: ${why.join('; ')}`,
    };
  }
  const waiting = reasons.filter(
    (r, i) =>
      r.decision === 'invalid' ||
      r.decision === 'no-data' ||
      (r.mustPass && r.decision !== 'pass') ||
      // A metric that points bad blocks promotion even when it need not be shown safe.
      (r.critical &&
        r.decision !== 'pass' &&
        leansBadReport(r, config.metrics[i]?.direction === 'decrease' ? -1 : 1)),
  );
  // A failed scrape is evidence: the canary must answer several scrapes in a row again, and most of
  // them overall, before it can be promoted.
  const scrapeProblem =
    health.failedInARow > 0
      ? `the canary's latest ${health.failedInARow} scrape(s) failed`
      : health.answeredSinceFailure < config.unreachableScrapes
        ? `the canary answered only ${health.answeredSinceFailure} scrape(s) since one failed`
        : health.failed > MaxFailedShare * health.attempts
          ? `${health.failed} of the canary's ${health.attempts} scrapes failed (more than ${MaxFailedShare * 100}%)`
          : health.productionDown
            ? "production's latest scrape failed"
            : undefined;
  const early = elapsedSeconds < config.minDurationSeconds;
  if (waiting.length === 0 && !early && scrapeProblem === undefined) {
    const passed = reasons.filter((r) => r.decision === 'pass').map((r) => r.metric);
    return {
      ...base,
      verdict: 'promote',
      ...lean,
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
  const why = [
    ...(scrapeProblem ? [scrapeProblem] : []),
    ...(waiting.length === 0 && early
      ? [`the minimum duration (${config.minDurationSeconds} s) has not passed`]
      : []),
    ...waiting.map((r) => r.message),
  ];
  return {
    ...base,
    verdict: 'continue',
    waitingFor: [...(scrapeProblem ? ['scrapes'] : []), ...waiting.map((r) => r.metric)],
    moreSeconds,
    ...lean,
    summary: `continue: ${why.join('; ')}`,
  };
}
