import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createFlags, type FlagsLogger } from '../../src/index.ts';
import { featureFile, guildsFlag } from '../support/features.ts';

describe('with pino as the logger', () => {
  it('takes a pino logger as it is and writes one JSON line per warning', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger: FlagsLogger = pino({ base: null, timestamp: false }, stream);
    const flags = createFlags({
      appName: 'x',
      deployment: 'canary',
      logger,
      data: featureFile(guildsFlag('beta', ['1'])),
    });
    await flags.ready;
    flags.flag('missing', '1');
    flags.flag('missing', '1');
    flags.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      {
        level: 40,
        flag: 'missing',
        source: 'file',
        msg: 'unknown flag "missing" is off: the flags in force (file) do not define it',
      },
    ]);
  });
});
