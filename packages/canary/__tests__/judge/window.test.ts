import binomial from '@stdlib/random-base-binomial';
import normal from '@stdlib/random-base-normal';
import randu from '@stdlib/random-base-randu';
import { describe, expect, it } from 'vitest';
import {
  createBoundaryCache,
  createJudge,
  defaultConfig,
  emptyData,
  evaluate,
  type JudgeConfig,
  type LevelPoint,
  parseExposition,
  type RateInterval,
  resolveConfig,
} from '../../src/index.ts';
import { fakeDeployment } from './helpers.ts';

const metric = (name: string) => {
  const m = defaultConfig().metrics.find((x) => x.name === name);
  if (!m) throw new Error(`no metric ${name}`);
  return m;
};

/** Thirty 10-second intervals of errors: canary `a` interactions at rate `pc`, production `4a` at `pp`. */
function errorRun(seed: number, a: number, pc: number, pp: number): RateInterval[] {
  const prng = randu.factory({ seed }) as unknown as () => number;
  const draw = binomial.factory({ prng });
  return Array.from({ length: 30 }, () => ({ x: draw(a, pc), a, y: draw(4 * a, pp), b: 4 * a }));
}

const cache = createBoundaryCache();

/** Looks after every interval, as qsb monitor does; the verdict at the first decision or the deadline. */
function watch(config: JudgeConfig, intervals: readonly RateInterval[]) {
  const [m] = config.metrics;
  if (!m) throw new Error('no metric');
  const d = emptyData(m);
  if (d.kind !== 'rate') throw new Error('not a rate');
  const looks: number[] = [];
  let v = evaluate(config, [d], 0);
  for (const [k, i] of intervals.entries()) {
    d.intervals.push(i);
    looks.push((k + 1) * 10);
    v = evaluate(config, [d], (k + 1) * 10, { looks, cache });
    if (v.verdict !== 'continue') break;
  }
  return v;
}

describe('the decision at the deadline', () => {
  const errorsOnly = (extra: object = {}) =>
    resolveConfig({ minDurationSeconds: 0, metrics: [{ ...metric('errors'), ...extra }] });

  it('passes a metric with no detected regression at the last look, not before', () => {
    const config = errorsOnly();
    const v = watch(config, errorRun(3, 20, 0.005, 0.005));
    expect(v.verdict).toBe('promote');
    expect(v.elapsedSeconds).toBe(300);
    const errors = v.reasons[0];
    expect(errors?.informationFraction).toBe(1);
    // Above the single test at the end (1.645 at 5%): the looks before spent part of alpha.
    expect(errors?.test?.boundary).toBeGreaterThan(1.645);
    expect(errors?.test?.boundary).toBeLessThan(2.2);
  });

  it('rolls back a clear regression early, long before the deadline', () => {
    const v = watch(errorsOnly(), errorRun(5, 200, 0.05, 0.005));
    expect(v.verdict).toBe('rollback');
    expect(v.elapsedSeconds).toBeLessThan(150);
    expect(v.reasons[0]?.informationFraction).toBeLessThan(0.5);
  });

  it('keeps open-ended watching anytime-valid: without a window the same healthy run waits', () => {
    const v = watch({ ...errorsOnly(), durationSeconds: null }, errorRun(3, 20, 0.005, 0.005));
    expect(v.verdict).toBe('continue');
    expect(v.durationSeconds).toBeNull();
  });

  it('states the smallest regression it would have caught 80% of the time, and that it is right', () => {
    const config = errorsOnly();
    const v = watch(config, errorRun(3, 200, 0.005, 0.005));
    expect(v.verdict).toBe('promote');
    const mde = v.reasons[0]?.detectable?.ratio ?? 0;
    expect(mde).toBeGreaterThan(1.5);
    expect(v.reasons[0]?.message).toMatch(
      /^errors: within tolerance: .*; no regression detected; [0-9.]+x or more would have been caught 80% of the time$/,
    );
    // Seeded check of the statement: a canary erring at the stated ratio is caught at least 80% of the
    // time (more for rates: a higher ratio brings more events, so more information than at the tolerance).
    let caught = 0;
    const runs = 100;
    for (let s = 0; s < runs; s++) {
      if (watch(config, errorRun(1000 + s, 200, 0.005 * mde, 0.005)).verdict === 'rollback') caught++;
    }
    expect(caught / runs).toBeGreaterThan(0.75);
    // And not far below it: at two thirds of the stated ratio, most runs go undetected.
    let smaller = 0;
    for (let s = 0; s < runs; s++) {
      if (watch(config, errorRun(3000 + s, 200, 0.005 * (1 + (mde - 1) * 0.5), 0.005)).verdict === 'rollback')
        smaller++;
    }
    expect(smaller / runs).toBeLessThan(caught / runs);
  }, 60_000);

  it('turns a pass that could not have caught the limit into continue, with the time it needs', () => {
    const v = watch(errorsOnly({ maxDetectable: 3 }), errorRun(3, 5, 0.005, 0.005));
    expect(v.verdict).toBe('continue');
    if (v.verdict !== 'continue') return;
    const errors = v.reasons[0];
    expect(errors?.decision).toBe('inconclusive');
    expect(errors?.detectable?.ratio).toBeGreaterThan(3);
    expect(errors?.needed?.moreSeconds).toBeGreaterThan(0);
    expect(v.moreSeconds).toBe(errors?.needed?.moreSeconds);
    expect(errors?.message).toContain('more than the limit 3.00x');
  });
});

