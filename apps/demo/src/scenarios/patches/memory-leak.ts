// Compiled into the canary's build only: every interaction leaves 256 KiB behind in a cache nobody
// evicts. Capped at 1 GiB so that a demo left running cannot take the machine down.
import { type BotCommand, commands as original } from '../../../../bot/src/commands/commands.ts';

export type { BotCommand, CommandContext } from '../../../../bot/src/commands/commands.ts';
export { MAX_REPORT_LENGTH } from '../../../../bot/src/commands/commands.ts';

const cache: Buffer[] = [];
const CAP = 4096;

export const commands: readonly BotCommand[] = original.map((command) => ({
  ...command,
  async execute(interaction, ctx) {
    // Filled, not just allocated, so the pages are resident.
    if (cache.length < CAP) cache.push(Buffer.alloc(256 * 1024, interaction.id));
    await command.execute(interaction, ctx);
  },
}));
