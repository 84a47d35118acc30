/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** Delay after the second consecutive failure, in ms; it doubles after each further one. @defaultValue 1000 */
  readonly baseMs?: number;
  /** Longest delay, in ms. @defaultValue 60000 */
  readonly maxMs?: number;
  /** Uniform in [0, 1): the jitter. */
  readonly random: () => number;
}

/**
 * Exponential backoff with "equal jitter" per shard: the first reconnect after a healthy session goes at
 * once (a resumable close is routine), each further consecutive failure waits between half and all of
 * `base × 2^(n-2)`, capped. Jitter keeps a fleet of shards that lost Discord together from retrying in
 * lockstep.
 */
export class Backoff {
  readonly #failures = new Map<number, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;

  public constructor(options: BackoffOptions) {
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 60_000;
    this.#random = options.random;
  }

  /** Records one more failure of `shardId` and returns how long to wait before the next attempt. */
  public next(shardId: number): number {
    const n = (this.#failures.get(shardId) ?? 0) + 1;
    this.#failures.set(shardId, n);
    if (n === 1) return 0;
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** (n - 2));
    return ceiling / 2 + (this.#random() * ceiling) / 2;
  }

  /** Consecutive failures of `shardId` since its last success. */
  public failures(shardId: number): number {
    return this.#failures.get(shardId) ?? 0;
  }

  /** The shard reached READY or RESUMED: the next failure starts over. */
  public reset(shardId: number): void {
    this.#failures.delete(shardId);
  }
}
