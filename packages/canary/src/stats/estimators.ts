import { type DispersionPrior, dispersion, type Estimate } from './sequential.ts';

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
  readonly logRatio?: Estimate;
  readonly difference?: Estimate;
  readonly dispersion: number;
  /** How many intervals carried information on both sides. */
  readonly intervals: number;
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
  const pc = (X + split) / A;
  const pp = (Y + 1 - split) / B;
  let diffNum = 0;
  let varDiff = 0;
  for (const { x, a, y, b } of strata) {
    const T = a + b;
    diffNum += (x * b - y * a) / T;
    varDiff += ((a * b) / (T * T)) * (b * pc + a * pp);
  }
  const difference = diffNum / W;
  varDiff = (phi * varDiff) / (W * W);
  return {
    canary: X / A,
    production: Y / B,
    logRatio: interval(logRatio, varLog),
    difference: interval(difference, varDiff),
    dispersion: phi,
    intervals: strata.length,
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

function pooledVariance(parts: readonly Moments[], floor: number): number {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (const p of parts) {
    n += p.n;
    sum += p.sum;
    sumSq += p.sumSq;
  }
  if (n < 2) return floor;
  const mean = sum / n;
  return Math.max(floor, (sumSq - n * mean * mean) / (n - 1));
}

function stratifiedMeanDifference(
  pairs: readonly { c: Moments; p: Moments }[],
  tuning: Tuning,
  floor: number,
): { interval: Estimate; phi: number; k: number } | undefined {
  const vc = pooledVariance(
    pairs.map((x) => x.c),
    floor,
  );
  const vp = pooledVariance(
    pairs.map((x) => x.p),
    floor,
  );
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
    1e-4,
  );
  const lin = stratifiedMeanDifference(
    intervals.map((i) => ({ c: i.canary, p: i.production })),
    tuning,
    1e-8,
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

function currentLevel(points: readonly { t: number; v: number }[]): Estimate {
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
  const rho = ss > 0 ? Math.min(0.9, Math.max(0, lag / ss)) : 0;
  const inflation = (1 + rho) / (1 - rho);
  const leverage = 1 / k + (sxx > 0 ? (last - tm) ** 2 / sxx : 0);
  return interval(level, sigma2 * inflation * leverage);
}

/**
 * Compares a gauge now: the canary-to-production log ratio and difference of paired readings, fitted
 * with a line over time and read at the latest reading (a memory leak is a growing gap), with the
 * residual variance inflated for lag-1 autocorrelation, since successive readings of a gauge are not
 * independent.
 */
export function compareLevels(points: readonly LevelPoint[]): Comparison | undefined {
  if (points.length < MinLevelPoints) return undefined;
  const last = points[points.length - 1];
  if (!last) return undefined;
  const positive = points.every((p) => p.canary > 0 && p.production > 0);
  const difference = currentLevel(points.map((p) => ({ t: p.t, v: p.canary - p.production })));
  const base = {
    canary: last.canary,
    production: last.production,
    difference,
    dispersion: 1,
    intervals: points.length,
  };
  if (!positive) return base;
  return {
    ...base,
    logRatio: currentLevel(points.map((p) => ({ t: p.t, v: Math.log(p.canary / p.production) }))),
  };
}
