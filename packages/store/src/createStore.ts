import type { RedisOptions } from 'ioredis';
import { FileStore } from './file/FileStore.ts';
import { MemoryStore } from './memory/MemoryStore.ts';
import { RedisStore } from './redis/RedisStore.ts';
import type { Store } from './store.ts';
import { type ParseStoreUrlOptions, parseStoreUrl } from './url/parseStoreUrl.ts';

/** Options of {@link createStore}. */
export interface CreateStoreOptions extends ParseStoreUrlOptions {
  /** The clock of a memory or file store (a Redis store uses Redis' clock). @defaultValue Date.now */
  readonly now?: () => number;
  /** Extra ioredis options (timeouts, TLS certificates), merged over the ones the URL implies. */
  readonly redis?: RedisOptions;
}

/**
 * Opens the store `url` names (the value of `QSB_STORE`; see {@link parseStoreUrl}). Fails with
 * `INVALID_STORE_URL` for a URL that names no store, `STORE_UNREACHABLE` when Redis does not answer or
 * the file's folder cannot be created; both messages mask the password.
 *
 * @example
 * ```ts
 * const store = await createStore(process.env.QSB_STORE, {});
 * try { await store.set('hello', 'world'); } finally { await store.close(); }
 * ```
 */
export async function createStore(url: string | undefined, options: CreateStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url, options);
  const clock = options.now === undefined ? {} : { now: options.now };
  switch (location.kind) {
    case 'memory':
      return new MemoryStore(clock);
    case 'file':
      return new FileStore(location.path, clock).open();
    case 'redis': {
      const tls: RedisOptions =
        location.tls === 'off' ? {} : { tls: { rejectUnauthorized: location.tls === 'verify' } };
      return RedisStore.connect(location.url, {
        description: location.description,
        prefix: location.prefix,
        redis: { ...tls, ...options.redis },
      });
    }
  }
}
