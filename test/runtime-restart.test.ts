import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, type SimInteraction, startDiscordSim } from '@qsb/discord-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from './support/bot-process.ts';
import { type RedisServer, startRedis } from './support/redis.ts';
import { waitFor } from './support/wait.ts';

// A rolling restart as Heroku does it: SIGTERM to the old process and the new one started at once,
// under traffic. The new process resumes every session the old one saved in the store.
const SHARDS = 4;

describe.each(['file', 'redis'] as const)('a restart through the %s store', (kind) => {
  let sim: DiscordSimHandle;
  let redis: RedisServer | undefined;
  let dir: string;
  let store: string;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    sim = await startDiscordSim({
      guilds: 80,
      shards: SHARDS,
      identifyWindowMs: 200,
      heartbeatIntervalMs: 5000,
    });
    dir = await mkdtemp(join(tmpdir(), 'qsb-restart-'));
    if (kind === 'redis') redis = await startRedis();
    store = kind === 'redis' ? `${redis?.url}/0?prefix=qsb-test:` : `file:${join(dir, 'store.json')}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(bots.map((b) => b.stop()));
    await sim?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = () => {
    const bot = startBotProcess({
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.apiUrl,
      SHARD_COUNT: String(SHARDS),
      SHARD_PERCENT: '0',
      IDENTIFY_WINDOW_MS: '250',
      LOG_LEVEL: 'info',
      QSB_STORE: store,
      // The old process answers until the new one asks for each session.
      QSB_HANDOFF_WAIT_MS: '20000',
    });
    bots.push(bot);
    return bot;
  };

  it('resumes every shard with a replay and no identify, answering each interaction exactly once', async () => {
    const old = start();
    await old.waitReady();
    const identifies = sim.stats().identifies.length;
    const sent: SimInteraction[] = [];
    const send = () => {
      const guild = sim.world.guilds[sent.length % sim.world.guilds.length];
      if (guild) sent.push(sim.sendInteraction({ command: 'ping', guildId: guild.id }));
    };
    // Traffic through the whole restart.
    const traffic = setInterval(send, 10);
    try {
      await waitFor('traffic before the restart', () => (sent.length >= 20 ? true : undefined));
      const stopping = old.stop();
      const next = start();
      expect(await stopping).toBe(0);
      await next.waitReady();
      const resumedAt = sent.length;
      await waitFor('traffic after the restart', () => (sent.length >= resumedAt + 20 ? true : undefined));
    } finally {
      clearInterval(traffic);
    }
    // Answered, or past its deadline (the runtime does not try one that expired before it arrived).
    await waitFor('every interaction answered or expired', () => {
      const now = sim.stats({ interactionList: false }).now;
      return sim.stats().interactions.list.every((r) => r.answers.length > 0 || r.dispatchedAt < now - 3500)
        ? true
        : undefined;
    });
    const stats = sim.stats();
    expect(stats.identifies.length).toBe(identifies);
    const resumed = stats.resumes.filter((r) => r.outcome === 'resumed');
    expect(resumed).toHaveLength(SHARDS);
    expect(resumed.reduce((n, r) => n + r.replayed, 0)).toBeGreaterThan(0);
    expect(stats.invalidSessions).toEqual([]);
    // The old process answered until the new one took each session over: nothing lost, nothing twice.
    expect(stats.interactions.answered.twoOrMore).toBe(0);
    const records = new Map(stats.interactions.list.map((r) => [r.id, r]));
    for (const i of sent) expect(records.get(i.id)?.answers.map((a) => a.outcome)).toEqual(['accepted']);
    expect(sent.length).toBeGreaterThan(60);
    expect(old.logs.filter((l) => l.msg === 'handing the session over')).toHaveLength(SHARDS);
    const next = bots[bots.length - 1];
    expect(next?.logs.filter((l) => l.msg === 'shard resumed')).toHaveLength(SHARDS);
    expect(next?.logs.some((l) => l.msg === 'shard ready')).toBe(false);
  }, 90_000);

  it('never lets two live processes hold one session: a third process waits for the leases', async () => {
    const intruder = start();
    await waitFor('the intruder to wait for the leases', () =>
      intruder.logs.filter((l) => l.msg === 'waiting for the session lease held by another process')
        .length === SHARDS
        ? true
        : undefined,
    );
    for (const shard of sim.stats().shards) expect(shard.openSessions).toHaveLength(1);
    expect((await fetch(`${await intruder.url()}/readyz`)).status).toBe(503);
    expect(await intruder.stop()).toBe(0);
    for (const shard of sim.stats().shards) expect(shard.openSessions).toHaveLength(1);
  }, 60_000);
});
