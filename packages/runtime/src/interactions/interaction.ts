import { DiscordAPIError, type REST } from '@discordjs/rest';
import {
  type APIApplicationCommandInteractionDataOption,
  type APIChatInputApplicationCommandInteraction,
  type APIInteractionResponseCallbackData,
  ApplicationCommandOptionType,
  InteractionResponseType,
  MessageFlags,
  RESTJSONErrorCodes,
  Routes,
} from 'discord-api-types/v10';

/** What a reply may carry: text alone, or Discord's message fields (content, embeds, flags, ...). */
export type ReplyMessage = string | APIInteractionResponseCallbackData;

/** The options a user filled in, read by name. */
export interface CommandOptions {
  getString(name: string, required: true): string;
  getString(name: string, required?: boolean): string | null;
  getInteger(name: string, required: true): number;
  getInteger(name: string, required?: boolean): number | null;
  getNumber(name: string, required: true): number;
  getNumber(name: string, required?: boolean): number | null;
  getBoolean(name: string, required: true): boolean;
  getBoolean(name: string, required?: boolean): boolean | null;
}

/**
 * A slash command as a command handler sees it: who, where, what, and the ways to answer. The shape
 * follows discord.js's `ChatInputCommandInteraction` (`reply`, `deferReply`, `editReply`, `followUp`,
 * `options.getString`), so commands written for discord.js move over with few changes.
 */
export interface CommandInteraction {
  readonly id: string;
  readonly applicationId: string;
  readonly commandName: string;
  /** null in a DM. */
  readonly guildId: string | null;
  readonly channelId: string | null;
  /** The gateway shard that delivered it. */
  readonly shardId: number;
  readonly user: { readonly id: string; readonly username: string };
  readonly options: CommandOptions;
  /** Whether it was answered (a reply or a deferral). */
  readonly replied: boolean;
  readonly deferred: boolean;
  /** Answers within Discord's 3 s; `ephemeral` shows it to the user alone. */
  reply(message: ReplyMessage, options?: { ephemeral?: boolean }): Promise<void>;
  /** Acknowledges now and answers later with {@link CommandInteraction.editReply} (within 15 minutes). */
  deferReply(options?: { ephemeral?: boolean }): Promise<void>;
  editReply(message: ReplyMessage): Promise<void>;
  followUp(message: ReplyMessage, options?: { ephemeral?: boolean }): Promise<void>;
}

/** The REST error Discord answers for an interaction it no longer knows (its 3 s passed). */
export function isExpired(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownInteraction;
}

/**
 * The REST error Discord answers when the interaction was already answered (40060): another process
 * answered it first, so two processes took it for theirs.
 */
export function isAnsweredElsewhere(error: unknown): boolean {
  return (
    error instanceof DiscordAPIError &&
    error.code === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged
  );
}

/** Thrown by `options.get*(name, true)` when a required option is missing or of another type. */
export class MissingOptionError extends Error {
  public readonly code = 'MISSING_OPTION';

  public override get name(): string {
    return `MissingOptionError[${this.code}]`;
  }
}

function body(message: ReplyMessage, ephemeral: boolean | undefined): APIInteractionResponseCallbackData {
  const data = typeof message === 'string' ? { content: message } : { ...message };
  if (ephemeral) data.flags = (data.flags ?? 0) | MessageFlags.Ephemeral;
  return data;
}

function readOptions(raw: readonly APIApplicationCommandInteractionDataOption[] | undefined): CommandOptions {
  // Options of a subcommand are one level down; this runtime reads the flat ones.
  const byName = new Map((raw ?? []).map((o) => [o.name, o]));
  const get = (name: string, type: ApplicationCommandOptionType, required: boolean | undefined) => {
    const option = byName.get(name);
    if (option && option.type === type && 'value' in option) return option.value;
    if (required) throw new MissingOptionError(`option ${name} (type ${type}) is required`);
    return null;
  };
  return {
    getString: ((name: string, required?: boolean) =>
      get(name, ApplicationCommandOptionType.String, required)) as CommandOptions['getString'],
    getInteger: ((name: string, required?: boolean) =>
      get(name, ApplicationCommandOptionType.Integer, required)) as CommandOptions['getInteger'],
    getNumber: ((name: string, required?: boolean) =>
      get(name, ApplicationCommandOptionType.Number, required)) as CommandOptions['getNumber'],
    getBoolean: ((name: string, required?: boolean) =>
      get(name, ApplicationCommandOptionType.Boolean, required)) as CommandOptions['getBoolean'],
  };
}

/**
 * Builds the {@link CommandInteraction} of one INTERACTION_CREATE, answering through `rest`. The
 * interaction token stays inside: it is never a field a handler could log by accident.
 */
export function createCommandInteraction(
  raw: APIChatInputApplicationCommandInteraction,
  shardId: number,
  rest: REST,
): CommandInteraction {
  const token = raw.token;
  const user = raw.member?.user ?? raw.user;
  let replied = false;
  let deferred = false;
  const callback = (data: unknown) =>
    rest.post(Routes.interactionCallback(raw.id, token), { body: data, auth: false });
  return {
    id: raw.id,
    applicationId: raw.application_id,
    commandName: raw.data.name,
    guildId: raw.guild_id ?? null,
    channelId: raw.channel?.id ?? null,
    shardId,
    user: { id: user?.id ?? '0', username: user?.username ?? '' },
    options: readOptions(raw.data.options),
    get replied() {
      return replied;
    },
    get deferred() {
      return deferred;
    },
    async reply(message, options) {
      await callback({
        type: InteractionResponseType.ChannelMessageWithSource,
        data: body(message, options?.ephemeral),
      });
      replied = true;
    },
    async deferReply(options) {
      await callback({
        type: InteractionResponseType.DeferredChannelMessageWithSource,
        data: options?.ephemeral ? { flags: MessageFlags.Ephemeral } : {},
      });
      deferred = true;
    },
    async editReply(message) {
      await rest.patch(Routes.webhookMessage(raw.application_id, token, '@original'), {
        body: body(message, false),
        auth: false,
      });
      replied = true;
    },
    async followUp(message, options) {
      await rest.post(Routes.webhook(raw.application_id, token), {
        body: body(message, options?.ephemeral),
        auth: false,
      });
    },
  };
}
