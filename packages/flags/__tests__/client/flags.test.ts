import dc from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createFlags,
  type FileWatcher,
  type Flags,
  FlagsError,
  type FlagsOptions,
  PollingFileWatcher,
} from '../../src/index.ts';
import { RecordingLogger } from '../support/fakes.ts';
import { featureFile, guildRollout, guildsFlag, usersFlag } from '../support/features.ts';

const GUILD_A = '81384788765712384';
const GUILD_B = '302094807046684672';
const USER = '172002275412279296';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'qsb-flags-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'features.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** A watcher the test triggers by hand. */
class ManualWatcher implements FileWatcher {
  public onChange: (() => void) | undefined;
  public stopped = false;
  public watch(_path: string, onChange: () => void): () => void {
    this.onChange = onChange;
    return () => {
      this.stopped = true;
    };
  }
}

function build<const N extends string>(
  options: Partial<FlagsOptions<N>> & { names?: readonly N[] },
): { flags: Flags<N>; logger: RecordingLogger; registry: Registry } {
  const logger = new RecordingLogger();
  const registry = new Registry();
  const flags = createFlags<N>({
    appName: 'qsb-test',
    deployment: 'canary',
    registry,
    logger,
    watch: false,
    ...options,
  });
  cleanups.push(() => flags.close());
  return { flags, logger, registry };
}

describe('createFlags with no server', () => {
  it('evaluates the repository flags file: quantum is on for the canary only', async () => {
    const canary = build({ file: 'flags/features.json', names: ['quantum'] });
    const production = build({ file: 'flags/features.json', names: ['quantum'], deployment: 'production' });
    expect(await canary.flags.ready).toEqual({ source: 'file', timedOut: false });
    await production.flags.ready;
    expect(canary.flags.flag('quantum', GUILD_A)).toBe(true);
    expect(canary.flags.flag('quantum', { guild: GUILD_B, user: USER })).toBe(true);
    expect(production.flags.flag('quantum', GUILD_A)).toBe(false);
    expect(canary.logger.entries).toEqual([]);
    expect(production.logger.entries).toEqual([]);
  });

  it('turns a flag on for chosen guilds and chosen users', async () => {
    const { flags } = build({
      data: featureFile(guildsFlag('beta', [GUILD_A]), usersFlag('staff', [USER])),
      names: ['beta', 'staff'],
    });
    await flags.ready;
    expect(flags.flag('beta', GUILD_A)).toBe(true);
    expect(flags.flag('beta', GUILD_B)).toBe(false);
    expect(flags.flag('beta', { id: GUILD_A, ownerId: USER })).toBe(true);
    expect(flags.flag('staff', { id: USER, username: 'nelly' })).toBe(true);
    expect(flags.flag('staff', { id: '1', username: 'other' })).toBe(false);
    expect(flags.flag('staff', { guild: { id: GUILD_B }, user: { id: USER } })).toBe(true);
    expect(flags.flag('staff', { guildId: null, user: { id: USER } })).toBe(true);
  });

  it('keeps a guild on one side of a per-guild rollout, whoever asks, and splits guilds near the percent', async () => {
    const { flags } = build({
      data: featureFile(guildRollout('half', 50, ['canary', 'production'])),
      names: ['half'],
    });
    await flags.ready;
    let on = 0;
    for (let i = 0; i < 2000; i++) {
      const guild = String(100_000_000_000_000_000n + BigInt(i) * 7919n);
      const first = flags.flag('half', guild);
      for (const user of ['1', '2', '3']) expect(flags.flag('half', { guild, user })).toBe(first);
      if (first) on++;
    }
    expect(on).toBeGreaterThan(850);
    expect(on).toBeLessThan(1150);
  });

  it('fails to compile a misspelled flag name', async () => {
    const { flags } = build({ data: featureFile(guildRollout('quantum', 100)), names: ['quantum'] });
    await flags.ready;
    // @ts-expect-error 'quantom' is not one of the declared names
    expect(flags.flag('quantom', GUILD_A)).toBe(false);
  });

  it('answers off for an unknown flag, counts it, and warns once', async () => {
    const { flags, logger, registry } = build({ data: featureFile(guildRollout('quantum', 100)) });
    await flags.ready;
    expect(flags.flag('nope', GUILD_A)).toBe(false);
    expect(flags.flag('nope', GUILD_B)).toBe(false);
    expect(logger.at('warn')).toHaveLength(1);
    expect(logger.at('warn')[0]?.msg).toContain('unknown flag "nope" is off');
    expect(await registry.metrics()).toContain('qsb_flag_evaluations_total{flag="nope",result="unknown"} 2');
  });

  it('counts evaluations by flag and result on the given registry, with no guild or user label', async () => {
    const { flags, registry } = build({ data: featureFile(guildsFlag('beta', [GUILD_A])) });
    await flags.ready;
    flags.flag('beta', GUILD_A);
    flags.flag('beta', GUILD_A);
    flags.flag('beta', GUILD_B);
    const first = await registry.metrics();
    expect(first).toContain('qsb_flag_evaluations_total{flag="beta",result="on"} 2');
    expect(first).toContain('qsb_flag_evaluations_total{flag="beta",result="off"} 1');
    expect(first).not.toMatch(/guild|user/);
    expect(first).not.toContain('qsb_flags_server_connected');
    flags.flag('beta', GUILD_A);
    expect(await registry.metrics()).toContain('qsb_flag_evaluations_total{flag="beta",result="on"} 3');
  });

  it('refuses a second client on the same registry', () => {
    const { registry } = build({ data: featureFile() });
    expect(() =>
      createFlags({
        appName: 'x',
        deployment: 'canary',
        registry,
        logger: new RecordingLogger(),
        data: featureFile(),
      }),
    ).toThrow('qsb_flag_evaluations_total is already on this registry');
  });

  it('does not evaluate raw with metrics, and reads any Unleash context', async () => {
    const { flags, registry } = build({ data: featureFile(guildRollout('quantum', 100)) });
    await flags.ready;
    expect(flags.evaluate('quantum', { properties: { guildId: GUILD_A, deployment: 'canary' } })).toBe(true);
    expect(flags.evaluate('quantum', { properties: { guildId: GUILD_A, deployment: 'production' } })).toBe(
      false,
    );
    expect(await registry.metrics()).not.toContain('flag="quantum"');
    expect(flags.definitions().map((d) => d.name)).toEqual(['quantum']);
  });

  it('with an empty file, is ready at once and every flag is off (no start-up hang)', async () => {
    const { flags, logger } = build({ data: featureFile() });
    expect(await flags.ready).toEqual({ source: 'file', timedOut: false });
    expect(flags.flag('anything', GUILD_A)).toBe(false);
    expect(logger.at('warn')).toHaveLength(1);
  });

  it.each([
    ['a missing file', undefined, 'cannot be read (no such file)'],
    ['a file that is not JSON', '{ "version": 2, ', 'not valid JSON'],
    [
      'a flag without enabled',
      { version: 2, features: [{ name: 'x', strategies: [] }] },
      'features[0].enabled',
    ],
  ])('refuses %s at start, naming the file', (_what, content, message) => {
    const file = content === undefined ? join(tmpdir(), 'qsb-flags-missing.json') : tempFile(content);
    const create = () =>
      createFlags({
        appName: 'x',
        deployment: 'canary',
        registry: new Registry(),
        logger: new RecordingLogger(),
        file,
      });
    expect(create).toThrow(FlagsError);
    expect(create).toThrow(`invalid flags file: ${file}: `);
    expect(create).toThrow(message);
  });

  it('refuses a deployment that is neither canary nor production', () => {
    expect(() =>
      createFlags({
        appName: 'x',
        deployment: 'staging' as 'canary',
        registry: new Registry(),
        logger: new RecordingLogger(),
      }),
    ).toThrow('deployment "staging": must be canary or production');
  });

  it('opens no network connection and logs no error', async () => {
    const sockets: unknown[] = [];
    const onSocket = (socket: unknown) => sockets.push(socket);
    dc.subscribe('net.client.socket', onSocket);
    cleanups.push(() => void dc.unsubscribe('net.client.socket', onSocket));
    const { flags, logger } = build({ file: 'flags/features.json', names: ['quantum'], watch: true });
    await flags.ready;
    for (let i = 0; i < 100; i++) flags.flag('quantum', String(i));
    expect(await flags.reload()).toBe('unchanged');
    await new Promise((resolve) => setImmediate(resolve));
    flags.close();
    expect(sockets).toEqual([]);
    expect(logger.entries).toEqual([]);
  });
});

