/** Exit codes shared by every qsb command (`qsb monitor` gives 1 and 2 their verdict meaning). */
export const ExitCodes = {
  Ok: 0,
  /** Bad input (a flag, a variable, a file) or a failure to reach what the command needs. */
  Error: 3,
} as const;

/** A failure the command line reports as one line on stderr, then exits with `exitCode`. */
export class CliError extends Error {
  public readonly exitCode: number;

  public constructor(message: string, exitCode: number = ExitCodes.Error) {
    super(message);
    this.exitCode = exitCode;
  }

  public override get name(): string {
    return 'CliError';
  }
}
