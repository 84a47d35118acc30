import { Catalog, ProcessMetricNames } from '@qsb/metrics';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CanaryError, CanaryErrorCodes } from '../exposition/errors.ts';

// zod validates the file and names the key that is wrong; yaml reads YAML (and therefore JSON).

const name = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name');

/** Which series a metric reads: one or more metric names, and label values to keep (one or any of several). */
const selectorSchema = z.strictObject({
  name: z.union([name, z.array(name).min(1)]),
  labels: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
});
export type SeriesSelector = z.infer<typeof selectorSchema>;

const toleranceSchema = z.strictObject({
  relative: z.number().min(1, 'must be at least 1 (1 tolerates no relative change)'),
  absolute: z.number().min(0, 'must be at least 0'),
});

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
  description: z.string().optional(),
  direction: z.enum(['increase', 'decrease']).default('increase'),
  tolerance: toleranceSchema,
  critical: z.boolean().default(true),
  mustPass: z.boolean().default(false),
  weight: z.number().positive().default(1),
  noData: z.enum(['continue', 'ignore', 'rollback']).default('continue'),
  unit: z.string().default(''),
  /**
   * The largest regression a pass may leave undetected: when the smallest regression the data would
   * catch 80% of the time (the detectable effect) is larger, the pass becomes `continue` with the
   * extra time needed. A ratio to production (3 = 3x), or for trend gauges a growth per hour in `unit`.
   */
  maxDetectable: z.number().positive().optional(),
};

const rateSchema = z.strictObject({
  ...common,
  kind: z.literal('rate'),
  events: selectorSchema,
  exposure: z.union([
    z.strictObject({ counter: selectorSchema }),
    z.strictObject({ gaugeHours: selectorSchema }),
  ]),
});
const histogramSchema = z.strictObject({
  ...common,
  kind: z.literal('histogram'),
  histogram: name,
  labels: selectorSchema.shape.labels,
});
const gaugeSchema = z.strictObject({
  ...common,
  kind: z.literal('gauge'),
  gauge: selectorSchema,
  /** Read a counter as its per-second rate over each interval (CPU seconds). */
  counterRate: z.boolean().default(false),
  /**
   * Judge the gauge by its growth rate (canary minus production, per hour) rather than its level, as
   * a leak shows; only the absolute tolerance applies, in `unit` per hour.
   */
  trend: z.boolean().default(false),
  /**
   * Readings of the first this many seconds of monitoring are left out of a trend: a process that
   * just started grows while it warms up (modules, caches, buffers), which is not a leak.
   */
  warmupSeconds: z.number().min(0).default(0),
});

const metricSchema = z.discriminatedUnion('kind', [rateSchema, histogramSchema, gaugeSchema]);
export type MetricConfig = z.infer<typeof metricSchema>;
export type RateMetricConfig = z.infer<typeof rateSchema>;
export type HistogramMetricConfig = z.infer<typeof histogramSchema>;
export type GaugeMetricConfig = z.infer<typeof gaugeSchema>;

const configSchema = z
  .strictObject({
    /**
     * The false-rollback budget shared by the critical metrics: the chance, however often the judge
     * looks, of rolling back a canary that sits exactly at a tolerance. A canary as good as production
     * is rolled back far less often (see the benchmark).
     */
    alpha: z.number().gt(0).lt(0.5).default(0.05),
    /** The false-promotion budget: the chance of calling a regression "within tolerance". */
    beta: z.number().gt(0).lt(0.5).default(0.05),
    /** Promotion waits at least this long after the first scrape. */
    minDurationSeconds: z.number().min(0).default(120),
    /**
     * The window the judge must decide within, known in advance: the false-rollback budget is spent
     * over it (group-sequential, O'Brien-Fleming-type), and at its end a metric with no detected
     * regression passes. `null` watches open-ended with anytime-valid tests instead.
     */
    durationSeconds: z.number().positive().nullable().default(300),
    /** The power the detectable effect is stated at. */
    power: z.number().gt(0.5).lt(1).default(0.8),
    /** This many failed canary scrapes in a row roll back (a dead canary); any failed scrape blocks promotion. */
    unreachableScrapes: z.number().int().min(1).default(3),
    metrics: z.array(metricSchema).min(1),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    for (const [i, m] of config.metrics.entries()) {
      if (seen.has(m.name)) {
        ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `duplicate metric ${m.name}` });
      }
      seen.add(m.name);
    }
  });
export type JudgeConfig = z.infer<typeof configSchema>;
/** A configuration as written in a file: every key with a default may be left out. */
export type JudgeConfigInput = z.input<typeof configSchema>;

const interactions = Catalog.interactions.name;

/**
 * The default judge configuration, fitted to `@qsb/metrics`: no file is needed to start. Errors and
 * latency must be shown within tolerance before a promotion; every critical metric can roll back.
 * Weights share the false-rollback budget `alpha`.
 */
