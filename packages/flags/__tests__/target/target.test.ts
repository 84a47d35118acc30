import { describe, expect, it } from 'vitest';
import { contextFor, type FlagTarget } from '../../src/index.ts';

const fields = { deployment: 'canary', shardId: 3, version: '1.2.3' } as const;
const G = '81384788765712384';
const U = '172002275412279296';

describe('contextFor', () => {
  it.each<[string, FlagTarget, string | undefined, string | undefined, number]>([
    ['a guild id', G, G, undefined, 3],
    ['a Guild', { id: G, ownerId: U, shardId: 7, name: 'g' } as FlagTarget, G, undefined, 7],
    ['a User', { id: U, username: 'nelly', bot: false } as FlagTarget, undefined, U, 3],
    ['a GuildMember', { id: U, guild: { id: G, shardId: 5 }, user: { id: U } }, G, U, 5],
    ['an Interaction', { guildId: G, user: { id: U }, guild: { shardId: 2 } }, G, U, 2],
    ['an Interaction in DMs', { guildId: null, user: { id: U }, guild: null }, undefined, U, 3],
    ['a Message', { guildId: G, author: { id: U } }, G, U, 3],
    ['{ guild, user } as ids', { guild: G, user: U }, G, U, 3],
    ['{ guild } alone', { guild: G }, G, undefined, 3],
    ['{ user: null }', { guild: G, user: null }, G, undefined, 3],
  ])('reads %s', (_what, target, guildId, userId, shardId) => {
    expect(contextFor(target, fields)).toEqual({
      userId,
      properties: { guildId, deployment: 'canary', shardId, version: '1.2.3' },
    });
  });
});
