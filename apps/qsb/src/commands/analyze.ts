import { readFile } from 'node:fs/promises';
import { CanaryError, judge, parseRecording, type Scrape } from '@qsb/canary';
import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import {
  type DashboardFlags,
  dashboardOptions,
  replayOnDashboard,
  withDashboard,
} from '../dashboard/dashboard.ts';
import { durationArg, loadJudgeConfig, reportVerdict } from './monitor.ts';

interface AnalyzeFlags extends DashboardFlags {
  baseline: string;
  canary: string;
  minDuration?: number;
  config?: string;
  json?: boolean;
}

async function readRecording(path: string, flag: string): Promise<Scrape[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  try {
    return parseRecording(text, path);
  } catch (error) {
    if (error instanceof CanaryError) throw new CliError(error.message);
    throw error;
  }
}

/** `qsb analyze`: judge two recordings offline (replays and post-mortems). */
export function analyzeCommand(ctx: CliContext): Command {
  const command = new Command('analyze')
    .description(
      'Judge recordings made by qsb monitor --record (Prometheus text with timestamps): exit 0 promote, 1 rollback, 2 undecided, 3 error.',
    )
    .requiredOption('--baseline <path>', "production's recording")
    .requiredOption('--canary <path>', "the canary's recording")
    .option(
      '--min-duration <d>',
      'promote no earlier than this (default: the configuration, 2m)',
      durationArg,
    )
    .option('--config <path>', 'judge configuration (YAML or JSON); defaults fit the bot')
    .option('--json', 'print the verdict as one JSON object')
    .option('--dashboard', "show the recording on the monitor's page until interrupted (Ctrl-C)", false);
  for (const option of dashboardOptions()) command.addOption(option);
  return command.action(
    withDashboard(ctx, async (flags: AnalyzeFlags, startDashboard) => {
      const config = await loadJudgeConfig(flags.config, flags.minDuration);
      const baseline = await readRecording(flags.baseline, '--baseline');
      const canary = await readRecording(flags.canary, '--canary');
      if (baseline.length !== canary.length) {
        ctx.err(
          `qsb: warning: ${baseline.length} baseline scrapes and ${canary.length} canary scrapes; judging the first ${Math.min(baseline.length, canary.length)} pairs`,
        );
      }
      const verdict = judge(config, baseline, canary);
      const dashboard = await startDashboard(`${flags.baseline} against ${flags.canary}`);
      if (dashboard) await replayOnDashboard(dashboard, config, baseline, canary, ctx.signal);
      reportVerdict(ctx, verdict, flags.json === true, {
        scrapes: { production: baseline.length, canary: canary.length },
      });
    }),
  );
}
