import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { FileStore } from '@qsb/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess } from './support/bot-process.ts';
import { waitFor } from './support/wait.ts';

// A process that stalls past its session leases (a loaded machine, a long GC) while another takes its
// shards: when it runs again it answers nothing there, waits, and resumes what the other one saves.
const SHARDS = 4;

/** Polls an asynchronous `probe` every 50 ms until it returns a value. */
async function waitForAsync<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a process that lost its session leases while paused', () => {
  let sim: DiscordSimHandle;
  let dir: string;
  let storeFile: string;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    sim = await startDiscordSim({
      guilds: 40,
      shards: SHARDS,
      identifyWindowMs: 200,
      heartbeatIntervalMs: 5000,
    });
    dir = await mkdtemp(join(tmpdir(), 'qsb-lease-loss-'));
    storeFile = join(dir, 'store.json');
  }, 60_000);

  afterAll(async () => {
    for (const bot of bots) if (bot.child.signalCode === null) bot.child.kill('SIGCONT');
    await Promise.all(bots.map((b) => b.stop()));
    await sim?.close();
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
      QSB_STORE: `file:${storeFile}`,
      QSB_SESSION_LEASE_TTL_MS: '1500',
    });
    bots.push(bot);
    return bot;
  };
  const guildOn = (shard: number) =>
    sim.world.guilds.find((g) => sim.shardOf(g.id, SHARDS) === shard)?.id ?? '';
  const answersOf = (id: string) =>
    sim
      .stats()
      .interactions.list.find((r) => r.id === id)
      ?.answers.map((a) => a.outcome) ?? [];
  const oneOnEachShard = async () => {
    const sent = [0, 1, 2, 3].map((shard) =>
      sim.sendInteraction({ command: 'ping', guildId: guildOn(shard) }),
    );
    await waitFor('an answer on every shard', () =>
      sent.every((i) => answersOf(i.id).length > 0) ? true : undefined,
    );
    return sent.map((i) => answersOf(i.id));
  };

  it('stops answering, waits while the other process holds the shards, then resumes its saved sessions', async () => {
    const first = start();
    await first.waitReady();
    const store = await new FileStore(storeFile).open();
    try {
      first.child.kill('SIGSTOP');
      await waitForAsync('the leases of the paused process to expire', async () =>
        (await store.leases('session:')).length === 0 ? true : undefined,
      );
      const second = start();
      await second.waitReady();
      const secondOwner = (await store.holder('session:0'))?.owner ?? '';
      expect(secondOwner).toContain(String(second.child.pid));
      first.child.kill('SIGCONT');

      await waitFor('the paused process to see every loss and wait', () =>
        first.logs.filter((l) => l.msg === 'waiting for the session lease held by another process').length ===
        SHARDS
          ? true
          : undefined,
      );
      const losses = first.logs.filter(
        (l) => l.msg === 'lost the session lease: stopped answering on the shard',
      );
      expect(losses.map((l) => l.reason)).toEqual(Array(SHARDS).fill(`held by ${secondOwner}`));
      // One holder per shard: the second answers, the first neither answers nor holds a session.
      expect(await oneOnEachShard()).toEqual(Array(SHARDS).fill(['accepted']));
      for (let shard = 0; shard < SHARDS; shard++) {
        expect((await store.holder(`session:${shard}`))?.owner).toBe(secondOwner);
      }

      // The second goes away: the first takes every shard back, resuming the sessions it saved.
      expect(await second.stop()).toBe(0);
      await waitFor('the first process to resume every shard', () =>
        first.logs.filter((l) => l.msg === 'shard resumed').length === SHARDS ? true : undefined,
      );
      expect(first.logs.filter((l) => l.msg === 'reclaiming the shard')).toHaveLength(SHARDS);
      expect(await oneOnEachShard()).toEqual(Array(SHARDS).fill(['accepted']));
      expect(sim.stats().interactions.answered.twoOrMore).toBe(0);
      expect(await first.stop()).toBe(0);
    } finally {
      await store.close();
    }
  }, 90_000);
});
