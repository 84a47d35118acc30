import { ChannelType, PermissionFlagsBits } from 'discord-api-types/v10';
import type { SimChannel, SimGuild, SimUser, SimWorld } from '../world/world.ts';

// Payload builders: the fields discord.js 14 reads, with Discord's names and shapes.

export function userPayload(user: SimUser) {
  return {
    id: user.id,
    username: user.username,
    global_name: user.bot ? null : user.username,
    discriminator: '0',
    avatar: null,
    bot: user.bot,
    public_flags: 0,
  };
}

const ALL_PERMISSIONS = String(Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n));
const MEMBER_PERMISSIONS = String(
  PermissionFlagsBits.ViewChannel |
    PermissionFlagsBits.SendMessages |
    PermissionFlagsBits.ReadMessageHistory |
    PermissionFlagsBits.UseApplicationCommands,
);

export function memberPayload(user: SimUser, joinedAt: number) {
  return {
    user: userPayload(user),
    nick: null,
    avatar: null,
    roles: [],
    joined_at: new Date(joinedAt).toISOString(),
    premium_since: null,
    deaf: false,
    mute: false,
    pending: false,
    flags: 0,
  };
}

export function channelPayload(channel: SimChannel, position: number) {
  return {
    id: channel.id,
    type: ChannelType.GuildText,
    guild_id: channel.guildId,
    name: channel.name,
    position,
    permission_overwrites: [],
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: null,
    rate_limit_per_user: 0,
  };
}

export function guildCreatePayload(world: SimWorld, guild: SimGuild) {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [
      {
        id: guild.id,
        name: '@everyone',
        color: 0,
        hoist: false,
        icon: null,
        unicode_emoji: null,
        position: 0,
        permissions: MEMBER_PERMISSIONS,
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.channels[0]?.id ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    joined_at: new Date(Math.max(guild.createdAt, Date.UTC(2025, 0, 1))).toISOString(),
    large: guild.memberCount > 250,
    unavailable: false,
    member_count: guild.memberCount,
    voice_states: [],
    members: [memberPayload(world.bot, guild.createdAt)],
    channels: guild.channels.map((c, i) => channelPayload(c, i)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export function readyPayload(
  world: SimWorld,
  sessionId: string,
  resumeUrl: string,
  shard: readonly [number, number],
  guilds: readonly SimGuild[],
) {
  return {
    v: 10,
    user: { ...userPayload(world.bot), verified: true, mfa_enabled: false, flags: 0, email: null },
    guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
    session_id: sessionId,
    resume_gateway_url: resumeUrl,
    shard,
    application: { id: world.applicationId, flags: 0 },
    private_channels: [],
    presences: [],
    relationships: [],
    guild_join_requests: [],
    geo_ordered_rtc_regions: ['local'],
    user_settings: {},
    auth: {},
    session_type: 'normal',
    _trace: ['["qsb-discord-sim",{"micros":0}]'],
  };
}

/** A message as REST and MESSAGE_CREATE return it. */
export function messagePayload(p: {
  id: string;
  channelId: string;
  guildId: string | null;
  author: SimUser;
  content: string;
  at: number;
  body?: Record<string, unknown>;
  type?: number;
  webhookId?: string;
  applicationId?: string;
  editedAt?: number;
}) {
  const b = p.body ?? {};
  return {
    id: p.id,
    type: p.type ?? 0,
    channel_id: p.channelId,
    ...(p.guildId ? { guild_id: p.guildId } : {}),
    author: userPayload(p.author),
    content: p.content,
    timestamp: new Date(p.at).toISOString(),
    edited_timestamp: p.editedAt ? new Date(p.editedAt).toISOString() : null,
    tts: b.tts === true,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: Array.isArray(b.embeds) ? b.embeds : [],
    components: Array.isArray(b.components) ? b.components : [],
    pinned: false,
    flags: typeof b.flags === 'number' ? b.flags : 0,
    ...(p.webhookId ? { webhook_id: p.webhookId } : {}),
    ...(p.applicationId ? { application_id: p.applicationId } : {}),
  };
}

export { ALL_PERMISSIONS, MEMBER_PERMISSIONS };
