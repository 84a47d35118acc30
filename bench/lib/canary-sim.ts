import {
  type BoundaryCache,
  bucketMoments,
  bucketValues,
  createBoundaryCache,
  defaultConfig,
  emptyData,
  evaluate,
  type JudgeConfig,
  type MetricData,
} from '@qsb/canary';
import { InteractionDurationBuckets } from '@qsb/metrics';
import binomial from '@stdlib/random-base-binomial';
import gamma from '@stdlib/random-base-gamma';
import normal from '@stdlib/random-base-normal';
import poisson from '@stdlib/random-base-poisson';
import randu from '@stdlib/random-base-randu';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';

// Seeded samplers from stdlib (one Mersenne Twister per run): reproducible, and no hand-written
// distributions.

/** What differs between the sides in one simulated run. */
export interface Scenario {
  readonly name: string;
  /** Interactions per minute, both deployments together. */
  readonly perMinute: number;
  /** The canary's share of the traffic at the start of the window, and at its end (a ramp). */
  readonly share: number;
  readonly shareAtEnd: number;
  /** A load curve shared by both sides, bursty errors, and per-interval latency noise. */
  readonly realistic: boolean;
  /** Canary error rate over production's. */
  readonly errorFactor: number;
  /** Canary latency over production's. */
  readonly latencyFactor: number;
  /** Canary memory growth in bytes per second. */
  readonly leakBytesPerSecond: number;
  /** Canary reconnects per shard-hour (production: 0.5). */
  readonly reconnectsPerShardHour: number;
}

export const BaseScenario = {
  name: 'A/A',
  perMinute: 1000,
  share: 0.2,
  shareAtEnd: 0.2,
  realistic: true,
  errorFactor: 1,
  latencyFactor: 1,
  leakBytesPerSecond: 0,
  reconnectsPerShardHour: 0.5,
} as const satisfies Scenario;

/** The window and its cadence: 5 minutes, one look every 10 s. */
export const WindowSeconds = 300;
export const IntervalSeconds = 10;
const Intervals = WindowSeconds / IntervalSeconds;
const BaseErrorRate = 0.005;
const MedianLatency = 0.08;
const LatencySigma = 0.6;
const CanaryShards = 4;
const ProductionShards = 16;
const Edges = [...InteractionDurationBuckets, Infinity];
const Values = bucketValues(Edges);

/** One interval of one side, as the baselines (Kayenta, Flagger, fixed horizon) see it. */
export interface SideInterval {
  readonly interactions: number;
  readonly errors: number;
  readonly buckets: readonly number[];
  readonly memory: number;
  readonly reconnects: number;
}

/** A simulated run: per interval, both sides. */
export interface Run {
  readonly canary: SideInterval[];
  readonly production: SideInterval[];
}

type Rng = {
  u: () => number;
  poisson: (l: number) => number;
  binomial: (n: number, p: number) => number;
  /** Shape and rate (mean shape / rate). */
  gamma: (k: number, rate: number) => number;
  normal: (m: number, s: number) => number;
};

function rng(seed: number): Rng {
  const u = randu.factory({ seed });
  const prng = u as unknown as () => number;
  return {
    u: prng,
    poisson: poisson.factory({ prng }),
    binomial: binomial.factory({ prng }),
    gamma: gamma.factory({ prng }),
    normal: normal.factory({ prng }),
  };
}

function bucketProbabilities(logMedian: number): number[] {
  let prev = 0;
  return Edges.map((edge) => {
    const c = edge === Infinity ? 1 : normalCdf(Math.log(edge), logMedian, LatencySigma);
    const p = Math.max(0, c - prev);
    prev = c;
    return p;
  });
}

function drawBuckets(r: Rng, n: number, probabilities: readonly number[]): number[] {
  // Multinomial by successive conditional binomials.
  let left = n;
  let mass = 1;
  return probabilities.map((p) => {
    if (left <= 0 || mass <= 0) return 0;
    const k = p >= mass ? left : r.binomial(left, Math.min(1, p / mass));
    left -= k;
    mass -= p;
    return k;
  });
}

