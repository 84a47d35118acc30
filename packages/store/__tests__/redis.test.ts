import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../../test/support/redis.ts';
import { createStore, type Store } from '../src/index.ts';
import { describeStoreConformance } from './conformance.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());
let namespaces = 0;

// Redis' clock cannot be moved: advancing polls until Redis' own TIME has passed the mark.
async function advance(store: Store, ms: number): Promise<void> {
  const until = (await store.now()) + ms;
  while ((await store.now()) < until) await new Promise((resolve) => setTimeout(resolve, 5));
}

describeStoreConformance('redis', {
  ttlMs: 60,
  propertyRuns: 15,
  open: async () => {
    const url = `${redis.url}?prefix=t${++namespaces}:`;
    const store = await createStore(url);
    return { store, another: () => createStore(url), advance: (ms) => advance(store, ms) };
  },
});

describe('redis store', () => {
  it('keeps two namespaces on one Redis apart', async () => {
    const a = await createStore(`${redis.url}?prefix=left:`);
    const b = await createStore(`${redis.url}/0?prefix=right:`);
    await a.set('plan', 'left');
    await a.acquire('lease', 'a', 10_000);
    expect(await b.get('plan')).toBeUndefined();
    expect(await b.acquire('lease', 'b', 10_000)).toBeDefined();
    expect((await b.list('')).size).toBe(0);
    expect(b.description).toBe(`${redis.url}/0 prefix right:`);
    await Promise.all([a.close(), b.close()]);
  });

  it('fails fast with STORE_UNREACHABLE, password masked, when nothing listens', async () => {
    await redis.stop();
    const error = await createStore(`redis://:hunter2@127.0.0.1:${redis.port}`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNREACHABLE' });
    expect(String((error as Error).message)).toContain(`redis://:***@127.0.0.1:${redis.port}`);
    expect(String((error as Error).message)).not.toContain('hunter2');
    redis = await startRedis();
  });
});
