import type { Random } from './random.ts';

/** Discord's epoch, the first millisecond of 2015, in Unix milliseconds. */
export const DISCORD_EPOCH = 1_420_070_400_000;

/** A snowflake from its parts: `timestamp << 22 | worker << 17 | process << 12 | increment`. */
export function makeSnowflake(
  timestampMs: number,
  worker: number,
  processId: number,
  increment: number,
): string {
  const ts = BigInt(Math.max(0, Math.floor(timestampMs - DISCORD_EPOCH)));
  return (
    (ts << 22n) |
    (BigInt(worker & 0x1f) << 17n) |
    (BigInt(processId & 0x1f) << 12n) |
    BigInt(increment & 0xfff)
  ).toString();
}

/** The Unix millisecond at which a snowflake was created. */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

/**
 * Issues unique snowflakes. `at(ms)` makes an id created at a given moment (world generation spreads
 * creation times over years); `next()` makes one created now, as Discord does for messages and interactions.
 */
export class SnowflakeFactory {
  readonly #random: Random;
  readonly #now: () => number;
  #increment = 0;

  public constructor(random: Random, now: () => number) {
    this.#random = random;
    this.#now = now;
  }

  public at(timestampMs: number): string {
    this.#increment = (this.#increment + 1) & 0xfff;
    const worker = Math.floor(this.#random() * 32);
    const processId = Math.floor(this.#random() * 32);
    return makeSnowflake(timestampMs, worker, processId, this.#increment);
  }

  public next(): string {
    return this.at(this.#now());
  }
}