export const DefaultJudgeConfigInput = {
  alpha: 0.05,
  beta: 0.05,
  minDurationSeconds: 120,
  durationSeconds: 300,
  power: 0.8,
  unreachableScrapes: 3,
  metrics: [
    {
      name: 'errors',
      description: 'interactions that failed or timed out, per interaction',
      kind: 'rate',
      events: { name: interactions, labels: { outcome: ['error', 'timeout'] } },
      exposure: { counter: { name: interactions } },
      tolerance: { relative: 1.5, absolute: 0.001 },
      critical: true,
      mustPass: true,
      weight: 8,
      unit: 'per interaction',
    },
    {
      name: 'latency',
      description: 'time to acknowledge an interaction (histogram buckets)',
      kind: 'histogram',
      histogram: Catalog.interactionDuration.name,
      tolerance: { relative: 1.1, absolute: 0.01 },
      critical: true,
      mustPass: true,
      weight: 8,
      unit: 's',
    },
    {
      name: 'user-reports',
      description: 'problems reported with /report, per interaction',
      kind: 'rate',
      events: { name: Catalog.userReports.name },
      exposure: { counter: { name: interactions } },
      tolerance: { relative: 2, absolute: 0.002 },
      weight: 1,
      unit: 'per interaction',
    },
    {
      name: 'stability',
      description: 'reconnects, resumes and invalid sessions per shard-hour',
      kind: 'rate',
      events: {
        name: [Catalog.shardReconnects.name, Catalog.shardResumes.name, Catalog.shardInvalidSessions.name],
      },
      exposure: { gaugeHours: { name: Catalog.shardsOwned.name } },
      // Two reconnects of four shards in five minutes (6 per shard-hour) already point bad.
      tolerance: { relative: 2, absolute: 3 },
      weight: 1,
      unit: 'per shard-hour',
    },
    {
      name: 'unanswered',
      description: 'interactions not answered in time (outcome timeout), per interaction',
      kind: 'rate',
      events: { name: interactions, labels: { outcome: 'timeout' } },
      exposure: { counter: { name: interactions } },
      tolerance: { relative: 1.5, absolute: 0.001 },
      weight: 1,
      unit: 'per interaction',
    },
    {
      name: 'readiness',
      description: 'share of owned shards READY',
      kind: 'gauge',
      gauge: { name: Catalog.shardReady.name },
      direction: 'decrease',
      tolerance: { relative: 1, absolute: 0.05 },
      weight: 1,
      unit: 'shards READY',
    },
    {
      name: 'memory',
      description: 'resident memory per process',
      kind: 'gauge',
      gauge: { name: ProcessMetricNames.residentMemory },
      tolerance: { relative: 1.25, absolute: 64 * 1024 * 1024 },
      weight: 1,
      unit: 'bytes',
    },
    {
      name: 'memory-growth',
      description: 'growth of resident memory per process (a leak is a trend)',
      kind: 'gauge',
      gauge: { name: ProcessMetricNames.residentMemory },
      trend: true,
      warmupSeconds: 60,
      // Over 5 minutes, resident memory's own swings (GC, buffers) blur a slope of about 50 MB/h;
      // 150 MB/h (2.5 MB/min) is what the window tells apart. Longer windows can tolerate less.
      // Awaited (noData: continue): a leak must not be promoted while its trend is still warming up.
      tolerance: { relative: 1, absolute: 150e6 },
      weight: 1,
      unit: 'bytes/h',
    },
    {
      name: 'event-loop-lag',
      description: 'p99 event-loop lag per process',
      kind: 'gauge',
      gauge: { name: ProcessMetricNames.eventLoopLagP99 },
      tolerance: { relative: 1.5, absolute: 0.02 },
      critical: false,
      noData: 'ignore',
      weight: 0.5,
      unit: 's',
    },
    {
      name: 'cpu',
      description: 'CPU cores used per process',
      kind: 'gauge',
      gauge: { name: ProcessMetricNames.cpuSeconds },
      counterRate: true,
      tolerance: { relative: 1.5, absolute: 0.1 },
      critical: false,
      noData: 'ignore',
      weight: 0.5,
      unit: 'cores',
    },
  ],
} as const satisfies JudgeConfigInput;

function describeIssues(error: z.ZodError, source: string): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    return `${key}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `invalid judge configuration ${source}: ${issues.join('; ')}${more}`;
}

/**
 * Validates a configuration object; keys left out take their defaults, and `metrics` left out takes
 * the default metrics.
 *
 * @throws CanaryError `InvalidConfig` naming the key, the problem and what is allowed.
 */
export function resolveConfig(input: unknown = {}, source = '(options)'): JudgeConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CanaryError(
      CanaryErrorCodes.InvalidConfig,
      `invalid judge configuration ${source}: must be an object with alpha, beta, minDurationSeconds and metrics`,
    );
  }
  const withMetrics = 'metrics' in input ? input : { ...input, metrics: DefaultJudgeConfigInput.metrics };
  const result = configSchema.safeParse(withMetrics);
  if (!result.success)
    throw new CanaryError(CanaryErrorCodes.InvalidConfig, describeIssues(result.error, source));
  return result.data;
}

/** Reads a configuration file's text (YAML or JSON). */
export function parseConfig(text: string, source = 'config'): JudgeConfig {
  let input: unknown;
  try {
    input = parseYaml(text);
  } catch (error) {
    throw new CanaryError(
      CanaryErrorCodes.InvalidConfig,
      `invalid judge configuration ${source}: not YAML or JSON: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return resolveConfig(input ?? {}, source);
}

/** The default configuration, validated. */
export function defaultConfig(): JudgeConfig {
  return resolveConfig(DefaultJudgeConfigInput, '(defaults)');
}
