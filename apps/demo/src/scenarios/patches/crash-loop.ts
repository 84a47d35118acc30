// Compiled into the canary's build only: the process dies 4 s after it starts (a start-up task that
// throws on a timer), so the platform restarts it, and it dies again.
import { commands as original } from '../../../../bot/src/commands/commands.ts';

export type { BotCommand, CommandContext } from '../../../../bot/src/commands/commands.ts';
export { MAX_REPORT_LENGTH } from '../../../../bot/src/commands/commands.ts';

setTimeout(() => {
  throw new Error('cache warm-up failed: cannot read properties of undefined (reading "shards")');
}, 4_000).unref();

export const commands = original;
