import type { Release } from '../releases/build.ts';

/** The two apps of the demo, named as on Heroku. */
export type AppName = 'quantum-superbot' | 'quantum-superbot-canary';

/** What a running app looks like from outside. */
export interface AppStatus {
  readonly app: AppName;
  readonly release: Release;
  /** The process id now (changes when the platform restarts a crashed process). */
  readonly pid: number | undefined;
  /** Its HTTP base once it listens (`http://127.0.0.1:P`). */
  readonly url: string | undefined;
  /** How many times the process exited on its own and was restarted. */
  readonly restarts: number;
  /** The last unexpected exit, for messages. */
  readonly lastExit: { readonly code: number | null; readonly signal: string | null } | undefined;
  /** The last error or fatal log line's message (what a crash said). */
  readonly lastError: string | undefined;
  /** Where its output goes. */
  readonly logFile: string;
}

/**
 * Where the demo's apps run: local processes restarted after a crash, as a dyno manager does, each on
 * a release that is a bundle (the canary's with its scenario's patch compiled in). `@qsb/platform`'s
 * `LocalPlatform` (builds from git refs, Procfile process types, state kept on disk for separate
 * `qsb` invocations) is what the pipeline's commands use; the demo keeps this smaller seam.
 */
export interface DemoPlatform {
  /** Starts `release` as `app` with `env` (replacing what ran before). Resolves once it listens. */
  start(app: AppName, release: Release, env: Readonly<Record<string, string>>): Promise<AppStatus>;
  /** Stops the app (SIGTERM, then SIGKILL after the grace period); nothing when it is not running. */
  stop(app: AppName): Promise<void>;
  status(app: AppName): AppStatus | undefined;
  /** Every process this platform started, alive or not: what a clean-up check looks at. */
  pids(): readonly number[];
  /** Stops every app. */
  close(): Promise<void>;
}
