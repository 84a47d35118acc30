import type { Context } from 'unleash-client';

/** Which of the two apps evaluates: the canary or production. A context field (`deployment`) in Unleash. */
export type Deployment = 'canary' | 'production';

/** The deployments, for validation. */
export const DEPLOYMENTS: readonly Deployment[] = ['canary', 'production'];

// Structural types: the fields of discord.js's classes that a flag needs, so that this package never
// loads discord.js and tests can pass plain objects.

/** A guild as discord.js's `Guild` has it (`shardId` places it on the gateway). */
export interface GuildLike {
  readonly id: string;
  readonly ownerId: string;
  readonly shardId?: number;
}

/** A user as discord.js's `User` has it. */
export interface UserLike {
  readonly id: string;
  readonly username: string;
}

/** A guild member as discord.js's `GuildMember` has it: the guild and the user. */
export interface MemberLike {
  readonly guild: { readonly id: string; readonly shardId?: number };
  readonly user: { readonly id: string };
}

/** An interaction (or a message) as discord.js has it: `guildId` is null in DMs. */
export interface InteractionLike {
  readonly guildId: string | null;
  readonly user?: { readonly id: string } | null;
  readonly author?: { readonly id: string } | null;
  readonly guild?: { readonly shardId?: number } | null;
}

/** A guild and a user named separately, as objects or ids. */
export interface GuildAndUser {
  readonly guild?: string | { readonly id: string; readonly shardId?: number } | null;
  readonly user?: string | { readonly id: string } | null;
}

/**
 * Whom a flag is evaluated for: a guild id (a string), a guild, a user, a member, an interaction or
 * message, or `{ guild, user }`.
 */
export type FlagTarget = string | GuildLike | UserLike | MemberLike | InteractionLike | GuildAndUser;

/** The per-process part of every context. */
export interface StaticFields {
  readonly deployment: Deployment;
  readonly shardId: number | undefined;
  readonly version: string | undefined;
}

const idOf = (x: string | { readonly id: string } | null | undefined): string | undefined =>
  typeof x === 'string' ? x : (x?.id ?? undefined);

/**
 * The Unleash context of one evaluation. `userId` is a standard field (per-user rollouts stick on it);
 * `guildId`, `deployment`, `shardId` and `version` are custom fields, which Unleash reads from
 * `properties`.
 */
export function contextFor(target: FlagTarget, fields: StaticFields): Context {
  let guildId: string | undefined;
  let userId: string | undefined;
  let shardId = fields.shardId;
  if (typeof target === 'string') {
    guildId = target;
  } else if ('guildId' in target) {
    guildId = target.guildId ?? undefined;
    userId = idOf(target.user ?? target.author);
    shardId = target.guild?.shardId ?? shardId;
  } else if ('username' in target) {
    userId = target.id;
  } else if ('ownerId' in target) {
    guildId = target.id;
    shardId = target.shardId ?? shardId;
  } else {
    const guild = target.guild;
    guildId = idOf(guild);
    userId = idOf(target.user);
    if (typeof guild === 'object' && guild !== null) shardId = guild.shardId ?? shardId;
  }
  // One object shape for every call (fast on the hot path); unleash-client reads an undefined field
  // as absent, which `exactOptionalPropertyTypes` cannot express for its `Context`.
  return {
    userId,
    properties: { guildId, deployment: fields.deployment, shardId, version: fields.version },
  } as Context;
}
