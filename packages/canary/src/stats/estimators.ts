import { type Bounds, type DispersionPrior, dispersion, type Estimate } from './sequential.ts';

/** Counts of one interval: canary events `x` over exposure `a`, production events `y` over exposure `b`. */
export interface RateInterval {
  readonly x: number;
  readonly a: number;
  readonly y: number;
  readonly b: number;
}

/** A two-sided comparison: each side's value, the log-ratio and difference intervals, the dispersion used. */
export interface Comparison {
  readonly canary: number;
  readonly production: number;
  /** On the log scale; absent where a ratio has no meaning (a value at or below zero). */
  readonly logRatio?: Estimate & {
    /** Exact anytime-valid bounds at a level, where the estimator has them (rates). */
    readonly bounds?: (alpha: number) => Bounds;
    /**
     * The score test of the log ratio `t0`, where the estimator has one (rates: the canary's share
     * of each interval's events, binomial given their total): its z statistic, positive when the
     * ratio is above `t0`, and the standard error of the log ratio at `t0`.
     */
    readonly scoreAt?: (t0: number) => { readonly z: number; readonly se: number };
  };
  readonly difference?: Estimate & {
    /**
     * The variance when the true difference is `d` (for rates, Poisson variance depends on the rate):
     * tests of a tolerance use the variance at that tolerance, as a score test does.
     */
    readonly varianceAt?: (d: number) => number;
  };
  readonly dispersion: number;
  /** How many intervals carried information on both sides. */
  readonly intervals: number;
  /**
   * The degrees of freedom of a variance estimated from the readings themselves (gauges): tests read
   * their statistic on Student's t, not the normal, so a few readings cannot claim certainty.
   */
  readonly degreesOfFreedom?: number;
}

/** How the estimators treat overdispersion. */
export interface Tuning {
  readonly prior: DispersionPrior;
}

function interval(estimate: number, variance: number): Estimate {
  return { estimate, variance };
}

/**
 * Compares event rates (errors per interaction, reconnects per shard-hour). Each interval is a stratum:
 * the ratio is the Mantel-Haenszel rate ratio and the difference the Mantel-Haenszel rate difference,
 * so a load curve shared by both sides cancels. Given the events of an interval, the canary's share is
 * binomial with a parameter fixed by the traffic split and the ratio; the Pearson statistic of that
 * conditional binomial measures overdispersion (bursts on one side) and widens both intervals.
 * Half an event is added to each side so that zero counts give wide, finite intervals.
 */
export function compareRates(intervals: readonly RateInterval[], tuning: Tuning): Comparison | undefined {
  let A = 0;
  let B = 0;
  let X = 0;
  let Y = 0;
  const strata: RateInterval[] = [];
  for (const s of intervals) {
    if (!(s.a > 0 && s.b > 0)) continue;
    strata.push(s);
    A += s.a;
    B += s.b;
    X += s.x;
    Y += s.y;
  }
  if (strata.length === 0) return undefined;
  // One pseudo-event shared by exposure: zero counts give a ratio of 1 with a wide, finite interval.
  const split = A / (A + B);
  let R = split * (1 - split);
  let S = split * (1 - split);
  let grNumerator = split * (1 - split);
  let W = 0;
  for (const { x, a, y, b } of strata) {
    const T = a + b;
    R += (x * b) / T;
    S += (y * a) / T;
    grNumerator += (a * b * (x + y)) / (T * T);
    W += (a * b) / T;
  }
  const logRatio = Math.log(R / S);
  const ratio = R / S;
  let pearson = 0;
  let informative = 0;
  for (const { x, a, y, b } of strata) {
    const m = x + y;
    if (m <= 0) continue;
    const p = (ratio * a) / (ratio * a + b);
    if (!(p > 0 && p < 1)) continue;
    informative++;
    pearson += (x - m * p) ** 2 / (m * p * (1 - p));
  }
  const phi = dispersion(pearson, informative - 1, tuning.prior);
  const varLog = (phi * grNumerator) / (R * S);
  const grid = conditionalLikelihood(intervals);
  const pc = (X + split) / A;
  const pp = (Y + 1 - split) / B;
  let diffNum = 0;
  for (const { x, a, y, b } of strata) diffNum += (x * b - y * a) / T_(a, b);
  const difference = diffNum / W;
  const varianceOf = (rc: number, rp: number) => {
    let v = 0;
    for (const { a, b } of strata) {
      const T = a + b;
      v += ((a * b) / (T * T)) * (b * rc + a * rp);
    }
    return (phi * v) / (W * W);
  };
  const varDiff = varianceOf(pc, pp);
  // With the canary's rate d above production's, both rates fitted to all the events (so swapping the
  // sides mirrors the result), never below half an event over all the exposure.
  const varianceAt = (d: number) => {
    const floor = 0.5 / (A + B);
    const rp = (X + Y + 1 - d * A) / (A + B);
    return varianceOf(Math.max(rp + d, floor), Math.max(rp, floor));
  };
  return {
    canary: X / A,
    production: Y / B,
    logRatio: {
      ...interval(logRatio, varLog),
      bounds: (alpha) => mixtureBounds(grid, (t) => logLikelihoodAt(strata, t), phi, alpha),
      scoreAt: (t0) => conditionalScore(strata, t0, phi),
    },
    difference: { ...interval(difference, varDiff), varianceAt },
    dispersion: phi,
    intervals: strata.length,
  };
}

