// Compiled into the canary's build only: the bot's commands, but /ping throws on 25% of interactions
// (picked by the interaction id's low bits, so the share is steady).
import { type BotCommand, commands as original } from '../../../../bot/src/commands/commands.ts';

export type { BotCommand, CommandContext } from '../../../../bot/src/commands/commands.ts';
export { MAX_REPORT_LENGTH } from '../../../../bot/src/commands/commands.ts';

export const commands: readonly BotCommand[] = original.map((command) =>
  command.name !== 'ping'
    ? command
    : {
        ...command,
        async execute(interaction, ctx) {
          if (BigInt(interaction.id) % 100n < 25n)
            throw new Error('ping: cannot read the shard (regression)');
          await command.execute(interaction, ctx);
        },
      },
);
