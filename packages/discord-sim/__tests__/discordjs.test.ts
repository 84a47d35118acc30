import { Client, Events, GatewayIntentBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type DiscordSimHandle, startDiscordSim } from '../src/index.ts';

// The unmodified discord.js 14 Client, pointed at the local Discord only through rest.api.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(options: Parameters<typeof startDiscordSim>[0]): Promise<DiscordSimHandle> {
  const s = await startDiscordSim(options);
  cleanups.push(() => s.close());
  return s;
}

function client(s: DiscordSimHandle, shards: number[], shardCount: number, appendix = 'qsb-test'): Client {
  const c = new Client({
    intents: [GatewayIntentBits.Guilds],
    shards,
    shardCount,
    rest: { api: s.apiUrl, userAgentAppendix: appendix },
  });
  cleanups.push(() => c.destroy());
  return c;
}

describe('discord.js 14 against the local Discord', () => {
  it('reaches ready with exactly the guilds of its shards, and answers a slash command once', async () => {
    const s = await sim({ guilds: 40, shards: 4, seed: 7 });
    const c = client(s, [1, 3], 4);
    const created: string[] = [];
    c.on(Events.Raw, (p: { t?: string; d?: { id?: string } }) => {
      if (p.t === 'GUILD_CREATE' && p.d?.id) created.push(p.d.id);
    });
    const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
    await c.login(s.token);
    await ready;

    const expected = s.world.guilds.filter((g) => [1, 3].includes(s.shardOf(g.id, 4))).map((g) => g.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(40);
    expect(created.sort()).toEqual([...expected].sort());
    expect([...c.guilds.cache.keys()].sort()).toEqual([...expected].sort());

    // Registration through the application (PUT /applications/{id}/commands).
    const registered = await c.application?.commands.set([{ name: 'ping', description: 'Replies pong' }]);
    expect(registered?.first()?.name).toBe('ping');

    const replied = new Promise<string>((resolve, reject) => {
      c.on(Events.InteractionCreate, (interaction) => {
        if (!interaction.isChatInputCommand()) return;
        interaction
          .reply(`pong ${interaction.options.getString('word') ?? ''}`)
          .then(() => resolve(interaction.id), reject);
      });
    });
    const guildId = expected[0] ?? '';
    const sent = s.sendInteraction({ guildId, command: 'ping', options: { word: 'hi' } });
    expect(sent.sessionIds).toHaveLength(1);
    expect(await replied).toBe(sent.id);

    const stats = s.stats();
    expect(stats.interactions.answered).toEqual({ zero: 0, one: 1, twoOrMore: 0 });
    const record = stats.interactions.list.find((i) => i.id === sent.id);
    expect(record?.answers[0]?.outcome).toBe('accepted');
    expect(record?.answers[0]?.userAgent).toContain('qsb-test');
    expect(record?.sessionIds).toEqual(sent.sessionIds);
    expect(stats.identifies.map((i) => [i.shard?.[0], i.outcome])).toEqual([
      [1, 'ready'],
      [3, 'ready'],
    ]);
    expect(stats.shards.find((x) => x.shardId === 1)?.openSessions).toHaveLength(1);
    expect(stats.shards.find((x) => x.shardId === 0)?.openSessions).toHaveLength(0);
  });
});
