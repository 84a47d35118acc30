import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { planShards } from '@qsb/sharding';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from './support/bot-process.ts';

// A dead canary is never promoted, rehearsed with real processes: the local Discord, a production and
// a canary bot each in its own process, and qsb monitor in a third, with the default judge.
const root = fileURLToPath(new URL('..', import.meta.url));
const SHARDS = 10;
const plan = planShards({ shardCount: SHARDS, percent: 20 });

let sim: DiscordSimHandle;
let production: BotProcess;
let traffic: NodeJS.Timeout | undefined;
const stops: (() => Promise<unknown>)[] = [];
let sent = 0;

const common = () => ({
  DISCORD_TOKEN: sim.token,
  DISCORD_API_URL: sim.apiUrl,
  SHARD_COUNT: String(SHARDS),
  SHARD_PERCENT: '20',
  IDENTIFY_WINDOW_MS: '700',
  LOG_LEVEL: 'info',
});

async function startCanary(): Promise<BotProcess> {
  const canary = startBotProcess({ ...common(), CANARY: 'true', QSB_VERSION: 'v2' });
  stops.push(() => canary.stop());
  await canary.waitReady();
  return canary;
}

interface Monitored {
  readonly code: number;
  readonly verdict: { verdict: string; failed?: string[]; waitingFor?: string[]; summary: string };
  readonly stderr: string;
}

/** Starts `qsb monitor` as its own process; resolves with its exit code and verdict. */
function monitor(
  canaryUrl: string,
  productionUrl: string,
  seconds: number,
): { child: ChildProcess; done: Promise<Monitored>; started: Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', 'apps/qsb/src/main.ts', 'monitor'],
      ...['--production', productionUrl, '--canary', canaryUrl],
      ...['--duration', `${seconds}s`, '--interval', '1s', '--min-duration', '5s', '--json'],
      '--no-dashboard',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  stops.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  // The first progress line ("[0s/40s] ...") follows the first scrape.
  const started = new Promise<void>((resolve) => {
    child.stderr?.on('data', (c: string) => {
      if (/^\[/m.test(c)) resolve();
    });
  });
  const done = (once(child, 'exit') as Promise<[number | null]>).then(([code]) => {
    if (code === null || code >= 3) throw new Error(`qsb monitor failed (${code}): ${stderr}`);
    return { code, verdict: JSON.parse(stdout), stderr };
  });
  return { child, done, started };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  sim = await startDiscordSim({
    guilds: 400,
    shards: SHARDS,
    identifyWindowMs: 500,
    heartbeatIntervalMs: 5_000,
    seed: 11,
  });
  production = startBotProcess({ ...common(), CANARY: 'false', QSB_VERSION: 'v1' });
  await production.waitReady();
  const guilds = sim.world.guilds;
  traffic = setInterval(() => {
    for (let i = 0; i < 6; i++) {
      const guild = guilds[(sent * 7919) % guilds.length];
      sent++;
      if (!guild) continue;
      try {
        sim.sendInteraction({ command: 'ping', guildId: guild.id });
      } catch {
        // A shard with no session (the canary is down): Discord would show the user a failure.
      }
    }
  }, 50);
}, 120_000);

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  await production?.stop();
  await sim?.close();
});

describe('a dead canary is never promoted (real processes)', () => {
  it('rolls back a canary killed mid-window', async () => {
    const canary = await startCanary();
    const run = monitor(`${await canary.url()}/metrics`, `${await production.url()}/metrics`, 40);
    // Once monitoring has begun (its first progress line), a few seconds on, the canary dies.
    await run.started;
    await new Promise((r) => setTimeout(r, 5_000));
    canary.child.kill('SIGKILL');
    const { code, verdict } = await run.done;
    expect(verdict.verdict).toBe('rollback');
    expect(code).toBe(1);
    expect(verdict.failed).toContain('scrapes');
  }, 120_000);

  it('does not promote a canary whose scrapes fail every other time', async () => {
    const canary = await startCanary();
    const target = `${await canary.url()}/metrics`;
    let n = 0;
    const flaky = await listen(
      createServer(async (_req, res) => {
        if (n++ % 2 === 1) {
          res.writeHead(503).end('unavailable');
          return;
        }
        const upstream = await fetch(target);
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'text/plain',
        });
        res.end(await upstream.text());
      }),
    );
    const { code, verdict } = await monitor(`${flaky}/metrics`, `${await production.url()}/metrics`, 20).done;
    expect(verdict.verdict).not.toBe('promote');
    expect(code).not.toBe(0);
    expect(verdict.summary).toMatch(/scrape/);
  }, 120_000);

  it('does not promote a canary whose shard Discord closed for good (4014)', async () => {
    const canary = await startCanary();
    const shard = plan.canary[0];
    if (shard === undefined) throw new Error('the canary owns no shard');
    const run = monitor(`${await canary.url()}/metrics`, `${await production.url()}/metrics`, 40);
    await run.started;
    expect(sim.faults.closeShard(shard, 4014, 'Disallowed intent(s).')).toBeGreaterThan(0);
    const { code, verdict } = await run.done;
    expect(verdict.verdict).not.toBe('promote');
    expect(code).not.toBe(0);
    // The shard stays down (readiness), or the process ends on the fatal close (scrapes).
    const why = [...(verdict.failed ?? []), ...(verdict.waitingFor ?? [])];
    expect(
      why.some((m) => m === 'readiness' || m === 'scrapes'),
      verdict.summary,
    ).toBe(true);
  }, 120_000);
});
