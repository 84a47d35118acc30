import {
  type ChatInputCommandInteraction,
  Client,
  type Guild,
  type GuildMember,
  type Message,
  type User,
} from 'discord.js';
import { afterAll, describe, expect, it } from 'vitest';
import { contextFor, type FlagTarget } from '../../src/index.ts';

// Real discord.js objects (from a client's caches; the client never logs in) read as flag targets.
const GUILD = '81384788765712384';
const USER = '172002275412279296';
const fields = { deployment: 'production', shardId: 0, version: undefined } as const;
const client = new Client({ intents: [] });
afterAll(() => client.destroy());

// discord.js builds its structures from gateway payloads through each cache's `_add`; the test feeds it
// payloads in place of a gateway.
const add = <T>(cache: unknown, data: object): T => (cache as { _add(data: object): T })._add(data);

const userData = { id: USER, username: 'nelly', discriminator: '0', global_name: null, avatar: null };
const user = add<User>(client.users, userData);
const guild = add<Guild>(client.guilds, { id: GUILD, name: 'guild', owner_id: USER, shardId: 2 });
const member = add<GuildMember>(guild.members, {
  user: userData,
  roles: [],
  joined_at: new Date(0).toISOString(),
  deaf: false,
  mute: false,
  flags: 0,
});

describe('discord.js objects as targets', () => {
  it('reads a User, a Guild (with its shard) and a GuildMember', () => {
    expect(contextFor(user, fields)).toMatchObject({ userId: USER, properties: { guildId: undefined } });
    expect(contextFor(guild, fields)).toMatchObject({
      userId: undefined,
      properties: { guildId: GUILD, shardId: 2 },
    });
    expect(contextFor(member, fields)).toMatchObject({
      userId: USER,
      properties: { guildId: GUILD, shardId: 2 },
    });
    expect(contextFor({ guild, user }, fields)).toMatchObject({
      userId: USER,
      properties: { guildId: GUILD },
    });
  });

  it('accepts interactions and messages as targets (checked by the compiler)', () => {
    const targets = (i: ChatInputCommandInteraction, m: Message): FlagTarget[] => [i, m, member, guild, user];
    expect(typeof targets).toBe('function');
  });
});
