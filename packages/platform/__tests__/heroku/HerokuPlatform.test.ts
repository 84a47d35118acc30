import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeHeroku, startFakeHeroku } from '../../../../test/support/fake-heroku.ts';
import { createTestRepo, type TestRepo } from '../../../../test/support/git-repo.ts';
import { HerokuPlatform, type HerokuPlatformOptionalOptions, PlatformError } from '../../src/index.ts';

const KEY = 'hk-test-0123456789abcdef';
const APPS = { config: { CANARY: 'false' }, formation: { web: 1 } };

let heroku: FakeHeroku;
let repo: TestRepo;
let first: string;
let second: string;
let slept: number[];

function client(options: Partial<HerokuPlatformOptionalOptions> = {}): HerokuPlatform {
  return new HerokuPlatform({
    apiKey: KEY,
    apiUrl: heroku.url,
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...options,
  });
}

beforeAll(async () => {
  heroku = await startFakeHeroku({ apiKey: KEY, buildPolls: 2 });
  repo = await createTestRepo();
  first = await repo.commit({ 'package.json': '{}', Procfile: 'web: node main.js\nworker: node main.js\n' });
  second = await repo.commit({ 'main.js': 'console.log(2)\n' });
});

afterAll(async () => {
  await heroku?.close();
  if (repo) await rm(repo.dir, { recursive: true, force: true });
});

beforeEach(() => {
  slept = [];
  heroku.remaining = 4500;
});

