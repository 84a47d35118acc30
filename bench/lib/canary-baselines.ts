import { compareTrends } from '@qsb/canary';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { BucketEdges, BucketValues, IntervalSeconds, type Run, type SideInterval } from './canary-sim.ts';

/** Per-minute aggregates, the points Kayenta and Flagger judge. */
function minutes(side: readonly SideInterval[]): SideInterval[] {
  const per = 60 / IntervalSeconds;
  const out: SideInterval[] = [];
  for (let i = 0; i + per <= side.length; i += per) {
    const chunk = side.slice(i, i + per);
    out.push({
      interactions: chunk.reduce((s, x) => s + x.interactions, 0),
      errors: chunk.reduce((s, x) => s + x.errors, 0),
      buckets: BucketEdges.map((_, b) => chunk.reduce((s, x) => s + (x.buckets[b] ?? 0), 0)),
      memory: chunk.reduce((s, x) => s + x.memory, 0) / chunk.length,
      reconnects: chunk.reduce((s, x) => s + x.reconnects, 0),
    });
  }
  return out;
}

function meanLatency(m: SideInterval): number | undefined {
  let n = 0;
  let sum = 0;
  m.buckets.forEach((c, i) => {
    n += c;
    sum += c * (BucketValues[i] ?? 0);
  });
  return n > 0 ? sum / n : undefined;
}

/**
 * Two-sided Mann-Whitney U test with the normal approximation, as Apache Commons Math (which Kayenta's
 * judge builds on) computes it: average ranks for ties, no tie or continuity correction.
 */
export function mannWhitneyP(a: readonly number[], b: readonly number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let r1 = 0;
  all.forEach((x, i) => {
    if (x.g === 0) r1 += ranks[i] ?? 0;
  });
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const sd = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  const z = (u1 - (n1 * n2) / 2) / sd;
  return 2 * normalCdf(-Math.abs(z), 0, 1);
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * Kayenta's rule: one point per minute per metric, a two-sided Mann-Whitney test at confidence 0.98
 * each minute on the points so far; a metric is High when significant and the canary's mean exceeds
 * the baseline's by more than the tolerance (25% of the baseline's mean); any High (critical) metric
 * fails the canary. Returns the second of the
 * rollback, or null.
 */
export function kayenta(run: Run): number | null {
  const c = minutes(run.canary);
  const p = minutes(run.production);
  const metrics: ((m: SideInterval) => number | undefined)[] = [
    (m) => (m.interactions > 0 ? m.errors / m.interactions : undefined),
    meanLatency,
    (m) => m.memory,
    (m) => m.reconnects,
  ];
  for (let k = 1; k <= c.length; k++) {
    for (const metric of metrics) {
      const a = c
        .slice(0, k)
        .map(metric)
        .filter((x): x is number => x !== undefined);
      const b = p
        .slice(0, k)
        .map(metric)
        .filter((x): x is number => x !== undefined);
      if (a.length === 0 || b.length === 0) continue;
      // Kayenta's tolerance: a difference within 25% of the baseline's mean passes.
      if (mannWhitneyP(a, b) < 0.02 && mean(a) - mean(b) > 0.25 * Math.abs(mean(b))) return k * 60;
    }
  }
  return null;
}

/** `histogram_quantile` over bucket counts (linear within the bucket, the last finite edge above it). */
function quantile(buckets: readonly number[], q: number): number | undefined {
  const n = buckets.reduce((s, x) => s + x, 0);
  if (n === 0) return undefined;
  const rank = q * n;
  let cum = 0;
  for (let i = 0; i < buckets.length; i++) {
    const c = buckets[i] ?? 0;
    const hi = BucketEdges[i] ?? Infinity;
    const lo = i === 0 ? 0 : (BucketEdges[i - 1] ?? 0);
    if (cum + c >= rank) {
      if (hi === Infinity) return lo;
      return lo + ((hi - lo) * (rank - cum)) / Math.max(c, 1e-12);
    }
    cum += c;
  }
  return BucketEdges[BucketEdges.length - 2];
}

