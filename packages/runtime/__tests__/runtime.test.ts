import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import { TestStore } from './support/memory-store.ts';
import { startTestRuntime } from './support/runtime.ts';

let sim: DiscordSimHandle | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await sim?.close();
  sim = undefined;
});

const guildOn = (s: DiscordSimHandle, shard: number, count = 4) =>
  s.world.guilds.find((g) => s.shardOf(g.id, count) === shard)?.id ?? '';

describe('startRuntime against the local Discord', () => {
  it('answers on each READY shard, and a restart resumes every shard with a replay and no identify', async () => {
    sim = await startDiscordSim({ guilds: 40, shards: 4, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    const store = new TestStore();
    const first = await startTestRuntime(s, store);
    stops.push(() => first.runtime.stop());
    await first.runtime.ready;
    const a = s.sendInteraction({ command: 'ping', guildId: guildOn(s, 1) });
    await waitFor('the first answer', () => (s.stats().interactions.answered.zero === 0 ? true : undefined));
    expect(
      s
        .stats()
        .interactions.list.find((r) => r.id === a.id)
        ?.answers.map((x) => x.outcome),
    ).toEqual(['accepted']);
    // Per-shard counters exist at 0 from the start.
    const text = await (await fetch(`http://127.0.0.1:${first.runtime.port}/metrics`)).text();
    for (const shard of [0, 1, 2, 3]) {
      expect(text).toContain(`qsb_shard_reconnects_total{shard="${shard}"`);
      expect(text).toContain(`qsb_shard_invalid_sessions_total{shard="${shard}"`);
    }

    await first.runtime.stop();
    const identifies = s.stats().identifies.length;
    // Sent while no process holds the shards: Discord buffers them for the sessions.
    const missed = [0, 1, 2, 3].map((shard) =>
      s.sendInteraction({ command: 'ping', guildId: guildOn(s, shard) }),
    );
    const second = await startTestRuntime(s, store);
    stops.push(() => second.runtime.stop());
    await second.runtime.ready;
    await waitFor('the missed interactions', () =>
      s.stats().interactions.answered.zero === 0 ? true : undefined,
    );
    const stats = s.stats();
    expect(stats.identifies.length).toBe(identifies);
    expect(stats.resumes.filter((r) => r.outcome === 'resumed')).toHaveLength(4);
    expect(stats.resumes.every((r) => r.replayed >= 1)).toBe(true);
    for (const m of missed) {
      expect(stats.interactions.list.find((r) => r.id === m.id)?.answers.map((x) => x.outcome)).toEqual([
        'accepted',
      ]);
    }
    expect(stats.interactions.answered.twoOrMore).toBe(0);
    expect(second.lines.filter((l) => l.msg === 'shard resumed')).toHaveLength(4);
  });
});
