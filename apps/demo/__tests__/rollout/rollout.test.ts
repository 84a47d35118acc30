import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchResult } from '../../src/monitor/monitor.ts';
import type { AppName, AppStatus, DemoPlatform } from '../../src/platform/platform.ts';
import type { Release } from '../../src/releases/build.ts';
import { type RolloutPlan, runRollout } from '../../src/rollout/rollout.ts';
import type { DemoRouter, RouteRequest } from '../../src/rollout/router.ts';

// The rollout's state machine on typed fakes: a platform whose canary can crash, a router that records
// its moves, a judge that answers what the test says, a clock that moves when the rollout sleeps.
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((_, res) => res.writeHead(200).end('ready'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const v1: Release = { version: 'v1', entry: '/releases/v1/main.js', patch: undefined };
const v2: Release = { version: 'v2', entry: '/releases/v2/main.js', patch: '/patches/x.ts' };

function world(options: { canaryCrashes?: boolean; verdicts: number[] }) {
  let t = 0;
  const routes: RouteRequest[] = [];
  const running = new Map<AppName, AppStatus>();
  const status = (app: AppName, release: Release): AppStatus => ({
    app,
    release,
    pid: 1,
    url,
    restarts: 0,
    lastExit: undefined,
    lastError: undefined,
    logFile: `/logs/${app}.log`,
  });
  const platform: DemoPlatform = {
    start: async () => {
      throw new Error('the router starts apps in this test');
    },
    stop: async (app) => {
      running.delete(app);
    },
    status: (app) => {
      const s = running.get(app);
      if (s && app === 'quantum-superbot-canary' && options.canaryCrashes && t > 1_000) {
        return { ...s, pid: undefined, restarts: 1, lastExit: { code: 1, signal: null }, lastError: 'boom' };
      }
      return s;
    },
    pids: () => [],
    close: async () => {},
  };
  const router: DemoRouter = {
    async route(request) {
      routes.push(request);
      running.set('quantum-superbot', status('quantum-superbot', request.production));
      if (request.percent > 0)
        running.set('quantum-superbot-canary', status('quantum-superbot-canary', request.canary));
      else running.delete('quantum-superbot-canary');
      return {
        production: status('quantum-superbot', request.production),
        canary: running.get('quantum-superbot-canary'),
      };
    },
  };
  const verdicts = [...options.verdicts];
  const watched: number[] = [];
  const plan: RolloutPlan = {
    current: v1,
    next: v2,
    steps: [20, 50],
    watchSeconds: 30,
    minWatchSeconds: 15,
    intervalSeconds: 1,
    verifySeconds: 5,
    judgeConfig: '/judge.json',
  };
  const run = () =>
    runRollout(plan, {
      platform,
      router,
      watch: async (): Promise<WatchResult> => {
        watched.push(routes.at(-1)?.percent ?? -1);
        const exitCode = verdicts.shift() ?? 3;
        return { exitCode, verdict: undefined, stderr: exitCode === 3 ? 'qsb: cannot reach the canary' : '' };
      },
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
      onTransition: () => {},
      signal: new AbortController().signal,
    });
  return { run, routes, watched };
}

const moves = (routes: RouteRequest[]) =>
  routes.map((r) => `${r.production.version}+${r.canary.version}@${r.percent}`);

describe('runRollout', () => {
  it('promotes after both steps: production ends on the new release on every shard', async () => {
    const w = world({ verdicts: [0, 0] });
    const outcome = await w.run();
    expect(outcome).toMatchObject({
      verdict: 'promote',
      exitCode: 0,
      releases: { production: 'v2', canary: 'v2' },
    });
    expect(moves(w.routes)).toEqual(['v1+v1@0', 'v1+v2@20', 'v1+v2@50', 'v2+v2@0']);
    expect(w.watched).toEqual([20, 50]);
    expect(outcome.transitions.map((t) => t.phase)).toEqual([
      ...['Deploying', 'Progressing', 'Verifying', 'Watching', 'Progressing', 'Verifying', 'Watching'],
      ...['Promoting', 'Succeeded'],
    ]);
  });

  it('rolls back at the first step the judge rolls back, and never ramps', async () => {
    const w = world({ verdicts: [1] });
    const outcome = await w.run();
    expect(outcome).toMatchObject({
      verdict: 'rollback',
      exitCode: 1,
      releases: { production: 'v1', canary: 'v1' },
    });
    expect(moves(w.routes)).toEqual(['v1+v1@0', 'v1+v2@20', 'v1+v1@0']);
    expect(outcome.watchedPercent).toBe(20);
  });

  it('an undecided last step is exit code 2, and rolled back', async () => {
    const w = world({ verdicts: [0, 2] });
    const outcome = await w.run();
    expect(outcome).toMatchObject({ verdict: 'continue', exitCode: 2 });
    expect(moves(w.routes).at(-1)).toBe('v1+v1@0');
  });

  it('a canary that crashes during verification is rolled back before the judge watches it', async () => {
    const w = world({ canaryCrashes: true, verdicts: [] });
    const outcome = await w.run();
    expect(outcome.verdict).toBe('rollback');
    expect(outcome.reason).toBe(
      'verification at 20%: the canary v2 crashed (exit code 1, restarted 1 time): "boom"',
    );
    expect(w.watched).toEqual([]);
  });

  it('a judge that cannot run rolls back, saying why', async () => {
    const w = world({ verdicts: [3] });
    const outcome = await w.run();
    expect(outcome).toMatchObject({ verdict: 'rollback', exitCode: 1 });
    expect(outcome.reason).toContain('the judge could not run: qsb: cannot reach the canary');
  });
});
