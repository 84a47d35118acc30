import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One pino log line of a bot process. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A bot running as its own OS process, as Heroku runs it. */
export interface BotProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  readonly stderr: () => string;
  /** Resolves with the HTTP port once the process logged it. */
  readonly port: Promise<number>;
  readonly url: () => Promise<string>;
  /** Resolves once every owned shard is READY (per /readyz). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `apps/bot/src/main.ts` (or `entry`) in a new process with exactly `env` (plus PATH), on
 * 127.0.0.1 and a free port. Without `QSB_STORE` in `env` the process gets a store of its own in memory,
 * so that tests never share the default `.qsb/` file of the working directory, and stops at SIGTERM
 * without waiting for a successor (`QSB_HANDOFF_WAIT_MS=0`).
 */
export function startBotProcess(env: Record<string, string>, entry = 'apps/bot/src/main.ts'): BotProcess {
  // The port is read from the info line "http server listening".
  if (env.LOG_LEVEL && !['info', 'debug', 'trace'].includes(env.LOG_LEVEL)) {
    throw new Error(`startBotProcess needs LOG_LEVEL info or lower to learn the port, not ${env.LOG_LEVEL}`);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      QSB_STORE: 'memory:',
      // No successor comes in most tests: stop at once.
      QSB_HANDOFF_WAIT_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  let resolvePort: (port: number) => void = () => {};
  let rejectPort: (error: Error) => void = () => {};
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const parsed = JSON.parse(line) as LogLine;
      logs.push(parsed);
      if (typeof parsed.port === 'number' && parsed.msg.startsWith('http server listening'))
        resolvePort(parsed.port);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.once('exit', (code) => rejectPort(new Error(`bot exited with ${code} before listening: ${stderr}`)));
  // Awaiting the port is optional (a test may only wait for the exit); a rejection nobody awaits is not an error.
  port.catch(() => {});

  const url = async () => `http://127.0.0.1:${await port}`;
  return {
    child,
    logs,
    stderr: () => stderr,
    port,
    url,
    async waitReady(timeoutMs = 60_000) {
      const base = await url();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        if (res?.status === 200) return;
        if (Date.now() > deadline)
          throw new Error(`bot not ready after ${timeoutMs} ms: ${await res?.text()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Sums the samples of one metric in Prometheus text, optionally only those whose labels include `match`. */
export function sumMetric(text: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
