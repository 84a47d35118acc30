import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { LocalPlatform } from '@qsb/platform';
import { planShards } from '@qsb/sharding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../apps/qsb/src/main.ts';
import { DefaultAppNames } from '../apps/qsb/src/pipeline/context.ts';
import type { SmokeTester } from '../apps/qsb/src/pipeline/smoke.ts';
import type { VerdictRecord } from '../apps/qsb/src/pipeline/verdicts.ts';
import { waitFor } from './support/wait.ts';

// The rehearsal: the real bot built from git commits and run as processes by the local platform,
// against the local Discord (one for the canary/production application, one for staging's), driven
// by the qsb commands the workflows call. Run 1 promotes a healthy canary; run 2 rolls a broken one back.
const SHARDS = 10;
const worktree = process.cwd();

let dir: string;
let clone: string;
let sim: DiscordSimHandle;
let stagingSim: DiscordSimHandle;
let platform: LocalPlatform;
const refs = { base: '', good: '', broken: '' };

const smoke: SmokeTester = async ({ deployment, shardIds, shardCount }) => {
  const guild = sim.world.guilds.find((g) => shardIds.includes(sim.shardOf(g.id, shardCount)));
  if (!guild) return { outcome: 'failed', detail: `no guild on the ${deployment}'s shards` };
  const sent = sim.sendInteraction({ command: 'ping', guildId: guild.id });
  const record = await waitFor('the smoke interaction to be answered', () =>
    sim.stats().interactions.list.find((i) => i.id === sent.id && i.answers.length > 0),
  );
  // A second answer would arrive within the same moment; look once more after the others had a chance.
  await waitFor('other processes to answer or not', () =>
    Date.now() - record.dispatchedAt > 500 ? true : undefined,
  );
  const answers = sim.stats().interactions.list.find((i) => i.id === sent.id)?.answers ?? [];
  const by = answers.map((a) => a.userAgent ?? '');
  return answers.length === 1 && by[0]?.includes(`quantum-superbot/${deployment}`)
    ? { outcome: 'ok', detail: `/ping in guild ${guild.id} answered once by the ${deployment}` }
    : {
        outcome: 'failed',
        detail: `/ping answered ${answers.length} times, by ${by.join(', ') || 'nobody'}`,
      };
};

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    QSB_PLATFORM: 'local',
    QSB_LOCAL_DIR: join(dir, 'platform'),
    QSB_LOCAL_DEPENDENCIES: worktree,
    QSB_REPO: clone,
    QSB_VERDICTS: join(dir, 'verdicts.json'),
    // The router's plan in the store both apps follow (QSB_ROUTE=live): the share moves live.
    QSB_STORE: `file:${join(dir, 'store.json')}`,
    DISCORD_TOKEN: sim.token,
    STAGING_DISCORD_TOKEN: stagingSim.token,
    DISCORD_API_URL: sim.apiUrl,
    SHARD_COUNT: String(SHARDS),
    // A margin over the local Discord's 500 ms window on a loaded machine.
    IDENTIFY_WINDOW_MS: '700',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

