import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Verdict } from '@qsb/canary';
import { killGroup } from '../platform/localProcesses.ts';
import { REPO_ROOT } from '../releases/build.ts';

/** One watch: what `qsb monitor` is asked. */
export interface WatchRequest {
  readonly production: string;
  readonly canary: string;
  readonly durationSeconds: number;
  readonly minDurationSeconds: number;
  readonly intervalSeconds: number;
  /** The judge configuration file. */
  readonly config: string;
  /** The live dashboard's port, the same for every watch so that its URL stays the same. */
  readonly dashboardPort?: number;
  /** Where to record the scrapes (`production.prom`, `canary.prom`), for a replay. */
  readonly record?: string;
  /** Where its stderr goes, line by line (warnings, the dashboard's URL once it has one). */
  readonly onLine?: (line: string) => void;
  readonly signal: AbortSignal;
}

/** What one watch ended with: `qsb monitor`'s exit code and, when it judged, its verdict. */
export interface WatchResult {
  /** 0 promote, 1 rollback, 2 undecided at the deadline, 3 error (the judge's codes). */
  readonly exitCode: number;
  readonly verdict: Verdict | undefined;
  /** stderr, for an error message. */
  readonly stderr: string;
}

/** Runs the judge for one watch. A seam: tests and other front ends pass another. */
export type Watcher = (request: WatchRequest) => Promise<WatchResult>;

/**
 * Runs `qsb monitor --json` as its own process, exactly as a release workflow does, and returns its
 * verdict. Aborting the signal stops it.
 */
export const runQsbMonitor: Watcher = async (request) => {
  const args = [
    '--import',
    'tsx',
    join(REPO_ROOT, 'apps/qsb/src/main.ts'),
    'monitor',
    ...['--production', `${request.production}/metrics`, '--canary', `${request.canary}/metrics`],
    ...['--duration', `${request.durationSeconds}s`, '--interval', `${request.intervalSeconds}s`],
    ...['--min-duration', `${request.minDurationSeconds}s`, '--config', request.config, '--json'],
    // The demo's screen shows the judge's latest word; a CI log's once a minute would leave it stale.
    ...['--progress-every', '2s'],
    ...(request.dashboardPort === undefined
      ? ['--no-dashboard']
      : ['--dashboard-port', String(request.dashboardPort)]),
    ...(request.record === undefined ? [] : ['--record', request.record]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) request.onLine?.(line);
  });
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 3 : 0))),
  );
  const onAbort = () => void killGroup(child, 3_000);
  request.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exitCode = await exited;
    const line = stdout.trim().split('\n').at(-1) ?? '';
    let verdict: Verdict | undefined;
    try {
      verdict = line.startsWith('{') ? (JSON.parse(line) as Verdict) : undefined;
    } catch {
      verdict = undefined;
    }
    return { exitCode, verdict, stderr };
  } finally {
    request.signal.removeEventListener('abort', onAbort);
  }
};

/** A replay of recorded watches on the dashboard, running until stopped (`--keep`). */
export interface Replay {
  stop(): Promise<void>;
}

/**
 * Shows a recorded watch on the dashboard (`qsb analyze --dashboard`) until stopped, so that the
 * page stays up for exploring after the rollout ended.
 */
export function replayOnDashboard(recording: string, config: string, port: number): Replay {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'apps/qsb/src/main.ts'),
      'analyze',
      ...['--baseline', join(recording, 'production.prom'), '--canary', join(recording, 'canary.prom')],
      ...['--config', config, '--dashboard', '--dashboard-port', String(port)],
    ],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, detached: true, stdio: 'ignore' },
  );
  return { stop: () => killGroup(child, 3_000) };
}