describe('leaks are trends', () => {
  /** Thirty readings 10 s apart: both around 150 MB with AR(1) noise; the canary grows `leak` bytes/s. */
  function memory(seed: number, leak: number): LevelPoint[] {
    const prng = randu.factory({ seed }) as unknown as () => number;
    const draw = normal.factory({ prng });
    let nc = 0;
    let np = 0;
    return Array.from({ length: 30 }, (_, i) => {
      nc = 0.7 * nc + draw(0, 0.01);
      np = 0.7 * np + draw(0, 0.01);
      const t = (i + 1) * 10;
      return { t, canary: (150e6 + leak * t) * (1 + nc), production: 150e6 * (1 + np) };
    });
  }
  const judgeMemory = (points: LevelPoint[]) => {
    const config = resolveConfig({
      minDurationSeconds: 0,
      metrics: [metric('memory'), metric('memory-growth')],
    });
    const data = config.metrics.map(emptyData);
    for (const d of data) if (d.kind === 'gauge') d.points.push(...points);
    return evaluate(config, data, 300);
  };

  it('rolls back 8 MB a minute though the level is within its tolerance', () => {
    const v = judgeMemory(memory(1, 8e6 / 60));
    expect(v.verdict).toBe('rollback');
    const [level, growth] = v.reasons;
    expect(level?.decision).not.toBe('fail');
    expect(growth?.decision).toBe('fail');
    expect(growth?.canary).toBeGreaterThan(300e6);
    expect(growth?.unit).toBe('bytes/h');
  });

  it('promotes flat memory in at least 95 of 100 seeded runs, and rolls back none', () => {
    const verdicts = Array.from({ length: 100 }, (_, s) => judgeMemory(memory(100 + s, 0)).verdict);
    expect(verdicts.filter((v) => v === 'rollback')).toHaveLength(0);
    expect(verdicts.filter((v) => v === 'promote').length).toBeGreaterThanOrEqual(95);
  });
});