/**
 * Flagger's gate: every minute, the canary's success rate must be at least 99% and its p99 latency at
 * most 500 ms; no data is a failed check; at 5 failed checks it rolls back.
 */
export function flagger(run: Run): number | null {
  let failed = 0;
  const c = minutes(run.canary);
  for (let k = 0; k < c.length; k++) {
    const m = c[k];
    if (!m) continue;
    const p99 = quantile(m.buckets, 0.99);
    const ok = m.interactions > 0 && 1 - m.errors / m.interactions >= 0.99 && p99 !== undefined && p99 <= 0.5;
    if (!ok) failed++;
    if (failed >= 5) return (k + 1) * 60;
  }
  return null;
}

function totals(side: readonly SideInterval[]) {
  return {
    interactions: side.reduce((s, x) => s + x.interactions, 0),
    errors: side.reduce((s, x) => s + x.errors, 0),
    reconnects: side.reduce((s, x) => s + x.reconnects, 0),
  };
}

/** One-sided p-value of `x` or more canary events among `m` when the canary's share is `p0`. */
function conditionalBinomialP(x: number, m: number, p0: number): number {
  if (m === 0 || x === 0) return 1;
  return 1 - binomialCdf(x - 1, m, p0);
}

/**
 * The best fixed-horizon tests, read once at the end of the window against the same tolerance as the
 * judge: each returns its one-sided p-value (reject at the chosen level).
 */
export const ceilingTests = {
  /** Conditional binomial: the canary's share of errors given the total, against a ratio of 1.5. */
  errors(run: Run): number {
    const c = totals(run.canary);
    const p = totals(run.production);
    const r0 = 1.5;
    if (c.interactions === 0 || p.interactions === 0) return 1;
    return conditionalBinomialP(
      c.errors,
      c.errors + p.errors,
      (r0 * c.interactions) / (r0 * c.interactions + p.interactions),
    );
  },
  /** z test of the difference in mean log latency against log(1.1). */
  latency(run: Run): number {
    const moments = (side: readonly SideInterval[]) => {
      let n = 0;
      let s = 0;
      let ss = 0;
      for (const x of side) {
        x.buckets.forEach((count, i) => {
          const v = Math.log(BucketValues[i] ?? 1);
          n += count;
          s += count * v;
          ss += count * v * v;
        });
      }
      const m = n > 0 ? s / n : 0;
      return { n, m, v: (ss - n * m * m) / Math.max(1, n - 1) };
    };
    const c = moments(run.canary);
    const p = moments(run.production);
    if (c.n < 2 || p.n < 2) return 1;
    const z = (c.m - p.m - Math.log(1.1)) / Math.sqrt(c.v / c.n + p.v / p.n);
    return normalCdf(-z, 0, 1);
  },
  /** z test of the last memory ratio against 1.25, with the spread of A/A ratios (sd 1.5%) known. */
  memory(run: Run): number {
    const c = run.canary.at(-1)?.memory ?? 0;
    const p = run.production.at(-1)?.memory ?? 1;
    return normalCdf(-(Math.log(c / p) - Math.log(1.25)) / 0.015, 0, 1);
  },
  /**
   * The growth of the memory gap against +50 MB/h: the same line fit as the judge's (lag-1
   * autocorrelation allowed for), read once at the end.
   */
  memoryGrowth(run: Run): number {
    const points = run.canary.map((c, i) => ({
      t: (i + 1) * IntervalSeconds,
      canary: c.memory,
      production: run.production[i]?.memory ?? 0,
    }));
    const d = compareTrends(points)?.difference;
    if (!d) return 1;
    return normalCdf(-(d.estimate - 50e6) / Math.sqrt(d.variance), 0, 1);
  },
  /** Conditional binomial: the canary's share of reconnects given the total, against a ratio of 2 per shard-hour. */
  stability(run: Run): number {
    const c = totals(run.canary);
    const p = totals(run.production);
    return conditionalBinomialP(c.reconnects, c.reconnects + p.reconnects, (2 * 4) / (2 * 4 + 16));
  },
} as const;
