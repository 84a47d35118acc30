import { runCli } from '../../src/main.ts';

/** What one in-process run of `qsb` printed and returned. */
export interface QsbRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `qsb argv` in this process with `env` (nothing of the real environment), capturing stdout and stderr. */
export async function qsb(argv: string[], env: NodeJS.ProcessEnv = {}, isTTY = false): Promise<QsbRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l), isTTY });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
