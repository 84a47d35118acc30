import type { IIdentifyThrottler } from '@discordjs/ws';
import type { IdentifySchedule } from '@qsb/sharding';
import type { Store } from '@qsb/store';

/** Resolves after `ms`, or rejects when `signal` aborts. */
export type AbortableSleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Options of {@link SlottedIdentifyThrottler}. */
export interface SlottedThrottlerOptions {
  readonly schedule: IdentifySchedule;
  /** Wall-clock time in ms since the epoch (slots are wall-clock, shared by every process). */
  readonly now: () => number;
  readonly sleep: AbortableSleep;
  readonly onWait?: (shardId: number, waitMs: number) => void;
}

/**
 * Identify throttler that follows the shared identify schedule, so that the canary and production
 * identify in disjoint slots without talking to each other.
 */
export class SlottedIdentifyThrottler implements IIdentifyThrottler {
  public constructor(private readonly options: SlottedThrottlerOptions) {}

  public async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const { schedule, now, sleep } = this.options;
    for (;;) {
      signal.throwIfAborted();
      const start = now();
      const { at } = schedule.next(shardId, start);
      const wait = at - start;
      if (wait <= 0) return;
      this.options.onWait?.(shardId, wait);
      await sleep(wait, signal);
      // Woken late (a busy event loop)? Only go if still inside the slot's guard; else wait another cycle.
      if (now() - at <= schedule.guardMs) return;
    }
  }
}

/** Options of {@link StoreIdentifyThrottler}. */
export interface StoreThrottlerOptions {
  readonly store: Store;
  readonly maxConcurrency: number;
  /** Discord's identify window per bucket; the lease lives this long plus the guard. */
  readonly windowMs: number;
  /** Extra share of a window on each lease, for clock skew between the store and Discord. @defaultValue 0.1 */
  readonly guard?: number;
  /** This process's identity in lease owners. */
  readonly owner: string;
  readonly sleep: AbortableSleep;
  readonly onWait?: (shardId: number, waitMs: number) => void;
}

/**
 * Identify throttler that spaces identifies through the store, as twilight's gateway queue does: a shard
 * identifies once it holds the lease `identify:<bucket>`, which expires one window later and is never
 * released early. A lone re-identify goes as soon as its bucket is free instead of waiting up to a full
 * schedule cycle. Every process of the bot must share the store (and this mode).
 */
export class StoreIdentifyThrottler implements IIdentifyThrottler {
  #attempt = 0;

  public constructor(private readonly options: StoreThrottlerOptions) {}

  public async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const { store, maxConcurrency, windowMs, sleep } = this.options;
    const name = `identify:${shardId % maxConcurrency}`;
    const ttlMs = Math.ceil(windowMs * (1 + (this.options.guard ?? 0.1)));
    // A fresh owner per attempt: two shards of this process must not "renew" each other's slot.
    const owner = `${this.options.owner}/shard-${shardId}/${++this.#attempt}`;
    for (;;) {
      signal.throwIfAborted();
      if (await store.acquire(name, owner, ttlMs)) return;
      const holder = await store.holder(name);
      const wait = holder === undefined ? 0 : Math.max(1, holder.expiresAt - (await store.now()));
      this.options.onWait?.(shardId, wait);
      await sleep(wait + 5, signal);
    }
  }
}