/** Simulates one run of `scenario` with `seed`. */
export function simulate(scenario: Scenario, seed: number): Run {
  const r = rng(seed);
  const phase = r.u() * 2 * Math.PI;
  const canary: SideInterval[] = [];
  const production: SideInterval[] = [];
  let memC = 150e6 * (0.95 + 0.1 * r.u());
  const memP = 150e6 * (0.95 + 0.1 * r.u());
  let noiseC = 0;
  let noiseP = 0;
  for (let i = 0; i < Intervals; i++) {
    const t = (i + 1) * IntervalSeconds;
    const load = scenario.realistic ? 1 + 0.6 * Math.sin(phase + (2 * Math.PI * t) / 240) : 1;
    const shared = scenario.realistic ? r.gamma(2, 2) : 1;
    const latencyShift = scenario.realistic ? 0.3 * Math.log(load) : 0;
    const side = (perMinute: number, errorFactor: number, latencyFactor: number) => {
      const n = r.poisson((perMinute * load * IntervalSeconds) / 60);
      const burst = scenario.realistic ? r.gamma(4, 4) : 1;
      const p = Math.min(1, BaseErrorRate * errorFactor * shared * burst);
      const jitter = scenario.realistic ? r.normal(0, 0.05) : 0;
      const logMedian = Math.log(MedianLatency * latencyFactor) + latencyShift + jitter;
      return {
        interactions: n,
        errors: r.binomial(n, p),
        buckets: drawBuckets(r, n, bucketProbabilities(logMedian)),
      };
    };
    const share = scenario.share + ((scenario.shareAtEnd - scenario.share) * i) / Math.max(1, Intervals - 1);
    const c = side(scenario.perMinute * share, scenario.errorFactor, scenario.latencyFactor);
    const p = side(scenario.perMinute * (1 - share), 1, 1);
    noiseC = 0.7 * noiseC + r.normal(0, 0.01);
    noiseP = 0.7 * noiseP + r.normal(0, 0.01);
    memC += scenario.leakBytesPerSecond * IntervalSeconds;
    const hours = IntervalSeconds / 3600;
    canary.push({
      ...c,
      memory: memC * (1 + noiseC),
      reconnects: r.poisson(scenario.reconnectsPerShardHour * CanaryShards * hours),
    });
    production.push({
      ...p,
      memory: memP * (1 + noiseP),
      reconnects: r.poisson(0.5 * ProductionShards * hours),
    });
  }
  return { canary, production };
}

/** The judge's configuration in the benchmark: the defaults, nothing tuned. */
export function benchConfig(): JudgeConfig {
  return { ...defaultConfig(), alpha: Number(process.env.QSB_BENCH_ALPHA ?? defaultConfig().alpha) };
}

/** What the judge did with one run: when it rolled back or promoted (seconds), or neither. */
export interface JudgeOutcome {
  readonly rollbackAt: number | null;
  readonly promoteAt: number | null;
  readonly final: 'promote' | 'rollback' | 'continue';
}

/**
 * Runs the judge on a simulated run, looking after every interval as `qsb monitor` does, until it
 * rolls back or promotes or the window ends. `cache` keeps the group-sequential boundaries between
 * runs (the looks are the same in every run).
 */
export function runJudge(
  config: JudgeConfig,
  run: Run,
  cache: BoundaryCache = createBoundaryCache(),
): JudgeOutcome {
  const data: MetricData[] = config.metrics.map(emptyData);
  const looks: number[] = [];
  for (let i = 0; i < run.canary.length; i++) {
    const c = run.canary[i];
    const p = run.production[i];
    if (!c || !p) break;
    const t = (i + 1) * IntervalSeconds;
    for (const [k, m] of config.metrics.entries()) {
      const d = data[k];
      if (!d) continue;
      const name = m.name;
      if (name === 'errors' && d.kind === 'rate')
        d.intervals.push({ x: c.errors, a: c.interactions, y: p.errors, b: p.interactions });
      else if (d.kind === 'rate' && name === 'stability') {
        const h = IntervalSeconds / 3600;
        d.intervals.push({ x: c.reconnects, a: CanaryShards * h, y: p.reconnects, b: ProductionShards * h });
      } else if (d.kind === 'rate') d.intervals.push({ x: 0, a: c.interactions, y: 0, b: p.interactions });
      else if (name === 'latency' && d.kind === 'histogram') {
        d.intervals.push({
          canaryLog: bucketMoments(c.buckets, Values, true),
          productionLog: bucketMoments(p.buckets, Values, true),
          canary: bucketMoments(c.buckets, Values, false),
          production: bucketMoments(p.buckets, Values, false),
        });
      } else if (name.startsWith('memory') && d.kind === 'gauge')
        d.points.push({ t, canary: c.memory, production: p.memory });
      else if (name === 'readiness' && d.kind === 'gauge') d.points.push({ t, canary: 1, production: 1 });
      else if (d.kind === 'gauge')
        d.points.push({ t, canary: 1 + (i % 3) * 0.001, production: 1 + (i % 3) * 0.001 });
    }
    looks.push(t);
    const v = evaluate(config, data, t, { looks, cache });
    if (v.verdict === 'rollback') return { rollbackAt: t, promoteAt: null, final: 'rollback' };
    if (v.verdict === 'promote') return { rollbackAt: null, promoteAt: t, final: 'promote' };
  }
  return { rollbackAt: null, promoteAt: null, final: 'continue' };
}

export { Edges as BucketEdges, Values as BucketValues };
