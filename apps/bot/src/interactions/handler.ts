import type { BotMetrics, InteractionOutcome } from '@qsb/metrics';
import { shardForGuild } from '@qsb/sharding';
import {
  type ChatInputCommandInteraction,
  DiscordAPIError,
  type Interaction,
  MessageFlags,
  RESTJSONErrorCodes,
} from 'discord.js';
import type { Logger } from 'pino';
import type { BotCommand, CommandContext } from '../commands/commands.ts';

/** Discord forgets an interaction that is not acknowledged within 3 s. */
export const ACK_DEADLINE_MS = 3000;

export interface InteractionHandlerOptions {
  readonly commands: readonly BotCommand[];
  readonly metrics: BotMetrics;
  readonly logger: Logger;
  /** The shard count of the plan and the shards this process owns. */
  readonly shardCount: number;
  readonly ownedShards: ReadonlySet<number>;
  readonly context: Omit<CommandContext, 'shardPing'>;
  readonly shardPing: (shardId: number) => number;
  /** Monotonic clock in ms. */
  readonly now: () => number;
}

export interface InteractionHandler {
  /** Handles one interaction; never rejects. */
  handle(interaction: Interaction): Promise<void>;
  /** Stops accepting interactions and resolves once every one in flight has finished. */
  drain(): Promise<void>;
  readonly inFlight: number;
}

/**
 * Remembers the last `capacity` ids seen, so that a dispatch delivered twice (a replay) is answered once.
 * A ring of ids beside a Set: forgetting the oldest is O(1), never a scan over deleted Set entries.
 */
class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  public constructor(capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** Whether `id` is new; remembers it. */
  public add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) this.ids.delete(oldest);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.ids.add(id);
    return true;
  }
}

function isDiscordError(error: unknown, code: number): boolean {
  return error instanceof DiscordAPIError && error.code === code;
}

/** Answers a command registered by another version that this one does not know. */
function unknownCommand(name: string): BotCommand {
  return {
    name: 'unknown',
    definition: { name, description: '' },
    async execute(interaction) {
      await interaction.reply({
        content: `/${name} is not available in this version.`,
        flags: MessageFlags.Ephemeral,
      });
      throw new Error(`unknown command /${name}`);
    },
  };
}

/**
 * Answers each chat-input interaction exactly once: it ignores interactions of guilds this process does
 * not own and ids it has already seen, runs the command, and on failure answers with an error message
 * unless the command had already answered. Every interaction is counted by command and outcome.
 */
export function createInteractionHandler(options: InteractionHandlerOptions): InteractionHandler {
  const { metrics, logger, now } = options;
  const byName = new Map(options.commands.map((c) => [c.name, c]));
  const seen = new RecentIds(10_000);
  const { flag, report } = options.context;
  let active = 0;
  let idle: (() => void)[] = [];
  let draining = false;

  async function run(
    interaction: ChatInputCommandInteraction,
    command: BotCommand,
    shard: number,
  ): Promise<void> {
    const started = now();
    let outcome: InteractionOutcome = 'ok';
    active++;
    try {
      await command.execute(interaction, { flag, report, shardPing: options.shardPing(shard) });
    } catch (error) {
      const expired = isDiscordError(error, RESTJSONErrorCodes.UnknownInteraction);
      outcome = expired ? 'timeout' : 'error';
      logger.error(
        { err: error, command: command.name, guild: interaction.guildId, shard, interaction: interaction.id },
        expired ? 'interaction expired before it was answered' : 'command failed',
      );
      if (!expired && !interaction.replied && !interaction.deferred) {
        await interaction
          .reply({ content: 'Something went wrong; the team has been told.', flags: MessageFlags.Ephemeral })
          .catch((replyError: unknown) =>
            logger.error(
              { err: replyError, command: command.name, guild: interaction.guildId, shard },
              'error reply failed',
            ),
          );
      }
    } finally {
      active--;
      if (active === 0 && idle.length > 0) {
        for (const resolve of idle) resolve();
        idle = [];
      }
    }
    const seconds = (now() - started) / 1000;
    if (outcome === 'ok' && seconds * 1000 > ACK_DEADLINE_MS) outcome = 'timeout';
    metrics.observeInteraction(command.name, outcome, seconds);
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { command: command.name, guild: interaction.guildId, shard, outcome, seconds },
        'interaction handled',
      );
    }
  }

  return {
    get inFlight() {
      return active;
    },
    async handle(interaction) {
      if (draining || !interaction.isChatInputCommand()) return;
      const shard = interaction.guildId ? shardForGuild(interaction.guildId, options.shardCount) : 0;
      if (!options.ownedShards.has(shard)) {
        logger.warn(
          { guild: interaction.guildId, shard, interaction: interaction.id },
          'interaction for a shard this process does not own: left to its owner',
        );
        return;
      }
      if (!seen.add(interaction.id)) {
        logger.debug({ interaction: interaction.id, shard }, 'duplicate dispatch ignored');
        return;
      }
      const command = byName.get(interaction.commandName) ?? unknownCommand(interaction.commandName);
      await run(interaction, command, shard);
    },
    async drain() {
      draining = true;
      if (active > 0) await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
