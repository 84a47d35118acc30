import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from './support/bot-process.ts';
import { waitFor } from './support/wait.ts';

// apps/example-bot: one command and one call. Everything else (shards, metrics, HTTP, shutdown) is the
// runtime's.
let sim: DiscordSimHandle;
let bot: BotProcess;

beforeAll(async () => {
  sim = await startDiscordSim({ guilds: 10, shards: 2, identifyWindowMs: 100 });
  bot = startBotProcess(
    { DISCORD_TOKEN: sim.token, DISCORD_API_URL: sim.apiUrl, SHARD_PERCENT: '0', IDENTIFY_WINDOW_MS: '150' },
    'apps/example-bot/src/main.ts',
  );
  await bot.waitReady();
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await sim?.close();
});

describe('the example bot', () => {
  it('registers its one command and answers it on every shard', async () => {
    const headers = { authorization: `Bot ${sim.token}` };
    const app = (await (await fetch(`${sim.apiUrl}/v10/applications/@me`, { headers })).json()) as {
      id: string;
    };
    const registered = (await (
      await fetch(`${sim.apiUrl}/v10/applications/${app.id}/commands`, { headers })
    ).json()) as { name: string }[];
    expect(registered.map((c) => c.name)).toEqual(['hello']);
    const sent = sim.world.guilds.map((g) => sim.sendInteraction({ command: 'hello', guildId: g.id }));
    sent.push(sim.sendInteraction({ command: 'hello', dm: true }));
    await waitFor('the answers', () => (sim.stats().interactions.answered.zero === 0 ? true : undefined));
    const records = new Map(sim.stats().interactions.list.map((r) => [r.id, r]));
    expect(new Set(sent.map((i) => i.shardId))).toEqual(new Set([0, 1]));
    for (const i of sent) {
      expect(records.get(i.id)?.answers.map((a) => a.outcome)).toEqual(['accepted']);
      expect(records.get(i.id)?.answers[0]?.userAgent).toContain('example-bot/production');
    }
  });

  it('serves the runtime’s metrics and stops on SIGTERM with exit code 0', async () => {
    const text = await (await fetch(`${await bot.url()}/metrics`)).text();
    expect(text).toMatch(/qsb_interactions_total\{command="hello",outcome="ok"[^}]*\} 11/);
    expect(await bot.stop()).toBe(0);
    expect(bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });
});
