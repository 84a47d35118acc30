import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Release } from '../releases/build.ts';
import type { AppName, AppStatus, DemoPlatform } from './platform.ts';

/** Options of {@link createLocalProcessPlatform}. */
export interface LocalProcessPlatformOptions {
  /** Where each app's output is written (`<dir>/<app>.log`). */
  readonly dir: string;
  /** How long SIGTERM waits before SIGKILL. @defaultValue 8000 */
  readonly stopGraceMs?: number;
  /** Restart delays after a crash, doubling from the first to the last (Heroku backs off too). */
  readonly restartDelaysMs?: readonly number[];
  /** How long a start may take to listen. @defaultValue 30000 */
  readonly startTimeoutMs?: number;
}

const Defaults = {
  stopGraceMs: 8_000,
  restartDelaysMs: [500, 1_000, 2_000, 4_000],
  startTimeoutMs: 30_000,
} as const;

/** Why an app could not be started. */
export class PlatformError extends Error {
  public readonly code = 'APP_START_FAILED';
  public override get name(): string {
    return `PlatformError[${this.code}]`;
  }
}

interface Running {
  app: AppName;
  release: Release;
  env: Readonly<Record<string, string>>;
  child: ChildProcess;
  url: string | undefined;
  restarts: number;
  lastExit: AppStatus['lastExit'];
  lastError: string | undefined;
  stopping: boolean;
  log: WriteStream;
  restartTimer: NodeJS.Timeout | undefined;
  listening: Promise<string>;
}

/**
 * Runs each app as one local process in its own process group (so a stop reaches everything it
 * started), restarting it when it exits on its own, as a dyno manager does.
 */
export function createLocalProcessPlatform(options: LocalProcessPlatformOptions): DemoPlatform {
  const o = { ...Defaults, ...options };
  const apps = new Map<AppName, Running>();
  const pids = new Set<number>();

  const spawnApp = (r: Omit<Running, 'child' | 'listening' | 'url'> & Partial<Running>): Running => {
    const child = spawn(process.execPath, ['--enable-source-maps', r.release.entry], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...r.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) pids.add(child.pid);
    const running = r as Running;
    running.child = child;
    running.url = undefined;
    running.listening = new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        r.log.write(chunk);
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          let entry: { port?: unknown; level?: unknown; msg?: unknown; err?: { message?: unknown } };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            continue;
          }
          if (typeof entry.level === 'number' && entry.level >= 50) {
            const detail = typeof entry.err?.message === 'string' ? `: ${entry.err.message}` : '';
            running.lastError = `${String(entry.msg)}${detail}`;
          }
          if (typeof entry.port === 'number' && String(entry.msg).startsWith('http server listening')) {
            running.url = `http://127.0.0.1:${entry.port}`;
            resolve(running.url);
          }
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => r.log.write(chunk));
      child.once('exit', (code, signal) => {
        reject(
          new PlatformError(
            `${r.app} ${r.release.version} exited (${code ?? signal}) before it listened; see ${join(o.dir, `${r.app}.log`)}`,
          ),
        );
        if (running.stopping || apps.get(r.app) !== running) return;
        running.lastExit = { code, signal };
        const delay = o.restartDelaysMs[Math.min(running.restarts, o.restartDelaysMs.length - 1)] ?? 1_000;
        running.restartTimer = setTimeout(() => {
          if (running.stopping) return;
          running.restarts++;
          spawnApp(running).listening.catch(() => {});
        }, delay);
      });
    });
    return running;
  };

  const stop = async (app: AppName): Promise<void> => {
    const r = apps.get(app);
    if (!r) return;
    r.stopping = true;
    clearTimeout(r.restartTimer);
    apps.delete(app);
    await killGroup(r.child, o.stopGraceMs);
    await new Promise<void>((resolve) => r.log.end(resolve));
  };

  return {
    async start(app, release, env) {
      await stop(app);
      const log = createWriteStream(join(o.dir, `${app}.log`), { flags: 'a' });
      const r = spawnApp({
        app,
        release,
        env,
        restarts: 0,
        lastExit: undefined,
        lastError: undefined,
        stopping: false,
        log,
        restartTimer: undefined,
      });
      apps.set(app, r);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new PlatformError(`${app} did not listen within ${o.startTimeoutMs} ms`)),
          o.startTimeoutMs,
        );
      });
      try {
        await Promise.race([r.listening, late]);
      } finally {
        clearTimeout(timer);
      }
      return statusOf(r);
    },
    stop,
    status: (app) => {
      const r = apps.get(app);
      return r ? statusOf(r) : undefined;
    },
    pids: () => [...pids],
    async close() {
      await Promise.all([...apps.keys()].map((app) => stop(app)));
    },
  };

  function statusOf(r: Running): AppStatus {
    return {
      app: r.app,
      release: r.release,
      pid: r.child.exitCode === null && r.child.signalCode === null ? r.child.pid : undefined,
      url: r.url,
      restarts: r.restarts,
      lastExit: r.lastExit,
      lastError: r.lastError,
      logFile: join(o.dir, `${r.app}.log`),
    };
  }
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves once it has exited. */
export async function killGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
