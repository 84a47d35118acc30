import { ChannelType } from 'discord-api-types/v10';
import { type Random, randomInt, seededRandom } from './random.ts';
import { DISCORD_EPOCH, SnowflakeFactory } from './snowflake.ts';

/** A user of the simulated world. */
export interface SimUser {
  readonly id: string;
  readonly username: string;
  readonly bot: boolean;
}

/** A text channel of a guild. */
export interface SimChannel {
  readonly id: string;
  readonly guildId: string;
  readonly name: string;
  readonly type: ChannelType.GuildText;
}

/** A guild: its id (a snowflake), its size (member count) and a sample of its members. */
export interface SimGuild {
  readonly id: string;
  readonly name: string;
  /** When the guild was created (Unix ms), the timestamp inside its id. */
  readonly createdAt: number;
  /** Member count; heavy-tailed over the world (many small guilds, a few very large). */
  readonly memberCount: number;
  readonly ownerId: string;
  readonly channels: readonly SimChannel[];
  /** A sample of the members (at most 25): who sends commands and messages. */
  readonly members: readonly SimUser[];
}

/** The DM channel between the bot and one user; its events go to shard 0 only. */
export interface SimDmChannel {
  readonly id: string;
  readonly user: SimUser;
}

/** Everything the local Discord knows about: the bot, its guilds, users, one DM channel. */
export interface SimWorld {
  /** The bot's user; its id is also the application id, as for bots created since 2016. */
  readonly bot: SimUser;
  readonly applicationId: string;
  /** Guilds, oldest first. */
  readonly guilds: readonly SimGuild[];
  readonly dm: SimDmChannel;
  readonly guildById: ReadonlyMap<string, SimGuild>;
  readonly channelById: ReadonlyMap<string, SimChannel | SimDmChannel>;
}

/** Guilds are created between mid-2015 and the end of 2025. */
const FIRST_GUILD_AT = DISCORD_EPOCH + 180 * 86_400_000;
const LAST_GUILD_AT = Date.UTC(2025, 11, 31);
const MAX_GUILD_SIZE = 500_000;
const MEMBER_SAMPLE = 25;

/**
 * Pareto-distributed guild size (shape 0.8, at least 5 members): the median guild has about a dozen
 * members, one in a few thousand has over 100,000, as for a public bot on Discord.
 */
function guildSize(random: Random): number {
  const u = 1 - random();
  return Math.min(MAX_GUILD_SIZE, Math.floor(5 / u ** (1 / 0.8)));
}

const WORDS = ['pixel', 'nova', 'quartz', 'ember', 'delta', 'lunar', 'otter', 'maple', 'cobalt', 'zephyr'];

/**
 * Builds a world of `guildCount` guilds from `seed`: the same seed always gives the same ids and sizes.
 */
export function createWorld(guildCount: number, seed: number): SimWorld {
  const random = seededRandom(seed);
  // World ids do not depend on the current time, so the world is the same on every run.
  const ids = new SnowflakeFactory(random, () => FIRST_GUILD_AT);
  const seen = new Set<string>();
  const unique = (at: number): string => {
    for (;;) {
      const id = ids.at(at);
      if (!seen.has(id)) {
        seen.add(id);
        return id;
      }
    }
  };
  const botCreated = DISCORD_EPOCH + 400 * 86_400_000;
  const bot: SimUser = { id: unique(botCreated), username: 'Quantum Superbot', bot: true };
  const users: SimUser[] = [];
  const userCount = Math.max(50, Math.min(5_000, guildCount * 3));
  for (let i = 0; i < userCount; i++) {
    const at = FIRST_GUILD_AT + random() * (LAST_GUILD_AT - FIRST_GUILD_AT);
    users.push({ id: unique(at), username: `user${i}`, bot: false });
  }
  const createdAts = Array.from(
    { length: guildCount },
    () => FIRST_GUILD_AT + Math.floor(random() * (LAST_GUILD_AT - FIRST_GUILD_AT)),
  ).sort((a, b) => a - b);
  const guilds: SimGuild[] = createdAts.map((createdAt, i) => {
    const id = unique(createdAt);
    const memberCount = guildSize(random);
    const members: SimUser[] = [];
    for (let m = 0; m < Math.min(MEMBER_SAMPLE, memberCount - 1); m++) {
      const user = users[randomInt(random, 0, users.length - 1)];
      if (user && !members.includes(user)) members.push(user);
    }
    const channelCount = randomInt(random, 1, 5);
    const channels: SimChannel[] = [];
    for (let c = 0; c < channelCount; c++) {
      channels.push({
        id: unique(createdAt + c * 60_000),
        guildId: id,
        name: c === 0 ? 'general' : `${WORDS[(i + c) % WORDS.length]}-${c}`,
        type: ChannelType.GuildText,
      });
    }
    const word = WORDS[i % WORDS.length] ?? 'guild';
    return {
      id,
      name: `${word} ${i}`,
      createdAt,
      memberCount,
      ownerId: members[0]?.id ?? bot.id,
      channels,
      members,
    };
  });
  const dmUser = users[0] ?? bot;
  const dm: SimDmChannel = { id: unique(LAST_GUILD_AT), user: dmUser };
  const guildById = new Map(guilds.map((g) => [g.id, g]));
  const channelById = new Map<string, SimChannel | SimDmChannel>([[dm.id, dm]]);
  for (const g of guilds) for (const c of g.channels) channelById.set(c.id, c);
  return { bot, applicationId: bot.id, guilds, dm, guildById, channelById };
}
