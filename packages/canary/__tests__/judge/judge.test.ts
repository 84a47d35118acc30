import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createJudge,
  defaultConfig,
  emptyData,
  evaluate,
  type JudgeConfig,
  judge,
  type MeanInterval,
  parseExposition,
  type RateInterval,
  resolveConfig,
  type Scrape,
} from '../../src/index.ts';
import { fakeDeployment } from './helpers.ts';

const latency = (i: number) => 0.02 + (i % 20) * 0.01;

/** Ten-second ticks of traffic on two real registries; returns the scrapes of both sides. */
async function traffic(ticks: number, perTick: number, canaryErrors: number, productionErrors = 0.01) {
  const p = fakeDeployment('production', 12);
  const c = fakeDeployment('canary', 4);
  const production: Scrape[] = [await p.scrape(0)];
  const canary: Scrape[] = [await c.scrape(0)];
  for (let k = 1; k <= ticks; k++) {
    p.traffic(4 * perTick, Math.round(4 * perTick * productionErrors), latency);
    c.traffic(perTick, Math.round(perTick * canaryErrors), latency);
    production.push(await p.scrape(k * 10_000));
    canary.push(await c.scrape(k * 10_000));
  }
  return { production, canary, p, c };
}

const fast = (config: JudgeConfig = defaultConfig()) => ({ ...config, minDurationSeconds: 60 });

describe('judge on real prom-client registries', () => {
  it('rolls back a tenfold error rate early, with both sides and the interval in the reasons', async () => {
    const { production, canary } = await traffic(30, 100, 0.1);
    const j = createJudge(fast());
    let at = -1;
    for (let k = 0; k < production.length; k++) {
      j.observe(production[k] as Scrape, canary[k] as Scrape);
      if (j.verdict(k * 10_000).verdict === 'rollback') {
        at = k;
        break;
      }
    }
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(12);
    const v = j.verdict(at * 10_000);
    expect(v.verdict).toBe('rollback');
    if (v.verdict !== 'rollback') return;
    expect(v.failed).toEqual(['errors']);
    const errors = v.reasons.find((r) => r.metric === 'errors');
    expect(errors?.production).toBeCloseTo(0.01, 3);
    expect(errors?.canary).toBeCloseTo(0.1, 3);
    expect(errors?.ratio?.lower).toBeGreaterThan(1.5);
    expect(errors?.difference?.lower).toBeGreaterThan(0.001);
  });

  it('promotes a healthy canary only after the minimum duration', async () => {
    const { production, canary } = await traffic(30, 3000, 0.001, 0.001);
    const config = { ...fast(), metrics: defaultConfig().metrics.filter((m) => m.kind !== 'gauge') };
    expect(judge(config, production.slice(0, 4), canary.slice(0, 4)).verdict).toBe('continue');
    const v = judge(config, production, canary);
    expect(v.verdict).toBe('promote');
    expect(v.reasons.find((r) => r.metric === 'errors')?.decision).toBe('pass');
    expect(v.reasons.find((r) => r.metric === 'latency')?.decision).toBe('pass');
  });

  it('says how much more data a low-traffic canary needs instead of promoting', async () => {
    const { production, canary } = await traffic(12, 10, 0.01);
    const v = judge(fast(), production, canary);
    expect(v.verdict).toBe('continue');
    if (v.verdict !== 'continue') return;
    expect(v.waitingFor).toContain('errors');
    const needed = v.reasons.find((r) => r.metric === 'errors')?.needed;
    expect(needed?.factor).toBeGreaterThan(1);
    expect(v.summary).toMatch(/errors: not decided yet: .* needs about [0-9.]+x the data so far/);
  });

  it('counts a restarted canary from zero and says so', async () => {
    const p = fakeDeployment('production', 12);
    let c = fakeDeployment('canary', 4);
    const j = createJudge(fast());
    j.observe(await p.scrape(0), await c.scrape(0));
    for (let k = 1; k <= 20; k++) {
      if (k === 10) c = fakeDeployment('canary', 4); // a new process: its counters start again at 0
      p.traffic(400, 4, latency);
      c.traffic(100, 1, latency);
      j.observe(await p.scrape(k * 10_000), await c.scrape(k * 10_000));
    }
    const v = j.verdict(200_000);
    const errors = v.reasons.find((r) => r.metric === 'errors');
    expect(errors?.notes.join('\n')).toContain('counted as a restart');
    expect(errors?.canary).toBeCloseTo(0.01, 3);
    expect(v.verdict).not.toBe('rollback');
  });

  it('never promotes on NaN: the metric is invalid and the verdict waits', () => {
    const text = (errors: string, at: number) =>
      parseExposition(
        `# TYPE qsb_interactions_total counter\nqsb_interactions_total{outcome="ok"} ${at * 1000}\nqsb_interactions_total{outcome="error"} ${errors}\n`,
        at * 10_000,
      );
    const config = resolveConfig({ minDurationSeconds: 0, metrics: [defaultConfig().metrics[0]] });
    const production = [0, 1, 2, 3].map((k) => text(String(k), k));
    const canary = [0, 1, 2, 3].map((k) => text(k === 2 ? 'NaN' : String(k), k));
    const v = judge(config, production, canary);
    expect(v.verdict).toBe('continue');
    expect(v.reasons[0]?.decision).toBe('invalid');
    expect(v.summary).toContain('canary qsb_interactions_total{outcome="error"} is NaN');
  });

  it('applies the no-data policy to a series missing on one side', () => {
    const withMetric = (k: number) =>
      parseExposition(`qsb_shards_owned 4\nqsb_user_reports_total ${k}\n`, k * 10_000);
    const without = (k: number) => parseExposition('qsb_shards_owned 4\n', k * 10_000);
    const base = {
      ...defaultConfig().metrics[2],
      name: 'reports',
      exposure: { gaugeHours: { name: 'qsb_shards_owned' } },
    };
    const production = [0, 1, 2].map(withMetric);
    const canary = [0, 1, 2].map(without);
    for (const [noData, verdict, decision] of [
      ['continue', 'continue', 'no-data'],
      ['rollback', 'rollback', 'no-data'],
      ['ignore', 'promote', 'ignored'],
    ] as const) {
      const config = resolveConfig({
        minDurationSeconds: 0,
        metrics: [{ ...base, noData, mustPass: false }],
      });
      const v = judge(config, production, canary);
      expect(v.verdict).toBe(verdict);
      expect(v.reasons[0]?.decision).toBe(decision);
      expect(v.reasons[0]?.message).toContain('qsb_user_reports_total missing on canary');
    }
  });
});

