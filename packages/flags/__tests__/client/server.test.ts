import dc from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFlags, type Flags, FlagsDefaults } from '../../src/index.ts';
import { ManualTimers, RecordingLogger } from '../support/fakes.ts';
import { type FakeMode, FakeUnleash } from '../support/fakeUnleash.ts';
import { featureFile, guildsFlag } from '../support/features.ts';

const GUILD_A = '81384788765712384';
const GUILD_B = '302094807046684672';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: {
  mode?: FakeMode;
  bootstrap?: unknown;
  refreshIntervalMs?: number;
  timeoutMs?: number;
}) {
  const fake = await FakeUnleash.start();
  cleanups.push(() => fake.stop());
  fake.mode = options.mode ?? 'ok';
  fake.state = featureFile(guildsFlag('beta', [GUILD_A]));
  const logger = new RecordingLogger();
  const registry = new Registry();
  const timers = new ManualTimers();
  const flags: Flags<'beta'> = createFlags({
    names: ['beta'],
    appName: 'qsb-test',
    deployment: 'canary',
    registry,
    logger,
    setTimer: timers.setTimer,
    unleash: {
      url: fake.url,
      apiToken: 'default:development.secret',
      refreshIntervalMs: options.refreshIntervalMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 2000,
    },
    ...(options.bootstrap === undefined ? {} : { data: options.bootstrap }),
  });
  cleanups.push(() => flags.close());
  const gauge = async () =>
    (await registry.getSingleMetric('qsb_flags_server_connected')?.get())?.values[0]?.value;
  return { fake, flags, logger, registry, timers, gauge };
}

describe('createFlags with an Unleash server', () => {
  it('waits for the server, sends the token, and puts its flags in force over the file', async () => {
    const sockets: unknown[] = [];
    const onSocket = (socket: unknown) => sockets.push(socket);
    dc.subscribe('net.client.socket', onSocket);
    cleanups.push(() => void dc.unsubscribe('net.client.socket', onSocket));
    const { fake, flags, logger, gauge } = await setup({
      bootstrap: featureFile(guildsFlag('beta', [GUILD_B])),
    });
    expect(await flags.ready).toEqual({ source: 'server', timedOut: false });
    expect(flags.flag('beta', GUILD_A)).toBe(true);
    expect(flags.flag('beta', GUILD_B)).toBe(false);
    expect(fake.requests[0]?.headers.authorization).toBe('default:development.secret');
    expect(fake.requests[0]?.url).toBe('/api/client/features');
    expect(await gauge()).toBe(1);
    expect(sockets.length).toBeGreaterThan(0);
    expect(logger.entries.map((e) => `${e.level}: ${e.msg}`)).toEqual([
      'info: flag server connected; its flags are in force',
    ]);
  });

  it('answers from the server as soon as ready resolves, with no file', async () => {
    const { flags, logger } = await setup({});
    expect(await flags.ready).toEqual({ source: 'server', timedOut: false });
    expect(flags.flag('beta', GUILD_A)).toBe(true);
    expect(logger.at('warn')).toEqual([]);
  });

  it('bounds start-up: with no answer, ready resolves at the timeout and the file is in force', async () => {
    const { flags, timers, logger } = await setup({
      mode: 'hang',
      bootstrap: featureFile(guildsFlag('beta', [GUILD_B])),
    });
    await vi.waitFor(() => expect(flags.status().source).toBe('file'));
    expect(timers.fire(FlagsDefaults.startTimeoutMs)).toBe(1);
    expect(await flags.ready).toEqual({ source: 'file', timedOut: true });
    expect(flags.flag('beta', GUILD_B)).toBe(true);
    expect(logger.at('warn')[0]?.msg).toMatch(
      /did not answer within 10000 ms; the flags file is in force until it does$/,
    );
  });

  it('fails closed: with no file and no answer, every flag is off', async () => {
    const { flags, timers, logger } = await setup({ mode: 'hang' });
    expect(flags.flag('beta', GUILD_A)).toBe(false);
    timers.fire(FlagsDefaults.startTimeoutMs);
    expect(await flags.ready).toEqual({ source: 'none', timedOut: true });
    expect(flags.flag('beta', GUILD_A)).toBe(false);
    expect(logger.at('warn')[0]?.msg).toMatch(/every flag is off until it does$/);
  });

  it('does not hang when the server defines no flags', async () => {
    const { fake, flags } = await setup({ mode: 'hang' });
    fake.state = featureFile();
    fake.mode = 'ok';
    fake.dropConnections(); // the client retries the request
    expect(await flags.ready).toEqual({ source: 'server', timedOut: false });
    expect(flags.flag('beta', GUILD_A)).toBe(false);
  });

  it('keeps the last flags while the server is down, shows it on the gauge, and logs once per change', async () => {
    const { fake, flags, logger, gauge } = await setup({ refreshIntervalMs: 30 });
    await flags.ready;
    fake.mode = 'down';
    const before = fake.requests.length;
    await vi.waitFor(() => expect(fake.requests.length).toBeGreaterThanOrEqual(before + 3), {
      timeout: 5000,
    });
    expect(flags.flag('beta', GUILD_A)).toBe(true);
    expect(flags.status()).toEqual({ source: 'server', connected: false });
    expect(await gauge()).toBe(0);
    fake.mode = 'ok';
    await vi.waitFor(() => expect(flags.status().connected).toBe(true), { timeout: 5000 });
    const after = fake.requests.length;
    await vi.waitFor(() => expect(fake.requests.length).toBeGreaterThanOrEqual(after + 2), { timeout: 5000 });
    expect(await gauge()).toBe(1);
    expect(logger.entries.map((e) => e.level)).toEqual(['info', 'warn', 'info']);
    expect(logger.at('warn')[0]?.msg).toContain('flag server unreachable');
    expect(logger.at('warn')[0]?.msg).toContain('keeping the last known flags (server)');
  });

  it('logs a refused token once', async () => {
    const { flags, logger, timers } = await setup({ mode: 'unauthorized' });
    await vi.waitFor(() => expect(flags.status().connected).toBe(false));
    timers.fire();
    await flags.ready;
    expect(logger.at('warn').filter((e) => e.msg.includes('401'))).toHaveLength(1);
  });

  it('refuses a request timeout under the client retry delay', async () => {
    const create = () =>
      createFlags({
        appName: 'x',
        deployment: 'canary',
        registry: new Registry(),
        logger: new RecordingLogger(),
        unleash: { url: 'http://127.0.0.1:1/api/', apiToken: 't', timeoutMs: 200 },
      });
    expect(create).toThrow('unleash.timeoutMs 200: must be an integer of at least 1000 (milliseconds)');
  });

  it('survives close() while a failing fetch is in flight', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    cleanups.push(() => void process.off('unhandledRejection', onRejection));
    const { fake, flags } = await setup({ mode: 'hang', timeoutMs: 1000 });
    await vi.waitFor(() => expect(fake.requests.length).toBeGreaterThanOrEqual(1));
    const attempts: unknown[] = [];
    const onSocket = (socket: unknown) => attempts.push(socket);
    dc.subscribe('net.client.socket', onSocket);
    cleanups.push(() => void dc.unsubscribe('net.client.socket', onSocket));
    flags.close();
    // The fetch in flight now fails: its retries find the port closed, and it reports an error after close().
    await fake.stop();
    await vi.waitFor(() => expect(attempts.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(rejections).toEqual([]);
  });
});
