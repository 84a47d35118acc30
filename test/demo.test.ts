import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DemoReport } from '../apps/demo/src/demo.ts';

// `pnpm demo` as a newcomer runs it, in a shortened form: every scenario to its verdict, then the
// final state read from the processes themselves, then nothing left behind.
const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; stdout: string }>;
}

function demo(args: readonly string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/demo/src/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = (once(child, 'exit') as Promise<[number | null]>).then(([code]) => ({ code, stdout }));
  return { child, stderr: () => stderr, exited };
}

/** Processes whose command line names the run's directory: every bot and monitor the demo started. */
function processesUsing(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(dir));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function listening(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );
}

async function expectNothingLeft(report: DemoReport, ports: readonly number[]): Promise<void> {
  expect(report.processes.length).toBeGreaterThan(0);
  expect(report.processes.filter(alive)).toEqual([]);
  expect(processesUsing(report.dir)).toEqual([]);
  for (const port of ports) expect(await listening(port), `port ${port}`).toBe(false);
}

const portOf = (url: string | undefined) => (url === undefined ? [] : [Number(new URL(url).port)]);

const scenarios = [
  ['healthy', 0, 'promote', 'v2'],
  ['error-regression', 1, 'rollback', 'v1'],
  ['latency-regression', 1, 'rollback', 'v1'],
  ['memory-leak', 1, 'rollback', 'v1'],
  ['crash-loop', 1, 'rollback', 'v1'],
] as const;

describe('pnpm demo', () => {
  it.each(scenarios)(
    '%s: exit code %i, %s, production ends on %s with every shard',
    async (scenario, exitCode, verdict, version) => {
      const run = demo(['--scenario', scenario, '--duration', '60s', '--rate', '250', '--json']);
      const { code, stdout } = await run.exited;
      const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DemoReport;
      expect(report.verdict, run.stderr()).toBe(verdict);
      expect(code).toBe(exitCode);
      const final = report.final;
      if (!final) throw new Error(`no final state: ${run.stderr()}`);
      // Read from production's own /metrics before the demo stopped it.
      expect(final.production).toMatchObject({ running: true, version, shardsOwned: 16 });
      expect(final.canary).toMatchObject({ running: false, shardsOwned: 0 });
      expect(final.releases).toEqual({ production: version, canary: version });
      const phases = report.transitions.map((t) => `${t.phase}@${t.percent}`);
      if (verdict === 'promote') {
        expect(phases).toEqual([
          'Deploying@0',
          ...['Progressing@20', 'Verifying@20', 'Watching@20'],
          ...['Progressing@50', 'Verifying@50', 'Watching@50'],
          'Promoting@0',
          'Succeeded@0',
        ]);
      } else {
        expect(phases.slice(-2)).toEqual(['RollingBack@0', 'RolledBack@0']);
        // The regression is caught at the first step: the canary never reaches 50%.
        expect(phases).not.toContain('Progressing@50');
      }
      if (scenario === 'crash-loop')
        expect(report.reason).toMatch(/verification at 20%: the canary v2 crashed/);
      // Never answered twice, also while the router hands shards over (make before break).
      expect(report.discord?.answered.twoOrMore).toBe(0);
      // Every step moved shards live: interactions were dispatched during the moves, and counted.
      expect(report.discord?.duringMoves).toBeGreaterThan(0);
      expect(report.discord?.unansweredDuringMoves).toBeGreaterThanOrEqual(0);
      expect(report.discord?.answered.one).toBeGreaterThan(0);
      await expectNothingLeft(report, [...portOf(final.production.url), report.discordPort ?? 0]);
    },
    240_000,
  );

  it('stops everything on Ctrl-C (SIGINT) while watching: no process or port left behind', async () => {
    const run = demo(['--duration', '120s', '--json']);
    const deadline = Date.now() + 90_000;
    while (!/Watching \(canary at 20%\)/.test(run.stderr())) {
      if (Date.now() > deadline || run.child.exitCode !== null)
        throw new Error(`never watched: ${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ports = [...run.stderr().matchAll(/http:\/\/127\.0\.0\.1:([0-9]+)/g)].map((m) => Number(m[1]));
    run.child.kill('SIGINT');
    const { code, stdout } = await run.exited;
    expect(code).toBe(130);
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DemoReport;
    expect(report.verdict).toBe('interrupted');
    expect(ports.length).toBeGreaterThan(2);
    await expectNothingLeft(report, ports);
  }, 120_000);

  it('refuses a bad flag with one line naming it, exit code 3, and starts nothing', async () => {
    const run = demo(['--scenario', 'meltdown']);
    const { code, stdout } = await run.exited;
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(run.stderr()).toContain(
      "option '--scenario <name>' argument 'meltdown' is invalid. Allowed choices are healthy, error-regression",
    );
    expect(run.stderr()).not.toContain('files in');
  });
});
