import { Catalog } from '@qsb/metrics';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FlagsError, FlagsErrorCodes } from '../errors/FlagsError.ts';

/** The metric names, from the shared catalog that the bot's dashboards and the canary judge read. */
export const FlagMetricNames = {
  evaluations: Catalog.flagEvaluations.name,
  serverConnected: Catalog.flagsServerConnected.name,
} as const;

/** The `result` label of {@link FlagMetricNames.evaluations}: unknown is a flag the client has no definition of. */
export type EvaluationResult = 'on' | 'off' | 'unknown';

/** Evaluations of one flag, counted in plain numbers on the hot path and published on scrape. */
export interface FlagCounts {
  on: number;
  off: number;
  unknown: number;
  readonly published: { on: number; off: number; unknown: number };
}

export function newCounts(): FlagCounts {
  return { on: 0, off: 0, unknown: 0, published: { on: 0, off: 0, unknown: 0 } };
}

const RESULTS: readonly EvaluationResult[] = ['on', 'off', 'unknown'];

/** What the client publishes on its registry. */
export interface FlagMetrics {
  /** Sets the connectivity gauge; a no-op without a server. */
  setConnected(connected: boolean): void;
}

function refuseTaken(registry: Registry, name: string): void {
  if (registry.getSingleMetric(name) !== undefined) {
    throw new FlagsError(
      FlagsErrorCodes.MetricRegistered,
      `${name} is already on this registry: build one flags client per registry`,
    );
  }
}

/**
 * Registers `qsb_flag_evaluations_total{flag,result}` and, with a server, `qsb_flags_server_connected`.
 * `flag()` increments plain numbers (a labelled `inc()` hashes its labels on every call, which would
 * cost more than the evaluation); the counter adds what changed since the last scrape in `collect`.
 */
export function registerFlagMetrics(
  registry: Registry,
  counts: ReadonlyMap<string, FlagCounts>,
  withServer: boolean,
): FlagMetrics {
  refuseTaken(registry, FlagMetricNames.evaluations);
  if (withServer) refuseTaken(registry, FlagMetricNames.serverConnected);
  new Counter({
    name: FlagMetricNames.evaluations,
    help: Catalog.flagEvaluations.help,
    labelNames: Catalog.flagEvaluations.labelNames,
    registers: [registry],
    collect() {
      for (const [flag, c] of counts) {
        for (const result of RESULTS) {
          const delta = c[result] - c.published[result];
          if (delta > 0) {
            this.inc({ flag, result }, delta);
            c.published[result] = c[result];
          }
        }
      }
    },
  });
  if (!withServer) return { setConnected: () => {} };
  const gauge = new Gauge({
    name: FlagMetricNames.serverConnected,
    help: Catalog.flagsServerConnected.help,
    registers: [registry],
  });
  gauge.set(0);
  return { setConnected: (connected) => gauge.set(connected ? 1 : 0) };
}
