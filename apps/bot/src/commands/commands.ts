import type { Command, CommandContext as RuntimeCommandContext } from '@qsb/runtime';
import { SlashCommandBuilder } from 'discord.js';
import type { FlagName } from './flags.ts';

/** A command of Quantum-Superbot. */
export type BotCommand = Command<FlagName>;

/** What a command of Quantum-Superbot may use besides the interaction. */
export type CommandContext = RuntimeCommandContext<FlagName>;

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
    await interaction.reply(`Pong! Gateway heartbeat: ${latency}.`);
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
    ctx.metrics.userReports.inc();
    ctx.logger.warn(
      { report: text, guild: interaction.guildId, user: interaction.user.id, command: 'report' },
      'user reported a problem',
    );
    await interaction.reply('Thanks, your report reached the team.', { ephemeral: true });
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
      await interaction.reply('This feature is not available here yet.', { ephemeral: true });
      return;
    }
    // The interaction id is a snowflake: its low bits make a fair, reproducible coin.
    const state = BigInt(interaction.id) & 1n ? '|1⟩' : '|0⟩';
    await interaction.reply(`The qubit collapsed to ${state}.`);
  },
};

/** Every command of the bot, registered together in one bulk overwrite. Add a command here. */
export const commands: readonly BotCommand[] = [ping, report, quantum];
