import { createBotMetrics, type MetricDeployment } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  defaultConfig,
  emptyData,
  type MetricConfig,
  type MetricData,
  parseExposition,
  type Scrape,
  type Side,
} from '../../src/index.ts';
import { appendInterval } from '../../src/judge/extract.ts';

// Heroku's router sends each scrape to one random dyno: the judge follows every series by its labels
// (dyno included) across the scrapes that missed it.

function dyno(deployment: MetricDeployment, name: string) {
  const registry = new Registry();
  const metrics = createBotMetrics({
    registry,
    deployment,
    version: 'v1',
    dyno: name,
    collectDefaultMetrics: false,
  });
  metrics.shardsOwned.set(4);
  return {
    metrics,
    traffic(n: number, errors: number) {
      for (let i = 0; i < n; i++) metrics.observeInteraction('ping', i < errors ? 'error' : 'ok', 0.05);
    },
    scrape: async (timeMs: number) => parseExposition(await registry.metrics(), timeMs, name),
  };
}

/** A seeded generator (mulberry32), so that the dyno each scrape reaches is the same every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pair = Record<Side, Scrape>;

function metric(name: string): MetricConfig {
  const found = defaultConfig().metrics.find((m) => m.name === name);
  if (!found) throw new Error(`no metric ${name} in the defaults`);
  return found;
}
const errorsConfig = metric('errors');
const shardsConfig = metric('stability');

function run(config: MetricConfig, scrapes: readonly Pair[]): MetricData {
  const data = emptyData(config);
  for (let i = 1; i < scrapes.length; i++) {
    const [prev, cur] = [scrapes[i - 1], scrapes[i]];
    if (prev && cur) appendInterval(config, data, prev, cur, 0);
  }
  return data;
}

describe('three production dynos behind a router, one canary', () => {
  async function scenario(seed: number) {
    const next = random(seed);
    const production = ['web.1', 'web.2', 'web.3'].map((n) => dyno('production', n));
    const canary = dyno('canary', 'web.1');
    // Long histories before the rollout: counting any of them again would swamp its traffic.
    for (const [i, d] of production.entries()) d.traffic(50_000 * (i + 1), 500 * (i + 1));
    const scrapes: Pair[] = [];
    let trueInteractions = 0;
    let trueErrors = 0;
    for (let k = 0; k <= 60; k++) {
      if (k > 0) {
        for (const d of production) d.traffic(100, 1);
        canary.traffic(100, 1);
        trueInteractions += 300;
        trueErrors += 3;
      }
      const reached = production[Math.floor(next() * 3) % 3];
      if (!reached) throw new Error('no dyno');
      scrapes.push({
        production: await reached.scrape(k * 10_000),
        canary: await canary.scrape(k * 10_000),
      });
    }
    return { scrapes, trueInteractions, trueErrors, production };
  }

  it('counts each dyno from where it was last seen: the rate is the true rate, the total never more', async () => {
    for (const seed of [1, 2, 3]) {
      const { scrapes, trueInteractions } = await scenario(seed);
      const data = run(errorsConfig, scrapes);
      if (data.kind !== 'rate') throw new Error('errors is a rate');
      const events = data.intervals.reduce((s, i) => s + i.y, 0);
      const exposure = data.intervals.reduce((s, i) => s + i.b, 0);
      // Only what a dyno did before the router first reached it is lost, never its history counted.
      expect(exposure).toBeLessThanOrEqual(trueInteractions);
      expect(exposure).toBeGreaterThan(0.85 * trueInteractions);
      expect(events / exposure).toBeCloseTo(0.01, 5);
      expect(data.status.notes).toEqual([]);
    }
  });

  it('sums the shards of every dyno seen lately, not only the one this scrape reached', async () => {
    const { scrapes } = await scenario(4);
    const data = run(shardsConfig, scrapes);
    if (data.kind !== 'rate') throw new Error('stability is a rate');
    // 12 production shards (3 dynos x 4) over the last interval of 10 s, once all three were seen.
    expect(data.intervals.at(-1)?.b).toBeCloseTo((12 * 10) / 3600, 6);
  });

  it('counts a dyno that restarted from zero, and says so', async () => {
    const { scrapes, production } = await scenario(5);
    // web.2 restarts: a new registry, 40 interactions since.
    const restarted = dyno('production', 'web.2');
    restarted.traffic(40, 0);
    const last = scrapes.at(-1);
    if (!last) throw new Error('no scrapes');
    scrapes.push({
      production: await restarted.scrape(610_000),
      canary: last.canary,
    });
    const data = run(errorsConfig, scrapes);
    if (data.kind !== 'rate') throw new Error('errors is a rate');
    expect(data.intervals.at(-1)?.b).toBe(40);
    expect(data.status.notes.join('\n')).toContain('dyno="web.2"');
    expect(data.status.notes.join('\n')).toContain('counted as a restart');
    expect(production).toHaveLength(3);
  });
});
