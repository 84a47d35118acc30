import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CanaryError, createJudge, readRecording, type Scrape, type Verdict } from '@qsb/canary';
import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { durationArg } from '../cli/options.ts';
import {
  type DashboardFlags,
  dashboardOptions,
  replayOnDashboard,
  withDashboard,
} from '../dashboard/dashboard.ts';
import { type JudgeFlags, judgeConfigFromFlags, reportVerdict } from './monitor.ts';

interface AnalyzeFlags extends JudgeFlags, DashboardFlags {
  baseline: string;
  canary: string;
  json?: boolean;
}

/** A recording's scrapes, read as a stream (bounded memory); a bad file is a CliError naming it. */
async function* scrapesOf(path: string, flag: string): AsyncGenerator<Scrape> {
  try {
    await access(path);
  } catch (error) {
    throw new CliError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    yield* readRecording(lines, path);
  } catch (error) {
    if (error instanceof CanaryError) throw new CliError(error.message);
    throw new CliError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  } finally {
    lines.close();
    input.destroy();
  }
}

async function collect(path: string, flag: string): Promise<Scrape[]> {
  const out: Scrape[] = [];
  for await (const scrape of scrapesOf(path, flag)) out.push(scrape);
  return out;
}

/**
 * Replays two recordings pair by pair as `qsb monitor` judged them live: a look after every pair,
 * stopping at the first rollback or promotion, so both give the same verdict on the same scrapes.
 */
async function replay(
  ctx: CliContext,
  flags: AnalyzeFlags,
): Promise<{ verdict: Verdict; scrapes: Record<'production' | 'canary', number> }> {
  const judge = createJudge(await judgeConfigFromFlags(flags));
  const baseline = scrapesOf(flags.baseline, '--baseline');
  const canary = scrapesOf(flags.canary, '--canary');
  let verdict: Verdict | undefined;
  try {
    for (let pairs = 0; ; pairs++) {
      const [b, c] = await Promise.all([baseline.next(), canary.next()]);
      if (b.done || c.done) {
        if (!b.done || !c.done) {
          ctx.err(
            `qsb: warning: ${b.done ? '--baseline' : '--canary'} ends first; judging the first ${pairs} pairs`,
          );
        }
        break;
      }
      judge.observe(b.value, c.value);
      verdict = judge.verdict(Math.min(b.value.timeMs, c.value.timeMs));
      if (pairs > 0 && verdict.verdict !== 'continue') break;
    }
  } finally {
    await Promise.all([baseline.return(undefined), canary.return(undefined)]);
  }
  if (!verdict) throw new CliError(`${flags.baseline}: the recording holds no samples`);
  return { verdict, scrapes: { ...judge.scrapes } };
}

/** `qsb analyze`: judge two recordings offline (replays and post-mortems). */
export function analyzeCommand(ctx: CliContext): Command {
  const command = new Command('analyze')
    .description(
      'Judge recordings made by qsb monitor --record (Prometheus text with timestamps), read as streams: exit 0 promote, 1 rollback, 2 undecided, 3 error.',
    )
    .requiredOption('--baseline <path>', "production's recording")
    .requiredOption('--canary <path>', "the canary's recording")
    .option(
      '--min-duration <d>',
      'promote no earlier than this (default: the configuration, 2m)',
      durationArg,
    )
    .option('--duration <d>', 'the window monitoring had (default: the configuration, 5m)', durationArg)
    .option('--open-ended', 'judge with anytime-valid tests, as qsb monitor --open-ended')
    .option('--config <path>', 'judge configuration (YAML or JSON); defaults fit the bot')
    .option('--json', 'print the verdict as one JSON object')
    .option('--dashboard', "show the recording on the monitor's page until interrupted (Ctrl-C)", false);
  for (const option of dashboardOptions()) command.addOption(option);
  return command.action(
    withDashboard(ctx, async (flags: AnalyzeFlags, startDashboard) => {
      const config = await judgeConfigFromFlags(flags);
      const { verdict, scrapes } = await replay(ctx, flags);
      const dashboard = await startDashboard(`${flags.baseline} against ${flags.canary}`);
      if (dashboard) {
        // The page replays the whole recording, so it holds both in memory (the verdict did not).
        const [baseline, canary] = await Promise.all([
          collect(flags.baseline, '--baseline'),
          collect(flags.canary, '--canary'),
        ]);
        await replayOnDashboard(dashboard, config, baseline, canary, ctx.signal);
      }
      reportVerdict(ctx, verdict, flags.json === true, { scrapes });
    }),
  );
}
