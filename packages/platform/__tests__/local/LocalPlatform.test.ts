import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepo, type TestRepo } from '../../../../test/support/git-repo.ts';
import { waitFor } from '../../../../test/support/wait.ts';
import { LocalPlatform, PlatformError } from '../../src/index.ts';

// A tiny app: the build script writes what the process serves; SIGTERM is recorded, then it exits
// (or, with IGNORE_TERM, is ignored, so that only SIGKILL ends it).
const server = `
const { createServer } = require('node:http');
const { appendFileSync, readFileSync } = require('node:fs');
const built = readFileSync('built.txt', 'utf8');
process.on('SIGTERM', () => {
  appendFileSync(process.env.TERM_LOG, process.pid + '\\n');
  if (!process.env.IGNORE_TERM) process.exit(0);
});
createServer((req, res) => res.end(JSON.stringify({ built, version: process.env.HEROKU_RELEASE_VERSION, dyno: process.env.DYNO, color: process.env.COLOR })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

let repo: TestRepo;
let dir: string;
let termLog: string;
let one: string;
let two: string;
const platforms: LocalPlatform[] = [];

function local(): LocalPlatform {
  const platform = new LocalPlatform({
    dir,
    buildCommand: ['node', 'build.js'],
    graceMs: 2000,
    env: { PATH: process.env.PATH ?? '', TERM_LOG: termLog },
  });
  platforms.push(platform);
  return platform;
}

async function get(url: string): Promise<{ built: string; version: string; dyno: string; color?: string }> {
  return (await (await fetch(url)).json()) as never;
}

/** Whether a pid has ended (a zombie not yet reaped by this process counts as ended). */
function gone(pid: number | undefined): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** What the app's first process answers, once it listens. */
async function answers(platform: LocalPlatform, app: string) {
  const [url] = await platform.webUrls(app);
  if (url === undefined) throw new Error(`${app} has no process`);
  let answer: Awaited<ReturnType<typeof get>> | undefined;
  await waitFor(`${app} to answer`, () => {
    if (answer !== undefined) return true;
    get(url).then(
      (a) => {
        answer = a;
      },
      () => {},
    );
    return undefined;
  });
  return answer as Awaited<ReturnType<typeof get>>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-local-'));
  termLog = join(dir, 'term.log');
  await writeFile(termLog, '');
  repo = await createTestRepo();
  const files = (label: string) => ({
    'package.json': '{"private":true}',
    Procfile: 'web: node main.js\nworker: node main.js\n',
    'main.js': server,
    'build.js': `require('node:fs').writeFileSync('built.txt', '${label}')`,
  });
  one = await repo.commit(files('one'));
  two = await repo.commit(files('two'));
});

afterAll(async () => {
  for (const platform of platforms) await platform.stopAll().catch(() => {});
  if (repo) await rm(repo.dir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LocalPlatform', () => {
  it('builds a snapshot of a commit and runs its Procfile processes, as their own pids', async () => {
    const platform = local();
    await platform.createApp({ name: 'staging', config: { COLOR: 'blue' }, formation: { web: 1 } });
    const build = await platform.build('staging', { repo: repo.dir, commit: one });
    expect(build).toMatchObject({ status: 'succeeded', sourceVersion: one });
    // v1 initial, v2 the config, v3 the deploy: Heroku's numbering.
    expect(await answers(platform, 'staging')).toEqual({
      built: 'one',
      version: 'v3',
      dyno: 'web.1',
      color: 'blue',
    });
    const [pid] = await platform.pids('staging');
    // The Procfile's command itself, not a shell around it: SIGTERM reaches node.
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(0, 2)).toEqual([
      'node',
      'main.js',
    ]);
    expect(await platform.dynos('staging')).toEqual([
      { name: 'web.1', type: 'web', state: 'up', releaseVersion: 3 },
    ]);
  });

  it('restarts on a release with SIGTERM first, and another run of qsb sees the same apps', async () => {
    const [before] = await local().pids('staging');
    const platform = local();
    await platform.build('staging', { repo: repo.dir, commit: two });
    expect(await answers(platform, 'staging')).toMatchObject({ built: 'two', version: 'v4' });
    expect((await readFile(termLog, 'utf8')).split('\n')).toContain(String(before));
    await waitFor('the old process to be gone', () => (gone(before) ? true : undefined));
  });

  it('copies a build to another app without building again, and rolls back to the previous build', async () => {
    const platform = local();
    await platform.createApp({ name: 'production', config: {}, formation: { web: 1 } });
    await platform.build('production', { repo: repo.dir, commit: one });
    const slugsBefore = await readdir(join(dir, 'slugs'));
    const promoted = await platform.copyBuild('staging', 'production');
    expect(promoted.description).toBe(`Promote staging v4 (${two.slice(0, 12)})`);
    expect(await answers(platform, 'production')).toMatchObject({ built: 'two' });
    expect(await readdir(join(dir, 'slugs'))).toEqual(slugsBefore);

    const back = await platform.rollback('production');
    expect(back.description).toBe('Rollback to v2');
    expect(await answers(platform, 'production')).toMatchObject({
      built: 'one',
      version: `v${back.version}`,
    });
    expect((await platform.releases('production')).filter((r) => r.current)).toEqual([back]);
  });

  it('kills a process that ignores SIGTERM once the grace period is over', async () => {
    const platform = local();
    await platform.setConfig('staging', { IGNORE_TERM: '1' });
    const [stubborn] = await platform.pids('staging');
    await answers(platform, 'staging');
    await platform.setConfig('staging', { IGNORE_TERM: null });
    expect((await readFile(termLog, 'utf8')).split('\n')).toContain(String(stubborn));
    await waitFor('the stubborn process to be gone', () => (gone(stubborn) ? true : undefined));
    expect(await answers(platform, 'staging')).toMatchObject({ built: 'two' });
  });

  it('refuses an unknown app, a missing Procfile, and a lockfile that differs from the linked checkout', async () => {
    const platform = local();
    await expect(platform.build('nope', { repo: repo.dir, commit: one })).rejects.toMatchObject({
      code: 'UNKNOWN_APP',
    });
    await expect(platform.rollback('nope')).rejects.toBeInstanceOf(PlatformError);
    const checkout = join(dir, 'checkout');
    mkdirSync(join(checkout, 'node_modules'), { recursive: true });
    await writeFile(join(checkout, 'pnpm-lock.yaml'), 'lockfileVersion: 9\n');
    const linked = new LocalPlatform({ dir, dependenciesFrom: checkout, buildCommand: [] });
    const three = await repo.commit({ 'build.js': '// three\n' });
    await expect(linked.build('staging', { repo: repo.dir, commit: three })).rejects.toThrow(
      /pnpm-lock\.yaml differs/,
    );
  });
});
