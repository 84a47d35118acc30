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