/**
 * The score test of the conditional binomial at log ratio `t0`: each interval's canary share of its
 * events against `r0 a / (r0 a + b)`, summed over intervals (so a shared load curve cancels), with the
 * variance widened by the overdispersion factor. No events: no information (z 0, se Infinity).
 */
function conditionalScore(
  strata: readonly RateInterval[],
  t0: number,
  phi: number,
): { z: number; se: number } {
  const r0 = Math.exp(t0);
  let u = 0;
  let v = 0;
  for (const { x, a, y, b } of strata) {
    const m = x + y;
    if (m <= 0) continue;
    const p = (r0 * a) / (r0 * a + b);
    u += x - m * p;
    v += m * p * (1 - p);
  }
  if (!(v > 0)) return { z: 0, se: Infinity };
  return { z: u / Math.sqrt(phi * v), se: Math.sqrt(phi / v) };
}

function T_(a: number, b: number): number {
  return a + b;
}

/** The grid of log ratios the conditional likelihood is evaluated on (ratios from e^-6 to e^6). */
const LogRatioGrid = Array.from({ length: 241 }, (_, i) => -6 + i * 0.05);
const likelihoodCache = new WeakMap<readonly RateInterval[], { seen: number; ll: Float64Array }>();

/**
 * The log-likelihood, on the grid, of the canary's share of each interval's events given their total:
 * binomial with success probability `r a / (r a + b)`. Kept per intervals array and extended as
 * intervals arrive, so that judging after every scrape costs one pass over the grid per new interval.
 */
function conditionalLikelihood(intervals: readonly RateInterval[]): Float64Array {
  let cached = likelihoodCache.get(intervals);
  if (!cached) {
    cached = { seen: 0, ll: new Float64Array(LogRatioGrid.length) };
    likelihoodCache.set(intervals, cached);
  }
  const { ll } = cached;
  for (let i = cached.seen; i < intervals.length; i++) {
    const s = intervals[i];
    if (!s || !(s.a > 0 && s.b > 0) || s.x + s.y <= 0) continue;
    const m = s.x + s.y;
    for (let g = 0; g < LogRatioGrid.length; g++) {
      const t = LogRatioGrid[g] ?? 0;
      ll[g] =
        (ll[g] ?? 0) +
        s.x * (t + Math.log(s.a)) +
        s.y * Math.log(s.b) -
        m * Math.log(Math.exp(t) * s.a + s.b);
    }
  }
  cached.seen = intervals.length;
  return ll;
}

/**
 * The mixing scale of the one-sided rate tests, on the log ratio: the half-normal prior spreads its
 * mass over ratios from the tested one up to about e^2 = 7 times it, the regressions a 5-minute window
 * can tell apart at 100 to 1,000 interactions per minute (a narrower prior loses the large, sparse
 * regressions of low traffic; a wider one the small regressions of high traffic).
 */
