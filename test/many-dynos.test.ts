import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qsb } from '../apps/qsb/__tests__/support/qsb.ts';
import { type Child, freePort, startChild, stopChild, waitUntil } from './support/processes.ts';

// Production on three dyno processes, an A/A canary on one. Through Heroku's router each scrape
// reaches one random dyno; each dyno has served half a million interactions before the rollout, so
// a judge that counted a dyno's history again whenever the router came back to it would see
// production's error rate fall towards zero and roll the healthy canary back.

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const ErrorRate = 0.01;

async function startDyno(env: Record<string, string>): Promise<{ child: Child; port: number }> {
  const child = startChild(process.execPath, ['--import', 'tsx', 'test/support/metrics-dyno.ts'], {
    PATH: process.env.PATH ?? '',
    ERROR_RATE: String(ErrorRate),
    ...env,
  });
  cleanup.push(() => stopChild(child));
  let port = 0;
  await waitUntil(
    `dyno ${env.DEPLOYMENT} ${env.DYNO}`,
    async () => {
      const m = /\{"port":([0-9]+)\}/.exec(child.output());
      port = Number(m?.[1] ?? 0);
      return port > 0;
    },
    child,
  );
  return { child, port };
}

async function deployments(extra: Record<string, string> = {}) {
  const production = await Promise.all(
    ['web.1', 'web.2', 'web.3'].map((dyno) =>
      startDyno({ DEPLOYMENT: 'production', DYNO: dyno, PER_TICK: '12', HISTORY: '500000', ...extra }),
    ),
  );
  const canary = await startDyno({ DEPLOYMENT: 'canary', DYNO: 'web.1', PER_TICK: '12', ...extra });
  return { production, canary };
}

/** Heroku's router, for scrapes: each request goes to one dyno drawn at random (seeded). */
async function router(ports: readonly number[], seed: number): Promise<{ url: string; hits: number[] }> {
  let a = seed;
  const random = () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
  const hits = ports.map(() => 0);
  const server: Server = createServer(async (_req, res) => {
    const i = Math.floor(random() * ports.length) % ports.length;
    hits[i] = (hits[i] ?? 0) + 1;
    try {
      const upstream = await fetch(`http://127.0.0.1:${ports[i]}/metrics`);
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'text/plain',
      });
      res.end(await upstream.text());
    } catch {
      res.writeHead(503).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, hits };
}

interface Reason {
  metric: string;
  decision: string;
  canary: number | null;
  production: number | null;
}

function expectTrueErrorRates(verdict: { verdict: string; reasons: Reason[] }) {
  expect(verdict.verdict).not.toBe('rollback');
  const errors = verdict.reasons.find((r) => r.metric === 'errors');
  // The counters move in steps of a 25 ms tick of 12 interactions: a few ticks of noise at most.
  expect(errors?.production).toBeGreaterThan(ErrorRate * 0.8);
  expect(errors?.production).toBeLessThan(ErrorRate * 1.2);
  expect(errors?.canary).toBeGreaterThan(ErrorRate * 0.8);
  expect(errors?.canary).toBeLessThan(ErrorRate * 1.2);
  expect(errors?.decision).not.toBe('fail');
}

describe('many production dynos', () => {
  it('through a router reaching one random dyno per scrape: the true rates, no rollback', async () => {
    const { production, canary } = await deployments();
    const proxy = await router(
      production.map((d) => d.port),
      7,
    );
    const { code, out } = await qsb([
      'monitor',
      ...['--production', proxy.url, '--canary', `http://127.0.0.1:${canary.port}/metrics`],
      ...['--duration', '10s', '--interval', '0.25s', '--min-duration', '9s', '--json', '--no-dashboard'],
    ]);
    expect(code).not.toBe(1);
    // The router did alternate between all three.
    for (const h of proxy.hits) expect(h).toBeGreaterThan(3);
    expectTrueErrorRates(JSON.parse(out));
  }, 60_000);

  it('each dyno remote-writing to a real Prometheus, read by qsb monitor --prometheus', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qsb-remote-write-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 15s }\n');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const prometheus = startChild('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ]);
    cleanup.push(() => stopChild(prometheus));
    await waitUntil('Prometheus', async () => (await fetch(`${base}/-/ready`)).ok, prometheus);
    await deployments({ REMOTE_WRITE_URL: `${base}/api/v1/write`, REMOTE_WRITE_INTERVAL_MS: '250' });
    const dynos = async () => {
      const q = new URLSearchParams({ query: 'count by (deployment, dyno) (qsb_shards_owned)' });
      const answer = (await (await fetch(`${base}/api/v1/query?${q}`)).json()) as {
        data: { result: { metric: { deployment: string; dyno: string } }[] };
      };
      return answer.data.result.map((r) => `${r.metric.deployment}/${r.metric.dyno}`).sort();
    };
    await waitUntil('every dyno pushed', async () => (await dynos()).length === 4, prometheus);
    expect(await dynos()).toEqual([
      'canary/web.1',
      'production/web.1',
      'production/web.2',
      'production/web.3',
    ]);
    const { code, out } = await qsb([
      'monitor',
      ...['--prometheus', base],
      ...['--duration', '8s', '--interval', '0.5s', '--min-duration', '7s', '--json', '--no-dashboard'],
    ]);
    expect(code).not.toBe(1);
    expectTrueErrorRates(JSON.parse(out));
  }, 60_000);
});
