/**
 * The store: the one place where state shared by several processes lives (resumable gateway sessions,
 * leases on sessions and shards, identify slots, the routing plan and its acknowledgements).
 *
 * Every implementation (memory for tests, a file for one machine, Redis for several dynos and apps)
 * gives the same guarantees, which the runtime and the router rely on:
 * - A key's writes are totally ordered: each successful write returns a `version` one higher than the
 *   previous one. `compareAndSet` is the only way to make a read-modify-write safe.
 * - A lease is held by at most one owner at any instant of the store's clock (`now()`); its `token`
 *   grows with every new acquisition of that name and is never reused (a fencing token).
 * - `ttlMs` makes a key or lease vanish after that many milliseconds of the store's clock.
 * - `watch` calls back with the latest record after it changes (at least once per change of version,
 *   possibly coalescing several changes into the newest one), and once at start with the current record.
 */

/** A stored value and the version it was written at. A new key starts at version 1. */
export interface Versioned {
  readonly value: string;
  readonly version: number;
}

/** Options of a write. */
export interface WriteOptions {
  /** The key vanishes this many ms after the write (store clock). Without it, the key stays. */
  readonly ttlMs?: number;
}

/** A lease held by one owner on behalf of all: a session, a shard, an identify slot, a deployment. */
export interface Lease {
  /** What is leased, for example `session:production:3` or `identify:0`. */
  readonly name: string;
  /** Who holds it: a process identity such as `canary/worker.1/4f2a`. */
  readonly owner: string;
  /** Fencing token: grows with every new acquisition of this name; a renewal keeps it. */
  readonly token: number;
  /** When it expires, in ms since the Unix epoch on the store's clock. */
  readonly expiresAt: number;
}

/** The kinds of store `QSB_STORE` can name. */
export type StoreKind = 'memory' | 'file' | 'redis';

/**
 * Shared state with versions and leases. Keys and lease names are plain strings; the store adds its
 * own namespace, so two stores with different namespaces on one Redis never see each other's keys.
 */
export interface Store {
  readonly kind: StoreKind;
  /** Where the store is, printable: credentials are masked (`redis://:***@host:6379/0`). */
  readonly description: string;

  /** The key's record, or undefined when it does not exist (or has expired). */
  get(key: string): Promise<Versioned | undefined>;
  /** Every live key that starts with `prefix`, with its record. */
  list(prefix: string): Promise<Map<string, Versioned>>;
  /**
   * Writes `value` only if the key's version is `expectedVersion` (0: only if the key does not exist).
   * Returns the new record, or undefined (nothing written) when the version differed.
   */
  compareAndSet(
    key: string,
    value: string,
    expectedVersion: number,
    options?: WriteOptions,
  ): Promise<Versioned | undefined>;
  /** Writes unconditionally and returns the new record. */
  set(key: string, value: string, options?: WriteOptions): Promise<Versioned>;
  /** Deletes the key (only at `expectedVersion` when given). Returns whether a key was deleted. */
  delete(key: string, expectedVersion?: number): Promise<boolean>;

  /**
   * Takes the lease `name` for `owner` for `ttlMs`: succeeds when nobody holds it, when it has expired,
   * or when `owner` already holds it (then it is renewed with the same token). Returns undefined when
   * another owner holds it.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease still held by its owner with the same token; undefined when it was lost. */
  renew(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /**
   * {@link Store.renew} for several leases in one operation (one lock and write of the file, one round
   * trip to Redis), so that a process renews all its leases in the time of one. Returns, in order, each
   * renewed lease or undefined for each one lost.
   */
  renewMany(leases: readonly Lease[], ttlMs: number): Promise<(Lease | undefined)[]>;
  /** Gives the lease up if still held with that token. Returns whether it was. */
  release(lease: Lease): Promise<boolean>;
  /** The unexpired lease on `name`, if any. */
  holder(name: string): Promise<Lease | undefined>;
  /** Every unexpired lease whose name starts with `prefix`. */
  leases(prefix: string): Promise<Lease[]>;

  /**
   * Calls `onChange` with the key's record now and after every change (undefined once deleted or
   * expired). Returns a function that stops watching. Errors reading the store go to `onError`, and
   * watching goes on.
   */
  watch(key: string, onChange: (record: Versioned | undefined) => void, options?: WatchOptions): () => void;

  /** The store's clock, in ms since the Unix epoch: the clock leases and TTLs expire by. */
  now(): Promise<number>;
  /** Stops every watch and closes connections. */
  close(): Promise<void>;
}

/** Options of `watch`. */
export interface WatchOptions {
  /** How often a polling store looks for changes. @defaultValue 250 */
  readonly intervalMs?: number;
  /** Called when a read fails; watching goes on. */
  readonly onError?: (error: Error) => void;
}
