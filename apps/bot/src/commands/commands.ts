import {
  type ChatInputCommandInteraction,
  MessageFlags,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  SlashCommandBuilder,
} from 'discord.js';

/** What a command handler may use besides the interaction. */
export interface CommandContext {
  /** Heartbeat round trip of the shard that received the interaction, in ms (-1 before the first ACK). */
  readonly shardPing: number;
  /** Feature gate: whether `name` is on for this interaction's guild and user. */
  readonly flag: (name: 'quantum', interaction: ChatInputCommandInteraction) => boolean;
  /** Records a problem reported by a user. */
  readonly report: (text: string, interaction: ChatInputCommandInteraction) => void;
}

/** A slash command: its registration payload and its handler. */
export interface BotCommand {
  readonly name: string;
  readonly definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  readonly execute: (interaction: ChatInputCommandInteraction, ctx: CommandContext) => Promise<void>;
}

/** Longest report text accepted (Discord's limit for a string option is 6,000). */
export const MAX_REPORT_LENGTH = 1000;

const ping: BotCommand = {
  name: 'ping',
  definition: new SlashCommandBuilder()
    .setName('ping')
    .setDescription('Gateway latency of this shard')
    .toJSON(),
  async execute(interaction, ctx) {
    const latency = ctx.shardPing >= 0 ? `${ctx.shardPing} ms` : 'not measured yet';
    await interaction.reply({ content: `Pong! Gateway heartbeat: ${latency}.` });
  },
};

const report: BotCommand = {
  name: 'report',
  definition: new SlashCommandBuilder()
    .setName('report')
    .setDescription('Report a problem with the bot')
    .addStringOption((o) =>
      o.setName('text').setDescription('What went wrong').setRequired(true).setMaxLength(MAX_REPORT_LENGTH),
    )
    .toJSON(),
  async execute(interaction, ctx) {
    const text = interaction.options.getString('text', true).slice(0, MAX_REPORT_LENGTH);
    ctx.report(text, interaction);
    await interaction.reply({
      content: 'Thanks, your report reached the team.',
      flags: MessageFlags.Ephemeral,
    });
  },
};

const quantum: BotCommand = {
  name: 'quantum',
  definition: new SlashCommandBuilder()
    .setName('quantum')
    .setDescription('Observe a qubit (a feature in preview)')
    .toJSON(),
  async execute(interaction, ctx) {
    if (!ctx.flag('quantum', interaction)) {
      await interaction.reply({
        content: 'This feature is not available here yet.',
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    // The interaction id is a snowflake: its low bits make a fair, reproducible coin.
    const state = BigInt(interaction.id) & 1n ? '|1⟩' : '|0⟩';
    await interaction.reply({ content: `The qubit collapsed to ${state}.` });
  },
};

/** Every command of the bot, registered together in one bulk overwrite. */
export const commands: readonly BotCommand[] = [ping, report, quantum];