const OneSidedScale = 1;

/** The conditional log-likelihood of the log ratio `t` (as on the grid, computed exactly at `t`). */
function logLikelihoodAt(strata: readonly RateInterval[], t: number): number {
  let ll = 0;
  for (const { x, a, y, b } of strata) {
    const m = x + y;
    if (m <= 0) continue;
    ll += x * (t + Math.log(a)) + y * Math.log(b) - m * Math.log(Math.exp(t) * a + b);
  }
  return ll;
}

/**
 * The log of the one-sided mixture likelihood ratio against the log ratio `t0`, on the quasi-log-
 * likelihood (divided by the overdispersion factor; `scaled` on the grid, `at` exactly): the likelihood of the
 * grid's ratios above `t0`, mixed by a half-normal prior from `t0` (normalised over those grid
 * points), over the likelihood at `t0`. The canary's share of an interval's events is binomial with
 * natural parameter `t + log(a / b)`, so under any ratio at or below `t0` this is a nonnegative
 * supermartingale: by Ville's inequality it ever exceeds `1 / alpha` with probability at most `alpha`,
 * however often it is read.
 */
function logOneSidedRatio(scaled: Float64Array, at: (t: number) => number, t0: number): number {
  const base = at(t0);
  const s2 = 2 * OneSidedScale * OneSidedScale;
  const first = LogRatioGrid[0] ?? -6;
  const from = Math.max(0, Math.floor((t0 - first) / 0.05) + 1);
  let max = -Infinity;
  let end = from;
  for (let g = from; g < scaled.length; g++) {
    const lw = -(((LogRatioGrid[g] ?? 0) - t0) ** 2) / s2;
    // Prior weights below e^-18 are left out (the prior is normalised over the rest).
    if (lw < -18) break;
    max = Math.max(max, lw + (scaled[g] ?? 0));
    end = g + 1;
  }
  if (end === from) return -Infinity;
  let sum = 0;
  let z = 0;
  for (let g = from; g < end; g++) {
    const lw = -(((LogRatioGrid[g] ?? 0) - t0) ** 2) / s2;
    sum += Math.exp(lw + (scaled[g] ?? 0) - max);
    z += Math.exp(lw);
  }
  return Math.log(sum) + max - Math.log(z) - base;
}

/**
 * The one-sided anytime-valid lower bound of the log ratio at level `alpha`: the smallest log ratio
 * the one-sided mixture test does not reject (found by bisection; the test's statistic falls as the
 * tested ratio rises). -Infinity when even the smallest ratio of the grid is not rejected.
 */
