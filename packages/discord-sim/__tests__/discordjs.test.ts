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

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function ready(c: Client, token: string): Promise<void> {
  const done = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
  await c.login(token);
  await done;
}

/** Replies to every slash command; returns the ids it answered (and the errors it got). */
function replier(c: Client): { answered: string[]; errors: unknown[] } {
  const out = { answered: [] as string[], errors: [] as unknown[] };
  c.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    interaction.reply('pong').then(
      () => out.answered.push(interaction.id),
      (error: unknown) => out.errors.push(error),
    );
  });
  return out;
}

describe('discord.js 14 against the local Discord', () => {
  it('reaches ready with exactly the guilds of its shards, and answers a slash command once', async () => {
    const s = await sim({ guilds: 40, shards: 4, seed: 7, maxConcurrency: 4 });
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
    expect(stats.interactions.answered).toEqual({ zero: 0, one: 1, twoOrMore: 0, expired: 0 });
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

  it('two clients on the same shard both get the interaction; the second answer is refused with 40060 and counted', async () => {
    const s = await sim({ guilds: 6, identifyWindowMs: 0 });
    const canary = client(s, [0], 1, 'canary');
    const production = client(s, [0], 1, 'production');
    await ready(canary, s.token);
    await ready(production, s.token);
    const a = replier(canary);
    const b = replier(production);
    const sent = s.sendInteraction({ command: 'ping' });
    expect(sent.sessionIds).toHaveLength(2);
    await until(
      () => a.answered.length + a.errors.length + b.answered.length + b.errors.length === 2,
      'both answers',
    );
    expect(a.answered.length + b.answered.length).toBe(1);
    expect(a.errors.length + b.errors.length).toBe(1);
    expect(String([...a.errors, ...b.errors][0])).toContain('already been acknowledged');
    const record = s.stats().interactions.list[0];
    expect(record?.answers.map((x) => x.outcome)).toEqual(['accepted', 'already-acknowledged']);
    expect(record?.answers.map((x) => x.userAgent?.split(' ').at(-1)).sort()).toEqual([
      'canary',
      'production',
    ]);
    expect(s.stats().interactions.answered.twoOrMore).toBe(1);
  });

  it('resumes after a dropped connection (4000) and after op 7, with no new IDENTIFY, and still answers', async () => {
    const s = await sim({ guilds: 4 });
    const c = client(s, [0], 1);
    await ready(c, s.token);
    const r = replier(c);
    s.faults.closeShard(0, 4000);
    await until(() => s.stats().resumes.some((x) => x.outcome === 'resumed'), 'a resume after 4000');
    s.faults.reconnect(0);
    await until(
      () => s.stats().resumes.filter((x) => x.outcome === 'resumed').length === 2,
      'a resume after op 7',
    );
    const sent = s.sendInteraction({ command: 'ping' });
    await until(() => r.answered.includes(sent.id), 'the answer');
    const stats = s.stats();
    expect(stats.identifies).toHaveLength(1);
    expect(stats.sessions).toHaveLength(1);
    expect(stats.interactions.answered.one).toBe(1);
  });

  it('two clients, each throttling only itself, identify one bucket inside the window: the second gets INVALID_SESSION', async () => {
    // Each Client throttles identifies only within itself, as two separate processes would.
    const s = await sim({ guilds: 8, shards: 4, maxConcurrency: 2, identifyWindowMs: 3_000 });
    const canary = client(s, [2], 4, 'canary');
    const production = client(s, [0], 4, 'production');
    await ready(production, s.token);
    await ready(canary, s.token);
    const outcomes = s.stats().identifies.map((i) => [i.shard?.[0], i.bucket, i.outcome]);
    expect(outcomes.slice(0, 2)).toEqual([
      [0, 0, 'ready'],
      [2, 0, 'rate-limited'],
    ]);
    expect(outcomes.at(-1)).toEqual([2, 0, 'ready']);
    expect(s.stats().invalidSessions[0]).toMatchObject({ resumable: false, reason: 'identify-rate-limited' });
  }, 30_000);

  it('detects unacknowledged heartbeats (zombie connection) and resumes', async () => {
    const s = await sim({ guilds: 2, heartbeatIntervalMs: 400 });
    const c = client(s, [0], 1);
    await ready(c, s.token);
    s.faults.setHeartbeatAcks(0, false);
    await until(() => s.stats().resumes.length > 0, 'a resume after missing ACKs');
    s.faults.setHeartbeatAcks(0, true);
    expect(s.stats().resumes[0]?.outcome).toBe('resumed');
    expect(s.stats().identifies).toHaveLength(1);
  });

  it('retries an answer that got 429 with retry_after, and the interaction is answered once', async () => {
    const s = await sim({ guilds: 2 });
    const c = client(s, [0], 1);
    await ready(c, s.token);
    const r = replier(c);
    s.faults.rest({ status: 429, path: '/callback', retryAfter: 0.2 });
    const sent = s.sendInteraction({ command: 'ping' });
    await until(() => r.answered.includes(sent.id) || r.errors.length > 0, 'the answer');
    expect(r.errors).toEqual([]);
    const stats = s.stats();
    expect(stats.rest.byStatus['429']).toBe(1);
    expect(stats.interactions.answered).toEqual({ zero: 0, one: 1, twoOrMore: 0, expired: 0 });
    expect(stats.interactions.list[0]?.answers[0]?.latencyMs).toBeGreaterThanOrEqual(200);
  });
});
