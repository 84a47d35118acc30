#!/usr/bin/env -S node --import tsx
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DemoExitCodes, runDemo } from './demo.ts';
import { SCENARIO_NAMES, SCENARIOS, type ScenarioName } from './scenarios/scenarios.ts';

/** A duration flag (`90s`, `2m`, or seconds), from 20 s to 1 h. */
export function durationArg(value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(s|m)?$/.exec(value.trim());
  const seconds = m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(seconds >= 20 && seconds <= 3600)) {
    throw new InvalidArgumentError('must be a duration from 20s to 60m, such as 90s or 5m.');
  }
  return seconds;
}

/** A rate flag: interactions per second, 10 to 1000. */
export function rateArg(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 10 || n > 1000) {
    throw new InvalidArgumentError('must be a whole number of interactions per second from 10 to 1000.');
  }
  return n;
}

interface Flags {
  scenario: ScenarioName;
  duration: number;
  rate: number;
  keep?: boolean;
  json?: boolean;
}

/** Runs `pnpm demo` with `argv` and returns the exit code. */
export async function main(argv: readonly string[], signal: AbortSignal): Promise<number> {
  let code: number = DemoExitCodes.error;
  const program = new Command('pnpm demo')
    .description(
      'A canary release on this machine: the local Discord with synthetic users, production on v1, the canary on v2 at 20% then 50%, the judge, and promotion or rollback. Exit code: 0 promoted, 1 rolled back, 2 undecided, 3 error.',
    )
    .addOption(
      new Option(
        '--scenario <name>',
        `what is wrong with v2: ${SCENARIO_NAMES.map((n) => `${n} (${SCENARIOS[n].summary})`).join('; ')}`,
      )
        .choices(SCENARIO_NAMES)
        .default('healthy'),
    )
    .option(
      '--duration <d>',
      'watching time in all, split between the 20% and 50% steps (20s to 60m)',
      durationArg,
      80,
    )
    .option('--rate <r>', 'interactions per second the users send (10 to 1000)', rateArg, 200)
    .option('--keep', 'leave everything running at the end, until Ctrl-C')
    .option('--json', 'print the outcome and the final state as one JSON object on stdout')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError('(pnpm demo --help shows the options)')
    .exitOverride()
    .action(async (flags: Flags) => {
      const report = await runDemo(
        {
          scenario: flags.scenario,
          durationSeconds: flags.duration,
          rate: flags.rate,
          keep: flags.keep === true,
          json: flags.json === true,
        },
        {
          out: (line) => process.stdout.write(`${line}\n`),
          write: (text) => process.stderr.write(text),
          isTTY: process.stderr.isTTY === true,
          signal,
          now: Date.now,
        },
      );
      code = report.exitCode;
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : DemoExitCodes.error;
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const abort = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => abort.abort());
  process.exitCode = await main(process.argv.slice(2), abort.signal);
}
