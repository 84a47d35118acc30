import { MemoryStore } from '@qsb/store';
import { describe, expect, it } from 'vitest';
import { createRouter, followPlan, type RoutedShards, RouteMember, silentLogger } from '../../src/index.ts';

/** A runtime's shards as a typed fake: connecting takes one step, then the shard is READY. */
class FakeShards implements RoutedShards {
  public readonly connecting = new Set<number>();
  public readonly readySet = new Set<number>();
  public readonly events: string[] = [];
  held = () => [...this.connecting, ...this.readySet].sort((a, b) => a - b);
  ready = () => [...this.readySet].sort((a, b) => a - b);
  add = async (ids: readonly number[]) => {
    for (const id of ids) this.connecting.add(id);
    this.events.push(`add ${ids.join(',')}`);
  };
  remove = async (ids: readonly number[]) => {
    for (const id of ids) {
      this.connecting.delete(id);
      this.readySet.delete(id);
    }
    this.events.push(`remove ${ids.join(',')}`);
  };
  /** The gateway reaches READY on every connecting shard. */
  settle(): void {
    for (const id of this.connecting) this.readySet.add(id);
    this.connecting.clear();
  }
}

describe('followPlan', () => {
  it('connects the receiving shards, acknowledges READY, and closes the given ones after the grace period', async () => {
    let clock = 1_800_000_000_000;
    const store = new MemoryStore({ now: () => clock });
    const sides = (['production', 'canary'] as const).map((deployment) => {
      const member = new RouteMember({
        store,
        self: { deployment, dyno: 1 },
        boot: { shardCount: 10, percent: 20 },
        logger: silentLogger,
        clock: () => clock,
      });
      const shards = new FakeShards();
      // A loop that never runs on its own: the test steps it.
      const following = followPlan({
        member,
        shards,
        logger: silentLogger,
        sleep: () => new Promise(() => {}),
      });
      return { member, shards, following };
    });
    const [production, canary] = sides as [(typeof sides)[0], (typeof sides)[0]];
    const beat = async () => {
      for (const side of sides) {
        await side.following.step();
        side.shards.settle();
      }
      clock += 200;
    };
    for (let i = 0; i < 3; i++) await beat();
    expect(production.shards.held()).toEqual([0, 3, 4, 5, 6, 7, 8, 9]);
    expect(canary.shards.held()).toEqual([1, 2]);
    const router = createRouter({ store, logger: silentLogger });
    await router.begin(50);
    for (let i = 0; i < 3; i++) await beat();
    expect(canary.shards.events).toContain('add 3,4,5');
    expect((await router.step()).kind).toBe('write');
    expect((await router.status()).phase).toBe('CuttingOver');
    for (let i = 0; i < 40; i++) {
      await beat();
      await router.step();
    }
    expect((await router.status()).plan).toMatchObject({ phase: 'Stable', percent: 50 });
    expect(production.shards.events).toContain('remove 3,4,5');
    expect(production.shards.held()).toEqual([0, 6, 7, 8, 9]);
    expect(canary.shards.held()).toEqual([1, 2, 3, 4, 5]);
  });
});
