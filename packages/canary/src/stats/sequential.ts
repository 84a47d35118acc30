/**
 * Anytime-valid confidence sequences by the normal mixture (Robbins 1970; the mSPRT of Johari,
 * Pekelis and Walsh, "Always Valid Inference"). For an estimate with variance `V` that shrinks as data
 * comes in, the interval `estimate ± radius(V)` covers the true effect at every look with
 * probability at least `1 - alpha`, so the judge may look after every scrape without inflating its
 * false rollbacks. With a plug-in variance it is the asymptotic confidence sequence of Waudby-Smith et
 * al. ("Time-uniform central limit theory", 2021).
 *
 * The mixing scale `tau` is the effect size the test is tuned for: the boundary is tightest when `V`
 * is about `tau²/10`, which we choose to be the tolerated effect.
 */
export function mixtureRadius(variance: number, tau: number, alpha: number): number {
  if (!(variance > 0)) return 0;
  const t2 = tau * tau;
  const sum = variance + t2;
  return Math.sqrt(((2 * variance * sum) / t2) * (Math.log(1 / alpha) + 0.5 * Math.log(sum / variance)));
}

/** A point estimate and its (plug-in) variance, on the scale the test runs on. */
export interface Estimate {
  readonly estimate: number;
  readonly variance: number;
}

/** An estimated effect with its anytime-valid interval, on the scale the test runs on. */
export interface Interval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

/** The interval of an effect at a confidence level, on the scale the test runs on. */
export interface Bounds {
  readonly lower: number;
  readonly upper: number;
}

/**
 * One way of measuring the change (a log ratio, or a difference), with the intervals the decisions
 * use: `rollback` at the false-rollback level (its bound on the bad side decides a rollback) and
 * `pass` at the false-promotion level (its bound on the good side decides a pass).
 */
export interface Component {
  readonly estimate: number;
  readonly rollback: Bounds;
  readonly pass: Bounds;
  /** The tolerated change in the bad direction, on the same scale. */
  readonly tolerance: number;
}

/** The two one-sided levels of a metric. */
export interface Levels {
  readonly alpha: number;
  readonly beta: number;
}

/**
 * Builds a {@link Component} from an estimate with a plug-in variance, by the normal mixture at twice
 * each one-sided level (the one-sided boundary of a half-normal mixing prior, up to a negligible term).
 */
export function component(
  { estimate, variance }: Estimate,
  tolerance: number,
  tau: number,
  levels: Levels,
): Component {
  const r = mixtureRadius(variance, tau, Math.min(1, 2 * levels.alpha));
  const q = mixtureRadius(variance, tau, Math.min(1, 2 * levels.beta));
  return {
    estimate,
    tolerance,
    rollback: { lower: estimate - r, upper: estimate + r },
    pass: { lower: estimate - q, upper: estimate + q },
  };
}

/** What one metric's evidence says. */
export type Decision = 'pass' | 'fail' | 'inconclusive';

function badSide(c: Component, sign: 1 | -1): { rollbackLow: number; passHigh: number; est: number } {
  return sign === 1
    ? { rollbackLow: c.rollback.lower, passHigh: c.pass.upper, est: c.estimate }
    : { rollbackLow: -c.rollback.upper, passHigh: -c.pass.lower, est: -c.estimate };
}

/**
 * A metric fails when every available component shows, with confidence, a change beyond its
 * tolerance in the bad direction (a regression must exceed the relative AND the absolute tolerance);
 * it passes when some component shows the change is within tolerance. `sign` is +1 when an increase
 * is bad, -1 when a decrease is.
 */
export function decide(components: readonly Component[], sign: 1 | -1): Decision {
  if (components.length === 0) return 'inconclusive';
  if (components.every((c) => badSide(c, sign).rollbackLow > c.tolerance)) return 'fail';
  if (components.some((c) => badSide(c, sign).passHigh <= c.tolerance)) return 'pass';
  return 'inconclusive';
}

/**
 * Roughly how many times the current amount of data the metric needs before it decides: a boundary
 * shrinks about as one over the square root of the data, so `(half-width / distance to the tolerance)²`.
 * Infinity when the estimate sits on the tolerance.
 */
export function dataFactor(components: readonly Component[], sign: 1 | -1): number {
  if (components.length === 0) return Infinity;
  let pass = Infinity;
  let fail = 0;
  for (const c of components) {
    const { rollbackLow, passHigh, est } = badSide(c, sign);
    const gap = c.tolerance - est;
    if (gap > 0) pass = Math.min(pass, ((passHigh - est) / gap) ** 2);
    fail = Math.max(fail, gap < 0 ? ((est - rollbackLow) / -gap) ** 2 : Infinity);
  }
  return Math.max(1, Math.min(pass, fail));
}

/**
 * An overdispersion factor: the Pearson statistic over its degrees of freedom, shrunk towards a prior
 * value while few intervals are in, and never below 1. Bursty errors and clustered traffic make counts
 * vary more than a binomial or Poisson model says; multiplying the variance by this factor keeps the
 * false-rollback rate where it should be.
 */
export function dispersion(pearson: number, degreesOfFreedom: number, prior: DispersionPrior): number {
  const df = Math.max(0, degreesOfFreedom);
  return Math.max(1, (pearson + prior.weight * prior.value) / (df + prior.weight));
}

/** The prior of {@link dispersion}: a value and how many intervals' worth of weight it has. */
export interface DispersionPrior {
  readonly value: number;
  readonly weight: number;
}

/** @defaultValue the prior of {@link dispersion}: assume some overdispersion until the data show otherwise. */
export const DefaultDispersionPrior = { value: 1.5, weight: 3 } as const satisfies DispersionPrior;
