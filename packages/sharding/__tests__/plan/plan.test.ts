import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canaryShardTotal,
  deploymentForShard,
  diffPlans,
  identifyBuckets,
  placeGuild,
  planShards,
  shardsForProcess,
  splitAmongDynos,
} from '../../src/index.ts';

const shardCount = fc.integer({ min: 1, max: 4096 });
const percent = fc.integer({ min: 0, max: 100 });
const percentWithDecimals = fc.integer({ min: 0, max: 10_000 }).map((bp) => bp / 100);

function sorted(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

describe('planShards', () => {
  it('gives every shard to exactly one deployment', () => {
    fc.assert(
      fc.property(shardCount, percentWithDecimals, fc.boolean(), (n, p, zero) => {
        const plan = planShards({ shardCount: n, percent: p, canaryTakesShardZero: zero });
        const all = sorted([...plan.canary, ...plan.production]);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
    );
  });

  it('is monotone: the canary at p% is a subset of the canary at q% for p <= q', () => {
    fc.assert(
      fc.property(shardCount, percentWithDecimals, percentWithDecimals, fc.boolean(), (n, a, b, zero) => {
        const [p, q] = a <= b ? [a, b] : [b, a];
        const low = planShards({ shardCount: n, percent: p, canaryTakesShardZero: zero });
        const high = new Set(planShards({ shardCount: n, percent: q, canaryTakesShardZero: zero }).canary);
        for (const id of low.canary) expect(high.has(id)).toBe(true);
      }),
    );
  });

  it('ramping every percent in turn only ever moves shards to the canary', () => {
    for (const n of [1, 2, 3, 7, 16, 100, 1000, 4096]) {
      for (let p = 0; p < 100; p++) {
        const diff = diffPlans(
          planShards({ shardCount: n, percent: p }),
          planShards({ shardCount: n, percent: p + 1 }),
        );
        expect(diff.toProduction).toEqual([]);
      }
    }
  });

  it('keeps shard 0 (DMs) with production below 100% unless told otherwise', () => {
    fc.assert(
      fc.property(shardCount, fc.integer({ min: 0, max: 99 }), (n, p) => {
        expect(planShards({ shardCount: n, percent: p }).production).toContain(0);
      }),
    );
    expect(planShards({ shardCount: 16, percent: 100 }).canary).toContain(0);
    expect(planShards({ shardCount: 16, percent: 20, canaryTakesShardZero: true }).canary).toContain(0);
  });

  it('gives the canary at least one shard for any percent above 0 when there are 2 or more shards', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4096 }), fc.integer({ min: 1, max: 10_000 }), (n, bp) => {
        expect(planShards({ shardCount: n, percent: bp / 100 }).canary.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('rounds down: the canary never owns more than asked, except for the one-shard minimum', () => {
    fc.assert(
      fc.property(shardCount, percent, (n, p) => {
        const k = canaryShardTotal(n, p);
        if (p === 100) expect(k).toBe(n);
        else if (p === 0 || n === 1) expect(k).toBe(0);
        else expect(k).toBe(Math.max(1, Math.floor((n * p) / 100)));
      }),
    );
    expect(canaryShardTotal(10, 20)).toBe(2);
    expect(canaryShardTotal(16, 20)).toBe(3);
    expect(canaryShardTotal(16, 0.01)).toBe(1);
    expect(canaryShardTotal(16, 99.99)).toBe(15);
    expect(canaryShardTotal(1, 50)).toBe(0);
  });

  it('spreads the canary over identify buckets: counts per bucket differ by at most one', () => {
    fc.assert(
      fc.property(shardCount, percent, fc.integer({ min: 1, max: 64 }), (n, p, m) => {
        const plan = planShards({ shardCount: n, percent: p, maxConcurrency: m });
        const sizes = identifyBuckets(plan.canary, m).map((b) => b.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('refuses out-of-range options', () => {
    expect(() => planShards({ shardCount: 0, percent: 20 })).toThrow(/shardCount 0/);
    expect(() => planShards({ shardCount: 16, percent: 101 })).toThrow(/percent 101/);
    expect(() => planShards({ shardCount: 16, percent: -5 })).toThrow(/percent -5/);
    expect(() => planShards({ shardCount: 16, percent: 12.345 })).toThrow(/two decimals/);
    expect(() => planShards({ shardCount: 16, percent: Number.NaN })).toThrow(/percent NaN/);
    expect(() => planShards({ shardCount: 16, percent: 20, maxConcurrency: 0 })).toThrow(/maxConcurrency/);
  });
});

describe('dynos', () => {
  const split = fc
    .tuple(
      shardCount,
      percent,
      fc.integer({ min: 1, max: 50 }),
      fc.constantFrom('canary', 'production' as const),
    )
    .map(([n, p, dynos, role]) => ({ n, p, dynos, role }));

  it('split a deployment without overlap or gap, in balanced runs', () => {
    fc.assert(
      fc.property(split, ({ n, p, dynos, role }) => {
        const plan = planShards({ shardCount: n, percent: p });
        const parts = Array.from({ length: dynos }, (_, i) =>
          shardsForProcess(plan, role, { index: i + 1, count: dynos }),
        );
        expect(parts.flatMap((part) => part.shardIds)).toEqual(plan[role]);
        const sizes = parts.map((part) => part.shardIds.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        for (const part of parts) expect(part.shardCount).toBe(n);
      }),
    );
  });

  it('refuses a dyno index outside 1..count', () => {
    expect(() => splitAmongDynos([1, 2, 3], { index: 0, count: 2 })).toThrow(/dyno index 0/);
    expect(() => splitAmongDynos([1, 2, 3], { index: 3, count: 2 })).toThrow(/dyno index 3/);
    expect(() => splitAmongDynos([1, 2, 3], { index: 1, count: 0 })).toThrow(/dyno count 0/);
  });
});

describe('placement and diff', () => {
  it('places a guild on its shard and that shard’s owner', () => {
    const plan = planShards({ shardCount: 16, percent: 20 });
    expect(plan.canary).toEqual([1, 2, 3]);
    expect(placeGuild(plan, '81384788765712384')).toEqual({
      id: '81384788765712384',
      shard: 2,
      deployment: 'canary',
    });
    expect(placeGuild(plan, '302094807046684672')).toEqual({
      id: '302094807046684672',
      shard: 10,
      deployment: 'production',
    });
  });

  it('agrees with the plan’s lists for every shard', () => {
    fc.assert(
      fc.property(shardCount, percent, fc.boolean(), (n, p, zero) => {
        const plan = planShards({ shardCount: n, percent: p, canaryTakesShardZero: zero });
        const canary = new Set(plan.canary);
        for (let id = 0; id < n; id++) {
          expect(deploymentForShard(plan, id)).toBe(canary.has(id) ? 'canary' : 'production');
        }
      }),
      { numRuns: 50 },
    );
  });

  it('diffs a ramp 20 -> 50 and a rollback 50 -> 0', () => {
    const p20 = planShards({ shardCount: 10, percent: 20 });
    const p50 = planShards({ shardCount: 10, percent: 50 });
    expect(diffPlans(p20, p50)).toEqual({ toCanary: [3, 4, 5], toProduction: [] });
    expect(diffPlans(p50, planShards({ shardCount: 10, percent: 0 }))).toEqual({
      toCanary: [],
      toProduction: [1, 2, 3, 4, 5],
    });
    expect(() => diffPlans(p20, planShards({ shardCount: 12, percent: 20 }))).toThrow(/re-shards/);
  });
});
