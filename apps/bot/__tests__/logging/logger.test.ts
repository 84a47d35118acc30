import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.ts';

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
});
