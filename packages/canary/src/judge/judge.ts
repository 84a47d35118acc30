import { defaultConfig, type JudgeConfig } from '../config/config.ts';
import type { Scrape } from '../exposition/parse.ts';
import { evaluate, type Verdict } from './evaluate.ts';
import { appendInterval, emptyData, type MetricData, type Side } from './extract.ts';

/** An incremental judge: feed it paired scrapes as they come, ask for the verdict at any time. */
export interface Judge {
  readonly config: JudgeConfig;
  /** Adds one scrape of each deployment taken at about the same time. */
  observe(production: Scrape, canary: Scrape): void;
  /** The verdict on everything observed, `nowMs` being the current time (elapsed counts from the first scrape). */
  verdict(nowMs: number): Verdict;
  /** Scrapes observed so far per deployment. */
  readonly scrapes: Readonly<Record<Side, number>>;
}

/**
 * Builds an incremental judge. Counters are read as increases between consecutive scrapes (a counter
 * that goes down is a restarted process and counts from zero), each pair of scrapes making one interval.
 *
 * @example
 * const judge = createJudge();
 * judge.observe(productionScrape, canaryScrape);
 * const { verdict, reasons } = judge.verdict(Date.now());
 */
export function createJudge(config: JudgeConfig = defaultConfig()): Judge {
  const data: MetricData[] = config.metrics.map(emptyData);
  let first: Record<Side, Scrape> | undefined;
  let prev: Record<Side, Scrape> | undefined;
  const scrapes = { production: 0, canary: 0 };
  return {
    config,
    scrapes,
    observe(production, canary) {
      scrapes.production++;
      scrapes.canary++;
      const cur = { production, canary };
      if (prev) {
        for (const [i, metric] of config.metrics.entries()) {
          const d = data[i];
          if (d) appendInterval(metric, d, prev, cur, first?.canary.timeMs ?? canary.timeMs);
        }
      }
      first ??= cur;
      prev = cur;
    },
    verdict(nowMs) {
      const start = first ? Math.min(first.canary.timeMs, first.production.timeMs) : nowMs;
      return evaluate(config, data, Math.max(0, (nowMs - start) / 1000));
    },
  };
}

/**
 * Judges two recorded series of scrapes, paired in order (the i-th baseline scrape with the i-th
 * canary scrape). Pure: time comes from the scrapes, or `nowMs`.
 */
export function judge(
  config: JudgeConfig,
  baseline: readonly Scrape[],
  canary: readonly Scrape[],
  nowMs?: number,
): Verdict {
  const j = createJudge(config);
  const n = Math.min(baseline.length, canary.length);
  let last = 0;
  for (let i = 0; i < n; i++) {
    const b = baseline[i];
    const c = canary[i];
    if (!b || !c) continue;
    j.observe(b, c);
    last = Math.max(b.timeMs, c.timeMs);
  }
  return j.verdict(nowMs ?? last);
}
