import { Redis, type RedisOptions } from 'ioredis';
import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';
import { checkTtl } from '../state/state.ts';
import type { Lease, Store, Versioned, WatchOptions, WriteOptions } from '../store.ts';
import { PollingWatch } from '../watch/poll.ts';
import { acquireScript, deleteScript, releaseScript, renewScript, writeScript } from './scripts.ts';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Printable form of the URL, password masked. */
  readonly description: string;
  /** Prepended to every key and lease name. @defaultValue 'qsb:' */
  readonly prefix?: string;
  /** Options passed to ioredis (TLS, timeouts). */
  readonly redis?: RedisOptions;
}

interface Scripted {
  qsbWrite(key: string, value: string, expected: number, ttlMs: number): Promise<number | null>;
  qsbDelete(key: string, expected: number): Promise<number>;
  qsbAcquire(lease: string, tokens: string, owner: string, ttlMs: number): Promise<[number, number] | null>;
  qsbRenew(lease: string, owner: string, token: number, ttlMs: number): Promise<number | null>;
  qsbRelease(lease: string, owner: string, token: number): Promise<number>;
}

// SCAN's MATCH is a glob: a prefix is matched literally.
const glob = (text: string): string => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * A store in Redis (ioredis), shared by every dyno of both apps. Writes, CAS and leases are Lua
 * scripts; TTLs and lease expiry run on Redis' clock; watches poll. Connect with {@link RedisStore.connect}.
 */
export class RedisStore implements Store {
  public readonly kind = 'redis' as const;
  public readonly description: string;
  private readonly prefix: string;
  private readonly client: Redis & Scripted;
  private readonly watches = new Set<PollingWatch>();
  private closed = false;

  private constructor(url: string, options: RedisStoreOptions) {
    this.description = options.description;
    this.prefix = options.prefix ?? 'qsb:';
    const client = new Redis(url, {
      lazyConnect: true,
      // A store call fails fast when Redis is away; callers (renewals, watches) retry on their own.
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      ...options.redis,
    });
    client.defineCommand('qsbWrite', { numberOfKeys: 1, lua: writeScript });
    client.defineCommand('qsbDelete', { numberOfKeys: 1, lua: deleteScript });
    client.defineCommand('qsbAcquire', { numberOfKeys: 2, lua: acquireScript });
    client.defineCommand('qsbRenew', { numberOfKeys: 1, lua: renewScript });
    client.defineCommand('qsbRelease', { numberOfKeys: 1, lua: releaseScript });
    // Errors surface through the calls; without a listener, ioredis would print each reconnect attempt.
    client.on('error', () => undefined);
    this.client = client as Redis & Scripted;
  }

  /** Connects, failing with `STORE_UNREACHABLE` (naming the masked URL) when Redis does not answer. */
  public static async connect(url: string, options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(url, options);
    // ioredis rejects connect() with "Connection is closed"; the socket's own error says why.
    let cause: Error | undefined;
    const remember = (error: Error) => {
      cause ??= error;
    };
    store.client.on('error', remember);
    try {
      await store.client.connect();
      await store.client.ping();
    } catch (error) {
      store.client.disconnect();
      const why = (cause ?? (error as Error)).message;
      throw new StoreError(StoreErrorCodes.Unreachable, `${options.description} (${why})`, { cause: error });
    } finally {
      store.client.off('error', remember);
    }
    return store;
  }

  public async get(key: string): Promise<Versioned | undefined> {
    this.ensureOpen();
    const [value, version] = await this.client.hmget(this.keyOf(key), 'v', 'n');
    if (value === null || value === undefined || version === null || version === undefined) return undefined;
    return { value, version: Number(version) };
  }

