import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CanaryError,
  configMetricNames,
  createHttpSource,
  createJudge,
  createPrometheusSource,
  defaultConfig,
  formatProgress,
  formatScrape,
  formatVerdict,
  type JudgeConfig,
  type MetricSource,
  parseConfig,
  type Scrape,
  type Verdict,
} from '@qsb/canary';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { durationArg } from '../cli/options.ts';
import { type DashboardFlags, dashboardOptions, withDashboard } from '../dashboard/dashboard.ts';
import { pipelineFromContext, platformStep } from '../pipeline/context.ts';
import { verdictRecorder } from '../pipeline/verdicts.ts';

/** Exit codes of `qsb monitor` and `qsb analyze`: the verdict, or 3 for an error. */
export const VerdictExitCodes = { promote: 0, rollback: 1, continue: 2 } as const;

/** A URL flag: http or https only. */
export function urlArg(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('must be an http:// or https:// URL.');
  }
  return value;
}

/** The flags that shape the judge's configuration, shared by `qsb monitor` and `qsb analyze`. */
export interface JudgeFlags {
  config?: string;
  minDuration?: number;
  /** The window (`--duration`); overrides the configuration's `durationSeconds`. */
  duration?: number;
  openEnded?: boolean;
}

/**
 * Reads `--config PATH` (YAML or JSON), or the defaults, then applies `--min-duration`, `--duration`
 * and `--open-ended`; a bad file is a CliError naming the key.
 */
export async function judgeConfigFromFlags(flags: JudgeFlags): Promise<JudgeConfig> {
  const config = await loadJudgeConfig(flags.config, flags.minDuration);
  if (flags.openEnded === true) return { ...config, durationSeconds: null };
  return flags.duration === undefined ? config : { ...config, durationSeconds: flags.duration };
}

/** Reads `--config PATH` (YAML or JSON), or the defaults; a bad file is a CliError naming the key. */
export async function loadJudgeConfig(
  path: string | undefined,
  minDurationSeconds?: number,
): Promise<JudgeConfig> {
  let config = defaultConfig();
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read --config ${path}: ${(error as Error).message}`);
    }
    try {
      config = parseConfig(text, path);
    } catch (error) {
      if (error instanceof CanaryError) throw new CliError(error.message);
      throw error;
    }
  }
  return minDurationSeconds === undefined ? config : { ...config, minDurationSeconds };
}

/**
 * Prints the verdict (a table, or one JSON object); a rollback or an undecided verdict then ends the
 * command with its exit code (1 or 2) and one line on stderr.
 */
export function reportVerdict(ctx: CliContext, verdict: Verdict, json: boolean, extra: object = {}): void {
  if (json) ctx.out(JSON.stringify({ ...verdict, ...extra }));
  else for (const line of formatVerdict(verdict)) ctx.out(line);
  if (verdict.verdict === 'promote') return;
  throw new CliError(
    verdict.verdict === 'rollback' ? 'verdict: rollback' : 'verdict: still undecided at the deadline',
    VerdictExitCodes[verdict.verdict],
  );
}

interface MonitorFlags extends JudgeFlags, DashboardFlags {
  production?: string;
  canary?: string;
  interval: number;
  json?: boolean;
  prometheus?: string;
  record?: string;
  webhook?: string;
  recordVerdict?: boolean;
  progressEvery?: number;
}

/** What `qsb monitor` knows after each scrape: for progress displays and dashboards. */
export interface MonitorTick {
  /** The verdict at this tick, with every metric's reason. */
  readonly verdict: Verdict;
  /** Scrapes per side so far, and how many failed. */
  readonly scrapes: Readonly<Record<'production' | 'canary', number>>;
  readonly failedScrapes: number;
  /** How long monitoring goes on at most, in seconds. */
  readonly durationSeconds: number;
  /** Whether this tick ends the monitoring. */
  readonly last: boolean;
}

/** Options of {@link monitorCommand}. */
export interface MonitorOptions {
  /** Called after every scrape with the state of the judgement (a dashboard subscribes here). */
  readonly onTick?: (tick: MonitorTick) => void;
}

/** Waits `ms`, or less if `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

async function notify(url: string, verdict: Verdict, ctx: CliContext): Promise<void> {
  const content = `Canary rollback: ${verdict.summary}`.slice(0, 2000);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) ctx.err(`qsb: warning: webhook ${url} answered HTTP ${response.status}`);
  } catch (error) {
    ctx.err(`qsb: warning: webhook ${url} failed: ${(error as Error).message}`);
  }
}

