import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultJudgeConfigInput } from '@qsb/canary';
import type { MetricDeployment } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type MonitorTick, monitorCommand } from '../../src/commands/monitor.ts';
import { serveDeployment } from '../support/deployment.ts';
import { qsb } from '../support/qsb.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fake deployment serving real bot metrics; returns its /metrics URL. */
async function deployment(name: MetricDeployment, perTick: number, errorRate: number): Promise<string> {
  return (await serveDeployment(name, perTick, errorRate, (stop) => cleanup.push(stop))).metricsUrl;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qsb-monitor-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('qsb monitor', () => {
  it('promotes a healthy canary after the minimum duration, and analyze agrees on the recording', async () => {
    const production = await deployment('production', 400, 0.002);
    const canary = await deployment('canary', 100, 0.002);
    const dir = await tempDir();
    // The default metrics, with errors tolerated up to +0.5 percentage point (a JSON configuration).
    const config = join(dir, 'judge.json');
    // An 8 s window is shorter than the memory trend's warm-up (60 s), which would be awaited.
    const metrics = DefaultJudgeConfigInput.metrics
      .filter((m) => m.name !== 'memory-growth')
      .map((m) => (m.name === 'errors' ? { ...m, tolerance: { relative: 1.5, absolute: 0.005 } } : m));
    await writeFile(config, JSON.stringify({ metrics }));
    const started = Date.now();
    const { code, out, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...['--production', production, '--canary', canary, '--config', config],
      ...['--duration', '8s', '--interval', '0.5s', '--min-duration', '2s', '--record', dir, '--json'],
    ]);
    // Without a terminal: a progress line at the start, once a minute, and at the end.
    const progress = err.split('\n');
    expect(progress.length).toBeLessThanOrEqual(2);
    for (const line of progress) expect(line).toMatch(/^\[\d+s\/8s\] (leaning \w+|promote)( on |$)/);
    expect(progress.at(-1)).toMatch(/^\[\d+s\/8s\] promote/);
    expect(code).toBe(0);
    const verdict = JSON.parse(out);
    expect(verdict.verdict).toBe('promote');
    expect(verdict.elapsedSeconds).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(8000);
    const errors = verdict.reasons.find((r: { metric: string }) => r.metric === 'errors');
    expect(errors.decision).toBe('pass');
    expect(errors.canary).toBeGreaterThan(0);

    // With the monitor's window: a promotion at its last look is a pass of the window's end, which a
    // replay judged against another window would not reach.
    const replay = await qsb([
      'analyze',
      ...['--baseline', join(dir, 'production.prom'), '--canary', join(dir, 'canary.prom')],
      ...['--duration', '8s', '--min-duration', '2s', '--config', config, '--json'],
    ]);
    expect(replay.code, replay.err).toBe(0);
    expect(JSON.parse(replay.out).verdict).toBe('promote');
  }, 20_000);

  it('scrapes bots whose /metrics want METRICS_TOKEN, sending it from its environment and never printing it', async () => {
    const token = 'metrics-token-0123456789';
    const cleanupStop = (stop: () => Promise<void> | void) => cleanup.push(stop);
    const production = (await serveDeployment('production', 400, 0, cleanupStop, { token })).metricsUrl;
    const canary = (await serveDeployment('canary', 100, 0, cleanupStop, { token })).metricsUrl;
    const args = [
      'monitor',
      '--no-dashboard',
      ...['--production', production, '--canary', canary, '--open-ended'],
      ...['--duration', '1s', '--min-duration', '1s', '--interval', '0.5s', '--json'],
    ];
    const refused = await qsb(args);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('HTTP 401');
    const { code, out, err } = await qsb(args, { METRICS_TOKEN: token });
    expect([0, 2], err).toContain(code);
    expect(JSON.parse(out).health.failed).toBe(0);
    expect(`${out}${err}`).not.toContain(token);
  }, 20_000);

  it('prints progress as often as --progress-every says, and refuses a zero one before scraping', async () => {
    const production = await deployment('production', 400, 0);
    const canary = await deployment('canary', 100, 0);
    const { code, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...['--production', production, '--canary', canary, '--open-ended'],
      ...['--duration', '3s', '--min-duration', '3s', '--interval', '0.5s', '--progress-every', '1s'],
    ]);
    expect(code, err).toBe(2);
    const progress = err.split('\n').filter((line) => /^\[\d+s\/3s\]/.test(line));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.length).toBeLessThanOrEqual(5);
    const refused = await qsb([
      'monitor',
      '--production',
      production,
      '--canary',
      canary,
      '--progress-every',
      '0s',
    ]);
    expect(refused.code).toBe(3);
    expect(refused.err.trim().split('\n')).toEqual([
      expect.stringContaining('--progress-every must be more than 0'),
    ]);
  }, 20_000);

  it('rolls back an error regression early, notifies the webhook, and analyze agrees', async () => {
    const production = await deployment('production', 200, 0.01);
    const canary = await deployment('canary', 50, 0.3);
    const posts: unknown[] = [];
    const webhook = await listen(
      createServer((req, res) => {
        let body = '';
        req.on('data', (chunk) => {
          body += chunk;
        });
        req.on('end', () => {
          posts.push({ type: req.headers['content-type'], body: JSON.parse(body) });
          res.writeHead(204).end();
        });
      }),
    );
    const dir = await tempDir();
    const { code, out, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...[
        '--production',
        production,
        '--canary',
        canary,
        '--duration',
        '6s',
        '--interval',
        '0.5s',
        '--min-duration',
        '1s',
      ],
      ...['--webhook', `${webhook}/api/webhooks/1/token`, '--record', dir],
    ]);
    expect(code).toBe(1);
    expect(err.split('\n').at(-1)).toBe('qsb: verdict: rollback');
    expect(err).toMatch(
      /^\[\d+s\/6s\] rollback on errors: [0-9.]+x \([0-9.]+x to [0-9.]+x\), tolerated 1\.50x$/m,
    );
    expect(out).toContain('verdict: ROLLBACK');
    expect(out).toMatch(/errors\s+fail/);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      type: 'application/json',
      body: { content: expect.stringContaining('errors') },
    });

    const replay = await qsb([
      'analyze',
      ...['--baseline', join(dir, 'production.prom'), '--canary', join(dir, 'canary.prom')],
      ...['--duration', '6s', '--json'],
    ]);
    expect(replay.code).toBe(1);
    const verdict = JSON.parse(replay.out);
    expect(verdict.verdict).toBe('rollback');
    expect(verdict.failed).toContain('errors');
  }, 20_000);

  it('waits (exit 2) when a series is missing on the canary, saying which', async () => {
    const production = await deployment('production', 100, 0.01);
    const bare = new Registry();
    const canary = await listen(
      createServer(async (_req, res) => {
        res.writeHead(200).end(await bare.metrics());
      }),
    );
    const { code, out, err } = await qsb(
      [
        'monitor',
        '--no-dashboard',
        ...['--production', production, '--canary', `${canary}/metrics`],
        ...['--duration', '1.5s', '--interval', '0.5s', '--min-duration', '0s', '--json'],
      ],
      {},
      true,
    );
    expect(code).toBe(2);
    // In a terminal: progress on stderr, then the exit line.
    expect(err).toMatch(
      /^\[[12]s\/2s\] leaning continue on errors: no data: qsb_interactions_total missing on canary$/m,
    );
    // One line per scrape in a terminal.
    expect(err.split('\n').filter((l) => l.startsWith('[')).length).toBeGreaterThanOrEqual(3);
    expect(err.split('\n').at(-1)).toBe('qsb: verdict: still undecided at the deadline');
    const verdict = JSON.parse(out);
    expect(verdict.verdict).toBe('continue');
    expect(verdict.summary).toContain('qsb_interactions_total missing on canary');
  }, 20_000);

  it('hands every tick to onTick: the verdict with its reasons, the scrapes, the last one marked', async () => {
    const production = await deployment('production', 200, 0.01);
    const canary = await deployment('canary', 50, 0.3);
    const ticks: MonitorTick[] = [];
    const lines: string[] = [];
    const ctx = {
      env: {},
      out: () => {},
      err: (l: string) => lines.push(l),
      isTTY: false,
      signal: new AbortController().signal,
    };
    const command = monitorCommand(ctx, { onTick: (tick) => ticks.push(tick) }).exitOverride();
    await expect(
      command.parseAsync(
        [
          ...['--production', production, '--canary', canary, '--no-dashboard'],
          ...['--duration', '6s', '--interval', '0.5s', '--min-duration', '1s', '--json'],
        ],
        { from: 'user' },
      ),
    ).rejects.toThrow('verdict: rollback');
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.filter((t) => t.last)).toHaveLength(1);
    const last = ticks.at(-1);
    expect(last?.last).toBe(true);
    expect(last?.verdict.verdict).toBe('rollback');
    expect(last?.verdict.leaningOn).toBe('errors');
    expect(last?.verdict.reasons.map((r) => r.metric)).toContain('errors');
    expect(last?.durationSeconds).toBe(6);
    expect(last?.scrapes.canary).toBe(ticks.length);
  }, 20_000);

  it('exits 3 with one line when a target is unreachable', async () => {
    const server = createServer();
    const url = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const production = await deployment('production', 10, 0);
    const { code, out, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...[
        '--production',
        production,
        '--canary',
        `${url}/metrics`,
        '--duration',
        '2s',
        '--interval',
        '1s',
        '--min-duration',
        '1s',
      ],
    ]);
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toMatch(new RegExp(`^qsb: cannot read canary metrics at ${url}/metrics: fetch failed`));
  });

  it('exits 3 when the canary serves malformed metrics', async () => {
    const production = await deployment('production', 10, 0);
    const canary = await listen(createServer((_req, res) => res.writeHead(200).end('qsb_up{a="1" 1\n')));
    const { code, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...[
        '--production',
        production,
        '--canary',
        `${canary}/metrics`,
        '--duration',
        '1s',
        '--interval',
        '1s',
        '--min-duration',
        '0s',
      ],
    ]);
    expect(code).toBe(3);
    expect(err).toContain('line 1');
  });

  it.each([
    [['--interval', '0'], '--interval must be more than 0'],
    [['--interval', 'soon'], "option '--interval <d>' argument 'soon' is invalid. must be a duration"],
    [['--canary', 'ftp://x'], 'must be an http:// or https:// URL'],
    [['--duration', '1m'], 'the minimum duration (120s) is longer than --duration 60s'],
  ])('refuses bad flags %j', async (flags, message) => {
    const { code, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...['--production', 'http://127.0.0.1:1/metrics', '--canary', 'http://127.0.0.1:2/metrics'],
      ...flags,
    ]);
    expect(code).toBe(3);
    expect(err).toContain(message);
  });

  it('refuses a configuration naming the bad key', async () => {
    const dir = await tempDir();
    const path = join(dir, 'judge.yaml');
    await writeFile(path, 'alpha: 2\n');
    const { code, err } = await qsb([
      'monitor',
      '--no-dashboard',
      ...['--production', 'http://127.0.0.1:1/metrics', '--canary', 'http://127.0.0.1:2/metrics'],
      ...['--config', path],
    ]);
    expect(code).toBe(3);
    expect(err).toBe(`qsb: invalid judge configuration ${path}: alpha: Too big: expected number to be <0.5`);
    expect(await readFile(path, 'utf8')).toBe('alpha: 2\n');
  });
});
