import { Writable } from 'node:stream';
import { DiscordAPIError } from '@discordjs/rest';
import { describe, expect, it } from 'vitest';
import { createLogger, describeError } from '../../src/logging/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-token-value';

describe('createLogger', () => {
  it('redacts the token by path and by value, everywhere', () => {
    const { lines, destination } = capture();
    const logger = createLogger({
      level: 'debug',
      deployment: 'canary',
      version: 'v1',
      secrets: [TOKEN],
      destination,
    });
    logger.info(
      { token: TOKEN, config: { token: TOKEN }, req: { headers: { authorization: `Bot ${TOKEN}` } } },
      'start',
    );
    logger.error({ err: new Error(`request failed for Bot ${TOKEN}`) }, `url https://x/${TOKEN}`);
    logger.debug({ env: { DISCORD_TOKEN: TOKEN, UNLEASH_API_TOKEN: 'abc' } }, 'env');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('secret-token-value');
    }
    expect(JSON.parse(lines[0] ?? '{}').token).toBe('[Redacted]');
    expect(JSON.parse(lines[2] ?? '{}').env.UNLEASH_API_TOKEN).toBe('[Redacted]');
  });

  it('carries deployment and version on every line and honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({
      level: 'info',
      deployment: 'production',
      version: 'v7',
      secrets: [],
      destination,
    });
    logger.debug('hidden');
    logger.info({ command: 'ping', guild: '1', shard: 0 }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      deployment: 'production',
      version: 'v7',
      msg: 'shown',
      shard: 0,
    });
  });

  it('redacts interaction tokens in URLs, bodies and error objects, and drops request bodies', () => {
    const { lines, destination } = capture();
    const logger = createLogger({
      level: 'debug',
      deployment: 'canary',
      version: 'v1',
      secrets: [],
      destination,
    });
    const interactionToken = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5:secretpart_abc-123';
    const error = new DiscordAPIError(
      { code: 10062, message: 'Unknown interaction' },
      10062,
      404,
      'POST',
      `https://discord.com/api/v10/interactions/123456789/${interactionToken}/callback`,
      { body: { type: 4, data: { content: 'the reply body' } } },
    );
    logger.error({ err: error }, 'interaction expired');
    logger.info({ url: `/webhooks/42/${'w'.repeat(60)}` }, `posted ${interactionToken}`);
    logger.warn({ payload: { d: { token: interactionToken } } }, 'raw');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain('secretpart');
      expect(line).not.toContain('w'.repeat(60));
      expect(line).not.toContain('the reply body');
    }
    const first = JSON.parse(lines[0] ?? '{}');
    expect(first.err.url).toBe('https://discord.com/api/v10/interactions/123456789/[Redacted]/callback');
    expect(first.err.code).toBe(10062);
    expect(first.err.message).toBe('Unknown interaction');
  });

  it('logs a WebSocket error event by its content, not as a circular graph', () => {
    const { lines, destination } = capture();
    const logger = createLogger({
      level: 'info',
      deployment: 'canary',
      version: 'v1',
      secrets: [],
      destination,
    });
    const target: Record<string, unknown> = {};
    target.self = target;
    const event = {
      type: 'error',
      target,
      error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    };
    logger.error({ err: event }, 'shard error');
    expect(lines[0]).not.toContain('unable to serialize');
    expect(JSON.parse(lines[0] ?? '{}').err).toMatchObject({
      message: 'connect ECONNREFUSED 127.0.0.1:1',
      code: 'ECONNREFUSED',
    });
    expect(describeError('plain')).toEqual({ type: 'string', message: 'plain' });
  });
});
