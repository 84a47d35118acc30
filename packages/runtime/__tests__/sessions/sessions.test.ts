import type { Store } from '@qsb/store';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionBook, sessionKey } from '../../src/sessions/sessions.ts';
import { TestStore } from '../support/memory-store.ts';

const never = new AbortController().signal;

function book(store: Store, owner: string, onLost: (shard: number) => void = () => {}) {
  return new SessionBook({
    store,
    owner,
    shardCount: 4,
    pollMs: 1,
    sleep: async () => {},
    onLost,
    onError: (error) => {
      throw error;
    },
  });
}

/** Every store call resolves when the scheduler says so: random interleavings of two processes. */
function scheduled(store: TestStore, s: fc.Scheduler): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'watch') return value;
      return s.scheduleFunction(async (...args: unknown[]) => value.apply(target, args));
    },
  });
}

describe('SessionBook', () => {
  it('two processes contending for one session never both hold it, and the second resumes what the first saved', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 500 }), async (s, sequence) => {
        const memory = new TestStore();
        const store = scheduled(memory, s);
        const a = book(store, 'a');
        const b = book(store, 'b');
        let both = false;
        const check = () => {
          if (a.holds(2) && b.holds(2)) both = true;
        };
        const claimedA = a.claim(2, never).then(check);
        const claimedB = b.claim(2, never).then(check);
        // Whoever won holds it; it gets a session, handles events, and hands over.
        const handover = (async () => {
          await Promise.race([claimedA, claimedB]);
          check();
          const [winner] = a.holds(2) ? [a] : [b];
          winner.set(2, { sessionId: 's1', sequence, resumeURL: 'ws://r', shardCount: 4, shardId: 2 });
          winner.handled(2, sequence);
          winner.keep(2);
          winner.set(2, null);
          expect(await winner.save(2)).toBe(true);
          check();
        })();
        await s.waitFor(Promise.all([claimedA, claimedB, handover]));
        expect(both).toBe(false);
        // The loser claimed after the save: it resumes the session at the handled sequence.
        const loser = a.holds(2) ? a : b;
        expect(loser.holds(2)).toBe(true);
        expect(loser.get(2)).toMatchObject({ sessionId: 's1', sequence });
        expect(await memory.get(sessionKey(2))).toBeUndefined();
        a.close();
        b.close();
      }),
      { numRuns: 60 },
    );
  });

  it('identifies when the saved session is for another shard count or too old', async () => {
    const store = new TestStore();
    const saved = { sessionId: 's', sequence: 3, resumeURL: 'ws://r', shardCount: 8, savedAt: store.clock };
    await store.set(sessionKey(1), JSON.stringify(saved));
    const a = book(store, 'a');
    expect(await a.claim(1, never)).toBe('identify');
    await a.release(1);
    await store.set(
      sessionKey(1),
      JSON.stringify({ ...saved, shardCount: 4, savedAt: store.clock - 200_000 }),
    );
    const b = book(store, 'b');
    expect(await b.claim(1, never)).toBe('identify');
    await b.release(1);
    await store.set(sessionKey(3), JSON.stringify({ ...saved, shardCount: 4 }));
    const c = book(store, 'c');
    expect(await c.claim(3, never)).toBe('resume');
    expect(c.get(3)).toMatchObject({ sessionId: 's', sequence: 3 });
    c.close();
  });

  it('reports a lease lost to an expiry and stops holding it', async () => {
    const store = new TestStore();
    const lost: number[] = [];
    const a = new SessionBook({
      store,
      owner: 'a',
      shardCount: 4,
      leaseTtlMs: 150,
      sleep: async () => {},
      onLost: (shard) => lost.push(shard),
      onError: () => {},
    });
    await a.claim(0, never);
    store.clock += 1000;
    expect(await store.acquire('session:0', 'b', 10_000)).toBeDefined();
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (lost.length > 0) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    expect(lost).toEqual([0]);
    expect(a.holds(0)).toBe(false);
    a.close();
  });
});

/**
 * A store whose every call takes `latencyMs` of the store's clock: calls wait until `tick()`, which
 * moves the clock on and lets through every call waiting at that moment (as a store under load would
 * answer each request late, in parallel).
 */
