import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DefaultJudgeConfigInput, formatVerdict } from '@qsb/canary';
import type { DiscordSimHandle } from '@qsb/discord-sim';
import { createStore, type Store } from '@qsb/store';
import { ProgressDisplay } from './display/progress.ts';
import { type DeploymentState, readDeployment } from './display/state.ts';
import { type Replay, replayOnDashboard, runQsbMonitor, type Watcher } from './monitor/monitor.ts';
import { createLocalProcessPlatform } from './platform/localProcesses.ts';
import type { AppStatus, DemoPlatform } from './platform/platform.ts';
import { buildRelease } from './releases/build.ts';
import { type RolloutOutcome, runRollout, type Transition } from './rollout/rollout.ts';
import { createLiveRouter, waitReady } from './rollout/router.ts';
import { SCENARIOS, type ScenarioName, scenarioPatch } from './scenarios/scenarios.ts';
import { startDemoDiscord, startUsers } from './world/localDiscord.ts';

/** Options of one demo run (the command line's flags, checked). */
export interface DemoOptions {
  readonly scenario: ScenarioName;
  /** Seconds of watching in all: each of the two steps gets half. */
  readonly durationSeconds: number;
  /** Interactions per second from the synthetic users. */
  readonly rate: number;
  readonly keep: boolean;
  readonly json: boolean;
}

/** Where the demo writes and what it may use. */
export interface DemoContext {
  readonly out: (line: string) => void;
  /** Raw writes to the terminal (the live screen). */
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
  readonly signal: AbortSignal;
  readonly now: () => number;
  /** The judge for each watch; `qsb monitor` as a process unless a test passes another. */
  readonly watch?: Watcher;
}

/** Exit codes: the judge's (0 promote, 1 rollback, 2 undecided), 3 an error, 130 interrupted. */
export const DemoExitCodes = { promote: 0, rollback: 1, continue: 2, error: 3, interrupted: 130 } as const;

/** The size of the demo's Discord. */
const WORLD = { shards: 16, guilds: 3_000, seed: 16, identifyWindowMs: 500 } as const;
const STEPS = [20, 50] as const;
/** The local Discord's default deadline for an answer. */
const INTERACTION_DEADLINE_MS = 3_000;

/**
 * The judge for a watch of `watchSeconds` (its window, half of it the minimum before promotion): the
 * defaults (the same metrics, alpha and rules) with tolerances a few thousand interactions can tell
 * apart (errors 2x and +4 pp, latency 1.5x and +50 ms) and memory growth beyond warm-up (4 GB/h).
 */
/** The shortest watch in which the demo's judge reads memory growth as a trend. */
export const MIN_TREND_WATCH_SECONDS = 120;

export function demoJudgeConfig(watchSeconds: number): object {
  const config = structuredClone(DefaultJudgeConfigInput) as {
    durationSeconds?: number | null;
    minDurationSeconds: number;
    metrics: { name: string; tolerance?: object; warmupSeconds?: number }[];
  };
  // The window alpha is spent over: the watch itself.
  config.durationSeconds = watchSeconds;
  config.minDurationSeconds = Math.round(watchSeconds / 2);
  // A growth trend needs a minute of paired readings after the warm-up, and a move leaves the giver
  // and the receiver with opposite slopes for tens of seconds: in a shorter watch the trend is noise
  // that keeps a healthy canary undecided. There a leak shows in the memory level instead (the
  // memory-leak scenario passes its 1.25x tolerance within seconds).
  if (watchSeconds < MIN_TREND_WATCH_SECONDS) {
    config.metrics = config.metrics.filter((metric) => metric.name !== 'memory-growth');
  }
  for (const metric of config.metrics) {
    if (metric.name === 'errors') metric.tolerance = { relative: 2, absolute: 0.04 };
    if (metric.name === 'latency') metric.tolerance = { relative: 1.5, absolute: 0.05 };
    // Processes a few seconds old still grow as they warm up (about 1 GB/h here, unevenly): a watch
    // this short tells a leak (tens of GB/h in the memory-leak scenario) only beyond that.
    if (metric.name === 'memory-growth') {
      metric.tolerance = { relative: 1, absolute: 4e9 };
      // The default warm-up (60 s) outlasts the whole watch, and the trend is awaited through it. A
      // move leaves the receiver filling its caches and the giver freeing them for a while (opposite
      // slopes, seconds long): the first half of the watch is left out, the second half still has
      // enough paired readings for a slope.
      metric.warmupSeconds = Math.round(watchSeconds / 2);
    }
  }
  return config;
}

