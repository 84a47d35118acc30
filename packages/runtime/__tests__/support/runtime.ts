import { Writable } from 'node:stream';
import type { DiscordSimHandle } from '@qsb/discord-sim';
import type { Store } from '@qsb/store';
import pino from 'pino';
import type { Command } from '../../src/interactions/handler.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../src/runtime.ts';

/** A command that answers at once. */
export const ping: Command = {
  name: 'ping',
  definition: { name: 'ping', description: 'ping' },
  async execute(interaction) {
    await interaction.reply('pong');
  },
};

/** Log lines of one runtime, parsed. */
export type Lines = Record<string, unknown>[];

/** Starts a runtime in this process against `sim`, logging into `lines` (through the real redaction). */
export async function startTestRuntime(
  sim: DiscordSimHandle,
  store: Store,
  env: Record<string, string> = {},
  options: Partial<RuntimeOptions<never>> = {},
): Promise<{ runtime: Runtime; lines: Lines }> {
  const lines: Lines = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({
    level: 'debug',
    deployment: 'production',
    version: 't',
    secrets: [sim.token],
    destination,
  });
  const runtime = await startRuntime({
    commands: [ping],
    logger,
    openStore: async () => store,
    env: {
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.apiUrl,
      SHARD_COUNT: String(env.SHARD_COUNT ?? 4),
      SHARD_PERCENT: '0',
      IDENTIFY_WINDOW_MS: '100',
      HOST: '127.0.0.1',
      PORT: '0',
      REGISTER_COMMANDS: 'false',
      ...env,
    },
    ...options,
  });
  return { runtime, lines };
}

/** A logger that drops everything. */
export const silent = () => pino({ level: 'silent' });
