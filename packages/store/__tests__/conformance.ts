import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import { type Lease, type Store, StoreError, type Versioned } from '../src/index.ts';

/** One fresh, empty store for one test, and the means to drive it. */
export interface StoreUnderTest {
  readonly store: Store;
  /** Another client of the same store (another connection, another instance on the same file). */
  another(): Promise<Store>;
  /** Moves the store's clock forward by at least `ms` (an injected clock, or waiting on Redis' clock). */
  advance(ms: number): Promise<void>;
}

/** How a backend's conformance run is set up. */
export interface ConformanceOptions {
  /** Builds a fresh store (its own file, its own namespace). */
  readonly open: () => Promise<StoreUnderTest>;
  /** TTLs the tests use: short on a real clock, any on an injected one. */
  readonly ttlMs: number;
  /** Runs of the lease property test. */
  readonly propertyRuns: number;
}

/** Every guarantee of the `Store` contract, checked the same way against each backend. */
export function describeStoreConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} store conformance`, () => {
    const opened: Store[] = [];
    const open = async (): Promise<StoreUnderTest> => {
      const under = await options.open();
      opened.push(under.store);
      return {
        ...under,
        another: async () => {
          const store = await under.another();
          opened.push(store);
          return store;
        },
      };
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    const ttl = options.ttlMs;

    it('versions every write and compares before setting', async () => {
      const { store } = await open();
      expect(await store.get('plan')).toBeUndefined();
      expect(await store.compareAndSet('plan', 'a', 1)).toBeUndefined();
      expect(await store.compareAndSet('plan', 'a', 0)).toEqual({ value: 'a', version: 1 });
      expect(await store.compareAndSet('plan', 'b', 0)).toBeUndefined();
      expect(await store.compareAndSet('plan', 'b', 1)).toEqual({ value: 'b', version: 2 });
      expect(await store.set('plan', 'c')).toEqual({ value: 'c', version: 3 });
      expect(await store.compareAndSet('plan', 'd', 2)).toBeUndefined();
      expect(await store.get('plan')).toEqual({ value: 'c', version: 3 });
      expect(await store.delete('plan', 2)).toBe(false);
      expect(await store.delete('plan', 3)).toBe(true);
      expect(await store.delete('plan')).toBe(false);
      expect(await store.get('plan')).toBeUndefined();
      expect(await store.set('plan', 'again')).toEqual({ value: 'again', version: 1 });
      expect(await store.delete('plan')).toBe(true);
    });

    it('lets exactly one of many concurrent compare-and-sets win', async () => {
      const under = await open();
      const clients = [under.store, await under.another()];
      await under.store.set('race', 'start');
      for (let round = 1; round <= 3; round++) {
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => clients[i % 2]?.compareAndSet('race', `writer ${i}`, round)),
        );
        const winners = results.filter((r) => r !== undefined);
        expect(winners).toHaveLength(1);
        expect(await under.store.get('race')).toEqual(winners[0]);
      }
    });

    it('counts every increment of writers that retry their compare-and-set', async () => {
      const under = await open();
      const clients = [under.store, await under.another()];
      const increment = async (store: Store) => {
        for (;;) {
          const current = await store.get('counter');
          const next = String(Number(current?.value ?? '0') + 1);
          if (await store.compareAndSet('counter', next, current?.version ?? 0)) return;
        }
      };
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (async () => {
            for (let n = 0; n < 5; n++) await increment(clients[i % 2] as Store);
          })(),
        ),
      );
      expect(await under.store.get('counter')).toEqual({ value: '30', version: 30 });
    });

    it('lets a key with a TTL vanish on the store clock, and a write without one keep it', async () => {
      const under = await open();
      const { store } = under;
      await store.set('session:1', 'resume', { ttlMs: ttl });
      await store.set('session:2', 'resume', { ttlMs: ttl });
      await store.set('session:2', 'kept');
      expect((await store.get('session:1'))?.value).toBe('resume');
      await under.advance(ttl + 1);
      expect(await store.get('session:1')).toBeUndefined();
      expect([...(await store.list('session:')).keys()]).toEqual(['session:2']);
      expect(await store.compareAndSet('session:1', 'new', 0)).toEqual({ value: 'new', version: 1 });
    });

    it('lists the live keys under a prefix', async () => {
      const { store } = await open();
      await store.set('ack:7:b', '2');
      await store.set('ack:7:a', '1');
      await store.set('ack:70', 'other');
      await store.set('plan', 'x');
      await store.set('ack:7*', 'glob');
      const listed = await store.list('ack:7:');
      expect([...listed]).toEqual([
        ['ack:7:a', { value: '1', version: 1 }],
        ['ack:7:b', { value: '2', version: 1 }],
      ]);
      expect([...(await store.list('ack:7*')).keys()]).toEqual(['ack:7*']);
      expect((await store.list('none:')).size).toBe(0);
    });

    it('holds a lease for one owner at a time, renews it with the same token, and hands out a larger one next', async () => {
      const under = await open();
      const other = await under.another();
      const a = await under.store.acquire('shard:3', 'canary/1', 10 * ttl);
      expect(a).toMatchObject({ name: 'shard:3', owner: 'canary/1' });
      expect(await other.acquire('shard:3', 'production/1', 10 * ttl)).toBeUndefined();
      const again = await under.store.acquire('shard:3', 'canary/1', 10 * ttl);
      expect(again?.token).toBe(a?.token);
      const renewed = await under.store.renew(a as Lease, 20 * ttl);
      expect(renewed?.token).toBe(a?.token);
      expect(renewed?.expiresAt).toBeGreaterThanOrEqual(a?.expiresAt ?? Infinity);
      expect(await other.holder('shard:3')).toEqual(renewed);
      expect(await other.release({ ...(a as Lease), owner: 'production/1' })).toBe(false);
      expect(await under.store.release(a as Lease)).toBe(true);
      expect(await under.store.holder('shard:3')).toBeUndefined();
      const b = await other.acquire('shard:3', 'production/1', 10 * ttl);
      expect(b?.token).toBeGreaterThan(a?.token ?? Infinity);
      expect(await under.store.renew(a as Lease, ttl)).toBeUndefined();
      expect(await under.store.release(a as Lease)).toBe(false);
    });

    it('lets an expired lease go: the old holder cannot renew, the next holder gets a larger token', async () => {
      const under = await open();
      const a = (await under.store.acquire('session:0', 'canary/1', ttl)) as Lease;
      await under.store.acquire('session:1', 'canary/1', 100 * ttl);
      await under.advance(ttl + 1);
      expect(await under.store.holder('session:0')).toBeUndefined();
      expect((await under.store.leases('session:')).map((l) => l.name)).toEqual(['session:1']);
      expect(await under.store.renew(a, ttl)).toBeUndefined();
      const b = await under.store.acquire('session:0', 'production/1', ttl);
      expect(b?.token).toBeGreaterThan(a.token);
      // Coming back after losing it is a new acquisition, with a new token.
      await under.advance(ttl + 1);
      const c = await under.store.acquire('session:0', 'canary/1', ttl);
      expect(c?.token).toBeGreaterThan(b?.token ?? Infinity);
      expect(await under.store.release(a)).toBe(false);
    });

    it('renews several leases in one call: each held one with its token, undefined for each lost one, in order', async () => {
      const under = await open();
      const other = await under.another();
      const a = (await under.store.acquire('session:0', 'canary/1', ttl)) as Lease;
      const b = (await under.store.acquire('session:1', 'canary/1', 100 * ttl)) as Lease;
      const c = (await under.store.acquire('session:2', 'canary/1', 100 * ttl)) as Lease;
      await under.advance(ttl + 1);
      // session:0 expired and was taken; session:2 was released: only session:1 is still held.
      const taken = (await other.acquire('session:0', 'production/1', 100 * ttl)) as Lease;
      expect(await under.store.release(c)).toBe(true);
      const renewed = await under.store.renewMany([a, b, c], 200 * ttl);
      expect(renewed[0]).toBeUndefined();
      expect(renewed[1]).toMatchObject({ name: 'session:1', owner: 'canary/1', token: b.token });
      expect(renewed[1]?.expiresAt).toBeGreaterThan(b.expiresAt);
      expect(renewed[2]).toBeUndefined();
      expect(renewed).toHaveLength(3);
      expect(await other.holder('session:1')).toEqual(renewed[1]);
      expect(await other.holder('session:0')).toEqual(taken);
      expect(await under.store.renewMany([], ttl)).toEqual([]);
    });

    it('watches a key: the current record first, then each change, then its deletion', async () => {
      const under = await open();
      const writer = await under.another();
      const seen: (Versioned | undefined)[] = [];
      const stop = under.store.watch('plan', (record) => seen.push(record), { intervalMs: 20 });
      await waitFor('the initial call', () => (seen.length === 1 ? true : undefined));
      expect(seen[0]).toBeUndefined();
      await writer.set('plan', 'one');
      await waitFor('the first write', () => (seen.length === 2 ? true : undefined));
      await writer.set('plan', 'two');
      await waitFor('the second write', () => (seen.at(-1)?.value === 'two' ? true : undefined));
      await writer.delete('plan');
      await waitFor('the deletion', () => (seen.length >= 3 && seen.at(-1) === undefined ? true : undefined));
      stop();
      const count = seen.length;
      await writer.set('plan', 'after');
      await writer.get('plan');
      expect(seen.length).toBe(count);
      expect(seen[1]).toEqual({ value: 'one', version: 1 });
    });

    it('reports the expiry of a watched key', async () => {
      const under = await open();
      const seen: (Versioned | undefined)[] = [];
      await under.store.set('ack', 'ready', { ttlMs: ttl });
      under.store.watch('ack', (record) => seen.push(record), { intervalMs: 20 });
      await waitFor('the initial call', () => (seen.length === 1 ? true : undefined));
      await under.advance(ttl + 1);
      await waitFor('the expiry', () => (seen.length === 2 ? true : undefined));
      expect(seen).toEqual([{ value: 'ready', version: 1 }, undefined]);
    });

    it('refuses every call after close', async () => {
      const under = await open();
      await under.store.set('x', '1');
      await under.store.close();
      await expect(under.store.get('x')).rejects.toBeInstanceOf(StoreError);
      await expect(under.store.set('x', '2')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(under.store.acquire('l', 'o', ttl)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('refuses a TTL that is not a positive number of ms', async () => {
      const { store } = await open();
      await expect(store.set('x', '1', { ttlMs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.acquire('l', 'o', -5)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await store.get('x')).toBeUndefined();
    });

    it('never has two holders of a lease, over random interleavings of acquire, renew, release and expiry', async () => {
      const owners = ['a', 'b', 'c'];
      const step = fc.oneof(
        fc.record({
          op: fc.constant('acquire' as const),
          owner: fc.nat(2),
          ttl: fc.integer({ min: 1, max: 3 }),
        }),
        fc.record({
          op: fc.constant('renew' as const),
          owner: fc.nat(2),
          ttl: fc.integer({ min: 1, max: 3 }),
        }),
        fc.record({ op: fc.constant('release' as const), owner: fc.nat(2) }),
        fc.record({ op: fc.constant('expire' as const), ms: fc.integer({ min: 1, max: 2 }) }),
      );
      // Each batch runs its steps concurrently: the store must serialize them.
      const batches = fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 10,
      });
      await fc.assert(
        fc.asyncProperty(batches, async (plan) => {
          const under = await open();
          const clients = [under.store, await under.another(), under.store];
          const held = new Map<number, Lease>();
          let lastToken = 0;
          let lastOwner: string | undefined;
          try {
            for (const batch of plan) {
              const expiries = batch.filter((s) => s.op === 'expire').map((s) => s.ms);
              await Promise.all(
                batch.map(async (s) => {
                  if (s.op === 'expire') return;
                  const store = clients[s.owner] as Store;
                  const lease = held.get(s.owner);
                  if (s.op === 'acquire') {
                    const got = await store.acquire('leader', owners[s.owner] as string, s.ttl * ttl);
                    if (got) held.set(s.owner, got);
                  } else if (s.op === 'renew' && lease) {
                    const got = await store.renew(lease, s.ttl * ttl);
                    if (got) held.set(s.owner, got);
                    else held.delete(s.owner);
                  } else if (s.op === 'release' && lease) {
                    await store.release(lease);
                    held.delete(s.owner);
                  }
                }),
              );
              if (expiries.length > 0) await under.advance(Math.max(...expiries) * ttl);
              const now = await under.store.now();
              const live = [...held.values()].filter((lease) => lease.expiresAt > now);
              expect(new Set(live.map((lease) => lease.owner)).size).toBeLessThanOrEqual(1);
              const current = await under.store.holder('leader');
              if (current) {
                // A token only grows, and a new owner always gets a larger one.
                expect(current.token).toBeGreaterThanOrEqual(lastToken);
                if (current.owner !== lastOwner) expect(current.token === lastToken).toBe(false);
                lastToken = current.token;
                lastOwner = current.owner;
              }
            }
          } finally {
            await Promise.all(opened.splice(0).map((store) => store.close()));
          }
        }),
        { numRuns: options.propertyRuns, seed: 11 },
      );
    });
  });
}
