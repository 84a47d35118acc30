import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import type { Lease } from '@qsb/store';
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

describe('a session lease lost while the process lives', () => {
  it('stops answering at once, waits while another process holds the lease, then takes the shard back', async () => {
    sim = await startDiscordSim({ guilds: 40, shards: 4, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    const store = new TestStore();
    const started = performance.now();
    // The runtime's clock moves with the store's: jumping the store past the TTL is a renewal too late.
    const now = () => store.clock + (performance.now() - started);
    const { runtime, lines } = await startTestRuntime(s, store, {}, { sessionLeaseTtlMs: 600, now });
    stops.push(() => runtime.stop());
    await runtime.ready;
    const answers = (id: string) =>
      s
        .stats()
        .interactions.list.find((r) => r.id === id)
        ?.answers.map((a) => a.outcome);

    // Every lease runs out at once; another process takes shard 1's before this one renews.
    store.clock += 1000;
    const other = (await store.acquire('session:1', 'production/web.2/other', 60_000)) as Lease;
    expect(other).toBeDefined();
    const inGap = s.sendInteraction({ command: 'ping', guildId: guildOn(s, 1) });
    await waitFor('the loss of every lease', () =>
      lines.filter((l) => l.msg === 'lost the session lease: stopped answering on the shard').length === 4
        ? true
        : undefined,
    );
    expect(lines.find((l) => String(l.msg).startsWith('lost') && l.shard === 1)?.reason).toBe(
      'held by production/web.2/other',
    );
    await waitFor('the wait for shard 1', () =>
      lines.find((l) => l.msg === 'waiting for the session lease held by another process' && l.shard === 1),
    );
    // The free shards come back; shard 1 stays closed while the other process holds it.
    await waitFor('shards 0, 2 and 3 back', () =>
      lines.filter((l) => l.msg === 'shard ready').length >= 4 + 3 ? true : undefined,
    );
    const onTwo = s.sendInteraction({ command: 'ping', guildId: guildOn(s, 2) });
    await waitFor('the answer on shard 2', () => (answers(onTwo.id)?.length ? true : undefined));
    expect(answers(onTwo.id)).toEqual(['accepted']);
    expect(answers(inGap.id)).toEqual([]);
    expect(s.stats().shards.find((x) => x.shardId === 1)?.openSessions).toEqual([]);
    expect(runtime.heldShards()).toEqual([0, 1, 2, 3]);

    // The other process lets go: shard 1 is claimed, connected and answering again.
    await store.release(other);
    await waitFor('shard 1 back', () =>
      lines.filter((l) => l.msg === 'shard ready').length >= 4 + 4 ? true : undefined,
    );
    const onOne = s.sendInteraction({ command: 'ping', guildId: guildOn(s, 1) });
    await waitFor('the answer on shard 1', () => (answers(onOne.id)?.length ? true : undefined));
    expect(answers(onOne.id)).toEqual(['accepted']);
    expect(s.stats().interactions.answered.twoOrMore).toBe(0);
    const reclaims = lines.filter((l) => l.msg === 'reclaiming the shard');
    expect(reclaims.map((l) => l.shard).sort()).toEqual([0, 1, 2, 3]);
    expect(String(reclaims[0]?.reason)).toContain('still this process’s by the plan');
    expect(s.stats().shards.every((x) => x.openSessions.length === 1)).toBe(true);

    // The leases taken back are renewed again: after the clock moves, each expires a TTL later.
    store.clock += 200;
    const renewed: number[] = [];
    const poll = async () => {
      for (const shard of [0, 1, 2, 3]) {
        const lease = await store.holder(`session:${shard}`);
        if (lease?.owner.startsWith('production/') && lease.expiresAt === store.clock + 600)
          renewed[shard] = lease.expiresAt;
      }
      return renewed.filter(Boolean).length === 4 ? true : undefined;
    };
    let done: true | undefined;
    await waitFor('the reclaimed leases renewed', () => {
      void poll().then((v) => {
        done = v;
      });
      return done;
    });
    expect(lines.filter((l) => String(l.msg).startsWith('lost'))).toHaveLength(4);
  });
});