/** A free TCP port on 127.0.0.1, so that every watch's dashboard has the same URL. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

/** Waits `ms`, or less if `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/** The final state as the test and `--json` read it. */
export interface DemoReport {
  readonly scenario: ScenarioName;
  readonly verdict: RolloutOutcome['verdict'] | 'error' | 'interrupted';
  readonly exitCode: number;
  readonly reason: string;
  readonly transitions: readonly Transition[];
  readonly final:
    | {
        readonly production: DeploymentState;
        readonly canary: DeploymentState;
        readonly releases: RolloutOutcome['releases'];
      }
    | undefined;
  readonly discord:
    | {
        readonly dispatched: number;
        readonly answered: Record<string, number>;
        /** Interactions dispatched while a move was under way and never answered (past their deadline). */
        readonly unansweredDuringMoves: number;
        /** How many interactions were dispatched while a move was under way. */
        readonly duringMoves: number;
      }
    | undefined;
  /** The run's directory: every process the demo starts has it in its arguments. */
  readonly dir: string;
  /** The local Discord's port. */
  readonly discordPort: number | undefined;
  /** Every bot process the platform started, for a clean-up check. */
  readonly processes: readonly number[];
}

/** Runs the demo from building the releases to the verdict, and stops everything it started. */
export async function runDemo(options: DemoOptions, ctx: DemoContext): Promise<DemoReport> {
  const started = ctx.now();
  const display = new ProgressDisplay(ctx.write, ctx.isTTY);
  const say = (line: string) => display.log(line);
  const dir = await mkdtemp(join(tmpdir(), 'qsb-demo-'));
  let sim: DiscordSimHandle | undefined;
  let platform: DemoPlatform | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let phase: Transition | undefined;
  let monitorLine: string | undefined;
  let report: DemoReport | undefined;
  let replay: Replay | undefined;
  let dashboard: string | undefined;
  let store: Store | undefined;
  const moves: { from: number; to: number }[] = [];
  try {
    say(`qsb demo: scenario ${options.scenario} (${SCENARIOS[options.scenario].summary}); files in ${dir}`);
    const [current, next] = await Promise.all([
      buildRelease(join(dir, 'releases'), 'v1'),
      buildRelease(join(dir, 'releases'), 'v2', scenarioPatch(options.scenario)),
    ]);
    say(
      `built v1 (the repository) and v2 (the repository${next.patch ? ` + the ${options.scenario} patch` : ''})`,
    );
    sim = await startDemoDiscord({ ...WORLD, ratePerSecond: options.rate });
    say(
      `local Discord: ${sim.apiUrl} (stats ${sim.apiUrl.replace(/\/api$/, '/__sim/stats')}), ${WORLD.shards} shards, ${sim.world.guilds.length} guilds`,
    );
    const judgeConfig = join(dir, 'judge.json');
    const watchSeconds = Math.max(10, options.durationSeconds / STEPS.length);
    await writeFile(judgeConfig, JSON.stringify(demoJudgeConfig(watchSeconds), null, 2));
    const dashboardPort = await freePort();
    const recordDir = join(dir, 'recordings');
    const p = createLocalProcessPlatform({ dir });
    platform = p;
    // The runtime's local default, a file store, in this run's directory: both apps follow the routing
    // plan in it (QSB_ROUTE=live) and save their sessions there, never in another run's.
    const storeUrl = `file:${join(dir, 'store.json')}`;
    store = await createStore(storeUrl);
    const s0 = sim;
    const router = createLiveRouter(
      p,
      {
        DISCORD_TOKEN: sim.token,
        DISCORD_API_URL: sim.apiUrl,
        SHARD_COUNT: String(WORLD.shards),
        IDENTIFY_WINDOW_MS: String(WORLD.identifyWindowMs),
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '3000',
        QSB_STORE: storeUrl,
      },
      {
        store,
        signal: ctx.signal,
        clock: () => s0.stats({ interactionList: false }).now,
        onMoved: (window) => moves.push(window),
        onProgress: (m) => {
          monitorLine = `qsb route ${m.from}% -> ${m.to}%: ${m.phase}: ${m.reason}`;
          say(`  route ${m.from}% -> ${m.to}%: ${m.phase}: ${m.reason}`);
        },
      },
    );
    const snapshot = async (timeoutMs?: number) => {
      const [production, canary] = await Promise.all([
        readDeployment(p, 'quantum-superbot', timeoutMs),
        readDeployment(p, 'quantum-superbot-canary', timeoutMs),
      ]);
      return { production, canary };
    };
    const s = sim;
    const draw = async () => {
      const { production, canary } = await snapshot();
      display.draw({
        elapsedSeconds: (ctx.now() - started) / 1000,
        scenario: options.scenario,
        phase,
        phaseSeconds: phase ? (ctx.now() - phase.at) / 1000 : 0,
        discord: {
          interactions: s.stats({ interactionList: false }).interactions,
          shards: WORLD.shards,
          guilds: s.world.guilds.length,
          rate: options.rate,
        },
        production,
        canary,
        monitorLine,
      });
    };
    ticker = setInterval(() => void draw().catch(() => {}), 1_000);
    const outcome = await runRollout(
      {
        current,
        next,
        steps: STEPS,
        watchSeconds,
        minWatchSeconds: Math.round(watchSeconds * 0.5),
        intervalSeconds: 1,
        // Long enough to see a release that dies within seconds of starting, whatever the duration.
        verifySeconds: 5,
        judgeConfig,
        dashboardPort,
        recordDir,
      },
      {
        platform: p,
        router,
        watch: ctx.watch ?? runQsbMonitor,
        now: ctx.now,
        sleep,
        signal: ctx.signal,
        onTransition: (t) => {
          phase = t;
          monitorLine =
            t.phase === 'Watching'
              ? `qsb monitor scrapes both /metrics every second: rollback as soon as a regression is clear, promotion after ${Math.round(watchSeconds * 0.5)} s at the earliest`
              : undefined;
          if (t.phase === 'Progressing' && s.traffic.sent === 0) startUsers(s, options.rate);
          const where = (['quantum-superbot', 'quantum-superbot-canary'] as const)
            .map((app) => p.status(app))
            .filter((st): st is AppStatus => st?.pid !== undefined)
            .map((st) => `${st.app} ${st.release.version} pid ${st.pid} ${st.url}`)
            .join('; ');
          say(
            `[${Math.round((t.at - started) / 1000)}s] ${t.phase} (canary at ${t.percent}%): ${t.reason}${where ? `  [${where}]` : ''}`,
          );
        },
        onMonitorLine: (line) => {
          const url = /dashboard at (http\S+)/.exec(line)?.[1];
          if (url !== undefined && dashboard === undefined) {
            dashboard = url;
            say(`dashboard: ${url} (live while the judge watches; the same URL at every step)`);
          }
          if (url === undefined) monitorLine = line;
        },
      },
    );
    clearInterval(ticker);
    ticker = undefined;
    await draw().catch(() => {});
    display.finish();
    // A loaded machine can take seconds to answer; the final state must not mistake that for a stop.
    // Read once production serves every shard again (a process the platform restarted is still connecting).
    const serving = p.status('quantum-superbot');
    if (serving) await waitReady(serving).catch(() => {});
    const final = await snapshot(10_000);
    const all = s.stats();
    const stats = all.interactions;
    // Only interactions past their deadline count: one still in flight is not unanswered yet.
    const inMoves = stats.list.filter(
      (i) =>
        i.dispatchedAt <= all.now - INTERACTION_DEADLINE_MS &&
        moves.some((m) => i.dispatchedAt >= m.from && i.dispatchedAt <= m.to),
    );
    const unansweredDuringMoves = inMoves.filter((i) => i.answers.length === 0).length;
    report = {
      scenario: options.scenario,
      verdict: outcome.verdict,
      exitCode: outcome.exitCode,
      reason: outcome.reason,
      transitions: outcome.transitions,
      final: { ...final, releases: outcome.releases },
      discord: {
        dispatched: stats.dispatched,
        answered: { ...stats.answered },
        unansweredDuringMoves,
        duringMoves: inMoves.length,
      },
      dir,
      discordPort: s.port,
      processes: p.pids(),
    };
    say('');
    if (outcome.judged) for (const line of formatVerdict(outcome.judged)) say(line);
    say('');
    say(`verdict: ${outcome.verdict.toUpperCase()} (exit code ${outcome.exitCode}): ${outcome.reason}`);
    say(
      `final: production ${final.production.version ?? '-'} on ${final.production.shardsOwned} shards${final.production.restarts > 0 ? ` (restarted ${final.production.restarts}x)` : ''}; canary ${final.canary.running ? `${final.canary.version} on ${final.canary.shardsOwned} shards` : `stopped (no shard), on ${outcome.releases.canary}`}`,
    );
    say(
      `interactions: ${stats.dispatched} dispatched, ${stats.answered.one} answered once, ${stats.answered.twoOrMore} answered twice; during the ${moves.length} moves ${unansweredDuringMoves} of ${inMoves.length} unanswered`,
    );
    if (options.keep) {
      if (outcome.watchedPercent !== undefined) {
        replay = replayOnDashboard(
          join(recordDir, String(outcome.watchedPercent)),
          judgeConfig,
          dashboardPort,
        );
        say(
          `dashboard: http://127.0.0.1:${dashboardPort}/ replays the last watch (canary at ${outcome.watchedPercent}%)`,
        );
      }
      say(
        `--keep: everything keeps running (production ${final.production.url}, local Discord ${s.apiUrl}); Ctrl-C stops it`,
      );
      if (options.json) ctx.out(JSON.stringify(report));
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      return report;
    }
    return report;
  } catch (error) {
    const interrupted = ctx.signal.aborted;
    report = {
      scenario: options.scenario,
      verdict: interrupted ? 'interrupted' : 'error',
      exitCode: interrupted ? DemoExitCodes.interrupted : DemoExitCodes.error,
      reason: interrupted ? 'interrupted' : error instanceof Error ? error.message : String(error),
      transitions: [],
      final: undefined,
      discord: undefined,
      dir,
      discordPort: sim?.port,
      processes: platform?.pids() ?? [],
    };
    say(interrupted ? 'qsb demo: interrupted; stopping everything' : `qsb demo: ${report.reason}`);
    return report;
  } finally {
    if (ticker) clearInterval(ticker);
    await replay?.stop();
    await platform?.close();
    await store?.close();
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
    if (options.json && report && !options.keep) ctx.out(JSON.stringify(report));
    if (platform) say(`stopped: ${platform.pids().length} processes, the local Discord`);
  }
}