/** Runs every promise continuation already queued (no timer involved). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function slowStore(store: TestStore, latencyMs: number) {
  let waiting: (() => void)[] = [];
  const slow = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'watch') return value;
      return async (...args: unknown[]) => {
        await new Promise<void>((resolve) => waiting.push(resolve));
        return value.apply(target, args);
      };
    },
  });
  const tick = async () => {
    // Let the calls issued since the last tick queue up before the clock moves.
    await flush();
    const now = waiting;
    waiting = [];
    store.clock += latencyMs;
    for (const resolve of now) resolve();
    await flush();
    return now.length;
  };
  return { store: slow as Store, tick };
}

/** Drives `promise` to its end by ticking the slow store; returns how many ticks it took. */
async function drive(promise: Promise<unknown>, tick: () => Promise<number>): Promise<number> {
  let done = false;
  void promise.finally(() => {
    done = true;
  });
  let ticks = 0;
  while (!done) {
    await tick();
    ticks++;
    if (ticks > 1000) throw new Error('never finished');
  }
  return ticks;
}

describe('SessionBook renewal under load', () => {
  it('renews all its leases in one round trip, so a slow store does not lose them, and warns once per slow spell', async () => {
    const memory = new TestStore();
    const { store, tick } = slowStore(memory, 1000);
    const lost: number[] = [];
    const slowPasses: [number, number][] = [];
    const a = new SessionBook({
      store,
      owner: 'a',
      shardCount: 16,
      leaseTtlMs: 15_000,
      sleep: async () => {},
      now: () => memory.clock,
      onLost: (shard) => lost.push(shard),
      onSlowRenewal: (ms, leases) => slowPasses.push([ms, leases]),
      onError: (error) => {
        throw error;
      },
    });
    const shards = Array.from({ length: 16 }, (_, i) => i);
    await drive(Promise.all(shards.map((id) => a.claim(id, never))), tick);
    a.close();
    // Twenty passes at a second per store call: one after another, 16 calls would take past the TTL.
    for (let pass = 0; pass < 20; pass++) {
      const ticks = await drive(a.renewAll(), tick);
      expect(ticks).toBe(1);
      memory.clock += 4000;
    }
    expect(lost).toEqual([]);
    for (const id of shards) {
      expect(a.mayAct(id)).toBe(true);
      expect((await memory.holder(`session:${id}`))?.owner).toBe('a');
    }
    expect(slowPasses).toEqual([]);

    // A store slower than a third of the TTL per call: warned once, not at every pass.
    const slower = slowStore(memory, 6000);
    const b = new SessionBook({
      store: slower.store,
      owner: 'b',
      shardCount: 16,
      leaseTtlMs: 15_000,
      sleep: async () => {},
      now: () => memory.clock,
      onLost: (shard) => lost.push(shard),
      onSlowRenewal: (ms, leases) => slowPasses.push([ms, leases]),
      onError: (error) => {
        throw error;
      },
    });
    await drive(b.claim(20, never), slower.tick);
    b.close();
    for (let pass = 0; pass < 3; pass++) await drive(b.renewAll(), slower.tick);
    expect(slowPasses).toEqual([[6000, 1]]);
    expect(lost).toEqual([]);
  });

  it('stops acting on a shard when its lease may have expired, before anyone else can take it, and reports the loss with the holder', async () => {
    const store = new TestStore();
    const lost: [number, string][] = [];
    const a = new SessionBook({
      store,
      owner: 'a',
      shardCount: 4,
      leaseTtlMs: 15_000,
      sleep: async () => {},
      now: () => store.clock,
      onLost: (shard, reason) => lost.push([shard, reason]),
      onError: (error) => {
        throw error;
      },
    });
    await a.claim(1, never);
    await a.claim(2, never);
    a.close();
    a.set(1, { sessionId: 'old', sequence: 7, resumeURL: 'ws://r', shardCount: 4, shardId: 1 });
    store.clock += 14_999;
    expect(a.mayAct(1)).toBe(true);
    // The renewal is late: at the instant the store would let the lease go, this process is silent.
    store.clock += 1;
    expect(a.mayAct(1)).toBe(false);
    expect(await store.acquire('session:1', 'b', 15_000)).toBeDefined();
    await a.renewAll();
    expect(lost).toEqual([
      [1, 'held by b'],
      [2, 'expired'],
    ]);
    expect(a.holds(1)).toBe(false);
    // Released after the loss: nothing of the old session is resumed by this process later.
    await a.release(1);
    expect(a.get(1)).toBeNull();
    // While b holds it, a waits and does not get it; once b lets go, a holds it again.
    const waits: string[] = [];
    const sleeps: number[] = [];
    const c = new SessionBook({
      store,
      owner: 'a',
      shardCount: 4,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 3) await store.release((await store.holder('session:1')) as never);
      },
      onWait: (_shard, holder) => waits.push(holder),
      onLost: () => {},
      onError: () => {},
    });
    expect(await c.claim(1, never)).toBe('identify');
    expect(waits).toEqual(['b']);
    expect(sleeps).toHaveLength(3);
    expect(c.holds(1)).toBe(true);
    c.close();
  });
});
