import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, startChild, stopChild, waitUntil } from './processes.ts';

/** Where scripts/test-servers.sh installs unleash-server (outside the workspace, gitignored). */
export const UNLEASH_DIR = fileURLToPath(
  new URL('../../.cache/test-servers/unleash/node_modules/unleash-server/', import.meta.url),
);

/** Throws, naming the fix, when scripts/test-servers.sh has not installed unleash-server. */
export function assertUnleashInstalled(): void {
  if (!existsSync(`${UNLEASH_DIR}package.json`)) {
    throw new Error(
      `unleash-server is not installed in ${UNLEASH_DIR}: run scripts/test-servers.sh (pnpm check runs it first)`,
    );
  }
}

/** A running unleash-server with an admin token and a backend (client) token for `development`. */
export interface UnleashServer {
  /** The API root, as unleash-client takes it. */
  readonly url: string;
  readonly adminToken: string;
  readonly clientToken: string;
  /** Calls the admin API; throws with the response body on a non-2xx status. */
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts unleash-server as a separate process on 127.0.0.1 and a free port, on the given PostgreSQL.
 * Fails, naming the fix, when scripts/test-servers.sh has not installed it.
 */
export async function startUnleash(pgPort: number): Promise<UnleashServer> {
  assertUnleashInstalled();
  const port = await freePort();
  const adminToken = '*:*.qsb-test-admin-secret';
  const clientToken = 'default:development.qsb-test-client-secret';
  const child = startChild(
    process.execPath,
    [fileURLToPath(new URL('unleash-server.mjs', import.meta.url))],
    {
      ...process.env,
      QSB_UNLEASH_DIR: UNLEASH_DIR,
      QSB_UNLEASH_PORT: String(port),
      QSB_PG_PORT: String(pgPort),
      INIT_ADMIN_API_TOKENS: adminToken,
      INIT_BACKEND_API_TOKENS: clientToken,
    },
  );
  const root = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('unleash-server', async () => (await fetch(`${root}/health`)).ok, child, 90_000, 250);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url: `${root}/api/`,
    adminToken,
    clientToken,
    async admin(method, path, body) {
      const response = await fetch(`${root}${path}`, {
        method,
        headers: { authorization: adminToken, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text === '' ? undefined : JSON.parse(text);
    },
    stop: () => stopChild(child),
  };
}
