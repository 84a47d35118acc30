import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultJudgeConfigInput } from '@qsb/canary';
import type { MetricDeployment } from '@qsb/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDeployment } from '../apps/qsb/__tests__/support/deployment.ts';
import { qsb } from '../apps/qsb/__tests__/support/qsb.ts';

// The judge's PromQL source against a real Prometheus scraping real /metrics endpoints: the same
// traffic judged through Prometheus and by direct scraping gives the same verdict.

const cleanup: (() => Promise<void> | void)[] = [];

async function listen(server: Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fake deployment serving real bot metrics; returns its scrape target. */
async function deployment(name: MetricDeployment, perTick: number, errorRate: number): Promise<string> {
  return (await serveDeployment(name, perTick, errorRate, (stop) => cleanup.push(stop))).target;
}

interface Pair {
  readonly targets: { production: string; canary: string };
  readonly prometheus: string;
}

/** Two deployments and a Prometheus server of their own scraping both every second. */
async function pair(perTick: number, productionErrors: number, canaryErrors: number): Promise<Pair> {
  const targets = {
    production: await deployment('production', 4 * perTick, productionErrors),
    canary: await deployment('canary', perTick, canaryErrors),
  };
  const dir = await mkdtemp(join(tmpdir(), 'qsb-prometheus-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: qsb',
      `    static_configs: [{ targets: ["${targets.production}", "${targets.canary}"] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prometheus = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  cleanup.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  // Ready, and holding a scrape of both targets.
  for (let attempt = 0; ; attempt++) {
    const ready = await fetch(`${prometheus}/api/v1/query?query=count(qsb_shards_owned)`)
      .then((r) => r.json() as Promise<{ data?: { result?: { value: [number, string] }[] } }>)
      .catch(() => undefined);
    if (ready?.data?.result?.[0]?.value[1] === '2') break;
    if (attempt > 150) throw new Error('Prometheus did not scrape both targets within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { targets, prometheus };
}

let regressed: Pair;
let healthy: Pair;
let configPath = '';

beforeAll(async () => {
  [regressed, healthy] = await Promise.all([pair(50, 0.01, 0.3), pair(100, 0.002, 0.002)]);
  const dir = await mkdtemp(join(tmpdir(), 'qsb-judge-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  configPath = join(dir, 'judge.json');
  // The default metrics, with errors tolerated up to +0.5 percentage point.
  // A 12 s window is shorter than the memory trend's warm-up (60 s), which would be awaited.
  const metrics = DefaultJudgeConfigInput.metrics
    .filter((m) => m.name !== 'memory-growth')
    .map((m) => (m.name === 'errors' ? { ...m, tolerance: { relative: 1.5, absolute: 0.005 } } : m));
  await writeFile(configPath, JSON.stringify({ metrics }));
}, 60_000);

afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('qsb monitor --prometheus (real Prometheus): the same verdict as scraping directly', () => {
  async function both({ targets, prometheus }: Pair, extra: string[] = []) {
    const common = [
      '--duration',
      '12s',
      '--interval',
      '1s',
      '--min-duration',
      '3s',
      '--json',
      '--no-dashboard',
      ...extra,
    ];
    const [viaPrometheus, direct] = await Promise.all([
      qsb(['monitor', '--prometheus', prometheus, ...common]),
      qsb([
        'monitor',
        '--no-dashboard',
        ...[
          '--production',
          `http://${targets.production}/metrics`,
          '--canary',
          `http://${targets.canary}/metrics`,
        ],
        ...common,
      ]),
    ]);
    return { viaPrometheus, direct, a: JSON.parse(viaPrometheus.out), b: JSON.parse(direct.out) };
  }

  it('rolls back an error regression either way', async () => {
    const { viaPrometheus, direct, a, b } = await both(regressed);
    expect(direct.code).toBe(1);
    // Without a terminal, stderr holds progress lines (the first, then one a minute, the last) and the exit line.
    expect(viaPrometheus.err.split('\n').at(-1)).toBe('qsb: verdict: rollback');
    expect(viaPrometheus.err).toMatch(/^\[\d+s\/12s\] rollback on errors: /m);
    expect(viaPrometheus.code).toBe(1);
    expect(a.verdict).toBe(b.verdict);
    expect(a.failed).toEqual(b.failed);
    const errors = a.reasons.find((r: { metric: string }) => r.metric === 'errors');
    expect(errors.canary).toBeGreaterThan(0.2);
    expect(errors.production).toBeLessThan(0.05);
    expect(a.source.canary).toBe(`${regressed.prometheus} {deployment="canary"}`);
  }, 30_000);

  it('promotes a healthy canary either way', async () => {
    const { viaPrometheus, direct, a, b } = await both(healthy, ['--config', configPath]);
    expect(direct.code).toBe(0);
    for (const line of viaPrometheus.err.split('\n')) expect(line).toMatch(/^\[\d+s\/12s\] /);
    expect(viaPrometheus.code).toBe(0);
    expect(a.verdict).toBe('promote');
    expect(b.verdict).toBe('promote');
    for (const metric of ['errors', 'latency']) {
      expect(a.reasons.find((r: { metric: string }) => r.metric === metric).decision).toBe('pass');
    }
  }, 30_000);

  it('exits 3 with one line when Prometheus is unreachable', async () => {
    const port = await freePort();
    const { code, err } = await qsb([
      'monitor',
      '--no-dashboard',
      '--prometheus',
      `http://127.0.0.1:${port}`,
      ...['--duration', '2s', '--interval', '1s', '--min-duration', '1s'],
    ]);
    expect(code).toBe(3);
    expect(err).toMatch(
      /^qsb: cannot read Prometheus at http:\/\/127\.0\.0\.1:[0-9]+\/api\/v1\/metadata: fetch failed/,
    );
  });
});
