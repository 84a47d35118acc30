import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalPdf from '@stdlib/stats-base-dists-normal-pdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

// stdlib gives the normal distribution's functions (accurate far in the tails, where the early
// boundaries sit); the recursion over looks is the standard group-sequential computation
// (Armitage, McPherson and Rowe 1969; Jennison and Turnbull, "Group Sequential Methods", ch. 19).

/**
 * The Lan-DeMets spending function of the O'Brien-Fleming type, one-sided at level `alpha`: the share
 * of the false-rollback budget spent by information fraction `t` (0 to 1), `2 - 2 Φ(z_{1-α/2} / √t)`.
 * Almost nothing is spent early, so the first looks roll back only a clear regression, and the last
 * look keeps nearly the power of a single test at the end.
 */
export function obrienFlemingSpending(t: number, alpha: number): number {
  if (!(t > 0)) return 0;
  if (t >= 1) return alpha;
  return 2 * normalCdf(-normalQuantile(1 - alpha / 2, 0, 1) / Math.sqrt(t), 0, 1);
}

/** The density of the score process on the continuation region after one look, on a uniform grid. */
interface LookState {
  /** Names this look and the ones before it, for the cache (keys stay short however many looks). */
  readonly id: number;
  readonly fraction: number;
  /** The boundary on the z scale (Infinity: the look could not reject). */
  readonly boundary: number;
  readonly spent: number;
  readonly lo: number;
  readonly step: number;
  readonly density: Float64Array;
}

/** Grid points per standard deviation of the smallest increment between looks. */
const PointsPerSd = 6;
/** The grid reaches this many standard deviations below the process's mean (mass beyond: < 1e-15). */
const Reach = 8;
const MaxPoints = 2001;

function simpsonWeights(n: number, h: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = ((i === 0 || i === n - 1 ? 1 : i % 2 === 1 ? 4 : 2) * h) / 3;
  return w;
}

function grid(lo: number, hi: number, sd: number): { lo: number; step: number; n: number } {
  let n = Math.ceil(((hi - lo) / sd) * PointsPerSd);
  n = Math.min(MaxPoints, Math.max(51, n + (n % 2 === 0 ? 1 : 0)));
  return { lo, step: (hi - lo) / (n - 1), n };
}

/** The chance that the score, continuing from `prev`, is at or above `b` (score scale) at the next look. */
function exceed(prev: LookState | undefined, b: number, t: number): number {
  if (!prev) return normalCdf(-b / Math.sqrt(t), 0, 1);
  const sd = Math.sqrt(t - prev.fraction);
  const w = simpsonWeights(prev.density.length, prev.step);
  let p = 0;
  for (let i = 0; i < prev.density.length; i++) {
    const u = prev.lo + i * prev.step;
    p += (w[i] ?? 0) * (prev.density[i] ?? 0) * normalCdf((u - b) / sd, 0, 1);
  }
  return p;
}

function nextLook(prev: LookState | undefined, t: number, alpha: number, id: number): LookState {
  const spent = obrienFlemingSpending(t, alpha);
  const target = spent - (prev?.spent ?? 0);
  const root = Math.sqrt(t);
  let boundary = Infinity;
  // Below 1e-13 the budget of this look is lost in rounding: the look rejects nothing.
  if (target > 1e-13) {
    let lo = 0;
    let hi = 40;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (exceed(prev, mid * root, t) > target) lo = mid;
      else hi = mid;
    }
    boundary = hi;
  }
  const sd = Math.sqrt(t - (prev?.fraction ?? 0));
  const top = Math.min(boundary * root, Reach * root);
  const g = grid(-Reach * root, top, Math.min(sd, root));
  const density = new Float64Array(g.n);
  if (!prev) {
    for (let i = 0; i < g.n; i++) density[i] = normalPdf(g.lo + i * g.step, 0, root);
  } else {
    const w = simpsonWeights(prev.density.length, prev.step);
    for (let i = 0; i < g.n; i++) {
      const s = g.lo + i * g.step;
      let f = 0;
      for (let j = 0; j < prev.density.length; j++) {
        const dj = prev.density[j] ?? 0;
        if (dj === 0) continue;
        f += (w[j] ?? 0) * dj * normalPdf(s - (prev.lo + j * prev.step), 0, sd);
      }
      density[i] = f;
    }
  }
  return { id, fraction: t, boundary, spent, lo: g.lo, step: g.step, density };
}

/**
 * Remembers the looks computed so far, keyed by level and the fractions up to each look, so that a
 * judge looking after every scrape computes each look once. Pure results; the cache only saves time.
 */
export interface BoundaryCache {
  /** Keyed by the previous look's id (or the level, for a first look) and the fraction. */
  readonly looks: Map<string, LookState>;
  readonly limit: number;
  next: number;
}

/** A cache for {@link spendingBoundaries}, holding at most `limit` looks. */
export function createBoundaryCache(limit = 20_000): BoundaryCache {
  return { looks: new Map(), limit, next: 0 };
}

/**
 * One-sided group-sequential boundaries (z scale) for looks at increasing information fractions,
 * spending `alpha` with {@link obrienFlemingSpending}: under no effect, the chance that the statistic
 * reaches its boundary at any look is `alpha` once a look reaches fraction 1 (and the spent share
 * before). The looks are correlated as a Brownian motion's; the boundaries come from recursive
 * numerical integration of the score's density over the continuation region (Simpson's rule).
 * Fractions are rounded to 1e-4 and clamped to (0, 1]; a look that does not add information rejects
 * nothing (boundary Infinity).
 *
 * @example
 * spendingBoundaries([0.2, 0.4, 0.6, 0.8, 1], 0.025); // [4.88, 3.36, 2.68, 2.29, 2.03]
 */
export function spendingBoundaries(
  fractions: readonly number[],
  alpha: number,
  cache: BoundaryCache = createBoundaryCache(),
): number[] {
  const out: number[] = [];
  let prev: LookState | undefined;
  for (const raw of fractions) {
    const t = Math.min(1, Math.max(1e-4, Math.round(raw * 1e4) / 1e4));
    if (prev && t <= prev.fraction) {
      out.push(Infinity);
      continue;
    }
    const key = prev ? `#${prev.id},${t}` : `${alpha},${t}`;
    let look = cache.looks.get(key);
    if (!look) {
      look = nextLook(prev, t, alpha, cache.next++);
      if (cache.looks.size >= cache.limit) cache.looks.clear();
      cache.looks.set(key, look);
    }
    out.push(look.boundary);
    prev = look;
  }
  return out;
}

/** The z value a test reaches with probability `power` when its mean is that far above the boundary. */
export function powerQuantile(power: number): number {
  return normalQuantile(power, 0, 1);
}
