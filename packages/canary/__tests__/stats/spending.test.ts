import normal from '@stdlib/random-base-normal';
import randu from '@stdlib/random-base-randu';
import { describe, expect, it } from 'vitest';
import { createBoundaryCache, obrienFlemingSpending, spendingBoundaries } from '../../src/index.ts';

/** The share of simulated score paths (Brownian motion, no effect) that reach a boundary at some look. */
function crossingRate(fractions: readonly number[], bounds: readonly number[], runs: number, seed: number) {
  const prng = randu.factory({ seed }) as unknown as () => number;
  const draw = normal.factory({ prng });
  let crossed = 0;
  for (let r = 0; r < runs; r++) {
    let score = 0;
    let prev = 0;
    for (const [k, t] of fractions.entries()) {
      score += draw(0, Math.sqrt(t - prev));
      prev = t;
      if (score / Math.sqrt(t) >= (bounds[k] ?? Infinity)) {
        crossed++;
        break;
      }
    }
  }
  return crossed / runs;
}

describe('obrienFlemingSpending', () => {
  it('spends almost nothing early and all of alpha at the end', () => {
    expect(obrienFlemingSpending(0, 0.05)).toBe(0);
    expect(obrienFlemingSpending(0.1, 0.05)).toBeLessThan(1e-5);
    expect(obrienFlemingSpending(0.5, 0.05)).toBeCloseTo(0.0056, 4);
    expect(obrienFlemingSpending(1, 0.05)).toBe(0.05);
  });
});

describe('spendingBoundaries', () => {
  it('matches the published boundaries of five equal looks at one-sided 0.025 (gsDesign sfLDOF)', () => {
    const b = spendingBoundaries([0.2, 0.4, 0.6, 0.8, 1], 0.025);
    const published = [4.8769, 3.3569, 2.6803, 2.2898, 2.031];
    for (const [k, z] of published.entries()) expect(b[k]).toBeCloseTo(z, 3);
  });

  it('keeps the false-rollback rate over 30 correlated looks under alpha (seeded, 20,000 paths)', () => {
    const fractions = Array.from({ length: 30 }, (_, i) => (i + 1) / 30);
    const alpha = 0.02;
    const b = spendingBoundaries(fractions, alpha);
    const rate = crossingRate(fractions, b, 20_000, 7);
    // Three standard errors of a binomial share at alpha.
    expect(rate).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / 20_000));
    // And the budget is spent, not wasted: a Bonferroni split would reject far less often.
    expect(rate).toBeGreaterThan(alpha * 0.7);
  });

  it('keeps the rate under alpha at irregular looks, as scrapes that fail or arrive late make them', () => {
    const fractions = [0.05, 0.07, 0.2, 0.21, 0.5, 0.52, 0.9, 1];
    const alpha = 0.05;
    const b = spendingBoundaries(fractions, alpha);
    expect(crossingRate(fractions, b, 20_000, 11)).toBeLessThanOrEqual(
      alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / 20_000),
    );
  });

  it('rejects nothing at a look that adds no information, and reuses cached looks', () => {
    const cache = createBoundaryCache();
    const b = spendingBoundaries([0.5, 0.5, 1], 0.05, cache);
    expect(b[1]).toBe(Infinity);
    expect(cache.looks.size).toBe(2);
    expect(spendingBoundaries([0.5, 1], 0.05, cache)).toEqual([b[0], b[2]]);
    expect(cache.looks.size).toBe(2);
  });
});
