import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/index.ts';
import { describeStoreConformance } from './conformance.ts';

describeStoreConformance('memory', {
  ttlMs: 1000,
  propertyRuns: 200,
  open: async () => {
    let clock = 1_700_000_000_000;
    const store = new MemoryStore({ now: () => clock });
    return {
      store,
      another: async () => store,
      advance: async (ms) => {
        clock += ms;
        await store.checkWatches();
      },
    };
  },
});

describe('memory store', () => {
  it('expires a lease exactly at its time on the injected clock', async () => {
    let clock = 0;
    const store = new MemoryStore({ now: () => clock });
    const lease = await store.acquire('shard:1', 'canary', 100);
    clock = 99;
    expect(await store.holder('shard:1')).toEqual(lease);
    clock = 100;
    expect(await store.holder('shard:1')).toBeUndefined();
    await store.close();
  });
});
