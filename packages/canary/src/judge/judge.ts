import { defaultConfig, type JudgeConfig } from '../config/config.ts';
import type { Scrape } from '../exposition/parse.ts';
import { createBoundaryCache } from '../stats/spending.ts';
import { evaluate, type ScrapeHealth, type Verdict } from './evaluate.ts';
import { appendInterval, emptyData, type MetricData, type Side } from './extract.ts';

/** An incremental judge: feed it paired scrapes as they come, ask for the verdict at any time. */
export interface Judge {
  readonly config: JudgeConfig;
  /** Adds one scrape of each deployment taken at about the same time. */
  observe(production: Scrape, canary: Scrape): void;
  /**
   * Records a scrape that failed at `timeMs`: evidence, not a gap. A canary that stops answering is
   * never promoted, and `unreachableScrapes` failures in a row roll it back.
   */
  observeFailure(side: Side, timeMs: number): void;
  /** The verdict on everything observed, `nowMs` being the current time (elapsed counts from the first scrape). */
  verdict(nowMs: number): Verdict;
  /** Scrapes observed so far per deployment. */
  readonly scrapes: Readonly<Record<Side, number>>;
  /** The canary's failed scrapes. */
  readonly health: ScrapeHealth;
}

/**
 * Builds an incremental judge. Counters are read as increases between consecutive scrapes (a counter
 * that goes down is a restarted process and counts from zero), each pair of scrapes making one interval.
 * Every scrape, answered or failed, is a look: the group-sequential boundaries depend on when the
 * looks were, taken from the scrapes' own times so that a replay of a recording judges alike.
 *
 * @example
 * const judge = createJudge();
 * judge.observe(productionScrape, canaryScrape);
 * const { verdict, reasons } = judge.verdict(Date.now());
 */
export function createJudge(config: JudgeConfig = defaultConfig()): Judge {
  const data: MetricData[] = config.metrics.map(emptyData);
  const cache = createBoundaryCache();
  let first: Record<Side, Scrape> | undefined;
  let prev: Record<Side, Scrape> | undefined;
  let startMs: number | undefined;
  const looks: number[] = [];
  const scrapes = { production: 0, canary: 0 };
  const health = {
    failed: 0,
    failedInARow: 0,
    productionDown: false,
    attempts: 0,
    answeredSinceFailure: Infinity,
  };
  const look = (timeMs: number) => {
    startMs ??= timeMs;
    const t = Math.max(0, (timeMs - startMs) / 1000);
    if (t > 0 && t > (looks.at(-1) ?? 0)) looks.push(t);
  };
  return {
    config,
    scrapes,
    health,
    observe(production, canary) {
      scrapes.production++;
      scrapes.canary++;
      health.failedInARow = 0;
      health.productionDown = false;
      health.attempts++;
      health.answeredSinceFailure++;
      const cur = { production, canary };
      look(Math.min(production.timeMs, canary.timeMs));
      if (prev) {
        for (const [i, metric] of config.metrics.entries()) {
          const d = data[i];
          if (d) appendInterval(metric, d, prev, cur, first?.canary.timeMs ?? canary.timeMs);
        }
      }
      first ??= cur;
      prev = cur;
    },
    observeFailure(side, timeMs) {
      look(timeMs);
      if (side === 'production') {
        health.productionDown = true;
        return;
      }
      health.failed++;
      health.failedInARow++;
      health.attempts++;
      health.answeredSinceFailure = 0;
    },
    verdict(nowMs) {
      const start = startMs ?? nowMs;
      const elapsed = Math.max(0, (nowMs - start) / 1000);
      return evaluate(config, data, elapsed, {
        looks: looks.length > 0 ? looks : [elapsed],
        health: { ...health },
        cache,
      });
    },
  };
}

/**
 * Judges two recorded series of scrapes, paired in order (the i-th baseline scrape with the i-th
 * canary scrape), looking after every pair as `qsb monitor` does and stopping at the first rollback
 * or promotion. Pure: time comes from the scrapes, or `nowMs` for the last look.
 */
export function judge(
  config: JudgeConfig,
  baseline: readonly Scrape[],
  canary: readonly Scrape[],
  nowMs?: number,
): Verdict {
  const j = createJudge(config);
  const n = Math.min(baseline.length, canary.length);
  let verdict: Verdict | undefined;
  for (let i = 0; i < n; i++) {
    const b = baseline[i];
    const c = canary[i];
    if (!b || !c) continue;
    j.observe(b, c);
    verdict = j.verdict(i === n - 1 && nowMs !== undefined ? nowMs : Math.min(b.timeMs, c.timeMs));
    // One scrape makes no interval: like qsb monitor, decide from the second pair on.
    if (i > 0 && verdict.verdict !== 'continue') return verdict;
  }
  return verdict ?? j.verdict(nowMs ?? 0);
}
