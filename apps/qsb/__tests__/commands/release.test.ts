import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBotMetrics } from '@qsb/metrics';
import { planShards } from '@qsb/sharding';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHeroku, startFakeHeroku } from '../../../../test/support/fake-heroku.ts';
import { createTestRepo, type TestRepo } from '../../../../test/support/git-repo.ts';
import { runCli } from '../../src/main.ts';
import type { CanaryShare } from '../../src/pipeline/share.ts';
import type { VerdictRecord } from '../../src/pipeline/verdicts.ts';

const KEY = 'hk-release-test-0123456789';
const TOKEN = 'bot-token-that-must-never-be-printed';
const STORE = 'redis://:store-password-never-printed@kv.example:6379';
const SHARDS = 10;

/** The router as the pipeline sees it: a share it moves, each move logged among Heroku's requests. */
class FakeRouter implements CanaryShare {
  public readonly description = 'the fake router';
  public percent = 0;
  public constructor(private readonly log: string[]) {}
  public async current(): Promise<number> {
    return this.percent;
  }
  public async moveTo(percent: number): Promise<void> {
    this.log.push(`ROUTE ${percent}`);
    this.percent = percent;
  }
  public async close(): Promise<void> {}
}

let heroku: FakeHeroku;
let repo: TestRepo;
let dir: string;
let router: FakeRouter;
let web: Server;
/** What the apps' web_url serves: a real registry of the bot's metrics, per app. */
const served = new Map<string, { registry: Registry; ready: boolean }>();

async function qsb(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: {
      HEROKU_API_KEY: KEY,
      HEROKU_API_URL: heroku.url,
      QSB_REPO: repo.dir,
      QSB_VERDICTS: join(dir, 'verdicts.json'),
      DISCORD_TOKEN: TOKEN,
      STAGING_DISCORD_TOKEN: `${TOKEN}-staging`,
      SHARD_COUNT: String(SHARDS),
      QSB_STORE: STORE,
      ...env,
    },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    signal: new AbortController().signal,
    pipeline: { canaryShare: () => router, sleep: async () => {} },
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Serves the bot's metrics for `app` as a deployment at `version` whose READY shards are `ready`. */
function serve(app: string, deployment: 'canary' | 'production', version: string, ready: readonly number[]) {
  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version });
  for (const shard of ready) metrics.shardReady.set({ shard: String(shard) }, 1);
  // The bot's flags register their counter beside these (@qsb/flags).
  new Counter({
    name: 'qsb_flag_evaluations_total',
    help: 'flags',
    labelNames: ['flag', 'result'],
    registers: [registry],
  });
  metrics.shardsOwned.set(ready.length);
  served.set(app, { registry, ready: true });
}

