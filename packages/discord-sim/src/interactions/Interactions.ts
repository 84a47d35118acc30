import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  GatewayDispatchEvents,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  MessageType,
} from 'discord-api-types/v10';
import { DiscordSimError, DiscordSimErrorCodes } from '../errors/DiscordSimError.ts';
import type { Gateway } from '../gateway/Gateway.ts';
import {
  ALL_PERMISSIONS,
  MEMBER_PERMISSIONS,
  memberPayload,
  messagePayload,
  userPayload,
} from '../gateway/payloads.ts';
import type { DiscordSimOptionalOptions } from '../options.ts';
import { RestErrors, type RestResult } from '../rest/errors.ts';
import type { AnswerRecord, InteractionRecord, SimStats } from '../stats.ts';
import type { Random } from '../world/random.ts';
import type { SnowflakeFactory } from '../world/snowflake.ts';
import type { SimGuild, SimUser, SimWorld } from '../world/world.ts';

/** A slash command option value; its type (string, integer, number, boolean) follows the JS value. */
export type SimOptionValue = string | number | boolean;

/** What {@link DiscordSimHandle.sendInteraction} sends: a slash command in a guild or in the DM channel. */
export interface SendInteractionInput {
  /** The command's name, as registered. */
  readonly command: string;
  /** The guild; without it (and without `dm`) the first guild of the world. */
  readonly guildId?: string;
  /** Send it in the DM channel (shard 0) instead of a guild. */
  readonly dm?: boolean;
  /** Channel of the guild; default its first channel. */
  readonly channelId?: string;
  /** The invoking user; default a member of the guild (or the DM user). */
  readonly userId?: string;
  readonly options?: Readonly<Record<string, SimOptionValue>>;
}

/** The interaction as dispatched. */
export interface SimInteraction {
  readonly id: string;
  readonly token: string;
  readonly applicationId: string;
  readonly guildId: string | null;
  readonly channelId: string;
  /** The shard it belongs to (under the sessions' shard count, else the recommended one). */
  readonly shardId: number;
  /** Sessions it was dispatched to; empty when no session of its shard was there. */
  readonly sessionIds: readonly string[];
}

interface Tracked {
  readonly record: InteractionRecord;
  readonly answers: AnswerRecord[];
  readonly token: string;
  acknowledged: boolean;
  originalMessageId: string | null;
  originalBody: Record<string, unknown> | null;
  readonly guildId: string | null;
  readonly channelId: string;
}

export interface InteractionsContext {
  readonly options: DiscordSimOptionalOptions;
  readonly world: SimWorld;
  readonly gateway: Gateway;
  readonly random: Random;
  readonly ids: SnowflakeFactory;
  /** Id of a registered command by name (global or for the guild), if any. */
  readonly commandId: (name: string, guildId: string | null) => string | undefined;
}

function optionPayload(name: string, value: SimOptionValue) {
  const type =
    typeof value === 'boolean'
      ? ApplicationCommandOptionType.Boolean
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? ApplicationCommandOptionType.Integer
          : ApplicationCommandOptionType.Number
        : ApplicationCommandOptionType.String;
  return { name, type, value };
}

const MESSAGE_RESPONSE_FIELDS = [
  'content',
  'embeds',
  'components',
  'attachments',
  'poll',
  'sticker_ids',
] as const;

function hasMessageContent(data: Record<string, unknown>): boolean {
  return MESSAGE_RESPONSE_FIELDS.some((f) => {
    const v = data[f];
    return Array.isArray(v)
      ? v.length > 0
      : typeof v === 'string'
        ? v.length > 0
        : v !== undefined && v !== null;
  });
}

/**
 * Interactions: dispatch, the 3 s deadline, first-answer-wins, follow-up webhooks, and the record of
 * who answered each one and when.
 */
export class Interactions {
  readonly #ctx: InteractionsContext;
  readonly #byId = new Map<string, Tracked>();
  readonly #byToken = new Map<string, Tracked>();
  readonly #fallbackCommandIds = new Map<string, string>();

  public constructor(ctx: InteractionsContext) {
    this.#ctx = ctx;
  }

  #pool = Buffer.alloc(0);
  #poolOffset = 0;

