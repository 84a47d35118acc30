import { ShardingError, ShardingErrorCodes } from '../errors/ShardingError.ts';

const MAX_SNOWFLAKE = (1n << 64n) - 1n;
const DIGITS = /^[0-9]{1,20}$/;

/**
 * Parses a Discord snowflake given as a decimal string (ids exceed 2^53, so never as a number).
 *
 * @throws {@link ShardingError} `INVALID_SNOWFLAKE` when the string is not an unsigned 64-bit integer.
 */
export function parseSnowflake(id: string, what = 'guild id'): bigint {
  if (typeof id !== 'string' || !DIGITS.test(id)) {
    throw new ShardingError(
      ShardingErrorCodes.InvalidSnowflake,
      `${what} ${JSON.stringify(id)} is not a snowflake (a decimal string of 1 to 20 digits)`,
    );
  }
  const value = BigInt(id);
  if (value > MAX_SNOWFLAKE) {
    throw new ShardingError(
      ShardingErrorCodes.InvalidSnowflake,
      `${what} ${JSON.stringify(id)} is larger than 2^64 - 1`,
    );
  }
  return value;
}

/**
 * The gateway shard that receives a guild's events: `(guild_id >> 22) % shard_count`, computed on BigInt.
 *
 * @example
 * shardForGuild('81384788765712384', 16); // => 0
 */
export function shardForGuild(guildId: string, shardCount: number): number {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
    throw new ShardingError(
      ShardingErrorCodes.InvalidOption,
      `shardCount ${shardCount} must be an integer >= 1`,
    );
  }
  return Number((parseSnowflake(guildId) >> 22n) % BigInt(shardCount));
}
