#!/usr/bin/env -S node --import tsx
import { Command, CommanderError } from 'commander';
import type { CliContext } from './cli/context.ts';
import { CliError, ExitCodes } from './cli/errors.ts';
import { analyzeCommand } from './commands/analyze.ts';
import { deployCommand } from './commands/deploy.ts';
import { flagsCommand } from './commands/flags.ts';
import { monitorCommand } from './commands/monitor.ts';
import { promoteCommand } from './commands/promote.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { routeCommand } from './commands/route.ts';
import { setupCommand } from './commands/setup.ts';
import { shardsCommand } from './commands/shards.ts';
import { simCommand } from './commands/sim.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';

/** Every command of `qsb`, in the order `--help` lists them. */
const commands: readonly ((ctx: CliContext) => Command)[] = [
  shardsCommand,
  simCommand,
  flagsCommand,
  monitorCommand,
  analyzeCommand,
  routeCommand,
  setupCommand,
  deployCommand,
  verifyCommand,
  statusCommand,
  promoteCommand,
  rollbackCommand,
];

/** Builds the `qsb` program around a context, so that tests can run commands in-process. */
export function buildProgram(ctx: CliContext): Command {
  const output = {
    writeOut: (s: string) => ctx.out(s.trimEnd()),
    writeErr: (s: string) => ctx.err(s.trimEnd()),
  };
  const program = new Command('qsb')
    .description("Quantum-Superbot operators' command line")
    .configureOutput(output)
    .showHelpAfterError('(qsb --help lists the commands)')
    .exitOverride();
  // Every level, subcommands of subcommands included: a usage error is one line on stderr and exit
  // code 3, never commander's own process.exit.
  const configure = (command: Command, path: string) => {
    command.configureOutput(output).showHelpAfterError(`(${path} --help shows its usage)`).exitOverride();
    for (const sub of command.commands) configure(sub, `${path} ${sub.name()}`);
  };
  for (const build of commands) {
    const command = build(ctx);
    configure(command, `qsb ${command.name()}`);
    program.addCommand(command);
  }
  return program;
}

/** Runs `qsb` with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], overrides: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTTY: process.stdout.isTTY === true,
    signal: new AbortController().signal,
    ...overrides,
  };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ExitCodes.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help exits with code 0; a usage error was already printed by commander.
      return error.exitCode === 0 ? ExitCodes.Ok : ExitCodes.Error;
    }
    if (error instanceof CliError) {
      ctx.err(`qsb: ${error.message}`);
      return error.exitCode;
    }
    ctx.err(`qsb: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCodes.Error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
  process.exitCode = await runCli(process.argv.slice(2), { signal: abort.signal });
}
