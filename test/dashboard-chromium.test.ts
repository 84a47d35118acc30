import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBotMetrics, type MetricDeployment } from '@qsb/metrics';
import { type Browser, chromium, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../apps/qsb/src/main.ts';

// The live dashboard of `qsb monitor` in a real headless Chromium: it loads, its charts draw the
// data as it comes, and a failing canary's rollback appears on it. `qsb analyze --dashboard` shows
// the recording the same way. The screenshot in the README comes from here (docs/dashboard.png).

const root = join(import.meta.dirname, '..');
const cleanup: (() => Promise<void> | void)[] = [];
let browser: Browser;

/** A deployment with real bot metrics whose error rate and latency the test turns up and down. */
async function liveDeployment(deployment: MetricDeployment, shards: number, perTick: number) {
  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version: deployment === 'canary' ? 'v2' : 'v1' });
  metrics.shardsOwned.set(shards);
  const knobs = { errorRate: 0.01, latency: 0.08 };
  let owed = 0;
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      owed += knobs.errorRate;
      const failed = owed >= 1;
      if (failed) owed -= 1;
      metrics.observeInteraction(
        'ping',
        failed ? 'error' : 'ok',
        knobs.latency * (0.6 + (0.8 * ((i++ * 37) % 100)) / 100),
      );
    }
  }, 25);
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => clearInterval(timer));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, knobs };
}

/** Runs `qsb argv` in this process; resolves the dashboard's URL as soon as it is printed. */
function startQsb(argv: string[]) {
  const abort = new AbortController();
  const err: string[] = [];
  const out: string[] = [];
  let announce: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const done = runCli(argv, {
    env: {},
    out: (l) => out.push(l),
    err: (l) => {
      err.push(l);
      const m = /^qsb: dashboard at (http:\/\/\S+)/.exec(l);
      if (m?.[1]) announce(m[1]);
    },
    isTTY: false,
    signal: abort.signal,
  });
  done.then(() => announce(''));
  return { url, done, abort, out, err };
}

// Browser-side code is passed as text: this project's TypeScript has no DOM types.
async function waitForBody(page: Page, attribute: string, value: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    `document.body.dataset[${JSON.stringify(attribute)}] === ${JSON.stringify(value)}`,
    undefined,
    {
      timeout,
    },
  );
}

/** Per chart, how many pixels of each side's color its canvas has drawn (the lines, not the axes). */
const CountColors = `(() => {
  const near = (d, i, rgb) => Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]) < 60;
  return [...document.querySelectorAll('#charts canvas')].slice(0, 8).map((c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let production = 0;
    let canary = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (near(data, i, [59, 130, 246])) production++;
      if (near(data, i, [245, 158, 11])) canary++;
    }
    return { production, canary };
  });
})()`;

function drawnColors(page: Page): Promise<{ production: number; canary: number }[]> {
  return page.evaluate(CountColors);
}

let dir = '';

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  cleanup.push(() => browser.close());
  dir = await mkdtemp(join(tmpdir(), 'qsb-dashboard-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
}, 60_000);

afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('the dashboard in Chromium', () => {
  it('loads, draws both sides as data comes, and shows the rollback of a failing canary', async () => {
    const production = await liveDeployment('production', 16, 40);
    const canary = await liveDeployment('canary', 4, 10);
    const run = startQsb([
      'monitor',
      ...['--production', production.url, '--canary', canary.url],
      ...['--duration', '60s', '--interval', '0.5s', '--min-duration', '50s', '--record', dir],
    ]);
    const url = await run.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+\/$/);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
    cleanup.push(() => page.close());
    await page.goto(url);
    await expect(page.title()).resolves.toBe('qsb monitor');
    // Healthy for a while: the judge waits, the charts fill.
    await page.waitForFunction('Number(document.body.dataset.ticks) >= 8', undefined, {
      timeout: 30_000,
    });
    expect(await page.textContent('#verdict')).toMatch(/^judging/);
    expect(await page.textContent('#phase')).toBe('progressing');
    expect(await page.textContent('#clock')).toMatch(/elapsed, [0-9]+s left/);
    const drawn = await drawnColors(page);
    // interactions/s, error rate, p95, p50: both sides drawn.
    for (const chart of drawn.slice(0, 4)) {
      expect(chart.production).toBeGreaterThan(20);
      expect(chart.canary).toBeGreaterThan(20);
    }
    const points = await page.evaluate<number>('window.qsbDashboard.charts[0].data[0].length');
    expect(points).toBeGreaterThanOrEqual(8);
    const sides = await page.textContent('#sides');
    expect(sides).toContain('interactions/s');
    expect(sides).toMatch(/shards16 *4 \(20%\)/);

    // The canary starts failing: 40% of its interactions.
    canary.knobs.errorRate = 0.4;
    canary.knobs.latency = 0.14;
    await waitForBody(page, 'verdict', 'rollback');
    expect(await page.textContent('#verdict')).toBe('rollback');
    expect(await page.textContent('#phase')).toBe('rolled back');
    expect(await page.textContent('#summary')).toMatch(/^Rolled back: .*errors/);
    const errors = page.locator('#judge tr[data-metric="errors"]');
    await expect(errors.getAttribute('data-decision')).resolves.toBe('fail');
    expect(await errors.textContent()).toMatch(/\[[0-9.]+, [0-9.]+\]x/);
    await page.screenshot({ path: join(root, 'docs', 'dashboard.png'), fullPage: true });
    await expect(run.done).resolves.toBe(1);
    expect(run.err.at(-1)).toBe('qsb: verdict: rollback');
  }, 150_000);

  it('qsb analyze --dashboard shows the recording, up to the same rollback', async () => {
    const run = startQsb([
      'analyze',
      ...['--baseline', join(dir, 'production.prom'), '--canary', join(dir, 'canary.prom')],
      ...['--min-duration', '50s', '--duration', '60s', '--dashboard'],
    ]);
    const url = await run.url;
    expect(url).not.toBe('');
    const page = await browser.newPage();
    cleanup.push(() => page.close());
    await page.goto(url);
    // The replay asks the judge for a verdict at every tick, as the monitor did: that takes a while.
    await waitForBody(page, 'done', 'true', 150_000);
    expect(await page.textContent('#verdict')).toBe('rollback');
    expect(Number(await page.getAttribute('body', 'data-ticks'))).toBeGreaterThan(8);
    expect((await drawnColors(page))[0]?.canary).toBeGreaterThan(20);
    run.abort.abort();
    await expect(run.done).resolves.toBe(1);
    // The page is gone with the command.
    await expect(fetch(url)).rejects.toThrow();
  }, 180_000);
});