describe('HerokuPlatform against the fake Heroku', () => {
  it('creates an app with its config, builds from a tarball, and the build releases itself', async () => {
    const platform = client();
    expect(await platform.hasApp('qsb-staging')).toBe(false);
    await platform.createApp({ name: 'qsb-staging', ...APPS });
    expect(await platform.hasApp('qsb-staging')).toBe(true);
    expect(heroku.apps.get('qsb-staging')?.features['runtime-dyno-metadata']).toBe(true);
    expect(await platform.config('qsb-staging')).toEqual({ CANARY: 'false' });

    const build = await platform.build('qsb-staging', { repo: repo.dir, commit: first });
    expect(build.status).toBe('succeeded');
    expect(build.sourceVersion).toBe(first);
    // The tarball went to the presigned URL, then the build was created from it.
    const upload = heroku.requests.findIndex((r) => r.startsWith('PUT /blobs/'));
    expect(upload).toBeGreaterThan(heroku.requests.indexOf('POST /sources'));
    expect(heroku.requests.indexOf('POST /apps/qsb-staging/builds')).toBeGreaterThan(upload);
    const current = await platform.currentRelease('qsb-staging');
    expect(current?.id).toBe(build.releaseId);
    expect(current?.slugId).toBe(build.slugId);
    expect(await platform.slugCommit('qsb-staging', build.slugId ?? '')).toBe(first);
    // Pending builds were polled, waiting between polls.
    expect(slept.length).toBeGreaterThanOrEqual(2);

    await platform.scale('qsb-staging', { web: 1 });
    expect(await platform.dynos('qsb-staging')).toEqual([
      { name: 'web.1', type: 'web', state: 'up', releaseVersion: current?.version },
    ]);
    expect(await platform.webUrls('qsb-staging')).toEqual(['https://qsb-staging.herokuapp.com']);
  });

  it('promotes the very same slug to another app, and rolls back to the previous build', async () => {
    const platform = client();
    await platform.createApp({ name: 'qsb-canary', ...APPS });
    await platform.createApp({ name: 'qsb-production', ...APPS });
    const one = await platform.build('qsb-production', { repo: repo.dir, commit: first });
    const two = await platform.build('qsb-canary', { repo: repo.dir, commit: second });

    const promoted = await platform.copyBuild('qsb-canary', 'qsb-production');
    expect(promoted.slugId).toBe(two.slugId);
    expect(promoted.description).toContain(second.slice(0, 12));
    // A copy, not a rebuild: the canary's one build and production's one build, nothing else.
    expect(heroku.requests.filter((r) => r === 'POST /apps/qsb-production/builds')).toHaveLength(1);
    expect((await platform.currentRelease('qsb-production'))?.slugId).toBe(two.slugId);

    const back = await platform.rollback('qsb-production');
    expect(back.slugId).toBe(one.slugId);
    expect(back.description).toMatch(/^Rollback to v\d+$/);
    const releases = await platform.releases('qsb-production');
    expect(releases.map((r) => r.version)).toEqual([...releases.keys()].map((i) => i + 1));
    expect(releases.filter((r) => r.current)).toEqual([back]);
  });

  it('refuses a rollback with no earlier build', async () => {
    const platform = client();
    await platform.createApp({ name: 'qsb-lonely', ...APPS });
    await platform.build('qsb-lonely', { repo: repo.dir, commit: first });
    await expect(platform.rollback('qsb-lonely')).rejects.toMatchObject({ code: 'NOTHING_TO_DO' });
  });

  it("shows Heroku's JSON errors in one line, without the key", async () => {
    const platform = client();
    heroku.failNext(/^PATCH \/apps\/qsb-staging\/config-vars$/, 422, 'invalid_params', `bad\nthing ${KEY}`);
    const error = await platform.setConfig('qsb-staging', { A: '1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).code).toBe('API_ERROR');
    expect((error as PlatformError).status).toBe(422);
    expect((error as Error).message).toBe(
      'platform API error: PATCH /apps/qsb-staging/config-vars: HTTP 422 invalid_params: bad thing ***',
    );
    await expect(platform.config('nope-app')).rejects.toMatchObject({ code: 'API_ERROR', status: 404 });
    await expect(platform.copyBuild('nope-app', 'qsb-staging')).rejects.toThrow(
      /not_found: Couldn't find that app/,
    );
  });

  it('answers a wrong key with 401, shown without the key', async () => {
    const wrong = new HerokuPlatform({ apiKey: 'hk-wrong-key-12345', apiUrl: heroku.url });
    const error = (await wrong.config('qsb-staging').catch((e: unknown) => e)) as PlatformError;
    expect(error.message).toContain('HTTP 401 unauthorized: Invalid credentials provided.');
    expect(error.message).not.toContain('hk-wrong-key-12345');
  });

  it('slows down when RateLimit-Remaining runs low, and retries a 429 after waiting', async () => {
    heroku.remaining = 12;
    const platform = client({ minRemaining: 10 });
    await platform.config('qsb-staging');
    expect(platform.rateLimitRemaining).toBe(11);
    await platform.config('qsb-staging');
    expect(slept).toEqual([]);
    await platform.config('qsb-staging'); // 9 left after this one
    await platform.config('qsb-staging'); // waits for one token first
    expect(slept).toEqual([800]);

    heroku.remaining = 0;
    const refilling = client({
      sleep: async (ms) => {
        slept.push(ms);
        heroku.remaining = 100;
      },
    });
    expect(await refilling.config('qsb-staging')).toMatchObject({});
    expect(heroku.requests.at(-2)).toBe('GET /apps/qsb-staging/config-vars');

    heroku.remaining = 0;
    const stuck = client({ maxRateLimitRetries: 2 });
    await expect(stuck.config('qsb-staging')).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  });

  it('refuses a malformed key or API URL before any request', () => {
    expect(() => new HerokuPlatform({ apiKey: '' })).toThrow(/HEROKU_API_KEY must be an API key/);
    expect(() => new HerokuPlatform({ apiKey: KEY, apiUrl: 'not a url' })).toThrow(
      /HEROKU_API_URL "not a url"/,
    );
  });

  it('fails a build whose source has no Procfile, naming its log', async () => {
    const bare = await createTestRepo();
    try {
      const commit = await bare.commit({ 'package.json': '{}' });
      const error = (await client()
        .build('qsb-staging', { repo: bare.dir, commit })
        .catch((e: unknown) => e)) as PlatformError;
      expect(error.code).toBe('BUILD_FAILED');
      expect(error.message).toMatch(/its log: http:\/\/127\.0\.0\.1:\d+\/streams\//);
    } finally {
      await rm(bare.dir, { recursive: true, force: true });
    }
  });
});
