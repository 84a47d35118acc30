import { describe, expect, it } from 'vitest';
import {
  DiscordSimDefaults,
  DiscordSimError,
  type DiscordSimOptions,
  resolveSimOptions,
  startDiscordSim,
} from '../src/index.ts';

describe('resolveSimOptions', () => {
  it('fills the defaults', () => {
    expect(resolveSimOptions({ guilds: 3 })).toMatchObject({ ...DiscordSimDefaults, guilds: 3 });
  });

  it.each<[DiscordSimOptions, string]>([
    [{ guilds: -1 }, 'guilds -1 must be an integer from 0 to 1000000'],
    [{ shards: 0 }, 'shards 0 must be an integer from 1'],
    [{ maxConcurrency: 1.5 }, 'maxConcurrency 1.5 must be an integer from 1 to 1024'],
    [{ port: 70_000 }, 'port 70000 must be an integer from 0 to 65535'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs 0 must be 1..3600000'],
    [{ token: '' }, 'token "" must be 1 to 200 printable ASCII characters'],
    [{ replayBufferSize: 0 }, 'replayBufferSize 0 must be 1..1000000'],
  ])('refuses %j, naming the option and the value', (options, message) => {
    expect(() => resolveSimOptions(options)).toThrow(message);
    try {
      resolveSimOptions(options);
    } catch (error) {
      expect(error).toBeInstanceOf(DiscordSimError);
      expect((error as DiscordSimError).code).toBe('INVALID_OPTION');
      expect((error as DiscordSimError).name).toBe('DiscordSimError[INVALID_OPTION]');
    }
  });

  it('startDiscordSim refuses bad options before listening', async () => {
    await expect(startDiscordSim({ shards: 0 })).rejects.toBeInstanceOf(DiscordSimError);
  });

  it('sendInteraction refuses an unknown guild and works without any session', async () => {
    const s = await startDiscordSim({ guilds: 2 });
    try {
      expect(() => s.sendInteraction({ guildId: '1', command: 'x' })).toThrow('guild 1 is not in the world');
      const sent = s.sendInteraction({ command: 'x' });
      expect(sent.sessionIds).toEqual([]);
      expect(s.stats().interactions.answered.zero).toBe(1);
    } finally {
      await s.close();
    }
  });
});