async function verdict(v: VerdictRecord['verdict']) {
  const release = heroku.apps.get('quantum-superbot-canary')?.releases.at(-1);
  const record: VerdictRecord = {
    verdict: v,
    at: new Date().toISOString(),
    app: 'quantum-superbot-canary',
    release: release?.version ?? 0,
    slugId: release?.slug?.id ?? '',
    commit: undefined,
    summary: `judged ${v}`,
  };
  const file = join(dir, 'verdicts.json');
  const all = await import('node:fs/promises')
    .then((fs) => fs.readFile(file, 'utf8'))
    .then(JSON.parse, () => []);
  await writeFile(file, JSON.stringify([...all, record]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-release-'));
  web = createServer(async (req, res) => {
    const app = req.headers.host?.split('.')[0] ?? '';
    const target = served.get(decodeURIComponent(req.url?.split('/')[1] ?? '')) ?? served.get(app);
    const path = `/${(req.url ?? '').split('/').slice(2).join('/')}`;
    if (!target) return void res.writeHead(503).end('no such app');
    if (path === '/healthz') return void res.writeHead(200).end('ok');
    if (path === '/readyz') return void res.writeHead(target.ready ? 200 : 503).end();
    if (path === '/metrics') {
      return void res
        .writeHead(200, { 'content-type': target.registry.contentType })
        .end(await target.registry.metrics());
    }
    res.writeHead(404).end();
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  const port = (web.address() as AddressInfo).port;
  heroku = await startFakeHeroku({ apiKey: KEY, webUrl: (app) => `http://127.0.0.1:${port}/${app}/` });
  router = new FakeRouter(heroku.requests);
  repo = await createTestRepo();
  await repo.commit({
    'package.json': '{}',
    Procfile: 'web: node main.js\n',
    'app.json': JSON.stringify({ formation: { web: { quantity: 1 } } }),
  });
  repo.git('branch', 'first');
  await repo.commit({ 'main.js': '// two\n' });
});

afterAll(async () => {
  await heroku?.close();
  if (web) await new Promise((r) => web.close(r));
  if (repo) await rm(repo.dir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the release commands refuse bad input with one line, before anything changes', () => {
  it.each([
    [
      ['deploy', '--app', 'qa', '--ref', 'main'],
      {},
      /argument 'qa' is invalid\. Allowed choices are staging, canary, production\./,
    ],
    [['route', '--percent', '150'], {}, /must be a number from 0 to 100/],
    [
      ['deploy', '--app', 'canary', '--ref', 'main'],
      { HEROKU_API_KEY: '' },
      /^qsb: HEROKU_API_KEY is not set/,
    ],
    [
      ['deploy', '--app', 'canary', '--ref', 'no-such-branch'],
      {},
      /^qsb: unknown git ref: no-such-branch does not name a commit/,
    ],
    [
      ['deploy', '--app', 'canary', '--ref', '--upload-pack=x'],
      {},
      /unknown git ref: "--upload-pack=x" is not a git ref/,
    ],
    [
      ['deploy', '--app', 'canary', '--ref', 'main'],
      {},
      /^qsb: the canary app quantum-superbot-canary does not exist on heroku: qsb setup --app canary/,
    ],
    [['setup', '--app', 'canary'], { DISCORD_TOKEN: '' }, /^qsb: DISCORD_TOKEN is not set/],
    [
      ['setup', '--app', 'production'],
      { SHARD_COUNT: 'many' },
      /^qsb: SHARD_COUNT="many" must be the total shard count/,
    ],
    [['setup', '--app', 'qa'], {}, /Allowed choices are staging, canary, production\./],
    [
      ['setup', '--app', 'canary'],
      { QSB_STORE: '' },
      /^qsb: QSB_STORE is not set: the canary app follows the routing plan/,
    ],
    [
      ['verify', '--app', 'canary', '--expect-version', '12'],
      {},
      /--expect-version 12 must be a release version such as v12/,
    ],
    [['status'], { QSB_PLATFORM: 'aws' }, /QSB_PLATFORM="aws" is not a platform: use heroku or local/],
  ])('qsb %j', async (argv, env, message) => {
    const before = heroku.requests.filter((r) => !r.startsWith('GET ')).length;
    const run = await qsb(argv, env);
    expect(run.code).toBe(3);
    expect(run.err.split('\n').filter((l) => l.startsWith('qsb:') || l.startsWith('error:'))).toHaveLength(1);
    expect(run.err).toMatch(message);
    expect(heroku.requests.filter((r) => !r.startsWith('GET ')).length).toBe(before);
  });
});

describe('the release through the Heroku API (the fake Heroku)', () => {
  it('sets up the three apps with what differs between them, and no token printed', async () => {
    const run = await qsb(['setup', '--app', 'staging', '--app', 'canary', '--app', 'production']);
    expect(run.code, run.err).toBe(0);
    expect(`${run.out}${run.err}`).not.toContain(TOKEN);
    const config = (name: string) => heroku.apps.get(name)?.config;
    expect(config('quantum-superbot-canary')).toMatchObject({
      CANARY: 'true',
      REGISTER_COMMANDS: 'false',
      SHARD_COUNT: '10',
      DISCORD_TOKEN: TOKEN,
    });
    expect(config('quantum-superbot')).toMatchObject({
      CANARY: 'false',
      SHARD_COUNT: '10',
      DISCORD_TOKEN: TOKEN,
    });
    expect(config('quantum-superbot')?.REGISTER_COMMANDS).toBeUndefined();
    // Both follow the routing plan in the shared store; staging is routed by nobody.
    expect(config('quantum-superbot-canary')).toMatchObject({ QSB_ROUTE: 'live', QSB_STORE: STORE });
    expect(config('quantum-superbot')).toMatchObject({ QSB_ROUTE: 'live', QSB_STORE: STORE });
    expect(config('quantum-superbot-staging')?.QSB_ROUTE).toBeUndefined();
    expect(`${run.out}${run.err}`).not.toContain('store-password');
    expect(config('quantum-superbot-staging')).toMatchObject({
      CANARY: 'false',
      REGISTER_COMMANDS: 'true',
      DISCORD_TOKEN: `${TOKEN}-staging`,
    });
    expect([...heroku.apps.values()].map((a) => a.stack)).toEqual(['heroku-24', 'heroku-24', 'heroku-24']);
  });

  it('deploys a ref, prints the release version, and scales the first build to app.json', async () => {
    serve('quantum-superbot', 'production', 'v3', []);
    serve('quantum-superbot-canary', 'canary', 'v3', []);
    const production = await qsb(['deploy', '--app', 'production', '--ref', 'first']);
    expect(production.code, production.err).toBe(0);
    expect(production.out).toBe('v3');
    const canary = await qsb(['deploy', '--app', 'canary', '--ref', 'main', '--json']);
    expect(canary.code, canary.err).toBe(0);
    expect(JSON.parse(canary.out)).toMatchObject({
      app: 'quantum-superbot-canary',
      version: 'v3',
      commit: repo.git('rev-parse', 'main'),
    });
    expect(heroku.apps.get('quantum-superbot-canary')?.formation).toEqual({ web: 1 });
  });

  it('verifies: the version, the catalog and the shard plan against the router, and fails on a wrong plan', async () => {
    router.percent = 20;
    const plan = planShards({ shardCount: SHARDS, percent: 20 });
    serve('quantum-superbot-canary', 'canary', 'v3', plan.canary);
    const ok = await qsb(['verify', '--app', 'canary']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain(`ok   shard plan canary at 20% of 10: shards ${plan.canary.join(',')} ready`);
    expect(ok.out).toMatch(/ok {3}metrics {4}parses and declares the \d+ metrics of the catalog/);

    serve('quantum-superbot-canary', 'canary', 'v3', plan.production);
    const wrong = await qsb(['verify', '--app', 'canary', '--expect-version', 'v9']);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('FAIL version    expected v9, the processes report v3');
    expect(wrong.out).toContain(`FAIL shard plan canary at 20% of 10 should own ${plan.canary.join(',')}`);
    expect(wrong.out).toContain('quantum-superbot-canary: 2 of 6 checks failed');
  });

  it('promotes only on a promote verdict on the canary build, slug copy first, then the shards return', async () => {
    const refused = await qsb(['promote']);
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(
      /^qsb: refusing to promote: no verdict was recorded on quantum-superbot-canary v3's build/,
    );
    await verdict('rollback');
    expect((await qsb(['promote'])).err).toMatch(
      /the last verdict on quantum-superbot-canary v3's build was rollback/,
    );
    expect(heroku.requests).not.toContain('POST /apps/quantum-superbot/releases');

    await verdict('promote');
    const status = JSON.parse((await qsb(['status', '--json'])).out);
    expect(status).toMatchObject({
      canaryShare: 20,
      phase: 'WaitingPromotion',
      lastVerdict: { verdict: 'promote' },
    });

    const promoted = await qsb(['promote']);
    expect(promoted.code, promoted.err).toBe(0);
    expect(promoted.out).toBe('v4');
    const production = heroku.apps.get('quantum-superbot');
    const canary = heroku.apps.get('quantum-superbot-canary');
    expect(production?.releases.at(-1)?.slug?.id).toBe(canary?.releases.at(-1)?.slug?.id);
    const copy = heroku.requests.lastIndexOf('POST /apps/quantum-superbot/releases');
    expect(heroku.requests.indexOf('ROUTE 0', copy)).toBeGreaterThan(copy);
    expect(router.percent).toBe(0);
    expect(JSON.parse((await qsb(['status', '--json'])).out).phase).toBe('Promoted');
  });

  it('rolls back: the shards return first, then the canary goes back to its previous build', async () => {
    expect((await qsb(['deploy', '--app', 'canary', '--ref', 'first'])).out).toBe('v4');
    const slugBefore = heroku.apps.get('quantum-superbot-canary')?.releases.at(-1)?.slug?.id;
    router.percent = 20;
    const mark = heroku.requests.length;
    const run = await qsb(['rollback']);
    expect(run.code, run.err).toBe(0);
    const since = heroku.requests.slice(mark);
    expect(since.indexOf('ROUTE 0')).toBeLessThan(
      since.indexOf('POST /apps/quantum-superbot-canary/releases'),
    );
    const canary = heroku.apps.get('quantum-superbot-canary');
    expect(canary?.releases.at(-1)?.description).toBe('Rollback to v3');
    expect(canary?.releases.at(-1)?.slug?.id).not.toBe(slugBefore);
    expect(router.percent).toBe(0);
    const text = (await qsb(['status'])).out;
    expect(text).toMatch(/^canary +quantum-superbot-canary +v5 /m);
    expect(text).toContain('canary share: 0% (the fake router)');
  });
});
