import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutMetricNames } from '../../src/dashboard/metrics.ts';
import { runCli } from '../../src/main.ts';
import { serveDeployment } from '../support/deployment.ts';
import { qsb } from '../support/qsb.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function pair() {
  const production = await serveDeployment('production', 120, 0.002, (stop) => cleanup.push(stop));
  const canary = await serveDeployment('canary', 40, 0.002, (stop) => cleanup.push(stop));
  return ['--production', production.metricsUrl, '--canary', canary.metricsUrl];
}

describe('qsb monitor: the dashboard port', () => {
  it('prints its URL and exports the rollout state, which promtool accepts', async () => {
    const abort = new AbortController();
    const err: string[] = [];
    let found: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => {
      found = resolve;
    });
    const run = runCli(
      ['monitor', ...(await pair()), '--duration', '30s', '--interval', '0.2s', '--min-duration', '25s'],
      {
        env: {},
        out: () => {},
        err: (l) => {
          err.push(l);
          const m = /^qsb: dashboard at (\S+) \(rollout metrics at (\S+)\)$/.exec(l);
          if (m?.[2]) found(m[2]);
        },
        isTTY: false,
        signal: abort.signal,
      },
    );
    const metricsUrl = await url;
    let text = '';
    for (let i = 0; i < 100 && !/qsb_judge_metric_estimate\{metric="errors"/.test(text); i++) {
      text = await (await fetch(metricsUrl)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
    abort.abort();
    expect(await run).toBe(2);
    expect(text).toContain('qsb_rollout_phase{phase="progressing"} 1');
    expect(text).toContain('qsb_rollout_phase{phase="rolled_back"} 0');
    expect(text).toContain('qsb_canary_shard_share 0.25');
    expect(text).toContain('qsb_judge_verdict{verdict="continue"} 1');
    expect(text).toMatch(/qsb_judge_metric_decision\{metric="errors"\} [0-5]/);
    expect(text).toMatch(/qsb_judge_metric_lower\{metric="errors",scale="ratio"\} [0-9.e+-]+/);
    expect(text).toContain('qsb_monitor_interval_seconds 0.2');
    for (const name of Object.values(RolloutMetricNames)) expect(text).toContain(`# TYPE ${name} `);
    // promtool lints the exposition (names, units, help).
    const dir = await mkdtemp(join(tmpdir(), 'qsb-rollout-metrics-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'metrics.prom'), text);
    const lint = await promisify(execFile)('sh', [
      '-c',
      `promtool check metrics < ${join(dir, 'metrics.prom')}`,
    ]).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(lint.out).toBe('');
    expect(lint.code).toBe(0);
    // Gone with the command.
    await expect(fetch(metricsUrl)).rejects.toThrow();
  }, 30_000);

  it('with --dashboard-linger, keeps the final state scrapeable after the verdict', async () => {
    const abort = new AbortController();
    let found: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => {
      found = resolve;
    });
    let finished = false;
    const run = runCli(
      [
        'monitor',
        ...(await pair()),
        ...['--duration', '2s', '--interval', '0.25s', '--min-duration', '2s', '--dashboard-linger', '60s'],
      ],
      {
        env: {},
        out: () => {},
        err: (l) => {
          const m = /\(rollout metrics at (\S+)\)$/.exec(l);
          if (m?.[1]) found(m[1]);
        },
        isTTY: false,
        signal: abort.signal,
      },
    ).finally(() => {
      finished = true;
    });
    const metricsUrl = await url;
    let text = '';
    const decided = /qsb_rollout_phase\{phase="(promoted|undecided|rolled_back)"\} 1/;
    for (let i = 0; i < 300 && !decided.test(text); i++) {
      text = await (await fetch(metricsUrl)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
    // Decided (undecided at its deadline), and still served: Prometheus can scrape the last state.
    expect(text).toContain('qsb_rollout_phase{phase="progressing"} 0');
    expect(text).toMatch(/qsb_rollout_phase\{phase="(promoted|undecided)"\} 1/);
    expect(finished).toBe(false);
    // Ctrl-C ends the linger at once; the verdict's exit code stands (at the deadline a metric with
    // no detected regression passes, so this canary is promoted unless a metric was still missing).
    abort.abort();
    expect(await run).toBe(/phase="promoted"\} 1/.test(text) ? 0 : 2);
    await expect(fetch(metricsUrl)).rejects.toThrow();
  }, 40_000);

  it('refuses a port out of range, and one that is taken, naming the flag', async () => {
    const bad = await qsb(['monitor', ...(await pair()), '--dashboard-port', '70000']);
    expect(bad.code).toBe(3);
    expect(bad.err).toContain(
      "option '--dashboard-port <port>' argument '70000' is invalid. must be an integer from 0 to 65535.",
    );
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    cleanup.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = String((taken.address() as AddressInfo).port);
    const busy = await qsb([
      'monitor',
      ...(await pair()),
      '--duration',
      '2s',
      '--interval',
      '1s',
      '--min-duration',
      '1s',
      '--dashboard-port',
      port,
    ]);
    expect(busy.code).toBe(3);
    expect(busy.err).toMatch(
      new RegExp(
        `^qsb: cannot serve the dashboard on 127.0.0.1:${port}: .*EADDRINUSE.* \\(--dashboard-port, --dashboard-host; --no-dashboard turns it off\\)$`,
      ),
    );
  });

  it('--no-dashboard serves nothing and prints nothing about it', async () => {
    const { code, err } = await qsb([
      'monitor',
      ...(await pair()),
      '--duration',
      '1s',
      '--interval',
      '0.5s',
      '--min-duration',
      '1s',
      '--no-dashboard',
    ]);
    expect(code).toBe(2);
    expect(err).not.toContain('dashboard');
  });
});
