import type { IdentifySchedule } from '@qsb/sharding';
import type { IIdentifyThrottler } from 'discord.js';

export interface SlottedThrottlerOptions {
  readonly schedule: IdentifySchedule;
  /** Wall-clock time in ms since the epoch (slots are wall-clock, shared by every process). */
  readonly now: () => number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly onWait?: (shardId: number, waitMs: number) => void;
}

/**
 * discord.js identify throttler that follows the shared identify schedule, so that the canary and
 * production identify in disjoint slots without talking to each other.
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
