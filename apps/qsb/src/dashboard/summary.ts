import {
  GaugeStaleMs,
  type JudgeConfig,
  type Sample,
  type Scrape,
  type Side,
  type Verdict,
} from '@qsb/canary';
import { MetricNames } from '@qsb/metrics';

/** Where a rollout stands, as phases named after Argo Rollouts' and Flagger's. */
export const RolloutPhases = ['progressing', 'promoted', 'rolled_back', 'undecided'] as const;
export type RolloutPhase = (typeof RolloutPhases)[number];

/** What one deployment looked like over the last interval, as the page and Grafana show it. */
export interface SideSummary {
  /** `qsb_shards_owned`, summed over the processes seen. */
  readonly shards: number | null;
  readonly interactionsPerSecond: number | null;
  /** Failed or timed-out interactions per interaction. */
  readonly errorRatio: number | null;
  /** Latency quantiles in seconds, read from the histogram's buckets as `histogram_quantile` does. */
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  /** Mean resident memory per process, bytes. */
  readonly memoryBytes: number | null;
  /** CPU cores used per process. */
  readonly cpuCores: number | null;
  /** Reconnects, resumes and invalid sessions during the interval. */
  readonly reconnects: number;
  /** `/report`s during the interval. */
  readonly userReports: number;
}

/** The monitor's state after one tick: what the dashboard draws and the rollout metrics export. */
export interface TickState {
  /** Wall-clock time of the tick (ms since the epoch). */
  readonly timeMs: number;
  readonly phase: RolloutPhase;
  readonly elapsedSeconds: number;
  /** Until the monitor's deadline; 0 once decided. */
  readonly remainingSeconds: number;
  readonly intervalSeconds: number;
  /** The canary's share of the shards both deployments own, and of the interactions they handle. */
  readonly canaryShardShare: number | null;
  readonly canaryTrafficShare: number | null;
  readonly sides: Readonly<Record<Side, SideSummary>>;
  readonly verdict: Verdict;
  /** Each metric's tolerance as configured, to show beside its interval. */
  readonly tolerances: Readonly<Record<string, { relative: number; absolute: number }>>;
  readonly scrapes: number;
  readonly failedScrapes: number;
}

/** The phase a verdict puts the rollout in; `final` when the monitor stops after this tick. */
export function phaseOf(verdict: Verdict, final: boolean): RolloutPhase {
  if (verdict.verdict === 'promote') return 'promoted';
  if (verdict.verdict === 'rollback') return 'rolled_back';
  return final ? 'undecided' : 'progressing';
}

const Names = {
  interactions: MetricNames.interactions,
  bucket: `${MetricNames.interactionDuration}_bucket`,
  reconnects: [MetricNames.shardReconnects, MetricNames.shardResumes, MetricNames.shardInvalidSessions],
  reports: MetricNames.userReports,
  cpu: MetricNames.cpuSeconds,
} as const;
const Counted = new Set<string>([
  Names.interactions,
  Names.bucket,
  ...Names.reconnects,
  Names.reports,
  Names.cpu,
]);

function key(s: Sample): string {
  return `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;
}

/** `histogram_quantile` over bucket increases by upper edge (cumulative counts). */
export function bucketQuantile(q: number, cumulative: ReadonlyMap<number, number>): number | null {
  const edges = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? cumulative.get(edges.at(-1) ?? Infinity) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lo = 0;
  let below = 0;
  for (const edge of edges) {
    const count = cumulative.get(edge) ?? 0;
    if (count >= rank) {
      if (edge === Infinity) return lo;
      return lo + ((edge - lo) * (rank - below)) / Math.max(count - below, Number.EPSILON);
    }
    lo = edge;
    below = count;
  }
  return lo;
}

/**
 * Turns each side's scrapes into per-interval summaries. Like the judge, it follows every counter
 * series by its labels (so a router reaching one dyno at a time does not recount a dyno's history),
 * counts a series that went down from zero, and a process seen for the first time from now on.
 */
export function createSummarizer(): (side: Side, scrape: Scrape) => SideSummary {
  const fresh = () => ({
    last: new Map<string, number>(),
    gauges: new Map<string, { name: string; value: number; timeMs: number }>(),
    timeMs: undefined as number | undefined,
  });
  const state = { production: fresh(), canary: fresh() };
  return (side, scrape) => {
    const mine = state[side];
    const first = mine.timeMs === undefined;
    const seconds = first ? 0 : (scrape.timeMs - (mine.timeMs ?? scrape.timeMs)) / 1000;
    mine.timeMs = scrape.timeMs;
    const inc = new Map<string, number>();
    const buckets = new Map<number, number>();
    let errors = 0;
    for (const s of scrape.samples) {
      if (s.name === MetricNames.shardsOwned || s.name === MetricNames.residentMemory) {
        mine.gauges.set(key(s), { name: s.name, value: s.value, timeMs: scrape.timeMs });
      }
      if (!Counted.has(s.name) || !Number.isFinite(s.value)) continue;
      const k = key(s);
      const was = mine.last.get(k);
      mine.last.set(k, s.value);
      const d = first ? 0 : was === undefined ? 0 : s.value < was ? s.value : s.value - was;
      inc.set(s.name, (inc.get(s.name) ?? 0) + d);
      if (s.name === Names.interactions && (s.labels.outcome === 'error' || s.labels.outcome === 'timeout'))
        errors += d;
      if (s.name === Names.bucket) {
        const edge = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        if (!Number.isNaN(edge)) buckets.set(edge, (buckets.get(edge) ?? 0) + d);
      }
    }
    // Gauges of every process seen lately, each at its latest value: through a router reaching one
    // dyno per scrape, the others still own their shards.
    let shards: number | null = null;
    const memory: number[] = [];
    for (const g of mine.gauges.values()) {
      if (g.timeMs < scrape.timeMs - GaugeStaleMs) continue;
      if (g.name === MetricNames.shardsOwned) shards = (shards ?? 0) + g.value;
      else memory.push(g.value);
    }
    const interactions = inc.get(Names.interactions) ?? 0;
    const p50 = bucketQuantile(0.5, buckets);
    const p95 = bucketQuantile(0.95, buckets);
    const p99 = bucketQuantile(0.99, buckets);
    return {
      shards,
      interactionsPerSecond: seconds > 0 ? interactions / seconds : null,
      errorRatio: interactions > 0 ? errors / interactions : null,
      latency: p50 !== null && p95 !== null && p99 !== null ? { p50, p95, p99 } : null,
      memoryBytes: memory.length > 0 ? memory.reduce((a, b) => a + b, 0) / memory.length : null,
      cpuCores:
        seconds > 0 && inc.has(Names.cpu)
          ? (inc.get(Names.cpu) ?? 0) / seconds / Math.max(1, memory.length)
          : null,
      reconnects: Names.reconnects.reduce((a, n) => a + (inc.get(n) ?? 0), 0),
      userReports: inc.get(Names.reports) ?? 0,
    };
  };
}

/** Each metric's configured tolerance, by name. */
export function tolerancesOf(config: JudgeConfig): TickState['tolerances'] {
  return Object.fromEntries(
    config.metrics.map((m) => [m.name, { relative: m.tolerance.relative, absolute: m.tolerance.absolute }]),
  );
}

/** The share `canary / (canary + production)`, or null without both. */
export function share(canary: number | null, production: number | null): number | null {
  if (canary === null || production === null || canary + production <= 0) return null;
  return canary / (canary + production);
}
