#!/usr/bin/env -S node --import tsx
import { Command, CommanderError } from 'commander';
import { CliError, ExitCodes } from './cli/errors.ts';
import { shardsCommand } from './commands/shards.ts';

/** Builds the `qsb` program; `out` receives stdout lines so tests can run commands in-process. */
export function buildProgram(env: NodeJS.ProcessEnv, out: (line: string) => void): Command {
  const program = new Command('qsb')
    .description("Quantum-Superbot operators' command line")
    .showHelpAfterError('(qsb --help lists the commands)')
    .exitOverride();
  program.addCommand(shardsCommand(env, out));
  for (const command of program.commands)
    command.exitOverride().showHelpAfterError(`(qsb ${command.name()} --help shows its usage)`);
  return program;
}

/** Runs `qsb` with `argv` (without node and script) and returns the exit code. */
export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const program = buildProgram(env, out);
  program.configureOutput({
    writeOut: (s) => out(s.trimEnd()),
    writeErr: (s) => err(s.trimEnd()),
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCodes.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are exits with code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? ExitCodes.Ok : ExitCodes.Error;
    }
    if (error instanceof CliError) {
      err(`qsb: ${error.message}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    err(`qsb: ${message}`);
    return ExitCodes.Error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCli(process.argv.slice(2));
}