  /** 72 random bytes as base64url, cut from a pooled buffer (one CSPRNG call per 910 tokens). */
  #secret(): string {
    if (this.#poolOffset + 72 > this.#pool.length) {
      this.#pool = randomBytes(72 * 910);
      this.#poolOffset = 0;
    }
    const s = this.#pool.toString('base64url', this.#poolOffset, this.#poolOffset + 72);
    this.#poolOffset += 72;
    return s;
  }

  #pickUser(guild: SimGuild): SimUser {
    const m = guild.members;
    return m[Math.floor(this.#ctx.random() * m.length)] ?? this.#ctx.world.dm.user;
  }

  /** Builds and dispatches an APPLICATION_COMMAND interaction. */
  public send(input: SendInteractionInput): SimInteraction {
    const { world, options } = this.#ctx;
    const now = options.now();
    let guild: SimGuild | null = null;
    let channelId: string;
    let user: SimUser;
    if (input.dm) {
      channelId = world.dm.id;
      user = world.dm.user;
    } else {
      const g = input.guildId === undefined ? world.guilds[0] : world.guildById.get(input.guildId);
      if (!g) {
        throw new DiscordSimError(
          DiscordSimErrorCodes.UnknownGuild,
          input.guildId === undefined
            ? 'the world has no guild; pass dm: true'
            : `guild ${input.guildId} is not in the world`,
        );
      }
      guild = g;
      const channel =
        input.channelId === undefined ? g.channels[0] : g.channels.find((c) => c.id === input.channelId);
      if (!channel) {
        throw new DiscordSimError(
          DiscordSimErrorCodes.UnknownChannel,
          `channel ${input.channelId} is not in guild ${g.id}`,
        );
      }
      channelId = channel.id;
      user = this.#pickUser(g);
    }
    if (input.userId !== undefined) {
      user = { id: input.userId, username: `user-${input.userId.slice(-4)}`, bot: false };
    }
    const id = this.#ctx.ids.next();
    // Tokens are secrets, not part of the seeded world: the system's CSPRNG, as Discord would.
    const token = `aW50ZXJhY3Rpb246${Buffer.from(id).toString('base64url')}:${this.#secret()}`;
    const guildId = guild?.id ?? null;
    const commandId = this.#commandId(input.command, guildId);
    const data = {
      id: commandId,
      name: input.command,
      type: ApplicationCommandType.ChatInput,
      ...(input.options
        ? { options: Object.entries(input.options).map(([n, v]) => optionPayload(n, v)) }
        : {}),
    };
    const channel = guild
      ? {
          id: channelId,
          type: 0,
          guild_id: guild.id,
          name: guild.channels.find((c) => c.id === channelId)?.name ?? 'general',
          permissions: MEMBER_PERMISSIONS,
        }
      : { id: channelId, type: 1, recipients: [userPayload(user)] };
    const d = {
      id,
      application_id: world.applicationId,
      type: InteractionType.ApplicationCommand,
      data,
      ...(guild
        ? {
            guild_id: guild.id,
            guild: { id: guild.id, locale: 'en-US', features: [] },
            member: { ...memberPayload(user, guild.createdAt), permissions: MEMBER_PERMISSIONS },
            guild_locale: 'en-US',
          }
        : { user: userPayload(user) }),
      channel_id: channelId,
      channel,
      token,
      version: 1,
      app_permissions: ALL_PERMISSIONS,
      locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild?.id ?? '0' },
      context: guild ? InteractionContextType.Guild : InteractionContextType.BotDM,
      attachment_size_limit: 10_485_760,
    };
    const sessionIds = this.#ctx.gateway.dispatch({ t: GatewayDispatchEvents.InteractionCreate, d, guildId });
    const shardCount = this.#ctx.gateway.shardCountOf(sessionIds[0]) ?? options.shards;
    const shardId = guildId === null ? 0 : this.#ctx.gateway.shardOf(guildId, shardCount);
    const answers: AnswerRecord[] = [];
    const record: InteractionRecord = {
      id,
      command: input.command,
      guildId,
      channelId,
      shardId,
      dispatchedAt: now,
      sessionIds,
      answers,
    };
    const tracked: Tracked = {
      record,
      answers,
      token,
      acknowledged: false,
      originalMessageId: null,
      originalBody: null,
      guildId,
      channelId,
    };
    this.#byId.set(id, tracked);
    this.#byToken.set(token, tracked);
    return { id, token, applicationId: world.applicationId, guildId, channelId, shardId, sessionIds };
  }

  #commandId(name: string, guildId: string | null): string {
    const registered = this.#ctx.commandId(name, guildId);
    if (registered) return registered;
    let id = this.#fallbackCommandIds.get(name);
    if (!id) {
      id = this.#ctx.ids.next();
      this.#fallbackCommandIds.set(name, id);
    }
    return id;
  }

  /** `POST /interactions/{id}/{token}/callback`. */
  public callback(
    id: string,
    token: string,
    body: unknown,
    userAgent: string | null,
    withResponse: boolean,
  ): RestResult {
    const t = this.#byId.get(id);
    if (!t || t.token !== token) return RestErrors.unknownInteraction();
    const now = this.#ctx.options.now();
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const type = b.type;
    const validTypes = [
      InteractionResponseType.ChannelMessageWithSource,
      InteractionResponseType.DeferredChannelMessageWithSource,
      InteractionResponseType.Modal,
    ] as number[];
    if (typeof type !== 'number' || !validTypes.includes(type)) {
      return RestErrors.invalidForm(
        'type',
        'BASE_TYPE_CHOICES',
        `Value must be one of {${validTypes.join(', ')}}.`,
      );
    }
    const data = (b.data && typeof b.data === 'object' ? b.data : {}) as Record<string, unknown>;
    if (type === InteractionResponseType.ChannelMessageWithSource && !hasMessageContent(data)) {
      return RestErrors.emptyMessage();
    }
    const latencyMs = now - t.record.dispatchedAt;
    const answer = (outcome: AnswerRecord['outcome']) =>
      t.answers.push({ at: now, latencyMs, outcome, type, userAgent });
    if (t.acknowledged) {
      answer('already-acknowledged');
      return RestErrors.alreadyAcknowledged();
    }
    if (latencyMs > this.#ctx.options.interactionDeadlineMs) {
      answer('expired');
      return RestErrors.unknownInteraction();
    }
    answer('accepted');
    t.acknowledged = true;
    t.originalMessageId = this.#ctx.ids.next();
    t.originalBody = type === InteractionResponseType.ChannelMessageWithSource ? data : { content: '' };
    if (!withResponse) return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id,
          type: InteractionType.ApplicationCommand,
          response_message_id: t.originalMessageId,
          response_message_loading: type === InteractionResponseType.DeferredChannelMessageWithSource,
          response_message_ephemeral: (Number(data.flags ?? 0) & 64) !== 0,
        },
        resource: { type, message: this.#originalMessage(t, now) },
      },
    };
  }

  #originalMessage(t: Tracked, now: number, editedAt?: number) {
    const body = t.originalBody ?? {};
    return messagePayload({
      id: t.originalMessageId ?? '0',
      channelId: t.channelId,
      guildId: t.guildId,
      author: this.#ctx.world.bot,
      content: typeof body.content === 'string' ? body.content : '',
      at: now,
      body,
      type: MessageType.ChatInputCommand,
      webhookId: this.#ctx.world.applicationId,
      applicationId: this.#ctx.world.applicationId,
      ...(editedAt === undefined ? {} : { editedAt }),
    });
  }

  /** The interaction behind a webhook token, if the webhook still works. */
  #webhook(applicationId: string, token: string): Tracked | null {
    const t = this.#byToken.get(token);
    if (!t || applicationId !== this.#ctx.world.applicationId) return null;
    if (this.#ctx.options.now() - t.record.dispatchedAt > this.#ctx.options.interactionTokenLifetimeMs)
      return null;
    return t;
  }

  /** `POST /webhooks/{app}/{token}`: a follow-up message (needs an acknowledged interaction). */
  public followUp(applicationId: string, token: string, body: unknown): RestResult {
    const t = this.#webhook(applicationId, token);
    if (!t?.acknowledged) return RestErrors.unknownWebhook();
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    if (!hasMessageContent(b)) return RestErrors.emptyMessage();
    const now = this.#ctx.options.now();
    return {
      status: 200,
      body: messagePayload({
        id: this.#ctx.ids.next(),
        channelId: t.channelId,
        guildId: t.guildId,
        author: this.#ctx.world.bot,
        content: typeof b.content === 'string' ? b.content : '',
        at: now,
        body: b,
        type: MessageType.ChatInputCommand,
        webhookId: this.#ctx.world.applicationId,
        applicationId: this.#ctx.world.applicationId,
      }),
    };
  }

  /** `GET|PATCH|DELETE /webhooks/{app}/{token}/messages/@original`. */
  public original(applicationId: string, token: string, method: string, body: unknown): RestResult {
    const t = this.#webhook(applicationId, token);
    if (!t) return RestErrors.unknownWebhook();
    if (!t.acknowledged || t.originalMessageId === null) return RestErrors.unknownMessage();
    const now = this.#ctx.options.now();
    if (method === 'DELETE') {
      t.originalMessageId = null;
      return { status: 204 };
    }
    if (method === 'PATCH') {
      const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
      t.originalBody = { ...(t.originalBody ?? {}), ...b };
      return { status: 200, body: this.#originalMessage(t, now, now) };
    }
    return { status: 200, body: this.#originalMessage(t, now) };
  }

  public stats(withList: boolean): SimStats['interactions'] {
    let zero = 0;
    let one = 0;
    let twoOrMore = 0;
    let expired = 0;
    const latencies: number[] = [];
    const list: InteractionRecord[] = [];
    for (const t of this.#byId.values()) {
      const n = t.answers.length;
      // A refused late answer is not an answer: the user saw the interaction fail.
      if (n === 0) zero++;
      else if (!t.acknowledged) expired++;
      else if (n === 1) one++;
      else twoOrMore++;
      for (const a of t.answers) if (a.outcome === 'accepted') latencies.push(a.latencyMs);
      if (withList) list.push({ ...t.record, answers: [...t.answers] });
    }
    latencies.sort((a, b) => a - b);
    const pick = (q: number) =>
      latencies.length === 0
        ? null
        : (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null);
    return {
      dispatched: this.#byId.size,
      answered: { zero, one, twoOrMore, expired },
      latencyMs: { p50: pick(0.5), p99: pick(0.99), max: latencies.at(-1) ?? null },
      list,
    };
  }
}