describe('verdict properties', () => {
  const rateConfig = (direction: 'increase' | 'decrease') =>
    resolveConfig({
      minDurationSeconds: 0,
      metrics: [{ ...defaultConfig().metrics[0], direction, mustPass: true }],
    });
  const intervals = fc.array(
    fc.record({
      x: fc.nat(40),
      a: fc.integer({ min: 50, max: 400 }),
      y: fc.nat(40),
      b: fc.integer({ min: 50, max: 1600 }),
    }),
    { minLength: 1, maxLength: 30 },
  );
  const decision = (config: JudgeConfig, data: RateInterval[]) => {
    const [metric] = config.metrics;
    if (!metric) throw new Error('no metric');
    const d = emptyData(metric);
    if (d.kind === 'rate') d.intervals.push(...data);
    return evaluate(config, [d], 300).reasons[0]?.decision;
  };

  it('swapping canary and baseline mirrors the decision', () => {
    fc.assert(
      fc.property(intervals, (data) => {
        const swapped = data.map(({ x, a, y, b }) => ({ x: y, a: b, y: x, b: a }));
        expect(decision(rateConfig('decrease'), swapped)).toBe(decision(rateConfig('increase'), data));
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('scaling traffic at the same rates never flips pass and fail (open-ended)', () => {
    // At a deadline "pass" means "no regression detected", which more data may overturn; the
    // anytime-valid intervals of open-ended watching must not flip.
    const open = { ...rateConfig('increase'), durationSeconds: null };
    fc.assert(
      fc.property(intervals, fc.integer({ min: 2, max: 20 }), (data, k) => {
        const scaled = data.map(({ x, a, y, b }) => ({ x: x * k, a: a * k, y: y * k, b: b * k }));
        const before = decision(open, data);
        const after = decision(open, scaled);
        if (before === 'fail') expect(after).not.toBe('pass');
        if (before === 'pass') expect(after).not.toBe('fail');
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('scaling traffic at the same rates never turns a detected regression into a pass (at the deadline)', () => {
    fc.assert(
      fc.property(intervals, fc.integer({ min: 2, max: 20 }), (data, k) => {
        const scaled = data.map(({ x, a, y, b }) => ({ x: x * k, a: a * k, y: y * k, b: b * k }));
        if (decision(rateConfig('increase'), data) === 'fail')
          expect(decision(rateConfig('increase'), scaled)).toBe('fail');
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});

describe('latency tolerances', () => {
  const latencyConfig = (direction: 'increase' | 'decrease') =>
    resolveConfig({
      minDurationSeconds: 0,
      metrics: [{ ...defaultConfig().metrics[1], direction, mustPass: true }],
    });
  /** `k` intervals of `n` canary and `4n` production observations, spread evenly on the log scale. */
  const sides = (k: number, n: number, canaryScale: number, productionMedian: number): MeanInterval[] => {
    const side = (count: number, median: number) => {
      const logs = Array.from(
        { length: count },
        (_, i) => Math.log(median) + 0.6 * (((i * 0.618) % 1) * 2 - 1),
      );
      const moments = (xs: number[]) => ({
        n: xs.length,
        sum: xs.reduce((s, x) => s + x, 0),
        sumSq: xs.reduce((s, x) => s + x * x, 0),
      });
      return { log: moments(logs), lin: moments(logs.map(Math.exp)) };
    };
    return Array.from({ length: k }, () => {
      const c = side(n, productionMedian * canaryScale);
      const p = side(4 * n, productionMedian);
      return { canaryLog: c.log, productionLog: p.log, canary: c.lin, production: p.lin };
    });
  };
  const decide = (config: JudgeConfig, data: MeanInterval[]) => {
    const [metric] = config.metrics;
    if (!metric) throw new Error('no metric');
    const d = emptyData(metric);
    if (d.kind === 'histogram') d.intervals.push(...data);
    return evaluate(config, [d], 300).reasons[0];
  };

  it('fails a slower canary only beyond both tolerances, read as a ratio at the means', () => {
    // 1.3x on an 80 ms median: beyond 1.1x and beyond +10 ms.
    const slow = decide(latencyConfig('increase'), sides(30, 200, 1.3, 0.08));
    expect(slow?.decision).toBe('fail');
    expect(slow?.ratio?.lower).toBeGreaterThan(slow?.ratio?.tolerance ?? Infinity);
    expect(slow?.difference?.estimate).toBeGreaterThan(0.01);
    // 1.3x on a 20 ms median is about +6 ms: within the absolute tolerance, so never a rollback.
    const fast = decide(latencyConfig('increase'), sides(30, 200, 1.3, 0.02));
    expect(fast?.decision).not.toBe('fail');
    expect(fast?.ratio?.tolerance).toBeGreaterThan(1.3);
    // The same canary as production passes.
    expect(decide(latencyConfig('increase'), sides(30, 200, 1, 0.08))?.decision).toBe('pass');
  });

  it('mirrors when the sides are swapped', () => {
    for (const [scale, median] of [
      [1.3, 0.08],
      [1.12, 0.08],
      [1, 0.08],
      [1.3, 0.02],
    ] as const) {
      const data = sides(30, 50, scale, median);
      const swapped = data.map((i) => ({
        canaryLog: i.productionLog,
        productionLog: i.canaryLog,
        canary: i.production,
        production: i.canary,
      }));
      expect(decide(latencyConfig('decrease'), swapped)?.decision).toBe(
        decide(latencyConfig('increase'), data)?.decision,
      );
    }
  });
});