  public async list(prefix: string): Promise<Map<string, Versioned>> {
    this.ensureOpen();
    const names = await this.scan(`${glob(this.keyOf(''))}${glob(prefix)}*`);
    const found = new Map<string, Versioned>();
    if (names.length === 0) return found;
    const pipeline = this.client.pipeline();
    for (const name of names) pipeline.hmget(name, 'v', 'n');
    const results = (await pipeline.exec()) ?? [];
    const start = this.keyOf('').length;
    names.forEach((name, i) => {
      const [value, version] = (results[i]?.[1] as (string | null)[] | undefined) ?? [];
      if (typeof value === 'string' && typeof version === 'string') {
        found.set(name.slice(start), { value, version: Number(version) });
      }
    });
    return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  public async compareAndSet(
    key: string,
    value: string,
    expectedVersion: number,
    options: WriteOptions = {},
  ): Promise<Versioned | undefined> {
    return this.write(key, value, expectedVersion, options);
  }

  public async set(key: string, value: string, options: WriteOptions = {}): Promise<Versioned> {
    return (await this.write(key, value, -1, options)) as Versioned;
  }

  public async delete(key: string, expectedVersion?: number): Promise<boolean> {
    this.ensureOpen();
    return (await this.client.qsbDelete(this.keyOf(key), expectedVersion ?? -1)) === 1;
  }

  public async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.ensureOpen();
    checkTtl(ttlMs);
    const got = await this.client.qsbAcquire(
      this.leaseOf(name),
      this.tokensOf(name),
      owner,
      Math.ceil(ttlMs),
    );
    if (got === null) return undefined;
    return { name, owner, token: Number(got[0]), expiresAt: Number(got[1]) };
  }

  public async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.ensureOpen();
    checkTtl(ttlMs);
    const expiresAt = await this.client.qsbRenew(
      this.leaseOf(lease.name),
      lease.owner,
      lease.token,
      Math.ceil(ttlMs),
    );
    return expiresAt === null ? undefined : { ...lease, expiresAt: Number(expiresAt) };
  }

  public async renewMany(leases: readonly Lease[], ttlMs: number): Promise<(Lease | undefined)[]> {
    this.ensureOpen();
    checkTtl(ttlMs);
    // Sent together on one connection without waiting for each reply: one round trip for all.
    return Promise.all(leases.map((lease) => this.renew(lease, ttlMs)));
  }

  public async release(lease: Lease): Promise<boolean> {
    this.ensureOpen();
    return (await this.client.qsbRelease(this.leaseOf(lease.name), lease.owner, lease.token)) === 1;
  }

  public async holder(name: string): Promise<Lease | undefined> {
    this.ensureOpen();
    return this.leaseAt(this.leaseOf(name), name);
  }

  public async leases(prefix: string): Promise<Lease[]> {
    this.ensureOpen();
    const keys = await this.scan(`${glob(this.leaseOf(''))}${glob(prefix)}*`);
    const start = this.leaseOf('').length;
    const found = await Promise.all(keys.map((key) => this.leaseAt(key, key.slice(start))));
    return found.filter((lease) => lease !== undefined).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  public watch(
    key: string,
    onChange: (record: Versioned | undefined) => void,
    options: WatchOptions = {},
  ): () => void {
    this.ensureOpen();
    const watch = new PollingWatch(() => this.get(key), onChange, options);
    this.watches.add(watch);
    return () => {
      watch.stop();
      this.watches.delete(watch);
    };
  }

  public async now(): Promise<number> {
    this.ensureOpen();
    const [seconds, micros] = await this.client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  public async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private async write(
    key: string,
    value: string,
    expected: number,
    options: WriteOptions,
  ): Promise<Versioned | undefined> {
    this.ensureOpen();
    checkTtl(options.ttlMs);
    const ttl = options.ttlMs === undefined ? 0 : Math.ceil(options.ttlMs);
    const version = await this.client.qsbWrite(this.keyOf(key), value, expected, ttl);
    return version === null ? undefined : { value, version: Number(version) };
  }

  private async leaseAt(key: string, name: string): Promise<Lease | undefined> {
    const [owner, token, expiresAt] = await this.client.hmget(key, 'o', 't', 'e');
    if (!owner || !token || !expiresAt) return undefined;
    return { name, owner, token: Number(token), expiresAt: Number(expiresAt) };
  }

  private async scan(match: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 500);
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreErrorCodes.Closed, this.description);
  }

  private keyOf(key: string): string {
    return `${this.prefix}k:${key}`;
  }

  private leaseOf(name: string): string {
    return `${this.prefix}l:${name}`;
  }

  private tokensOf(name: string): string {
    return `${this.prefix}t:${name}`;
  }
}
