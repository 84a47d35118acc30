import { createFlags, type Flags, type FlagsLogger } from '@qsb/flags';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Postgres, startPostgres } from './support/postgres.ts';
import { assertUnleashInstalled, startUnleash, type UnleashServer } from './support/unleash.ts';

// A real unleash-server (7.5.x) on a real PostgreSQL 15, each its own process, both installed by
// scripts/test-servers.sh. A missing install fails here, naming the script: it is never skipped.

const GUILDS_ON = ['81384788765712384', '302094807046684672'];
const GUILD_OFF = '222078108977594368';
const FLAG = 'quantum-it';
const ROLLOUT = 'rollout-it';
const ENV = '/api/admin/projects/default/features';

const quiet: FlagsLogger = { info: () => {}, warn: () => {}, error: () => {} };

let postgres: Postgres | undefined;
let unleash: UnleashServer | undefined;
const clients: Flags[] = [];

beforeAll(async () => {
  assertUnleashInstalled();
  postgres = await startPostgres();
  unleash = await startUnleash(postgres.port);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await unleash?.stop();
  await postgres?.stop();
}, 60_000);

function client(server: UnleashServer, deployment: 'canary' | 'production'): Flags {
  const flags = createFlags({
    appName: 'quantum-superbot',
    deployment,
    logger: quiet,
    unleash: { url: server.url, apiToken: server.clientToken, refreshIntervalMs: 1000 },
    startTimeoutMs: 20_000,
  });
  clients.push(flags);
  return flags;
}

describe('against a real Unleash server', () => {
  it('creates a flag through the admin API and sees it on for exactly the right guilds, on the canary only', async () => {
    const server = unleash as UnleashServer;
    // Custom context fields, as an operator defines them once: guildId may be used for stickiness.
    await server.admin('POST', '/api/admin/context', { name: 'guildId', stickiness: true });
    await server.admin('POST', '/api/admin/context', {
      name: 'deployment',
      legalValues: [{ value: 'canary' }, { value: 'production' }],
    });
    for (const name of [FLAG, ROLLOUT]) await server.admin('POST', ENV, { name, type: 'release' });
    await server.admin('POST', `${ENV}/${FLAG}/environments/development/strategies`, {
      name: 'flexibleRollout',
      parameters: { rollout: '100', stickiness: 'guildId', groupId: FLAG },
      constraints: [
        { contextName: 'deployment', operator: 'IN', values: ['canary'] },
        { contextName: 'guildId', operator: 'IN', values: GUILDS_ON },
      ],
    });
    await server.admin('POST', `${ENV}/${ROLLOUT}/environments/development/strategies`, {
      name: 'flexibleRollout',
      parameters: { rollout: '30', stickiness: 'guildId', groupId: ROLLOUT },
      constraints: [],
    });
    for (const name of [FLAG, ROLLOUT])
      await server.admin('POST', `${ENV}/${name}/environments/development/on`);

    const canary = client(server, 'canary');
    const production = client(server, 'production');
    expect(await canary.ready).toEqual({ source: 'server', timedOut: false });
    expect(await production.ready).toEqual({ source: 'server', timedOut: false });
    for (const guild of GUILDS_ON) {
      expect(canary.flag(FLAG, guild)).toBe(true);
      expect(canary.flag(FLAG, { guild, user: '1' })).toBe(true);
      expect(production.flag(FLAG, guild)).toBe(false);
    }
    expect(canary.flag(FLAG, GUILD_OFF)).toBe(false);

    // The server's definitions, evaluated by a client with no server, give the same guilds: the flags
    // file and the server speak one format.
    const offline = createFlags({
      appName: 'quantum-superbot',
      deployment: 'canary',
      logger: quiet,
      data: { version: 2, features: canary.definitions() },
    });
    clients.push(offline);
    await offline.ready;
    const guilds = Array.from({ length: 400 }, (_, i) =>
      String(100_000_000_000_000_000n + BigInt(i) * 104_729n),
    );
    const online = guilds.filter((g) => canary.flag(ROLLOUT, g));
    expect(guilds.filter((g) => offline.flag(ROLLOUT, g))).toEqual(online);
    expect(online.length).toBeGreaterThan(80);
    expect(online.length).toBeLessThan(160);
  });

  it('sees a kill switch reach the client within 2 s at a 1 s refresh', async () => {
    const server = unleash as UnleashServer;
    const canary = client(server, 'canary');
    await canary.ready;
    const guild = GUILDS_ON[0] as string;
    expect(canary.flag(FLAG, guild)).toBe(true);
    // unleash-server publishes changes to its client API on its own 1 s revision cycle; a direct poll
    // of that API (every 25 ms, no ETag) shows when a fresh request first sees the change. The client
    // polls with an ETag, which the server only moves on that cycle, so this time is logged for
    // diagnosis but bounds nothing.
    const servedOff = async () => {
      const response = await fetch(`${server.url}client/features`, {
        headers: { authorization: server.clientToken },
      });
      const body = (await response.json()) as { features: { name: string; enabled: boolean }[] };
      return body.features.find((f) => f.name === FLAG)?.enabled === false;
    };
    const until = async (done: () => boolean | Promise<boolean>, everyMs: number) => {
      while (!(await done()) && Date.now() - switched < 5000) {
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      return Date.now() - switched;
    };
    const switched = Date.now();
    await server.admin('POST', `${ENV}/${FLAG}/environments/development/off`);
    const [served, seen] = await Promise.all([
      until(servedOff, 25),
      until(() => !canary.flag(FLAG, guild), 10),
    ]);
    console.log(
      `kill switch: served by unleash-server after ${served} ms, seen by the client after ${seen} ms (refresh 1000 ms)`,
    );
    expect(canary.flag(FLAG, guild)).toBe(false);
    // End to end: the server's revision cycle (at most 1 s) plus one refresh (1 s), with 250 ms for
    // the requests and timers.
    expect(seen).toBeLessThanOrEqual(2250);
  });
});