describe('reloading the flags file', () => {
  it('applies an edit without a restart, and keeps the last good flags on an invalid edit', async () => {
    const file = tempFile(featureFile(guildsFlag('beta', [GUILD_A])));
    const watcher = new ManualWatcher();
    const { flags, logger } = build({ file, watch: watcher, names: ['beta'] });
    await flags.ready;
    expect(flags.flag('beta', GUILD_B)).toBe(false);

    writeFileSync(file, JSON.stringify(featureFile(guildsFlag('beta', [GUILD_A, GUILD_B]))));
    expect(await flags.reload()).toBe('reloaded');
    expect(flags.flag('beta', GUILD_B)).toBe(true);

    writeFileSync(
      file,
      JSON.stringify({ version: 2, features: [{ name: 'beta', enabled: 'yes', strategies: [] }] }),
    );
    watcher.onChange?.();
    expect(await flags.reload()).toBe('invalid');
    expect(flags.flag('beta', GUILD_B)).toBe(true);
    const errors = logger.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain(`flags file ${file} was not applied: ${file}: features[0].enabled:`);
    expect(errors[0]?.msg).toContain('keeping the last good flags');

    writeFileSync(file, JSON.stringify(featureFile(guildsFlag('beta', [], false))));
    expect(await flags.reload()).toBe('reloaded');
    expect(flags.flag('beta', GUILD_A)).toBe(false);
    expect(logger.at('error')).toHaveLength(1);
    flags.close();
    expect(watcher.stopped).toBe(true);
  });

  it('logs a file that is deleted once, and keeps the flags', async () => {
    const file = tempFile(featureFile(guildsFlag('beta', [GUILD_A])));
    const { flags, logger } = build({ file, watch: new ManualWatcher() });
    await flags.ready;
    rmSync(file);
    expect(await flags.reload()).toBe('invalid');
    expect(await flags.reload()).toBe('invalid');
    expect(flags.flag('beta', GUILD_A)).toBe(true);
    expect(logger.at('error').map((e) => e.msg)).toEqual([
      `flags file ${file} was not applied: ${file}: cannot be read (no such file); keeping the last good flags`,
    ]);
  });

  it('sees an edit through the default watcher', async () => {
    const file = tempFile(featureFile(guildsFlag('beta', [GUILD_A])));
    const { flags, logger } = build({ file, watch: new PollingFileWatcher(20) });
    await flags.ready;
    writeFileSync(
      file,
      JSON.stringify(featureFile(guildsFlag('beta', [GUILD_A, GUILD_B]), guildsFlag('gamma', []))),
    );
    await vi.waitFor(() => expect(flags.flag('beta', GUILD_B)).toBe(true), { timeout: 5000, interval: 10 });
    expect(logger.at('info')[0]?.msg).toBe(`flags file ${file} reloaded`);
  });
});
