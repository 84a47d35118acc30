import { once } from 'node:events';
import { startDiscordSim } from '@qsb/discord-sim';
import { describe, expect, it } from 'vitest';
import { startBotProcess } from './support/bot-process.ts';
import { waitFor } from './support/wait.ts';

// A malformed environment stops the bot before it connects anywhere: one line, exit code 2.
describe('bot start-up with a malformed environment', () => {
  it.each([
    [
      { SHARD_PERCENT: 'abc' },
      'SHARD_PERCENT="abc": must be a number from 0 to 100 with at most two decimals',
    ],
    [{ CANARY: 'maybe' }, 'CANARY="maybe": must be true, false, 1 or 0'],
    [{ SHARD_COUNT: '0' }, 'SHARD_COUNT="0": must be an integer from 1 to'],
    [{ SHARD_COUNT: '' }, 'SHARD_COUNT="": must be an integer from 1 to'],
    [{ DISCORD_TOKEN: '' }, 'DISCORD_TOKEN is not set'],
    [{ FLAGS_FILE: 'flags/no-such-file.json' }, 'FLAGS_FILE: invalid flags file'],
    [{ QSB_STORE: 'mongodb://u:hunter2@h' }, 'QSB_STORE="mongodb://u:***@h" is not a store'],
  ])('refuses %j', async (override, message) => {
    const sim = await startDiscordSim({ guilds: 4, shards: 2 });
    try {
      const bot = startBotProcess({
        DISCORD_TOKEN: sim.token,
        DISCORD_API_URL: sim.apiUrl,
        SHARD_COUNT: '2',
        CANARY: 'true',
        ...override,
      });
      const [code] = (await once(bot.child, 'exit')) as [number | null];
      expect(code).toBe(2);
      const lines = bot.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(sim.stats().rest.requests).toBe(0);
      expect(sim.stats().identifies).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe('bot start-up with a token Discord refuses', () => {
  it('exits 1 naming DISCORD_TOKEN, without printing the token', async () => {
    const sim = await startDiscordSim({ guilds: 4, shards: 2 });
    try {
      const wrong = 'MTAwMDAwMDAwMDAwMDAwMDAw.Wrong0.not-the-token-of-this-bot-000000';
      const bot = startBotProcess({
        DISCORD_TOKEN: wrong,
        DISCORD_API_URL: sim.apiUrl,
        SHARD_COUNT: '2',
        CANARY: 'true',
      });
      const [code] = (await once(bot.child, 'exit')) as [number | null];
      expect(code).toBe(1);
      expect(bot.stderr()).toContain('DISCORD_TOKEN was refused by Discord');
      expect(bot.stderr()).not.toContain(wrong);
      for (const line of bot.logs) expect(JSON.stringify(line)).not.toContain(wrong);
      expect(sim.stats().identifies).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe('SIGTERM during boot', () => {
  it('stops cleanly with exit code 0, saying so, before every shard is up', async () => {
    const sim = await startDiscordSim({ guilds: 8, shards: 4, identifyWindowMs: 1000 });
    try {
      const bot = startBotProcess({
        DISCORD_TOKEN: sim.token,
        DISCORD_API_URL: sim.apiUrl,
        SHARD_COUNT: '4',
        SHARD_PERCENT: '0',
        IDENTIFY_WINDOW_MS: '1000',
        LOG_LEVEL: 'info',
      });
      // The first line is the shard plan: the process is booting, no shard is READY yet.
      await waitFor('the first log line', () => (bot.logs.length > 0 ? true : undefined), 60_000);
      const exited = once(bot.child, 'exit') as Promise<[number | null, string | null]>;
      bot.child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(bot.logs.some((l) => l.msg === 'shutting down')).toBe(true);
      expect(bot.logs.some((l) => l.msg === 'stopped')).toBe(true);
      expect(bot.logs.some((l) => l.msg === 'every owned shard is ready')).toBe(false);
    } finally {
      await sim.close();
    }
  }, 90_000);
});
