import binomial from '@stdlib/random-base-binomial';
import gamma from '@stdlib/random-base-gamma';
import poisson from '@stdlib/random-base-poisson';
import randu from '@stdlib/random-base-randu';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareLevels,
  compareRates,
  DefaultDispersionPrior,
  decide,
  dispersion,
  mixtureRadius,
  type RateInterval,
} from '../../src/index.ts';

const tuning = { prior: DefaultDispersionPrior };

function samplers(seed: number) {
  const prng = randu.factory({ seed }) as unknown as () => number;
  return {
    poisson: poisson.factory({ prng }),
    binomial: binomial.factory({ prng }),
    gamma: gamma.factory({ prng }),
  };
}

/** 30 intervals; canary 100 interactions per interval and production 400, error rates pc and pp. */
function rateRun(seed: number, pc: number, pp: number, bursty: boolean): RateInterval[] {
  const r = samplers(seed);
  return Array.from({ length: 30 }, () => {
    const a = r.poisson(100);
    const b = r.poisson(400);
    const shared = bursty ? r.gamma(2, 2) : 1;
    const burst = () => (bursty ? r.gamma(4, 4) : 1);
    return {
      x: r.binomial(a, Math.min(1, pc * shared * burst())),
      a,
      y: r.binomial(b, Math.min(1, pp * shared * burst())),
      b,
    };
  });
}

describe('mixtureRadius', () => {
  it('is the normal-mixture boundary: 0 without variance, shrinking with the variance, growing with confidence', () => {
    expect(mixtureRadius(0, 1, 0.05)).toBe(0);
    expect(mixtureRadius(1e-4, 1, 0.05)).toBeLessThan(mixtureRadius(1e-3, 1, 0.05));
    expect(mixtureRadius(1e-3, 1, 0.01)).toBeGreaterThan(mixtureRadius(1e-3, 1, 0.05));
    // sqrt(2 V (V + t²)/t² (log(1/alpha) + log((V + t²)/V) / 2)) at V = 1, t = 1, alpha = e^-2
    expect(mixtureRadius(1, 1, Math.exp(-2))).toBeCloseTo(Math.sqrt(4 * (2 + Math.log(2) / 2)), 12);
  });
});

describe('dispersion', () => {
  it('is at least 1 and follows the Pearson statistic once many intervals are in', () => {
    expect(dispersion(0, 100, DefaultDispersionPrior)).toBe(1);
    expect(dispersion(300, 100, DefaultDispersionPrior)).toBeCloseTo((300 + 4.5) / 103, 12);
    expect(dispersion(0, 0, DefaultDispersionPrior)).toBe(1.5);
  });
});

describe('compareRates (seeded)', () => {
  const failRate = (pc: number, pp: number, bursty: boolean, runs: number) => {
    let fails = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const run = rateRun(seed, pc, pp, bursty);
      // Look after every interval, as the monitor does.
      for (let k = 1; k <= run.length; k++) {
        const c = compareRates(run.slice(0, k), tuning);
        const lr = c?.logRatio?.bounds?.(0.02);
        if (c && lr && c.difference) {
          const comps = [
            { estimate: c.logRatio?.estimate ?? 0, rollback: lr, pass: lr, tolerance: Math.log(1.5) },
            {
              estimate: c.difference.estimate,
              rollback: {
                lower: c.difference.estimate - mixtureRadius(c.difference.variance, 0.025, 0.02),
                upper: Infinity,
              },
              pass: { lower: -Infinity, upper: Infinity },
              tolerance: 0.0025,
            },
          ];
          if (decide(comps, 1) === 'fail') {
            fails++;
            break;
          }
        }
      }
    }
    return fails / runs;
  };

  it('rarely rolls back a canary at the tolerance, looking 30 times, with or without bursts', () => {
    // 1.5x production's 1% is exactly the tolerated ratio (and +0.5 pp, beyond the absolute one).
    expect(failRate(0.015, 0.01, false, 200)).toBeLessThanOrEqual(0.02);
    expect(failRate(0.015, 0.01, true, 200)).toBeLessThanOrEqual(0.02);
  });

  it('catches a fivefold error rate', () => {
    expect(failRate(0.05, 0.01, false, 50)).toBeGreaterThanOrEqual(0.95);
  });

  it('widens the interval for bursty errors', () => {
    const calm = compareRates(rateRun(7, 0.05, 0.05, false), tuning);
    const bursty = compareRates(rateRun(7, 0.05, 0.05, true), tuning);
    expect(bursty?.dispersion).toBeGreaterThan(1.5);
    expect(calm?.dispersion).toBeLessThan(1.5);
  });

  it('gives a wide, finite interval with no events at all, centred on a ratio of 1', () => {
    const c = compareRates([{ x: 0, a: 100, y: 0, b: 400 }], tuning);
    expect(c?.logRatio?.estimate).toBeCloseTo(0, 12);
    expect(c?.difference?.estimate).toBe(0);
    expect(Number.isFinite(c?.difference?.variance)).toBe(true);
  });

  it('cancels a load curve shared by both sides (Mantel-Haenszel strata)', () => {
    const intervals = [
      { x: 10, a: 100, y: 40, b: 400 },
      { x: 1, a: 100, y: 4, b: 400 },
    ];
    expect(Math.exp(compareRates(intervals, tuning)?.logRatio?.estimate ?? 0)).toBeCloseTo(1, 1);
  });

  it('mirrors when the sides are swapped', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            x: fc.nat(50),
            a: fc.integer({ min: 1, max: 500 }),
            y: fc.nat(50),
            b: fc.integer({ min: 1, max: 500 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (intervals) => {
          const fwd = compareRates(intervals, tuning);
          const back = compareRates(
            intervals.map(({ x, a, y, b }) => ({ x: y, a: b, y: x, b: a })),
            tuning,
          );
          expect(back?.logRatio?.estimate).toBeCloseTo(-(fwd?.logRatio?.estimate ?? 0), 9);
          expect(back?.difference?.estimate).toBeCloseTo(-(fwd?.difference?.estimate ?? 0), 9);
          const f = fwd?.logRatio?.bounds?.(0.01);
          const g = back?.logRatio?.bounds?.(0.01);
          expect(g?.lower).toBeCloseTo(-(f?.upper ?? 0), 9);
          expect(g?.upper).toBeCloseTo(-(f?.lower ?? 0), 9);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('compareLevels', () => {
  it('reads a growing gap (a leak) at the latest reading, not the average', () => {
    const points = Array.from({ length: 20 }, (_, i) => ({
      t: i * 10,
      canary: 100 + 5 * i,
      production: 100,
    }));
    const c = compareLevels(points);
    expect(c?.difference?.estimate).toBeCloseTo(95, 6);
    expect(compareLevels(points.slice(0, 3))).toBeUndefined();
  });
});
