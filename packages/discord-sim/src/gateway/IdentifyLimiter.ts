/** What the identify limits say about one IDENTIFY. */
export type IdentifyDecision =
  | { readonly verdict: 'allow'; readonly bucket: number }
  /** Another IDENTIFY of the same bucket was accepted less than a window ago. */
  | { readonly verdict: 'rate-limited'; readonly bucket: number; readonly retryAfterMs: number }
  /** `session_start_limit.remaining` is spent until the reset. */
  | { readonly verdict: 'session-start-limit'; readonly bucket: number; readonly resetAfterMs: number };

export interface IdentifyLimiterOptions {
  readonly maxConcurrency: number;
  readonly identifyWindowMs: number;
  readonly sessionStartLimit: number;
  readonly sessionStartResetMs: number;
  readonly now: () => number;
}

/** `session_start_limit` as `GET /gateway/bot` reports it. */
export interface SessionStartLimit {
  readonly total: number;
  readonly remaining: number;
  readonly reset_after: number;
  readonly max_concurrency: number;
}

/**
 * Discord's identify limits for one bot token, shared by every connection: one IDENTIFY per bucket
 * (`shard_id % max_concurrency`) per window, and a budget of session starts per reset period.
 * Decisions are made on the injected clock, so tests move time instead of sleeping.
 */
export class IdentifyLimiter {
  readonly #o: IdentifyLimiterOptions;
  readonly #lastByBucket = new Map<number, number>();
  #used = 0;
  #periodStart: number | null = null;

  public constructor(options: IdentifyLimiterOptions) {
    this.#o = options;
  }

  #rollPeriod(now: number): void {
    if (this.#periodStart !== null && now - this.#periodStart >= this.#o.sessionStartResetMs) {
      this.#periodStart = null;
      this.#used = 0;
    }
  }

  /** Decides on an IDENTIFY for `shardId` now; an allowed one is counted. */
  public tryIdentify(shardId: number): IdentifyDecision {
    const now = this.#o.now();
    this.#rollPeriod(now);
    const bucket = shardId % this.#o.maxConcurrency;
    if (this.#used >= this.#o.sessionStartLimit) {
      return { verdict: 'session-start-limit', bucket, resetAfterMs: this.#resetAfter(now) };
    }
    const last = this.#lastByBucket.get(bucket);
    if (last !== undefined && now - last < this.#o.identifyWindowMs) {
      return { verdict: 'rate-limited', bucket, retryAfterMs: last + this.#o.identifyWindowMs - now };
    }
    this.#lastByBucket.set(bucket, now);
    this.#used++;
    this.#periodStart ??= now;
    return { verdict: 'allow', bucket };
  }

  #resetAfter(now: number): number {
    return this.#periodStart === null
      ? this.#o.sessionStartResetMs
      : Math.max(0, this.#periodStart + this.#o.sessionStartResetMs - now);
  }

  /** The current `session_start_limit`. */
  public sessionStartLimit(): SessionStartLimit {
    const now = this.#o.now();
    this.#rollPeriod(now);
    return {
      total: this.#o.sessionStartLimit,
      remaining: Math.max(0, this.#o.sessionStartLimit - this.#used),
      reset_after: this.#resetAfter(now),
      max_concurrency: this.#o.maxConcurrency,
    };
  }
}
