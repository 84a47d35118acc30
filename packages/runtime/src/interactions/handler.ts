import type { BotMetrics, InteractionOutcome } from '@qsb/metrics';
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { Logger } from 'pino';
import { type CommandInteraction, isAnsweredElsewhere, isExpired } from './interaction.ts';

/** Discord forgets an interaction that is not acknowledged within 3 s. */
export const ACK_DEADLINE_MS = 3000;

/** What a command handler may use besides the interaction. */
export interface CommandContext<F extends string = never> {
  /** Heartbeat round trip of the shard that received the interaction, in ms (-1 before the first ACK). */
  readonly shardPing: number;
  /**
   * Feature gate: whether flag `name` is on for this interaction's guild and user (in a DM, its user).
   * Until flags are loaded every flag is off.
   */
  readonly flag: (name: F, interaction: CommandInteraction) => boolean;
  readonly logger: Logger;
  readonly metrics: BotMetrics;
}

/** A slash command: its registration payload and its handler. */
export interface Command<F extends string = never> {
  readonly name: string;
  readonly definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  readonly execute: (interaction: CommandInteraction, ctx: CommandContext<F>) => Promise<void>;
}

/** Options of {@link createInteractionHandler}. */
export interface InteractionHandlerOptions<F extends string> {
  readonly commands: readonly Command<F>[];
  readonly metrics: BotMetrics;
  readonly logger: Logger;
  readonly flag: (name: F, interaction: CommandInteraction) => boolean;
  readonly shardPing: (shardId: number) => number;
  /**
   * Whether this process answers an interaction of a shard it holds (the answer gate of a live
   * handoff); true when absent.
   */
  readonly shouldAnswer?: (shardId: number, interaction: CommandInteraction) => boolean;
  /** Monotonic clock in ms. */
  readonly now: () => number;
  /**
   * Called when Discord refused an answer because another process had answered the interaction
   * (40060). Not counted as the command's error: this version did nothing wrong, the two processes
   * disagree on who owns the shard.
   */
  readonly onAnsweredElsewhere?: (about: { interaction: string; command: string; shard: number }) => void;
}

/** Runs commands, counts them, and knows what is in flight. */
export interface InteractionHandler {
  /** Handles one interaction; never rejects. */
  handle(interaction: CommandInteraction): Promise<void>;
  /** Stops accepting interactions and resolves once every one in flight has finished. */
  drain(): Promise<void>;
  readonly inFlight: number;
}

/**
 * Remembers the last `capacity` ids seen, so that a dispatch delivered twice (a replay) is answered once.
 * A ring of ids beside a Set: forgetting the oldest is O(1), never a scan over deleted Set entries.
 */
export class RecentIds {
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

/** Answers a command registered by another version that this one does not know. */
function unknownCommand<F extends string>(name: string): Command<F> {
  return {
    name: 'unknown',
    definition: { name, description: '' },
    async execute(interaction) {
      await interaction.reply(`/${name} is not available in this version.`, { ephemeral: true });
      throw new Error(`unknown command /${name}`);
    },
  };
}

/**
 * Answers each chat-input interaction exactly once: it ignores ids it has already seen and those the
 * answer gate refuses, runs the command, and on failure answers with an error message unless the
 * command had already answered. Every interaction is counted by command and outcome.
 */
export function createInteractionHandler<F extends string>(
  options: InteractionHandlerOptions<F>,
): InteractionHandler {
  const { metrics, logger, now } = options;
  const byName = new Map(options.commands.map((c) => [c.name, c]));
  const seen = new RecentIds(10_000);
  let active = 0;
  let idle: (() => void)[] = [];
  let draining = false;

  async function run(interaction: CommandInteraction, command: Command<F>): Promise<void> {
    const started = now();
    const shard = interaction.shardId;
    // Every line about this interaction names it, its command and its shard, so that a person
    // debugging a canary failure can follow one interaction through the logs.
    const about = { interaction: interaction.id, command: command.name, guild: interaction.guildId, shard };
    // The flag decisions this interaction took, in the order taken, for the same lines.
    const flags: Record<string, boolean> = {};
    let child: Logger | undefined;
    let outcome: InteractionOutcome = 'ok';
    active++;
    try {
      await command.execute(interaction, {
        flag: (name, i) => {
          const on = options.flag(name, i);
          flags[name] = on;
          return on;
        },
        shardPing: options.shardPing(shard),
        get logger() {
          child ??= logger.child(about);
          return child;
        },
        metrics,
      });
    } catch (error) {
      if (isAnsweredElsewhere(error)) {
        options.onAnsweredElsewhere?.({ interaction: interaction.id, command: command.name, shard });
        return;
      }
      const expired = isExpired(error);
      outcome = expired ? 'timeout' : 'error';
      logger.error(
        { err: error, ...about, flags },
        expired ? 'interaction expired before it was answered' : 'command failed',
      );
      if (!expired && !interaction.replied && !interaction.deferred) {
        await interaction
          .reply('Something went wrong; the team has been told.', { ephemeral: true })
          .catch((replyError: unknown) => logger.error({ err: replyError, ...about }, 'error reply failed'));
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
      logger.debug({ ...about, outcome, seconds, flags }, 'interaction handled');
    }
  }

  return {
    get inFlight() {
      return active;
    },
    async handle(interaction) {
      if (draining) return;
      if (options.shouldAnswer && !options.shouldAnswer(interaction.shardId, interaction)) {
        logger.debug(
          { interaction: interaction.id, command: interaction.commandName, shard: interaction.shardId },
          'interaction left to another process',
        );
        return;
      }
      if (!seen.add(interaction.id)) {
        logger.debug(
          { interaction: interaction.id, command: interaction.commandName, shard: interaction.shardId },
          'duplicate dispatch ignored',
        );
        return;
      }
      const command = byName.get(interaction.commandName) ?? unknownCommand<F>(interaction.commandName);
      await run(interaction, command);
    },
    async drain() {
      draining = true;
      if (active > 0) await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
