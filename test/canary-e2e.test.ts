import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { planShards } from '@qsb/sharding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess, sumMetric } from './support/bot-process.ts';
import { waitFor } from './support/wait.ts';

// The simulator, a production process and a canary process, booting together as on a deploy.
const SHARDS = 10;
const PERCENT = 20;
const plan = planShards({ shardCount: SHARDS, percent: PERCENT });

let sim: DiscordSimHandle;
let production: BotProcess;
let canary: BotProcess;

/** Waits until every interaction sent so far has at least one answer or its deadline passed. */
async function settle(): Promise<void> {
  await waitFor('every interaction to be answered', () => {
    const { interactions } = sim.stats();
    return interactions.answered.zero === 0 ? true : undefined;
  });
}

beforeAll(async () => {
  sim = await startDiscordSim({
    guilds: 300,
    shards: SHARDS,
    maxConcurrency: 1,
    identifyWindowMs: 500,
    heartbeatIntervalMs: 5_000,
    seed: 42,
  });
  const common = {
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.apiUrl,
    SHARD_COUNT: String(SHARDS),
    SHARD_PERCENT: String(PERCENT),
    // A margin over the local Discord's 500 ms window, so that a loaded test machine stays within it.
    IDENTIFY_WINDOW_MS: '700',
    LOG_LEVEL: 'info',
  };
  // Both at the same moment, as a deploy of both apps would.
  production = startBotProcess({ ...common, CANARY: 'false', QSB_VERSION: 'v1' });
  canary = startBotProcess({ ...common, CANARY: 'true', QSB_VERSION: 'v2' });
  await Promise.all([production.waitReady(), canary.waitReady()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([production?.stop(), canary?.stop()]);
  await sim?.close();
});

describe('canary and production against the local Discord', () => {
  it('boot together without one INVALID_SESSION, each on exactly its own shards', async () => {
    const stats = sim.stats();
    expect(stats.invalidSessions).toEqual([]);
    const ready = stats.identifies.filter((i) => i.outcome === 'ready');
    expect(ready.map((i) => i.shard?.[0]).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: SHARDS }, (_, i) => i),
    );
    for (const shard of stats.shards) expect(shard.openSessions).toHaveLength(1);
    const readyShards = async (bot: BotProcess) => {
      const text = await (await fetch(`${await bot.url()}/metrics`)).text();
      return Array.from({ length: SHARDS }, (_, id) => id).filter(
        (id) => sumMetric(text, 'qsb_shard_ready', { shard: String(id) }) === 1,
      );
    };
    expect(await readyShards(canary)).toEqual(plan.canary);
    expect(await readyShards(production)).toEqual(plan.production);
  });

  it('registers the slash commands once, from production alone', async () => {
    const headers = { authorization: `Bot ${sim.token}` };
    const app = (await (await fetch(`${sim.apiUrl}/v10/applications/@me`, { headers })).json()) as {
      id: string;
    };
    const registered = (await (
      await fetch(`${sim.apiUrl}/v10/applications/${app.id}/commands`, { headers })
    ).json()) as {
      name: string;
    }[];
    expect(registered.map((c) => c.name).sort()).toEqual(['ping', 'quantum', 'report']);
    expect(production.logs.some((l) => l.msg === 'slash commands registered')).toBe(true);
    expect(canary.logs.some((l) => l.msg === 'slash commands registered')).toBe(false);
  });

  it('answers 600 interactions exactly once, each by the deployment that owns its guild', async () => {
    const guilds = sim.world.guilds;
    const sent = [];
    for (let i = 0; i < 600; i++) {
      const guild = guilds[(i * 7919) % guilds.length];
      if (!guild) throw new Error('no guild');
      sent.push(sim.sendInteraction({ command: 'ping', guildId: guild.id }));
    }
    await settle();
    const records = new Map(sim.stats().interactions.list.map((r) => [r.id, r]));
    let onCanary = 0;
    for (const interaction of sent) {
      const record = records.get(interaction.id);
      expect(record?.answers).toHaveLength(1);
      expect(record?.answers[0]?.outcome).toBe('accepted');
      const owner = plan.canary.includes(interaction.shardId) ? 'canary' : 'production';
      if (owner === 'canary') onCanary++;
      expect(record?.answers[0]?.userAgent).toContain(`quantum-superbot/${owner}`);
    }
    expect(onCanary).toBeGreaterThan(0);
    expect(onCanary).toBeLessThan(600);

    const metricsOf = async (bot: BotProcess) => (await fetch(`${await bot.url()}/metrics`)).text();
    const canaryCount = sumMetric(await metricsOf(canary), 'qsb_interactions_total', {
      command: 'ping',
      outcome: 'ok',
    });
    const productionCount = sumMetric(await metricsOf(production), 'qsb_interactions_total', {
      command: 'ping',
      outcome: 'ok',
    });
    expect(canaryCount).toBe(onCanary);
    expect(productionCount).toBe(600 - onCanary);
    expect(await metricsOf(canary)).toContain('deployment="canary",version="v2"');
  });

  it('loses no interaction across a resumable close and an op 7 reconnect', async () => {
    const shard = plan.canary[0] ?? 1;
    const guild = sim.world.guilds.find((g) => sim.shardOf(g.id, SHARDS) === shard);
    if (!guild) throw new Error(`no guild on shard ${shard}`);
    const before = sim.stats().resumes.length;
    const sent = [];
    sim.faults.closeShard(shard, 4000, 'unknown error');
    for (let i = 0; i < 20; i++) sent.push(sim.sendInteraction({ command: 'ping', guildId: guild.id }));
    await waitFor('the resume after a 4000 close', () =>
      sim.stats().resumes.length > before ? true : undefined,
    );
    sim.faults.reconnect(shard);
    for (let i = 0; i < 20; i++) sent.push(sim.sendInteraction({ command: 'ping', guildId: guild.id }));
    await waitFor('the resume after op 7', () =>
      sim.stats().resumes.length > before + 1 ? true : undefined,
    );
    await settle();
    const records = new Map(sim.stats().interactions.list.map((r) => [r.id, r]));
    for (const interaction of sent) {
      expect(records.get(interaction.id)?.answers.map((a) => a.outcome)).toEqual(['accepted']);
    }
    expect(sim.stats().resumes.filter((r) => r.outcome === 'resumed').length).toBeGreaterThanOrEqual(
      before + 2,
    );
  });

  it('counts a user report, and turns /quantum on for the canary alone through its flag', async () => {
    const onCanary = sim.world.guilds.find((g) => plan.canary.includes(sim.shardOf(g.id, SHARDS)));
    const onProduction = sim.world.guilds.find((g) => plan.production.includes(sim.shardOf(g.id, SHARDS)));
    if (!onCanary || !onProduction) throw new Error('no guild on one of the deployments');
    sim.sendInteraction({ command: 'report', guildId: onCanary.id, options: { text: 'the bot is slow' } });
    sim.sendInteraction({ command: 'quantum', guildId: onCanary.id });
    sim.sendInteraction({ command: 'quantum', guildId: onProduction.id });
    await settle();
    const canaryText = await (await fetch(`${await canary.url()}/metrics`)).text();
    const productionText = await (await fetch(`${await production.url()}/metrics`)).text();
    expect(sumMetric(canaryText, 'qsb_user_reports_total')).toBe(1);
    expect(
      canary.logs.some((l) => l.msg === 'user reported a problem' && l.report === 'the bot is slow'),
    ).toBe(true);
    expect(sumMetric(canaryText, 'qsb_flag_evaluations_total', { flag: 'quantum', result: 'on' })).toBe(1);
    expect(sumMetric(productionText, 'qsb_flag_evaluations_total', { flag: 'quantum', result: 'off' })).toBe(
      1,
    );
    expect(sumMetric(productionText, 'qsb_flag_evaluations_total', { flag: 'quantum', result: 'on' })).toBe(
      0,
    );
  });

  it('stops on SIGTERM within Heroku’s 30 s, exit code 0', async () => {
    const started = Date.now();
    expect(await canary.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(canary.logs.some((l) => l.msg === 'stopped')).toBe(true);
    // Closing the shards on purpose is not counted or logged as a reconnect.
    const stopping = canary.logs.findIndex((l) => String(l.msg).startsWith('stopping'));
    expect(stopping).toBeGreaterThan(0);
    expect(canary.logs.slice(stopping).filter((l) => l.msg === 'shard reconnecting')).toEqual([]);
  });

  it('never logs the token', () => {
    expect(canary.logs.length).toBeGreaterThan(10);
    for (const bot of [canary, production]) {
      for (const line of bot.logs) expect(JSON.stringify(line)).not.toContain(sim.token);
      expect(bot.stderr()).not.toContain(sim.token);
    }
  });
});