describe('a metric that points bad blocks promotion', () => {
  it('does not promote over reconnects at 6x production with weak evidence', () => {
    const config = resolveConfig({ minDurationSeconds: 0, metrics: [metric('stability')] });
    const d = emptyData(config.metrics[0] ?? metric('stability'));
    if (d.kind !== 'rate') throw new Error('not a rate');
    // 4 canary shards with 6 reconnects in 5 minutes, 16 production shards with 4.
    const h = 10 / 3600;
    for (let k = 0; k < 30; k++)
      d.intervals.push({ x: k % 5 === 0 ? 1 : 0, a: 4 * h, y: k % 7 === 0 ? 1 : 0, b: 16 * h });
    const v = evaluate(config, [d], 300);
    expect(v.reasons[0]?.ratio?.estimate).toBeGreaterThan(2);
    expect(v.verdict).toBe('continue');
    if (v.verdict === 'continue') expect(v.waitingFor).toEqual(['stability']);
  });
});

describe('a dead canary is never promoted', () => {
  it('blocks promotion after a failed scrape and rolls back after unreachableScrapes in a row', async () => {
    const p = fakeDeployment('production', 12);
    const c = fakeDeployment('canary', 4);
    const config = resolveConfig({ minDurationSeconds: 0, metrics: [metric('errors')] });
    const j = createJudge(config);
    const latency = () => 0.05;
    for (let k = 0; k <= 30; k++) {
      p.traffic(400, 2, latency);
      c.traffic(100, 0, latency);
      if (k === 30) j.observeFailure('canary', k * 10_000);
      else j.observe(await p.scrape(k * 10_000), await c.scrape(k * 10_000));
    }
    const v = j.verdict(300_000);
    expect(v.verdict).toBe('continue');
    if (v.verdict === 'continue') expect(v.waitingFor).toContain('scrapes');
    expect(v.summary).toContain("the canary's latest 1 scrape(s) failed");
    j.observeFailure('canary', 310_000);
    j.observeFailure('canary', 320_000);
    const dead = j.verdict(320_000);
    expect(dead.verdict).toBe('rollback');
    if (dead.verdict === 'rollback') expect(dead.failed).toEqual(['scrapes']);
    expect(dead.health).toMatchObject({ failed: 3, failedInARow: 3, productionDown: false, attempts: 33 });
  });

  it('rolls back a canary with a shard that is not READY', () => {
    const config = resolveConfig({ minDurationSeconds: 0, metrics: [metric('readiness')] });
    const scrape = (ready: number[], k: number) =>
      parseExposition(
        `# TYPE qsb_shard_ready gauge\n${ready.map((r, i) => `qsb_shard_ready{shard="${i}"} ${r}`).join('\n')}\n`,
        k * 10_000,
      );
    const j = createJudge(config);
    let v = j.verdict(0);
    for (let k = 0; k <= 30 && v.verdict === 'continue'; k++) {
      j.observe(scrape([1, 1, 1, 1, 1, 1, 1, 1], k), scrape([1, 0, 1, 1], k));
      v = j.verdict(k * 10_000);
    }
    expect(v.verdict).toBe('rollback');
    expect(v.reasons[0]?.canary).toBeCloseTo(0.75, 6);
    expect(v.reasons[0]?.production).toBeCloseTo(1, 6);
  });
});

describe('a histogram with no observations yet is empty, not missing', () => {
  it('reads the canary before its first interaction as no observations, and keeps every interval', async () => {
    const config = resolveConfig({ minDurationSeconds: 0, metrics: [metric('latency')] });
    const p = fakeDeployment('production', 12);
    const c = fakeDeployment('canary', 4);
    const j = createJudge(config);
    const first = await c.scrape(0);
    // prom-client writes only HELP and TYPE for a histogram with no observations.
    expect(first.samples.some((s) => s.name.startsWith('qsb_interaction_duration_seconds'))).toBe(false);
    j.observe(await p.scrape(0), first);
    for (let k = 1; k <= 6; k++) {
      p.traffic(400, 0, () => 0.05);
      if (k > 2) c.traffic(100, 0, () => 0.05);
      j.observe(await p.scrape(k * 10_000), await c.scrape(k * 10_000));
    }
    const latency = j.verdict(60_000).reasons[0];
    expect(latency?.message).not.toContain('missing');
    expect(latency?.intervals).toBe(4);
    expect(latency?.canary).toBeGreaterThan(0);
  });
});