/** Without a terminal, progress is printed this often (CI logs stay short). */
const QuietProgressSeconds = 60;

/** `qsb monitor`: scrape both deployments every interval and judge until a verdict or the deadline. */
export function monitorCommand(ctx: CliContext, options: MonitorOptions = {}): Command {
  const command = new Command('monitor')
    .description(
      'Compare the canary with production until the judge decides: exit 0 promote, 1 rollback, 2 undecided at the deadline, 3 error.',
    )
    .option('--production <url>', "production's /metrics URL", urlArg)
    .option('--canary <url>', "the canary's /metrics URL", urlArg)
    .option(
      '--duration <d>',
      'the window to decide within (default: the configuration, 5m); the false-rollback budget is spent over it',
      durationArg,
    )
    .option('--open-ended', 'anytime-valid tests instead of a window (watches for --duration, default 5m)')
    .option('--interval <d>', 'time between scrapes (e.g. 10s)', durationArg, 10)
    .option(
      '--min-duration <d>',
      'promote no earlier than this (default: the configuration, 2m)',
      durationArg,
    )
    .option(
      '--prometheus <url>',
      'query this Prometheus server (PromQL) instead of scraping directly',
      urlArg,
    )
    .option('--record <dir>', 'save every scrape to DIR/production.prom and DIR/canary.prom')
    .option('--config <path>', 'judge configuration (YAML or JSON); defaults fit the bot')
    .option('--webhook <url>', 'POST {"content": ...} here on rollback (a Discord webhook works)', urlArg)
    .option(
      '--record-verdict',
      "record the verdict on the canary app's current build, for qsb promote and qsb status (QSB_VERDICTS)",
    )
    .option('--json', 'print the verdict as one JSON object')
    .option(
      '--progress-every <d>',
      `print a progress line at most this often (default: every scrape on a terminal, else ${QuietProgressSeconds}s)`,
      durationArg,
    )
    .option('--no-dashboard', 'serve no dashboard and no rollout metrics');
  for (const option of dashboardOptions()) command.addOption(option);
  return command.action(
    withDashboard(ctx, async (flags: MonitorFlags, startDashboard) => {
      if (flags.interval <= 0) throw new CliError('--interval must be more than 0');
      if (flags.progressEvery !== undefined && flags.progressEvery <= 0)
        throw new CliError('--progress-every must be more than 0');
      const progressEvery = flags.progressEvery ?? (ctx.isTTY ? 0 : QuietProgressSeconds);
      const config = await judgeConfigFromFlags(flags);
      const duration = flags.duration ?? config.durationSeconds ?? 300;
      if (duration < flags.interval) {
        throw new CliError(`--duration ${duration}s must be at least --interval ${flags.interval}s`);
      }
      if (config.minDurationSeconds > duration) {
        throw new CliError(
          `the minimum duration (${config.minDurationSeconds}s) is longer than --duration ${duration}s: the canary could never be promoted; lower --min-duration or raise --duration`,
        );
      }
      let source: MetricSource;
      if (flags.prometheus !== undefined) {
        source = createPrometheusSource({ url: flags.prometheus, metricNames: configMetricNames(config) });
      } else {
        if (flags.production === undefined || flags.canary === undefined) {
          throw new CliError('--production and --canary are required (or --prometheus)');
        }
        // The bots' /metrics behind METRICS_TOKEN (the same token qsb setup gives every app).
        const token = ctx.env.METRICS_TOKEN;
        source = createHttpSource({
          urls: { production: flags.production, canary: flags.canary },
          ...(token ? { bearerToken: token } : {}),
        });
      }
      if (flags.record !== undefined) {
        try {
          await mkdir(flags.record, { recursive: true });
          // A new recording: an older one in the same directory would make time go backwards.
          await writeFile(join(flags.record, 'production.prom'), '');
          await writeFile(join(flags.record, 'canary.prom'), '');
        } catch (error) {
          throw new CliError(`cannot create --record ${flags.record}: ${(error as Error).message}`);
        }
      }
      const recordVerdict =
        flags.recordVerdict === true
          ? await platformStep(async () => verdictRecorder(pipelineFromContext(ctx)))
          : undefined;
      const dashboard = await startDashboard(
        flags.prometheus ?? `${flags.production ?? ''} against ${flags.canary ?? ''}`,
      );
      const judge = createJudge(config);
      const start = Date.now();
      const deadline = start + duration * 1000;
      let failures = 0;
      let tick = 0;
      let printedAt = -Infinity;
      for (;;) {
        const tickAt = start + tick * flags.interval * 1000;
        tick++;
        const scrapedAt = Date.now();
        const results = await Promise.allSettled([
          source.scrape('production', ctx.signal),
          source.scrape('canary', ctx.signal),
        ]);
        const [p, c] = results;
        if (p?.status === 'fulfilled' && c?.status === 'fulfilled') {
          judge.observe(p.value, c.value);
          if (flags.record !== undefined) await record(flags.record, p.value, c.value);
        } else {
          const error = results.find((r) => r.status === 'rejected')?.reason as Error;
          if (judge.scrapes.canary === 0) {
            throw new CliError(error instanceof Error ? error.message : String(error));
          }
          failures++;
          // A failed scrape is evidence: a canary that stops answering is never promoted.
          if (c?.status === 'rejected') judge.observeFailure('canary', scrapedAt);
          if (p?.status === 'rejected') judge.observeFailure('production', scrapedAt);
          ctx.err(`qsb: warning: ${error instanceof Error ? error.message : String(error)}; trying again`);
        }
        const now = Date.now();
        const verdict = judge.verdict(now);
        const timeUp = now + 1 >= deadline || ctx.signal.aborted;
        // One scrape makes no interval: decide from the second on, as qsb analyze does.
        const last = (verdict.verdict !== 'continue' && tick > 1) || timeUp;
        dashboard?.tick({
          config,
          ...(p?.status === 'fulfilled' && c?.status === 'fulfilled'
            ? { production: p.value, canary: c.value }
            : {}),
          ...{ verdict, nowMs: now, deadlineMs: deadline, intervalSeconds: flags.interval },
          ...{ scrapes: judge.scrapes.canary, failedScrapes: failures, final: last },
        });
        options.onTick?.({
          verdict,
          scrapes: { ...judge.scrapes },
          failedScrapes: failures,
          durationSeconds: duration,
          last,
        });
        if (verdict.elapsedSeconds - printedAt >= progressEvery || last) {
          printedAt = verdict.elapsedSeconds;
          ctx.err(formatProgress(verdict, duration));
        }
        if (last) {
          if (verdict.verdict === 'rollback' && flags.webhook !== undefined)
            await notify(flags.webhook, verdict, ctx);
          if (recordVerdict !== undefined) {
            const recorded = await recordVerdict({ verdict: verdict.verdict, summary: verdict.summary });
            ctx.err(`recorded ${recorded.verdict} on ${recorded.app} v${recorded.release}`);
          }
          reportVerdict(ctx, verdict, flags.json === true, {
            scrapes: judge.scrapes,
            failedScrapes: failures,
            source: { production: source.describe('production'), canary: source.describe('canary') },
          });
          return;
        }
        const next = Math.min(tickAt + flags.interval * 1000, deadline);
        await sleep(Math.max(0, next - Date.now()), ctx.signal);
      }
    }),
  );
}

async function record(dir: string, production: Scrape, canary: Scrape): Promise<void> {
  try {
    await appendFile(join(dir, 'production.prom'), formatScrape(production));
    await appendFile(join(dir, 'canary.prom'), formatScrape(canary));
  } catch (error) {
    throw new CliError(`cannot write to --record ${dir}: ${(error as Error).message}`);
  }
}
