import { InteractionDurationBuckets } from '@qsb/metrics';
import { describe, expect, it } from 'vitest';
import { createJudge, defaultConfig, type Scrape } from '../../src/index.ts';
import { fakeDeployment } from './helpers.ts';

// The bot's latency buckets as the judge reads them: they must resolve both the local Discord's
// answers (a few milliseconds) and real replies (tens to hundreds of milliseconds).

/** Durations spread from 0.7x to 1.3x `median`, the same spread on both sides. */
const spread = (median: number) => (i: number) => median * (0.7 + (0.6 * ((i * 37) % 100)) / 100);

async function latencyReason(productionMedian: number, canaryMedian: number) {
  const p = fakeDeployment('production', 12);
  const c = fakeDeployment('canary', 4);
  const judge = createJudge({ ...defaultConfig(), minDurationSeconds: 60 });
  judge.observe(await p.scrape(0), await c.scrape(0));
  for (let k = 1; k <= 30; k++) {
    p.traffic(400, 0, spread(productionMedian));
    c.traffic(100, 0, spread(canaryMedian));
    judge.observe((await p.scrape(k * 10_000)) as Scrape, (await c.scrape(k * 10_000)) as Scrape);
  }
  const reason = judge.verdict(300_000).reasons.find((r) => r.metric === 'latency');
  if (!reason) throw new Error('no latency reason');
  return reason;
}

describe('InteractionDurationBuckets', () => {
  it('keep edges at 2.5 s and 3 s, and are at most 1.7x apart from 2 ms to 1 s', () => {
    const edges: readonly number[] = InteractionDurationBuckets;
    expect(edges).toContain(2.5);
    expect(edges).toContain(3);
    for (let i = 1; i < edges.length; i++) {
      const [lo, hi] = [edges[i - 1] ?? 0, edges[i] ?? 0];
      expect(hi).toBeGreaterThan(lo);
      if (lo >= 0.002 && hi <= 1) expect(hi / lo).toBeLessThanOrEqual(1.7);
    }
  });

  it("resolve the local Discord's few milliseconds: 1.5x slower is read as about 1.5x", async () => {
    const reason = await latencyReason(0.002, 0.003);
    expect(reason.ratio?.estimate).toBeGreaterThan(1.3);
    expect(reason.ratio?.estimate).toBeLessThan(1.7);
    // Within the absolute tolerance (+10 ms): not a regression worth a rollback.
    expect(reason.decision).not.toBe('fail');
  });

  it('resolve real replies: 80 ms against 104 ms is read as about 1.3x and fails', async () => {
    const reason = await latencyReason(0.08, 0.104);
    expect(reason.ratio?.estimate).toBeGreaterThan(1.2);
    expect(reason.ratio?.estimate).toBeLessThan(1.4);
    expect(reason.decision).toBe('fail');
  });

  it('read equal latencies as equal and pass them', async () => {
    const reason = await latencyReason(0.15, 0.15);
    expect(reason.ratio?.estimate).toBeCloseTo(1, 2);
    expect(reason.decision).toBe('pass');
  });
});