function lowerBound(scaled: Float64Array, at: (t: number) => number, alpha: number): number {
  const threshold = Math.log(1 / alpha);
  let lo = LogRatioGrid[0] ?? -6;
  let hi = LogRatioGrid[LogRatioGrid.length - 1] ?? 6;
  if (logOneSidedRatio(scaled, at, lo) < threshold) return -Infinity;
  if (logOneSidedRatio(scaled, at, hi) >= threshold) return Infinity;
  // 26 halvings of 12: within 2e-7 of the bound, and never above it.
  for (let k = 0; k < 26; k++) {
    const mid = (lo + hi) / 2;
    if (logOneSidedRatio(scaled, at, mid) >= threshold) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The confidence sequence of the log ratio at level `alpha`: each side is the one-sided mixture
 * bound at `alpha / 2` (the upper bound is the lower bound of the mirrored likelihood). Exact for
 * binomial shares at any number of looks (Ville's inequality); the log-likelihood is divided by the
 * overdispersion factor (a quasi-likelihood) so that bursts do not count as independent evidence.
 */
function mixtureBounds(ll: Float64Array, at: (t: number) => number, phi: number, alpha: number): Bounds {
  const scaled = ll.map((x) => x / phi);
  const mirrored = Float64Array.from(scaled).reverse();
  return {
    lower: lowerBound(scaled, (t) => at(t) / phi, alpha / 2),
    upper: -lowerBound(mirrored, (t) => at(-t) / phi, alpha / 2),
  };
}

/** Observations of one interval on one side, summarised: count, sum and sum of squares. */
export interface Moments {
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
}

/** One interval of a two-sided mean comparison, on the log scale and the linear scale. */
export interface MeanInterval {
  readonly canaryLog: Moments;
  readonly productionLog: Moments;
  readonly canary: Moments;
  readonly production: Moments;
}

/**
 * The within-interval variance of the observations, pooled over both sides (they share it under the
 * null) and shrunk towards a prior worth ten observations, so that a handful of observations in one
 * bucket cannot claim a tiny variance.
 */
function pooledVariance(parts: readonly Moments[], prior: (mean: number) => number): number {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (const p of parts) {
    n += p.n;
    sum += p.sum;
    sumSq += p.sumSq;
  }
  const mean = n > 0 ? sum / n : 0;
  const priorWeight = 10;
  const ss = Math.max(0, sumSq - n * mean * mean);
  return (ss + priorWeight * prior(mean)) / (Math.max(0, n - 1) + priorWeight);
}

function stratifiedMeanDifference(
  pairs: readonly { c: Moments; p: Moments }[],
  tuning: Tuning,
  prior: (mean: number) => number,
): { interval: Estimate; phi: number; k: number } | undefined {
  const vc = pooledVariance([...pairs.map((x) => x.c), ...pairs.map((x) => x.p)], prior);
  const vp = vc;
  const d: number[] = [];
  const w: number[] = [];
  for (const { c, p } of pairs) {
    if (c.n <= 0 || p.n <= 0) continue;
    d.push(c.sum / c.n - p.sum / p.n);
    w.push(1 / (vc / c.n + vp / p.n));
  }
  if (d.length === 0) return undefined;
  let sw = 0;
  let swd = 0;
  for (let i = 0; i < d.length; i++) {
    sw += w[i] ?? 0;
    swd += (w[i] ?? 0) * (d[i] ?? 0);
  }
  const est = swd / sw;
  let q = 0;
  for (let i = 0; i < d.length; i++) q += (w[i] ?? 0) * ((d[i] ?? 0) - est) ** 2;
  const phi = dispersion(q, d.length - 1, tuning.prior);
  return { interval: interval(est, phi / sw), phi, k: d.length };
}

/**
 * Compares means (latency from histogram buckets) interval by interval: the difference of each
 * interval's means, weighted by its precision, so that a load curve that slows both sides at once
 * cancels; the spread of the per-interval differences beyond what their sizes explain widens the
 * interval. The ratio is the difference of mean logs (a geometric-mean ratio).
 */
export function compareMeans(intervals: readonly MeanInterval[], tuning: Tuning): Comparison | undefined {
  const log = stratifiedMeanDifference(
    intervals.map((i) => ({ c: i.canaryLog, p: i.productionLog })),
    tuning,
    () => 0.25,
  );
  const lin = stratifiedMeanDifference(
    intervals.map((i) => ({ c: i.canary, p: i.production })),
    tuning,
    (mean) => Math.max(0.25 * mean * mean, 1e-12),
  );
  if (!log || !lin) return undefined;
  let cn = 0;
  let cs = 0;
  let pn = 0;
  let ps = 0;
  for (const i of intervals) {
    cn += i.canary.n;
    cs += i.canary.sum;
    pn += i.production.n;
    ps += i.production.sum;
  }
  return {
    canary: cs / cn,
    production: ps / pn,
    logRatio: log.interval,
    difference: lin.interval,
    dispersion: Math.max(log.phi, lin.phi),
    intervals: log.k,
  };
}

/** One paired reading of a gauge (memory, lag, CPU rate) at a time in seconds. */
export interface LevelPoint {
  readonly t: number;
  readonly canary: number;
  readonly production: number;
}

/** The fewest paired readings before a gauge is judged. */
export const MinLevelPoints = 4;
/** The fewest paired readings before a gauge's growth is judged: a slope needs a longer run. */
export const MinTrendPoints = 8;

interface Fit extends Estimate {
  /** Change per second. */
  readonly slope: number;
  /** The variance of the slope, inflated for autocorrelation like the level's. */
  readonly slopeVariance: number;
}

function currentLevel(points: readonly { t: number; v: number }[]): Fit {
  const k = points.length;
  let tm = 0;
  let vm = 0;
  for (const p of points) {
    tm += p.t / k;
    vm += p.v / k;
  }
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.t - tm) ** 2;
    sxy += (p.t - tm) * (p.v - vm);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const last = points[k - 1]?.t ?? tm;
  const level = vm + slope * (last - tm);
  const residuals = points.map((p) => p.v - (vm + slope * (p.t - tm)));
  let ss = 0;
  let lag = 0;
  for (let i = 0; i < k; i++) {
    const e = residuals[i] ?? 0;
    ss += e * e;
    if (i > 0) lag += e * (residuals[i - 1] ?? 0);
  }
  const sigma2 = ss / Math.max(1, k - 2);
  // The lag-1 autocorrelation of residuals is biased low in short series; Kendall's correction
  // (1 + 3 rho) / k puts it back, so that successive readings do not count as independent evidence.
  const raw = ss > 0 ? lag / ss : 0;
  const rho = ss > 0 ? Math.min(0.9, Math.max(0, raw + (1 + 3 * raw) / k)) : 0;
  const inflation = (1 + rho) / (1 - rho);
  const leverage = 1 / k + (sxx > 0 ? (last - tm) ** 2 / sxx : 0);
  return {
    ...interval(level, sigma2 * inflation * leverage),
    slope,
    slopeVariance: sxx > 0 ? (sigma2 * inflation) / sxx : Infinity,
  };
}

/**
 * Compares a gauge now: the canary-to-production log ratio and difference of paired readings, fitted
 * with a line over time and read at the latest reading (a memory leak is a growing gap), with the
 * residual variance inflated for lag-1 autocorrelation, since successive readings of a gauge are not
 * independent.
 */
export function compareLevels(points: readonly LevelPoint[]): Comparison | undefined {
  if (points.length < MinLevelPoints) return undefined;
  // Each side's fitted level at the latest reading: the values shown, whose ratio and difference are
  // the estimates (a line fit is linear, so the difference is the fitted difference exactly).
  const canary = currentLevel(points.map((p) => ({ t: p.t, v: p.canary }))).estimate;
  const production = currentLevel(points.map((p) => ({ t: p.t, v: p.production }))).estimate;
  const { variance } = currentLevel(points.map((p) => ({ t: p.t, v: p.canary - p.production })));
  const base = {
    canary,
    production,
    difference: interval(canary - production, variance),
    dispersion: 1,
    intervals: points.length,
    degreesOfFreedom: points.length - 2,
  };
  if (!(points.every((p) => p.canary > 0 && p.production > 0) && canary > 0 && production > 0)) return base;
  const log = currentLevel(points.map((p) => ({ t: p.t, v: Math.log(p.canary / p.production) })));
  return { ...base, logRatio: interval(Math.log(canary / production), log.variance) };
}

/**
 * Compares how fast a gauge grows (a leak): each side's slope per hour over the readings, and the
 * difference of slopes, fitted on the paired difference so that drift shared by both sides cancels,
 * with its variance inflated for lag-1 autocorrelation. No ratio: production's growth is near zero.
 */
export function compareTrends(points: readonly LevelPoint[]): Comparison | undefined {
  if (points.length < MinTrendPoints) return undefined;
  const hour = 3600;
  const canary = currentLevel(points.map((p) => ({ t: p.t, v: p.canary }))).slope * hour;
  const production = currentLevel(points.map((p) => ({ t: p.t, v: p.production }))).slope * hour;
  const gap = currentLevel(points.map((p) => ({ t: p.t, v: p.canary - p.production })));
  return {
    canary,
    production,
    difference: interval(canary - production, gap.slopeVariance * hour * hour),
    dispersion: 1,
    intervals: points.length,
    degreesOfFreedom: points.length - 2,
  };
}
