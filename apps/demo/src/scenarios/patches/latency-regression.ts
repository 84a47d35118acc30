// Compiled into the canary's build only: every command waits 150 ms before answering (a slow new
// dependency on the hot path).
import { setTimeout as sleep } from 'node:timers/promises';
import { type BotCommand, commands as original } from '../../../../bot/src/commands/commands.ts';

export type { BotCommand, CommandContext } from '../../../../bot/src/commands/commands.ts';
export { MAX_REPORT_LENGTH } from '../../../../bot/src/commands/commands.ts';

export const commands: readonly BotCommand[] = original.map((command) => ({
  ...command,
  async execute(interaction, ctx) {
    await sleep(150);
    await command.execute(interaction, ctx);
  },
}));
