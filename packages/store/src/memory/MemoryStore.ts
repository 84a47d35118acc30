import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';
import { checkTtl, emptyState, ops, type StoreState } from '../state/state.ts';
import type { Lease, Store, Versioned, WatchOptions, WriteOptions } from '../store.ts';
import { PollingWatches } from '../watch/poll.ts';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The store's clock, ms since the Unix epoch: inject one to expire leases deterministically. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * A store in this process's memory, for tests. Watches hear about writes at once; expiries are noticed
 * at the next poll, or when {@link MemoryStore.checkWatches} is called after moving an injected clock.
 *
 * @example
 * ```ts
 * let clock = 0;
 * const store = new MemoryStore({ now: () => clock });
 * await store.acquire('shard:3', 'canary/1', 1000);
 * clock += 1000; // the lease has expired
 * ```
 */
export class MemoryStore implements Store {
  public readonly kind = 'memory' as const;
  public readonly description = 'memory:';
  private readonly state: StoreState = emptyState();
  private readonly clock: () => number;
  private readonly watches = new PollingWatches();
  private closed = false;

  public constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.now ?? Date.now;
  }

  public async get(key: string): Promise<Versioned | undefined> {
    return ops.get(this.open(), key, this.clock());
  }

  public async list(prefix: string): Promise<Map<string, Versioned>> {
    return ops.list(this.open(), prefix, this.clock());
  }

  public async compareAndSet(
    key: string,
    value: string,
    expectedVersion: number,
    options: WriteOptions = {},
  ): Promise<Versioned | undefined> {
    checkTtl(options.ttlMs);
    const written = ops.write(this.open(), key, value, expectedVersion, options.ttlMs, this.clock());
    if (written !== undefined) this.changed(key);
    return written;
  }

  public async set(key: string, value: string, options: WriteOptions = {}): Promise<Versioned> {
    checkTtl(options.ttlMs);
    const written = ops.write(this.open(), key, value, undefined, options.ttlMs, this.clock()) as Versioned;
    this.changed(key);
    return written;
  }

  public async delete(key: string, expectedVersion?: number): Promise<boolean> {
    const deleted = ops.delete(this.open(), key, expectedVersion, this.clock());
    if (deleted) this.changed(key);
    return deleted;
  }

  public async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    return ops.acquire(this.open(), name, owner, ttlMs, this.clock());
  }

  public async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    return ops.renew(this.open(), lease, ttlMs, this.clock());
  }

  public async renewMany(leases: readonly Lease[], ttlMs: number): Promise<(Lease | undefined)[]> {
    checkTtl(ttlMs);
    const state = this.open();
    const now = this.clock();
    return leases.map((lease) => ops.renew(state, lease, ttlMs, now));
  }

  public async release(lease: Lease): Promise<boolean> {
    return ops.release(this.open(), lease, this.clock());
  }

  public async holder(name: string): Promise<Lease | undefined> {
    return ops.holder(this.open(), name, this.clock());
  }

  public async leases(prefix: string): Promise<Lease[]> {
    return ops.leases(this.open(), prefix, this.clock());
  }

  public watch(
    key: string,
    onChange: (record: Versioned | undefined) => void,
    options: WatchOptions = {},
  ): () => void {
    this.open();
    return this.watches.add(key, () => this.get(key), onChange, options);
  }

  /** Makes every watch read its key now: call it after moving an injected clock past an expiry. */
  public async checkWatches(): Promise<void> {
    await this.watches.checkAll();
  }

  public async now(): Promise<number> {
    return this.clock();
  }

  public async close(): Promise<void> {
    this.closed = true;
    this.watches.stopAll();
  }

  private open(): StoreState {
    if (this.closed) throw new StoreError(StoreErrorCodes.Closed, this.description);
    return this.state;
  }

  private changed(key: string): void {
    this.watches.changed(key);
  }
}
