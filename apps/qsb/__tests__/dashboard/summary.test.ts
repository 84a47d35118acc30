import { parseExposition } from '@qsb/canary';
import { describe, expect, it } from 'vitest';
import { bucketQuantile, createSummarizer, share } from '../../src/dashboard/summary.ts';

describe('bucketQuantile', () => {
  it('interpolates within a bucket as histogram_quantile does', () => {
    const buckets = new Map([
      [0.1, 50],
      [0.2, 100],
      [Infinity, 100],
    ]);
    expect(bucketQuantile(0.5, buckets)).toBeCloseTo(0.1, 9);
    expect(bucketQuantile(0.95, buckets)).toBeCloseTo(0.19, 9);
    expect(bucketQuantile(0.25, buckets)).toBeCloseTo(0.05, 9);
  });

  it('gives the highest finite edge for the +Inf bucket, and null without observations', () => {
    expect(
      bucketQuantile(
        0.99,
        new Map([
          [1, 10],
          [Infinity, 20],
        ]),
      ),
    ).toBe(1);
    expect(
      bucketQuantile(
        0.5,
        new Map([
          [1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNull();
  });
});

const text = (dyno: string, ok: number, errors: number, shards: number) =>
  [
    '# TYPE qsb_interactions_total counter',
    `qsb_interactions_total{dyno="${dyno}",outcome="ok"} ${ok}`,
    `qsb_interactions_total{dyno="${dyno}",outcome="error"} ${errors}`,
    '# TYPE qsb_shards_owned gauge',
    `qsb_shards_owned{dyno="${dyno}"} ${shards}`,
    '',
  ].join('\n');

describe('createSummarizer', () => {
  it('reads rates per second and the error ratio over the interval', () => {
    const summarize = createSummarizer();
    const first = summarize('canary', parseExposition(text('web.1', 100, 0, 4), 0));
    expect(first.interactionsPerSecond).toBeNull();
    const next = summarize('canary', parseExposition(text('web.1', 290, 10, 4), 10_000));
    expect(next.interactionsPerSecond).toBe(20);
    expect(next.errorRatio).toBeCloseTo(0.05, 9);
    expect(next.shards).toBe(4);
  });

  it("never counts a dyno's history when the router reaches it for the first time", () => {
    const summarize = createSummarizer();
    summarize('production', parseExposition(text('web.1', 100, 0, 4), 0));
    const other = summarize('production', parseExposition(text('web.2', 1_000_000, 500, 4), 10_000));
    expect(other.interactionsPerSecond).toBe(0);
    const back = summarize('production', parseExposition(text('web.1', 300, 0, 4), 20_000));
    expect(back.interactionsPerSecond).toBe(20);
  });

  it('counts the shards of every dyno seen in the last 5 minutes, each at its latest value', () => {
    const summarize = createSummarizer();
    summarize('production', parseExposition(text('web.1', 0, 0, 4), 0));
    expect(summarize('production', parseExposition(text('web.2', 0, 0, 6), 10_000)).shards).toBe(10);
    expect(summarize('production', parseExposition(text('web.1', 0, 0, 5), 20_000)).shards).toBe(11);
    // web.2 silent for more than 5 minutes: no longer counted.
    expect(summarize('production', parseExposition(text('web.1', 0, 0, 5), 320_000)).shards).toBe(5);
  });

  it('shares are null without both sides', () => {
    expect(share(4, 12)).toBe(0.25);
    expect(share(null, 12)).toBeNull();
    expect(share(0, 0)).toBeNull();
  });
});
