import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Child, freePort, startChild, stopChild, userIds, waitUntil } from './processes.ts';

const run = promisify(execFile);

/** Debian's PostgreSQL 15, installed by scripts/test-servers.sh. */
export const PG_BIN = process.env.QSB_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL cluster on 127.0.0.1: trust authentication, user `postgres`, database `postgres`. */
export interface Postgres {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Creates a cluster in a temporary folder and starts it on a free port. PostgreSQL refuses to run as
 * root, so as root it runs as the `postgres` system user (Debian's package creates it).
 */
export async function startPostgres(): Promise<Postgres> {
  if (!existsSync(join(PG_BIN, 'postgres'))) {
    throw new Error(
      `PostgreSQL 15 is not installed at ${PG_BIN}: run scripts/test-servers.sh (pnpm check runs it first)`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds('postgres') : undefined;
  if (asRoot && owner === undefined) {
    throw new Error(
      'running as root, and there is no postgres user to run PostgreSQL as: run scripts/test-servers.sh',
    );
  }
  const base = mkdtempSync(join(tmpdir(), 'qsb-pg-'));
  if (owner !== undefined) chownSync(base, owner.uid, owner.gid);
  const as = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args];
  const data = join(base, 'data');
  try {
    await run(
      ...as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']),
    );
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const [command, args] = as('postgres', [
    '-D',
    data,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-k',
    base,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const child: Child = startChild(command, args);
  const stop = async () => {
    // SIGINT is PostgreSQL's fast shutdown.
    await stopChild(child, 'SIGINT');
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'PostgreSQL',
      async () => {
        await run(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
        return true;
      },
      child,
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}
