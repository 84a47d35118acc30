import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { planShards } from '@qsb/sharding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from './support/bot-process.ts';

// qsb monitor as a workflow runs it: a separate process scraping the /metrics of a real production and
// a real canary, both serving traffic from the local Discord.
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const SHARDS = 10;
const plan = planShards({ shardCount: SHARDS, percent: 20 });

let sim: DiscordSimHandle;
let production: BotProcess;
let canary: BotProcess;
let dir: string;
let traffic: NodeJS.Timeout | undefined;
/** Share of the canary's interactions whose answer the local Discord refuses with a 500 (a broken release). */
let canaryFailureShare = 0;
let sent = 0;

/** Sends `perTick` interactions every 50 ms over all guilds, breaking a share of the canary's answers. */
function startTraffic(perTick: number): void {
  const guilds = sim.world.guilds;
  traffic = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const guild = guilds[(sent * 7919) % guilds.length];
      sent++;
      if (!guild) continue;
      const interaction = sim.sendInteraction({ command: 'ping', guildId: guild.id });
      const onCanary = plan.canary.includes(interaction.shardId);
      // Deterministic: every k-th canary interaction fails, k set by the share.
      if (onCanary && canaryFailureShare > 0 && sent % Math.round(1 / canaryFailureShare) === 0) {
        // Enough 500s to outlast discord.js's retries of the reply and of the error reply.
        sim.faults.rest({ status: 500, count: 20, path: `/interactions/${interaction.id}/` });
      }
    }
  }, 50);
}

async function monitor(
  args: string[],
): Promise<{ code: number; verdict: { verdict: string; summary: string } }> {
  const result = await run(
    process.execPath,
    ['--import', 'tsx', 'apps/qsb/src/main.ts', 'monitor', ...args],
    {
      cwd: root,
      timeout: 200_000,
    },
  ).then(
    (ok) => ({ code: 0, stdout: ok.stdout }),
    (error: { code: number; stdout: string; stderr: string }) => {
      if (typeof error.code !== 'number' || error.code >= 3)
        throw new Error(`qsb monitor failed: ${error.stderr}`);
      return { code: error.code, stdout: error.stdout };
    },
  );
  return { code: result.code, verdict: JSON.parse(result.stdout) };
}

async function analyze(
  recording: string,
): Promise<{ code: number; verdict: { verdict: string; summary: string } }> {
  const args = ['--baseline', join(recording, 'production.prom'), '--canary', join(recording, 'canary.prom')];
  const result = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'apps/qsb/src/main.ts',
      'analyze',
      ...args,
      '--config',
      join(dir, 'judge.json'),
      '--min-duration',
      '20s',
      // The monitor's window: the boundaries of every look depend on it.
      '--duration',
      '100s',
      '--json',
    ],
    { cwd: root },
  ).then(
    (ok) => ({ code: 0, stdout: ok.stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  return { code: result.code, verdict: JSON.parse(result.stdout) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-monitor-'));
  // The defaults ask for thousands of interactions before promoting (0.1 pp of errors); this run has a
  // few thousand in a minute, so it tolerates 1 pp of errors and 50% of latency.
  const judge = await import('@qsb/canary');
  const config = structuredClone(judge.DefaultJudgeConfigInput) as {
    metrics: { name: string; tolerance?: object }[];
  };
  for (const metric of config.metrics) {
    if (metric.name === 'errors') metric.tolerance = { relative: 2, absolute: 0.01 };
    if (metric.name === 'latency') metric.tolerance = { relative: 1.5, absolute: 0.05 };
  }
  await writeFile(join(dir, 'judge.json'), JSON.stringify(config));

  sim = await startDiscordSim({
    guilds: 400,
    shards: SHARDS,
    identifyWindowMs: 500,
    heartbeatIntervalMs: 5_000,
    seed: 9,
  });
  const common = {
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.apiUrl,
    SHARD_COUNT: String(SHARDS),
    SHARD_PERCENT: '20',
    IDENTIFY_WINDOW_MS: '700',
    LOG_LEVEL: 'info',
  };
  production = startBotProcess({ ...common, CANARY: 'false', QSB_VERSION: 'v1' });
  canary = startBotProcess({ ...common, CANARY: 'true', QSB_VERSION: 'v2' });
  await Promise.all([production.waitReady(), canary.waitReady()]);
  startTraffic(6);
}, 120_000);

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  await Promise.all([production?.stop(), canary?.stop()]);
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('qsb monitor against the local Discord', () => {
  it('promotes a healthy canary, and qsb analyze agrees on the recording', async () => {
    const recording = join(dir, 'healthy');
    const { code, verdict } = await monitor([
      ...['--production', `${await production.url()}/metrics`, '--canary', `${await canary.url()}/metrics`],
      ...['--duration', '100s', '--interval', '1s', '--min-duration', '20s'],
      ...['--config', join(dir, 'judge.json'), '--record', recording, '--json'],
    ]);
    expect(verdict.verdict, verdict.summary).toBe('promote');
    expect(code).toBe(0);
    const offline = await analyze(recording);
    expect(offline.verdict.verdict, offline.verdict.summary).toBe('promote');
    expect(offline.code).toBe(0);
  }, 240_000);

  it('rolls back a canary whose answers fail, and qsb analyze agrees on the recording', async () => {
    canaryFailureShare = 0.2;
    const recording = join(dir, 'regressed');
    const { code, verdict } = await monitor([
      ...['--production', `${await production.url()}/metrics`, '--canary', `${await canary.url()}/metrics`],
      ...['--duration', '100s', '--interval', '1s', '--min-duration', '20s'],
      ...['--config', join(dir, 'judge.json'), '--record', recording, '--json'],
    ]);
    expect(verdict.verdict).toBe('rollback');
    expect(code).toBe(1);
    const offline = await analyze(recording);
    expect(offline.verdict.verdict, offline.verdict.summary).toBe('rollback');
    expect(offline.code).toBe(1);
  }, 240_000);
});