async function qsb(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: env(),
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    signal: new AbortController().signal,
    pipeline: { smoke },
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `qsb route --percent P`: the canary's share moved live by the router, no restart. */
async function route(percent: number): Promise<void> {
  const run = await qsb('route', '--percent', String(percent));
  expect(run.code, `${run.out}\n${run.err}`).toBe(0);
}

async function metricsUrl(app: string): Promise<string> {
  const [url] = await platform.webUrls(app);
  if (!url) throw new Error(`${app} has no process`);
  return `${url}/metrics`;
}

async function monitor(): Promise<{ code: number; out: string; err: string }> {
  const production = await metricsUrl(DefaultAppNames.production);
  const canary = await metricsUrl(DefaultAppNames.canary);
  return qsb(
    'monitor',
    '--production',
    production,
    '--canary',
    canary,
    '--config',
    join(dir, 'judge.yaml'),
    '--duration',
    '60s',
    '--interval',
    '1s',
    '--record-verdict',
    '--no-dashboard',
  );
}

async function status() {
  const run = await qsb('status', '--json');
  expect(run.code, run.err).toBe(0);
  return JSON.parse(run.out) as {
    apps: Record<'staging' | 'canary' | 'production', { version: string; commit: string; slugId: string }>;
    canaryShare: number;
    phase: string;
    lastVerdict: VerdictRecord | null;
  };
}

function noDoubleAnswers(s: DiscordSimHandle) {
  const { answered } = s.stats({ interactionList: false }).interactions;
  expect(answered.twoOrMore).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-pipeline-e2e-'));
  clone = join(dir, 'repo');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', clone, ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@e',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@e',
      },
    }).trim();
  execFileSync('git', ['clone', '-q', '--shared', worktree, clone]);
  refs.base = git('rev-parse', 'HEAD');
  await writeFile(join(clone, 'CHANGES.md'), 'a healthy change\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'a healthy change');
  refs.good = git('rev-parse', 'HEAD');
  const commands = join(clone, 'apps/bot/src/commands/commands.ts');
  const text = await readFile(commands, 'utf8');
  await writeFile(
    commands,
    text.replace(
      'const latency = ctx.shardPing',
      "throw new Error('a broken build');\n    const latency = ctx.shardPing",
    ),
  );
  git('commit', '-q', '-am', 'a broken change');
  refs.broken = git('rev-parse', 'HEAD');
  git('branch', 'good', refs.good);
  git('branch', 'broken', refs.broken);

  const options = {
    guilds: 200,
    shards: SHARDS,
    maxConcurrency: 1,
    identifyWindowMs: 500,
    heartbeatIntervalMs: 5_000,
  };
  sim = await startDiscordSim({ ...options, seed: 7 });
  stagingSim = await startDiscordSim({
    ...options,
    seed: 8,
    token: 'MjAwMDAwMDAwMDAwMDAwMDAw.Gstage.staging-token-for-tests-only-0000000',
  });
  platform = new LocalPlatform({ dir: join(dir, 'platform') });
  // The default judge with a one-minute window (the workflows use five) and a memory trend a minute
  // can judge, so that a rehearsal decides.
  const judge = await readFile(join(worktree, 'packages/canary/judge.default.yaml'), 'utf8');
  await writeFile(
    join(dir, 'judge.yaml'),
    judge
      .replace(/^durationSeconds: \d+$/m, 'durationSeconds: 60')
      .replace(/^minDurationSeconds: \d+$/m, 'minDurationSeconds: 15')
      // The memory trend is awaited through its warm-up: the default's 60 s would outlast the window.
      // And a minute tells apart only a steep slope: 4 GB/h, as the demo (a move leaves the receiver
      // filling its caches and the giver freeing them, opposite slopes of about 2 GB/h here).
      .replace(/^ {4}warmupSeconds: 60$/m, '    warmupSeconds: 20')
      .replace(/^ {6}absolute: 150000000$/m, '      absolute: 4000000000'),
  );
}, 120_000);

