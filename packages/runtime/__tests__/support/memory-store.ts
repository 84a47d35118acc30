import type { Lease, Store, Versioned, WatchOptions, WriteOptions } from '@qsb/store';

/** A store in memory with a settable clock, for unit tests of the runtime's protocols. */
export class TestStore implements Store {
  public readonly kind = 'memory' as const;
  public readonly description = 'memory:test';
  public clock = 1_000_000;
  readonly #keys = new Map<string, { value: string; version: number; expiresAt: number }>();
  readonly #leases = new Map<string, Lease>();
  #tokens = 0;

  #live(key: string) {
    const entry = this.#keys.get(key);
    if (entry && entry.expiresAt <= this.clock) {
      this.#keys.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<Versioned | undefined> {
    const e = this.#live(key);
    return e ? { value: e.value, version: e.version } : undefined;
  }
  async list(prefix: string): Promise<Map<string, Versioned>> {
    const out = new Map<string, Versioned>();
    for (const key of this.#keys.keys()) {
      const e = key.startsWith(prefix) ? this.#live(key) : undefined;
      if (e) out.set(key, { value: e.value, version: e.version });
    }
    return out;
  }
  async compareAndSet(key: string, value: string, expected: number, o?: WriteOptions) {
    const version = this.#live(key)?.version ?? 0;
    if (version !== expected) return undefined;
    return this.set(key, value, o);
  }
  async set(key: string, value: string, o?: WriteOptions): Promise<Versioned> {
    const version = (this.#live(key)?.version ?? 0) + 1;
    this.#keys.set(key, { value, version, expiresAt: o?.ttlMs ? this.clock + o.ttlMs : Infinity });
    return { value, version };
  }
  async delete(key: string, expected?: number): Promise<boolean> {
    const e = this.#live(key);
    if (!e || (expected !== undefined && e.version !== expected)) return false;
    return this.#keys.delete(key);
  }
  // Each operation is atomic, as in a real store: no await between its read and its write.
  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    return this.#acquire(name, owner, ttlMs);
  }
  #acquire(name: string, owner: string, ttlMs: number): Lease | undefined {
    const held = this.#holder(name);
    if (held && held.owner !== owner) return undefined;
    const lease = { name, owner, token: held?.token ?? ++this.#tokens, expiresAt: this.clock + ttlMs };
    this.#leases.set(name, lease);
    return lease;
  }
  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const held = this.#holder(lease.name);
    if (!held || held.token !== lease.token) return undefined;
    return this.#acquire(lease.name, lease.owner, ttlMs);
  }
  async renewMany(leases: readonly Lease[], ttlMs: number): Promise<(Lease | undefined)[]> {
    const renewed: (Lease | undefined)[] = [];
    for (const lease of leases) renewed.push(await this.renew(lease, ttlMs));
    return renewed;
  }
  async release(lease: Lease): Promise<boolean> {
    const held = this.#holder(lease.name);
    if (!held || held.token !== lease.token) return false;
    return this.#leases.delete(lease.name);
  }
  async holder(name: string): Promise<Lease | undefined> {
    return this.#holder(name);
  }
  #holder(name: string): Lease | undefined {
    const lease = this.#leases.get(name);
    if (lease && lease.expiresAt <= this.clock) {
      this.#leases.delete(name);
      return undefined;
    }
    return lease;
  }
  async leases(prefix: string): Promise<Lease[]> {
    const out: Lease[] = [];
    for (const name of this.#leases.keys()) {
      const l = name.startsWith(prefix) ? this.#holder(name) : undefined;
      if (l) out.push(l);
    }
    return out;
  }
  watch(_key: string, _on: (r: Versioned | undefined) => void, _o?: WatchOptions): () => void {
    return () => {};
  }
  async now(): Promise<number> {
    return this.clock;
  }
  async close(): Promise<void> {}
}
