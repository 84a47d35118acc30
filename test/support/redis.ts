import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Child, freePort, startChild, stopChild, waitUntil } from './processes.ts';

const run = promisify(execFile);

/** Debian's redis-server, installed by scripts/test-servers.sh. */
export const REDIS_SERVER = process.env.QSB_REDIS_SERVER ?? '/usr/bin/redis-server';

/** A throwaway Redis on 127.0.0.1: no password, no persistence. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`, for `QSB_STORE` or ioredis. */
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port and waits until it answers PING. Call `stop()` in `afterAll`
 * (vitest runs it when a test fails too); the server is also killed if the test process exits first.
 *
 * @example
 * ```ts
 * let redis: RedisServer;
 * beforeAll(async () => { redis = await startRedis(); });
 * afterAll(() => redis?.stop());
 * ```
 */
export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`redis-server is not installed at ${REDIS_SERVER}: run scripts/test-servers.sh`);
  }
  const port = await freePort();
  const child: Child = startChild(REDIS_SERVER, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--dir',
    '/tmp',
  ]);
  // Last resort when the test process dies without running afterAll.
  const killOnExit = () => {
    if (child.process.pid !== undefined) {
      try {
        process.kill(-child.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopChild(child, 'SIGTERM', 5000);
  };
  try {
    await waitUntil(
      'redis-server',
      async () => {
        const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING']);
        return stdout.trim() === 'PONG';
      },
      child,
      30_000,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}