afterAll(async () => {
  sim?.traffic.stop();
  await platform?.stopAll();
  await sim?.close();
  await stagingSim?.close();
  // QSB_E2E_KEEP=1 keeps the platform's state and the processes' logs for a look after a failure.
  if (dir && !process.env.QSB_E2E_KEEP) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the release rehearsal on the local platform and the local Discord', () => {
  it('deploys to staging, runs a healthy canary at 20%, ramps it to 50% and promotes it', async () => {
    // The runtime's session store: shared by canary and production (one Discord application), staging's own.
    const setup = await qsb(
      'setup',
      '--app',
      'canary',
      '--app',
      'production',
      '--set',
      `QSB_STORE=file:${join(dir, 'store.json')}`,
      '--set',
      'QSB_ROUTE=live',
    );
    expect(setup.code, setup.err).toBe(0);
    const stagingSetup = await runCli(
      ['setup', '--app', 'staging', '--set', `QSB_STORE=file:${join(dir, 'staging-store.json')}`],
      {
        env: env({ DISCORD_API_URL: stagingSim.apiUrl }),
        out: () => {},
        err: () => {},
        isTTY: false,
        signal: new AbortController().signal,
      },
    );
    expect(stagingSetup).toBe(0);

    const production = await qsb('deploy', '--app', 'production', '--ref', refs.base);
    expect(production.code, production.err).toBe(0);
    const staging = await qsb('deploy', '--app', 'staging', '--ref', 'good');
    expect(staging.code, staging.err).toBe(0);
    const stagingVerify = await qsb('verify', '--app', 'staging', '--expect-version', staging.out);
    expect(stagingVerify.code, stagingVerify.out).toBe(0);

    const canary = await qsb('deploy', '--app', 'canary', '--ref', 'good');
    expect(canary.code, canary.err).toBe(0);
    sim.traffic.start({ ratePerSecond: 40, commands: ['ping'] });
    await route(20);
    const verify = await qsb('verify', '--app', 'canary');
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out).toContain(
      `shards ${planShards({ shardCount: SHARDS, percent: 20 }).canary.join(',')} ready`,
    );
    expect(verify.out).toMatch(/ok {3}smoke +\/ping in guild \d+ answered once by the canary/);

    const judged = await monitor();
    expect(judged.code, `${judged.out}\n${judged.err}`).toBe(0);
    await route(50);
    expect((await qsb('verify', '--app', 'canary')).code).toBe(0);
    expect((await status()).phase).toBe('WaitingPromotion');

    const promoted = await qsb('promote');
    expect(promoted.code, promoted.err).toBe(0);
    const final = await status();
    expect(final.canaryShare).toBe(0);
    expect(final.phase).toBe('Promoted');
    expect(final.apps.production).toMatchObject({
      version: promoted.out,
      commit: refs.good,
      slugId: final.apps.canary.slugId,
    });
    // Its deploy only: the router moved the share to 20%, 50% and back to 0% with no release.
    expect(final.apps.canary).toMatchObject({ version: canary.out, commit: refs.good });
    expect(final.apps.staging).toMatchObject({ version: staging.out, commit: refs.good });
    expect((await qsb('verify', '--app', 'production', '--expect-version', promoted.out)).code).toBe(0);
    noDoubleAnswers(sim);
    noDoubleAnswers(stagingSim);
  }, 600_000);

  it('rolls a broken canary back: its shards return to production first, then its previous build', async () => {
    const before = await status();
    const canary = await qsb('deploy', '--app', 'canary', '--ref', 'broken');
    expect(canary.code, canary.err).toBe(0);
    await route(20);
    const judged = await monitor();
    expect(judged.code, judged.out).toBe(1);
    expect((await qsb('promote')).err).toMatch(
      /refusing to promote: the last verdict on quantum-superbot-canary v\d+'s build was rollback/,
    );

    const rolledBack = await qsb('rollback');
    expect(rolledBack.code, rolledBack.err).toBe(0);
    const final = await status();
    expect(final.canaryShare).toBe(0);
    expect(final.phase).toBe('RolledBack');
    expect(final.apps.canary).toMatchObject({ version: rolledBack.out, commit: refs.good });
    // Production keeps its build and its release: the share moved without a config change.
    expect(final.apps.production).toMatchObject({
      version: before.apps.production.version,
      commit: before.apps.production.commit,
      slugId: before.apps.production.slugId,
    });
    const prod = await qsb('verify', '--app', 'production');
    expect(prod.code, prod.out).toBe(0);
    expect(prod.out).toContain(`production at 0% of ${SHARDS}`);
    noDoubleAnswers(sim);
  }, 600_000);
});
