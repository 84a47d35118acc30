import type { PipelineOverrides } from '../pipeline/context.ts';

/** What every command receives: the environment and where its output goes. Tests pass their own. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  /** One line of standard output (results: tables, JSON). */
  readonly out: (line: string) => void;
  /** One line of standard error (progress, warnings, the error line). */
  readonly err: (line: string) => void;
  /** Whether standard output is a terminal (progress displays only then). */
  readonly isTTY: boolean;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  readonly signal: AbortSignal;
  /** What the release commands build from the environment, replaced in tests (the router, the smoke test). */
  readonly pipeline?: PipelineOverrides;
}
