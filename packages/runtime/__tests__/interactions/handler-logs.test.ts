import { Writable } from 'node:stream';
import { createBotMetrics } from '@qsb/metrics';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type Command, createInteractionHandler } from '../../src/interactions/handler.ts';
import type { CommandInteraction } from '../../src/interactions/interaction.ts';

// What the canary's debug logs say about each interaction: its id, command, shard and the flag
// decisions it took, on every line, including the lines a command writes itself.

function interaction(id: string, commandName: string): CommandInteraction {
  return {
    id,
    applicationId: '1',
    guildId: '81384788765712384',
    channelId: '2',
    shardId: 3,
    commandName,
    replied: false,
    deferred: false,
    user: { id: '222078108977594368', username: 'u' },
    options: {} as CommandInteraction['options'],
    async reply() {
      (this as { replied: boolean }).replied = true;
    },
    async deferReply() {},
    async editReply() {},
    async followUp() {},
  };
}

function setup(commands: Command<'new-ping' | 'fast-path'>[]) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _e, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const handler = createInteractionHandler<'new-ping' | 'fast-path'>({
    commands,
    metrics: createBotMetrics({
      registry: new Registry(),
      deployment: 'canary',
      version: 't',
      collectDefaultMetrics: false,
    }),
    logger,
    now: () => 0,
    shardPing: () => 40,
    flag: (name) => name === 'new-ping',
  });
  return { handler, lines };
}

const flagged: Command<'new-ping' | 'fast-path'> = {
  name: 'ping',
  definition: { name: 'ping', description: 'ping' },
  async execute(i, ctx) {
    const fresh = ctx.flag('new-ping', i);
    ctx.flag('fast-path', i);
    ctx.logger.info({ fresh }, 'answering');
    await i.reply({ content: 'pong' });
  },
};
const failing: Command<'new-ping' | 'fast-path'> = {
  name: 'broken',
  definition: { name: 'broken', description: 'broken' },
  async execute(i, ctx) {
    if (ctx.flag('new-ping', i)) throw new Error('new path broke');
  },
};

describe('per-interaction log lines', () => {
  it('name the interaction, command, shard and flag decisions on the debug line', async () => {
    const { handler, lines } = setup([flagged]);
    await handler.handle(interaction('1100', 'ping'));
    const handled = lines.find((l) => l.msg === 'interaction handled');
    expect(handled).toMatchObject({
      interaction: '1100',
      command: 'ping',
      shard: 3,
      guild: '81384788765712384',
      outcome: 'ok',
      flags: { 'new-ping': true, 'fast-path': false },
    });
  });

  it("carry the interaction on the command's own lines", async () => {
    const { handler, lines } = setup([flagged]);
    await handler.handle(interaction('1101', 'ping'));
    expect(lines.find((l) => l.msg === 'answering')).toMatchObject({
      interaction: '1101',
      command: 'ping',
      shard: 3,
      fresh: true,
    });
  });

  it('put the flag decisions on the error line of a failed command', async () => {
    const { handler, lines } = setup([failing]);
    await handler.handle(interaction('1102', 'broken'));
    expect(lines.find((l) => l.msg === 'command failed')).toMatchObject({
      interaction: '1102',
      command: 'broken',
      shard: 3,
      flags: { 'new-ping': true },
      err: { message: 'new path broke' },
    });
    for (const line of lines) expect(line.interaction).toBe('1102');
  });

  it('name the interaction and command on a duplicate', async () => {
    const { handler, lines } = setup([flagged]);
    await handler.handle(interaction('1103', 'ping'));
    await handler.handle(interaction('1103', 'ping'));
    expect(lines.find((l) => l.msg === 'duplicate dispatch ignored')).toMatchObject({
      interaction: '1103',
      command: 'ping',
      shard: 3,
    });
  });
});
