import { Writable } from 'node:stream';
import { DiscordAPIError } from '@discordjs/rest';
import { createBotMetrics } from '@qsb/metrics';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type Command, createInteractionHandler } from '../../src/interactions/handler.ts';
import type { CommandInteraction, ReplyMessage } from '../../src/interactions/interaction.ts';

const OWNED_GUILD = '81384788765712384';

interface FakeInteraction extends CommandInteraction {
  replied: boolean;
  replies: unknown[];
  reply(message: ReplyMessage, options?: { ephemeral?: boolean }): Promise<void>;
}

function interaction(id: string, commandName: string, guildId: string | null = OWNED_GUILD): FakeInteraction {
  return {
    id,
    applicationId: '1',
    guildId,
    channelId: '2',
    shardId: 2,
    commandName,
    replied: false,
    deferred: false,
    replies: [],
    user: { id: '222078108977594368', username: 'u' },
    options: {} as CommandInteraction['options'],
    async reply(body) {
      if (this.replied) throw new Error('replied twice');
      this.replies.push(typeof body === 'string' ? { content: body } : body);
      this.replied = true;
    },
    async deferReply() {},
    async editReply() {},
    async followUp() {},
  };
}

function command(name: string, execute: Command['execute']): Command {
  return { name, definition: { name, description: name }, execute };
}

const ok = command('ok', async (i) => {
  await i.reply({ content: 'done' });
});
const fails = command('fails', async () => {
  throw new Error('boom');
});
const repliesThenFails = command('late-fail', async (i) => {
  await i.reply({ content: 'partial' });
  throw new Error('after reply');
});
const expired = command('expired', async () => {
  throw new DiscordAPIError(
    { code: RESTJSONErrorCodes.UnknownInteraction, message: 'Unknown interaction' },
    RESTJSONErrorCodes.UnknownInteraction,
    404,
    'POST',
    '/interactions/1/t/callback',
    { body: undefined },
  );
});

function setup(
  clock = { t: 0 },
  commands: Command[] = [ok, fails, repliesThenFails, expired],
  shouldAnswer?: (shardId: number, i: CommandInteraction) => boolean,
) {
  const registry = new Registry();
  const metrics = createBotMetrics({
    registry,
    deployment: 'canary',
    version: 't',
    collectDefaultMetrics: false,
  });
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
  const handler = createInteractionHandler({
    commands,
    metrics,
    logger,
    now: () => clock.t,
    shardPing: () => 40,
    flag: () => false,
    ...(shouldAnswer ? { shouldAnswer } : {}),
  });
  const count = async (command: string, outcome: string) => {
    const metric = await registry.getSingleMetric('qsb_interactions_total')?.get();
    return (
      metric?.values.find((v) => v.labels.command === command && v.labels.outcome === outcome)?.value ?? 0
    );
  };
  return { handler, lines, count };
}

const handle = (h: ReturnType<typeof setup>['handler'], i: FakeInteraction) => h.handle(i);

describe('createInteractionHandler', () => {
  it('answers once and counts ok', async () => {
    const { handler, count } = setup();
    const i = interaction('1', 'ok');
    await handle(handler, i);
    expect(i.replies).toEqual([{ content: 'done' }]);
    expect(await count('ok', 'ok')).toBe(1);
  });

  it('leaves an interaction the answer gate refuses to another process: no answer', async () => {
    const gate: [number, string][] = [];
    const { handler, count } = setup({ t: 0 }, [ok], (shard, i) => {
      gate.push([shard, i.id]);
      return i.id !== '2';
    });
    const refused = interaction('2', 'ok');
    const allowed = interaction('3', 'ok', null);
    await handle(handler, refused);
    await handle(handler, allowed);
    expect(refused.replies).toEqual([]);
    expect(allowed.replies).toHaveLength(1);
    expect(gate).toEqual([
      [2, '2'],
      [2, '3'],
    ]);
    expect(await count('ok', 'ok')).toBe(1);
  });

  it('answers a dispatch delivered twice only once', async () => {
    const { handler, count } = setup();
    const first = interaction('4', 'ok');
    const replay = interaction('4', 'ok');
    await handle(handler, first);
    await handle(handler, replay);
    expect(first.replies).toHaveLength(1);
    expect(replay.replies).toHaveLength(0);
    expect(await count('ok', 'ok')).toBe(1);
  });

  it('remembers the last 10,000 ids, and only those (bounded memory)', async () => {
    const { handler, count } = setup();
    for (let n = 0; n < 10_001; n++) await handle(handler, interaction(`id${n}`, 'ok'));
    expect(await count('ok', 'ok')).toBe(10_001);
    const recent = interaction('id10000', 'ok');
    await handle(handler, recent);
    expect(recent.replies).toHaveLength(0);
    const forgotten = interaction('id0', 'ok');
    await handle(handler, forgotten);
    expect(forgotten.replies).toHaveLength(1);
    expect(await count('ok', 'ok')).toBe(10_002);
  });

  it('answers a failing command with an error message, logs command, guild and shard', async () => {
    const { handler, lines, count } = setup();
    const i = interaction('5', 'fails');
    await handle(handler, i);
    expect(i.replies).toHaveLength(1);
    expect(JSON.stringify(i.replies[0])).toContain('Something went wrong');
    expect(await count('fails', 'error')).toBe(1);
    expect(lines.find((l) => l.msg === 'command failed')).toMatchObject({
      command: 'fails',
      guild: OWNED_GUILD,
      shard: 2,
    });
  });

  it('does not answer twice when the command failed after answering', async () => {
    const { handler, count } = setup();
    const i = interaction('6', 'late-fail');
    await handle(handler, i);
    expect(i.replies).toEqual([{ content: 'partial' }]);
    expect(await count('late-fail', 'error')).toBe(1);
  });

  it('counts an expired interaction (10062) as a timeout and does not try again', async () => {
    const { handler, count } = setup();
    const i = interaction('7', 'expired');
    await handle(handler, i);
    expect(i.replies).toEqual([]);
    expect(await count('expired', 'timeout')).toBe(1);
  });

  it('counts an answer after the 3 s deadline as a timeout', async () => {
    const clock = { t: 0 };
    const slow = command('ok', async (i) => {
      clock.t += 3500;
      await i.reply({ content: 'late' });
    });
    const { handler, count } = setup(clock, [slow]);
    await handle(handler, interaction('8', 'ok'));
    expect(await count('ok', 'timeout')).toBe(1);
    expect(await count('ok', 'ok')).toBe(0);
  });

  it('answers a command this version does not know, once', async () => {
    const { handler, count } = setup();
    const i = interaction('9', 'from-the-future');
    await handle(handler, i);
    expect(i.replies).toHaveLength(1);
    expect(JSON.stringify(i.replies[0])).toContain('/from-the-future is not available in this version');
    expect(await count('unknown', 'error')).toBe(1);
  });

  it('drain waits for the interactions in flight', async () => {
    const { handler } = setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = interaction('10', 'ok');
    const original = slow.reply.bind(slow);
    slow.reply = async (body) => {
      await gate;
      await original(body);
    };
    const running = handle(handler, slow);
    expect(handler.inFlight).toBe(1);
    let drained = false;
    const drain = handler.drain().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    release();
    await Promise.all([running, drain]);
    expect(drained).toBe(true);
    expect(slow.replies).toHaveLength(1);
  });
});
