import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';

/**
 * A time-slotted identify schedule that lets every process of both deployments identify without talking
 * to each other, and without two shards of one bucket identifying inside one window.
 *
 * Wall-clock time is cut into slots of `windowMs × (1 + guard)`. Shard `s` is in bucket `s % M` at
 * position `p = floor(s / M)`; it may identify only in slots `k` with `k % L === p`, where
 * `L = ceil(shardCount / M)` is the longest bucket. Two shards of one bucket have different positions, so
 * they never share a slot, and consecutive slots are at least one window apart. The schedule depends only
 * on the shard count and `max_concurrency`, never on the canary's percent, so it stays valid while the two
 * deployments run different percents during a ramp.
 *
 * A process that misses the start of its slot by more than the guard waits for the next cycle, so clock
 * skew and event-loop delay up to `windowMs × guard` cannot bring two identifies of one bucket closer than
 * one window. Cost: a full cold start takes `L` slots, `(1 + guard)` times Discord's bound; a lone
 * re-identify waits at most one cycle of `L` slots.
 */
export interface IdentifyScheduleOptions {
  shardCount: number;
  maxConcurrency: number;
  /** Discord's identify window per bucket (5,000 ms). */
  windowMs: number;
  /** Extra share of a window added to each slot to absorb clock skew and delay. @defaultValue 0.1 */
  guard?: number;
}

/** When a shard may identify. */
export interface IdentifySlot {
  /** Start of the slot (ms since the Unix epoch). */
  readonly at: number;
  /** The slot's index since the epoch. */
  readonly slot: number;
}

export interface IdentifySchedule {
  readonly slotMs: number;
  readonly guardMs: number;
  /** Slots in one cycle: the longest bucket. */
  readonly cycle: number;
  /** The first slot at or after `now` in which `shardId` may identify. */
  next(shardId: number, now: number): IdentifySlot;
}

export function createIdentifySchedule(options: IdentifyScheduleOptions): IdentifySchedule {
  const { shardCount, maxConcurrency, windowMs, guard = 0.1 } = options;
  const check = (ok: boolean, detail: string) => {
    if (!ok) throw new ShardingError(ShardingErrorCodes.InvalidOption, detail);
  };
  check(
    Number.isSafeInteger(shardCount) && shardCount >= 1,
    `shardCount ${shardCount} must be an integer >= 1`,
  );
  check(
    Number.isSafeInteger(maxConcurrency) && maxConcurrency >= 1,
    `maxConcurrency ${maxConcurrency} must be an integer >= 1`,
  );
  check(
    Number.isFinite(windowMs) && windowMs > 0,
    `identify window ${windowMs} ms must be a positive number`,
  );
  check(Number.isFinite(guard) && guard > 0 && guard <= 1, `identify guard ${guard} must be in (0, 1]`);
  const guardMs = windowMs * guard;
  const slotMs = windowMs + guardMs;
  const cycle = Math.ceil(shardCount / maxConcurrency);
  return {
    slotMs,
    guardMs,
    cycle,
    next(shardId, now) {
      check(
        Number.isSafeInteger(shardId) && shardId >= 0 && shardId < shardCount,
        `shard ${shardId} must be an integer from 0 to ${shardCount - 1}`,
      );
      const position = Math.floor(shardId / maxConcurrency);
      let slot = Math.floor(now / slotMs);
      // Still inside the current slot's guard: it may be used; later in the slot, it may not.
      if (now - slot * slotMs > guardMs) slot += 1;
      const offset = (((position - slot) % cycle) + cycle) % cycle;
      slot += offset;
      return { slot, at: slot * slotMs };
    },
  };
}
