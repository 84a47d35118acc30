import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';
import type { Lease, Versioned } from '../store.ts';

/** A key as the memory and file stores keep it. */
export interface KeyRecord {
  value: string;
  version: number;
  /** ms since the Unix epoch on the store's clock; absent: the key stays. */
  expiresAt?: number;
}

/** A lease as the memory and file stores keep it. */
export interface LeaseRecord {
  owner: string;
  token: number;
  expiresAt: number;
}

/**
 * Everything a memory or file store holds, as plain JSON. `tokens` outlives the leases so that a
 * fencing token is never handed out twice for one name, even after the lease expired or was released.
 */
export interface StoreState {
  keys: Record<string, KeyRecord>;
  leases: Record<string, LeaseRecord>;
  tokens: Record<string, number>;
}

/** An empty state. */
export function emptyState(): StoreState {
  return { keys: dictionary(), leases: dictionary(), tokens: dictionary() };
}

// Without a prototype, a key named `__proto__` is a key like any other.
function dictionary<T>(from?: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, from);
}

/** Reads a state written by {@link serializeState}; `where` names the source in the error. */
export function parseState(text: string, where: string): StoreState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StoreError(StoreErrorCodes.CorruptFile, `${where} is not JSON`, { cause: error });
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as StoreState).keys !== 'object' ||
    typeof (parsed as StoreState).leases !== 'object' ||
    typeof (parsed as StoreState).tokens !== 'object'
  ) {
    throw new StoreError(StoreErrorCodes.CorruptFile, `${where} lacks keys, leases or tokens`);
  }
  const state = parsed as StoreState;
  return { keys: dictionary(state.keys), leases: dictionary(state.leases), tokens: dictionary(state.tokens) };
}

/** The state as the file store writes it. */
export function serializeState(state: StoreState): string {
  return JSON.stringify(state);
}

/** Validates a TTL at the store's edge: a positive, finite number of milliseconds. */
export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs === undefined) return;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new StoreError(
      StoreErrorCodes.InvalidArgument,
      `ttlMs=${ttlMs}: allowed is a positive number of ms`,
    );
  }
}

const own = <T>(record: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * The pure operations shared by the memory and file stores: each takes the state and the store's
 * clock reading, and mutates the state in place. Expired entries count as absent.
 */
export const ops = {
  get(state: StoreState, key: string, now: number): Versioned | undefined {
    const record = own(state.keys, key);
    if (record === undefined || (record.expiresAt !== undefined && record.expiresAt <= now)) return undefined;
    return { value: record.value, version: record.version };
  },

  list(state: StoreState, prefix: string, now: number): Map<string, Versioned> {
    const found = new Map<string, Versioned>();
    for (const key of Object.keys(state.keys).sort()) {
      if (!key.startsWith(prefix)) continue;
      const record = ops.get(state, key, now);
      if (record !== undefined) found.set(key, record);
    }
    return found;
  },

  /** `expectedVersion` undefined writes unconditionally. */
  write(
    state: StoreState,
    key: string,
    value: string,
    expectedVersion: number | undefined,
    ttlMs: number | undefined,
    now: number,
  ): Versioned | undefined {
    const version = ops.get(state, key, now)?.version ?? 0;
    if (expectedVersion !== undefined && version !== expectedVersion) return undefined;
    const record: KeyRecord = { value, version: version + 1 };
    if (ttlMs !== undefined) record.expiresAt = now + ttlMs;
    state.keys[key] = record;
    return { value, version: record.version };
  },

  delete(state: StoreState, key: string, expectedVersion: number | undefined, now: number): boolean {
    const current = ops.get(state, key, now);
    if (current === undefined) return false;
    if (expectedVersion !== undefined && current.version !== expectedVersion) return false;
    delete state.keys[key];
    return true;
  },

  holder(state: StoreState, name: string, now: number): Lease | undefined {
    const record = own(state.leases, name);
    if (record === undefined || record.expiresAt <= now) return undefined;
    return { name, owner: record.owner, token: record.token, expiresAt: record.expiresAt };
  },

  leases(state: StoreState, prefix: string, now: number): Lease[] {
    const found: Lease[] = [];
    for (const name of Object.keys(state.leases).sort()) {
      if (!name.startsWith(prefix)) continue;
      const lease = ops.holder(state, name, now);
      if (lease !== undefined) found.push(lease);
    }
    return found;
  },

  acquire(state: StoreState, name: string, owner: string, ttlMs: number, now: number): Lease | undefined {
    const current = ops.holder(state, name, now);
    if (current !== undefined && current.owner !== owner) return undefined;
    let token = current?.token;
    if (token === undefined) {
      token = (own(state.tokens, name) ?? 0) + 1;
      state.tokens[name] = token;
    }
    const expiresAt = now + ttlMs;
    state.leases[name] = { owner, token, expiresAt };
    return { name, owner, token, expiresAt };
  },

  renew(state: StoreState, lease: Lease, ttlMs: number, now: number): Lease | undefined {
    const current = ops.holder(state, lease.name, now);
    if (current === undefined || current.owner !== lease.owner || current.token !== lease.token)
      return undefined;
    const expiresAt = now + ttlMs;
    state.leases[lease.name] = { owner: lease.owner, token: lease.token, expiresAt };
    return { ...current, expiresAt };
  },

  release(state: StoreState, lease: Lease, now: number): boolean {
    const current = ops.holder(state, lease.name, now);
    if (current === undefined || current.owner !== lease.owner || current.token !== lease.token) return false;
    delete state.leases[lease.name];
    return true;
  },

  /** Drops expired keys and leases so that the file does not grow with dead sessions. */
  purge(state: StoreState, now: number): void {
    for (const [key, record] of Object.entries(state.keys)) {
      if (record.expiresAt !== undefined && record.expiresAt <= now) delete state.keys[key];
    }
    for (const [name, record] of Object.entries(state.leases)) {
      if (record.expiresAt <= now) delete state.leases[name];
    }
  },
};
