import { setTimeout as delay } from 'node:timers/promises';
import { createJudge, type JudgeConfig, type Scrape, type Side, type Verdict } from '@qsb/canary';
import { Option } from 'commander';
import { Registry } from 'prom-client';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { durationArg, integerIn } from '../cli/options.ts';
import { createRolloutMetrics } from './metrics.ts';
import { DashboardListenError, startDashboardServer } from './server.ts';
import {
  createSummarizer,
  phaseOf,
  type SideSummary,
  share,
  type TickState,
  tolerancesOf,
} from './summary.ts';

/** The dashboard flags `qsb monitor` and `qsb analyze --dashboard` share. */
export interface DashboardFlags {
  /** false with --no-dashboard (monitor), true with --dashboard (analyze). */
  readonly dashboard: boolean;
  readonly dashboardPort: number;
  readonly dashboardHost: string;
  /** Seconds to keep serving after the verdict (so that Prometheus scrapes the final state). */
  readonly dashboardLinger: number;
}

/** The commander options of {@link DashboardFlags} (`--dashboard`/`--no-dashboard` is per command). */
export function dashboardOptions(): Option[] {
  return [
    new Option(
      '--dashboard-port <port>',
      'serve the dashboard and the rollout metrics on this port (0: any free port)',
    )
      .argParser(integerIn(0, 65535))
      .default(0),
    new Option('--dashboard-host <host>', 'address the dashboard listens on').default('127.0.0.1'),
    new Option(
      '--dashboard-linger <d>',
      'keep serving the page and the rollout metrics this long after the verdict (e.g. 30s, for Prometheus)',
    )
      .argParser(durationArg)
      .default(0),
  ];
}

/** One tick of the monitor, as it has it: the scrapes (absent when one failed) and the verdict. */
export interface TickInput {
  readonly config: JudgeConfig;
  readonly production?: Scrape | undefined;
  readonly canary?: Scrape | undefined;
  readonly verdict: Verdict;
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly intervalSeconds: number;
  readonly scrapes: number;
  readonly failedScrapes: number;
  /** The monitor stops after this tick (decided, or out of time). */
  readonly final: boolean;
}

const empty: SideSummary = {
  shards: null,
  interactionsPerSecond: null,
  errorRatio: null,
  latency: null,
  memoryBytes: null,
  cpuCores: null,
  reconnects: 0,
  userReports: 0,
};

/** Turns the monitor's ticks into {@link TickState}s, remembering each side's previous scrape. */
export function createTickTracker(): (input: TickInput) => TickState {
  const summarize = createSummarizer();
  const last: Record<Side, SideSummary> = { production: empty, canary: empty };
  return (input) => {
    if (input.production && input.canary) {
      last.production = summarize('production', input.production);
      last.canary = summarize('canary', input.canary);
    }
    const { production, canary } = last;
    const phase = phaseOf(input.verdict, input.final);
    return {
      timeMs: input.nowMs,
      phase,
      elapsedSeconds: input.verdict.elapsedSeconds,
      remainingSeconds: phase === 'progressing' ? Math.max(0, (input.deadlineMs - input.nowMs) / 1000) : 0,
      intervalSeconds: input.intervalSeconds,
      canaryShardShare: share(canary.shards, production.shards),
      canaryTrafficShare: share(canary.interactionsPerSecond, production.interactionsPerSecond),
      sides: { production, canary },
      verdict: input.verdict,
      tolerances: tolerancesOf(input.config),
      scrapes: input.scrapes,
      failedScrapes: input.failedScrapes,
    };
  };
}

/** The dashboard of one monitor run or one recording. */
export interface Dashboard {
  readonly url: string;
  /** Publishes a tick to the page and the rollout metrics. */
  readonly tick: (input: TickInput) => TickState;
  /** Tells the pages the run is over. */
  readonly finish: () => void;
  readonly close: () => Promise<void>;
}

/** Starts a dashboard and prints its URL on stderr; a port that cannot be used is a CliError. */
export async function openDashboard(
  ctx: CliContext,
  flags: DashboardFlags,
  title: string,
): Promise<Dashboard> {
  const registry = new Registry();
  const metrics = createRolloutMetrics(registry);
  let server: Awaited<ReturnType<typeof startDashboardServer>>;
  try {
    server = await startDashboardServer({
      title,
      registry,
      port: flags.dashboardPort,
      host: flags.dashboardHost,
    });
  } catch (error) {
    if (error instanceof DashboardListenError) {
      throw new CliError(
        `${error.message} (--dashboard-port, --dashboard-host; --no-dashboard turns it off)`,
      );
    }
    throw error;
  }
  ctx.err(`qsb: dashboard at ${server.url} (rollout metrics at ${server.url}metrics)`);
  const track = createTickTracker();
  return {
    url: server.url,
    tick(input) {
      const state = track(input);
      metrics.update(state);
      server.publish(state);
      if (input.final) server.finish();
      return state;
    },
    finish: server.finish,
    close: server.close,
  };
}

/** Opens the run's dashboard (or nothing with `--no-dashboard`); {@link withDashboard} closes it. */
export type StartDashboard = (title: string) => Promise<Dashboard | undefined>;

/**
 * Wraps a command's action so that the dashboard it starts (once its input is checked: a refused
 * command serves nothing) is closed however the action ends: a verdict, an error, or an abort.
 */
export function withDashboard<F extends DashboardFlags>(
  ctx: CliContext,
  action: (flags: F, startDashboard: StartDashboard) => Promise<void>,
): (flags: F) => Promise<void> {
  return async (flags) => {
    let dashboard: Dashboard | undefined;
    const start: StartDashboard = async (title) => {
      if (flags.dashboard && !dashboard) dashboard = await openDashboard(ctx, flags, title);
      return dashboard;
    };
    try {
      await action(flags, start);
    } finally {
      if (dashboard && flags.dashboardLinger > 0) await linger(flags.dashboardLinger * 1000, ctx.signal);
      await dashboard?.close();
    }
  };
}

/**
 * Shows a recording on the dashboard as the monitor would have shown it live: the judge fed pair by
 * pair, one tick each, the time taken from the scrapes; then waits until `signal` aborts.
 */
export async function replayOnDashboard(
  dashboard: Dashboard,
  config: JudgeConfig,
  baseline: readonly Scrape[],
  canary: readonly Scrape[],
  signal: AbortSignal,
): Promise<void> {
  const judge = createJudge(config);
  const n = Math.min(baseline.length, canary.length);
  const lastMs = Math.max(baseline[n - 1]?.timeMs ?? 0, canary[n - 1]?.timeMs ?? 0);
  const intervalSeconds = n > 1 ? (lastMs - (canary[0]?.timeMs ?? lastMs)) / 1000 / (n - 1) : 0;
  for (let i = 0; i < n; i++) {
    const production = baseline[i];
    const c = canary[i];
    if (!production || !c) continue;
    judge.observe(production, c);
    const nowMs = Math.max(production.timeMs, c.timeMs);
    const verdict = judge.verdict(nowMs);
    dashboard.tick({
      config,
      production,
      canary: c,
      verdict,
      nowMs,
      deadlineMs: lastMs,
      intervalSeconds,
      scrapes: i + 1,
      failedScrapes: 0,
      final: i === n - 1 || verdict.verdict !== 'continue',
    });
    if (verdict.verdict !== 'continue') break;
  }
  dashboard.finish();
  if (!signal.aborted)
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}

/** Waits `ms`, or less if `signal` aborts (Ctrl-C ends the linger at once). */
function linger(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
