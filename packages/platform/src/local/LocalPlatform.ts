import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PlatformError } from '../errors/PlatformError.ts';
import type { AppSpec, Build, ConfigChanges, Dyno, Platform, Release, SourceRef } from '../platform.ts';
import { snapshotCommit } from '../source/git.ts';
import { linkDependencies } from './link.ts';

/** Required options of {@link LocalPlatform}. */
export interface LocalPlatformOptions {
  /** Where the apps, releases, builds, pids, ports and logs are kept (`QSB_LOCAL_DIR`). */
  readonly dir: string;
}

/** Optional options of {@link LocalPlatform}. */
export interface LocalPlatformOptionalOptions {
  /** The checkout whose installed `node_modules` builds link; undefined: the source repository. */
  readonly dependenciesFrom: string | undefined;
  /** Run in the snapshot after linking dependencies (Heroku's Node.js buildpack runs this script). */
  readonly buildCommand: readonly string[];
  /** SIGTERM, then SIGKILL this much later, as Heroku does. */
  readonly graceMs: number;
  /** The environment every process starts from (config vars and dyno variables go on top). */
  readonly env: Readonly<Record<string, string>>;
  readonly now: () => Date;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** Defaults of {@link LocalPlatformOptionalOptions}. */
export const LocalPlatformDefaults = {
  dependenciesFrom: undefined,
  buildCommand: ['pnpm', 'run', '--if-present', 'heroku-postbuild'],
  graceMs: 30_000,
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  now: () => new Date(),
  log: () => {},
} as const satisfies LocalPlatformOptionalOptions;

interface LocalRelease {
  id: string;
  version: number;
  status: 'succeeded' | 'failed';
  slugId: string | null;
  description: string;
  createdAt: string;
  config: Record<string, string>;
}

interface LocalProcess {
  name: string;
  type: string;
  pid: number;
  port: number;
  releaseVersion: number;
  cwd: string;
}

interface LocalApp {
  name: string;
  config: Record<string, string>;
  formation: Record<string, number>;
  releases: LocalRelease[];
  processes: LocalProcess[];
}

interface LocalSlug {
  id: string;
  commit: string;
  dir: string;
  processTypes: Record<string, string>;
}

interface LocalState {
  apps: Record<string, LocalApp>;
  slugs: Record<string, LocalSlug>;
}

const BUILT_MARK = '.qsb-built';

/** Parses a Procfile: `type: command` lines. */
export function parseProcfile(text: string): Record<string, string> {
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) types[m[1]] = m[2];
  }
  return types;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

/** Whether `p` still runs: its pid is alive, not a zombie, and still in its build's directory (no pid reuse). */
function alive(p: LocalProcess): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readlinkSync(`/proc/${p.pid}/cwd`) === p.cwd;
  } catch {
    return false;
  }
}

function signal(p: LocalProcess, sig: NodeJS.Signals): void {
  if (!alive(p)) return;
  try {
    // The process group: the process itself (the command is exec'd, no wrapper) and anything it started.
    process.kill(-p.pid, sig);
  } catch {
    // already gone
  }
}

/**
 * The apps as processes on this machine, with Heroku's model: a build is a directory snapshot of a
 * git commit (dependencies linked from an installed checkout, then the build script), a release
 * restarts the app's processes on that build (SIGTERM first, SIGKILL after the grace period), config
 * changes and rollbacks are releases. State lives in `dir`, so separate `qsb` runs see the same apps.
 *
 * Every process gets its own `PORT` (web and worker alike), so that `/readyz` of a worker can be read
 * here, where Heroku could only report its dyno state.
 */
export class LocalPlatform implements Platform {
  public readonly kind = 'local' as const;
  readonly #dir: string;
  readonly #options: LocalPlatformOptionalOptions;

  public constructor(options: LocalPlatformOptions & Partial<LocalPlatformOptionalOptions>) {
    const { dir, ...rest } = options;
    this.#dir = resolve(dir);
    this.#options = { ...LocalPlatformDefaults, ...rest };
  }

  /** Where the state is kept. */
  public get dir(): string {
    return this.#dir;
  }

  async #read(): Promise<LocalState> {
    try {
      return JSON.parse(await readFile(join(this.#dir, 'state.json'), 'utf8')) as LocalState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { apps: {}, slugs: {} };
      throw new PlatformError(
        'INVALID_CONFIGURATION',
        `cannot read ${join(this.#dir, 'state.json')}: ${(error as Error).message}`,
      );
    }
  }

  async #write(state: LocalState): Promise<void> {
    const file = join(this.#dir, 'state.json');
    await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2));
    await rename(`${file}.tmp`, file);
  }

  /** Runs `fn` holding the directory's lock (a `mkdir`), so that two `qsb` runs never interleave. */
  async #locked<T>(fn: (state: LocalState) => Promise<T>): Promise<T> {
    await mkdir(this.#dir, { recursive: true });
    const lock = join(this.#dir, 'lock');
    for (let i = 0; ; i++) {
      try {
        await mkdir(lock);
        await writeFile(join(lock, 'pid'), String(process.pid));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
        if (Number.isInteger(holder) && !existsSync(`/proc/${holder}`)) {
          await rm(lock, { recursive: true, force: true });
          continue;
        }
        if (i > 4800) throw new PlatformError('TIMEOUT', `${lock} is held by process ${holder}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    try {
      const state = await this.#read();
      const result = await fn(state);
      await this.#write(state);
      return result;
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }

  static #app(state: LocalState, name: string): LocalApp {
    const app = state.apps[name];
    if (!app)
      throw new PlatformError(
        'UNKNOWN_APP',
        `${name} does not exist on the local platform (qsb setup creates it)`,
      );
    return app;
  }

  #newRelease(
    app: LocalApp,
    slugId: string | null,
    description: string,
    config: Record<string, string>,
  ): LocalRelease {
    const release: LocalRelease = {
      id: randomUUID(),
      version: app.releases.length + 1,
      status: 'succeeded',
      slugId,
      description,
      createdAt: this.#options.now().toISOString(),
      config: { ...config },
    };
    app.releases.push(release);
    app.config = { ...config };
    return release;
  }

  static #show(app: LocalApp, r: LocalRelease): Release {
    return {
      id: r.id,
      version: r.version,
      status: r.status,
      slugId: r.slugId ?? undefined,
      description: r.description,
      current: app.releases.at(-1)?.id === r.id,
      createdAt: r.createdAt,
    };
  }

  async #start(
    app: LocalApp,
    slug: LocalSlug,
    release: LocalRelease,
    type: string,
    index: number,
  ): Promise<LocalProcess> {
    const command = slug.processTypes[type];
    if (command === undefined)
      throw new PlatformError(
        'RELEASE_FAILED',
        `the build of ${slug.commit.slice(0, 12)} has no ${type} process type`,
      );
    const port = await freePort();
    const name = `${type}.${index}`;
    await mkdir(join(this.#dir, 'logs', app.name), { recursive: true });
    const log = await open(join(this.#dir, 'logs', app.name, `${name}.log`), 'a');
    const child = spawn('/bin/sh', ['-c', `exec ${command}`], {
      cwd: slug.dir,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: {
        ...this.#options.env,
        ...release.config,
        PORT: String(port),
        DYNO: name,
        HEROKU_APP_NAME: app.name,
        HEROKU_RELEASE_VERSION: `v${release.version}`,
        HEROKU_SLUG_COMMIT: slug.commit,
      },
    });
    child.unref();
    await log.close();
    if (child.pid === undefined)
      throw new PlatformError('RELEASE_FAILED', `could not start ${name} of ${app.name}`);
    this.#options.log(`${app.name}: started ${name} (pid ${child.pid}, port ${port}) on v${release.version}`);
    return { name, type, pid: child.pid, port, releaseVersion: release.version, cwd: slug.dir };
  }

  async #stop(processes: readonly LocalProcess[]): Promise<void> {
    for (const p of processes) signal(p, 'SIGTERM');
    const deadline = Date.now() + this.#options.graceMs;
    while (processes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const p of processes) signal(p, 'SIGKILL');
    // SIGKILL is not instant either: return once the kernel has ended them.
    const killedBy = Date.now() + 5000;
    while (processes.some(alive) && Date.now() < killedBy) await new Promise((r) => setTimeout(r, 20));
  }

  /** Restarts the app's processes on its newest release: SIGTERM to the old ones, then the new ones start. */
  async #activate(state: LocalState, app: LocalApp): Promise<void> {
    const release = app.releases.at(-1);
    const old = app.processes;
    for (const p of old) signal(p, 'SIGTERM');
    app.processes = [];
    const slug = release?.slugId ? state.slugs[release.slugId] : undefined;
    if (release && slug) {
      for (const [type, quantity] of Object.entries(app.formation)) {
        if (!(type in slug.processTypes)) continue;
        for (let i = 1; i <= quantity; i++)
          app.processes.push(await this.#start(app, slug, release, type, i));
      }
    }
    await this.#stop(old);
  }

  public async hasApp(app: string): Promise<boolean> {
    return (await this.#read()).apps[app] !== undefined;
  }

  public async createApp(spec: AppSpec): Promise<void> {
    await this.#locked(async (state) => {
      let app = state.apps[spec.name];
      if (!app) {
        app = { name: spec.name, config: {}, formation: {}, releases: [], processes: [] };
        state.apps[spec.name] = app;
        this.#newRelease(app, null, 'Initial release', {});
      }
      app.formation = { ...app.formation, ...spec.formation };
      const config = { ...app.config, ...spec.config };
      if (JSON.stringify(config) !== JSON.stringify(app.config)) {
        this.#newRelease(
          app,
          app.releases.at(-1)?.slugId ?? null,
          `Set ${Object.keys(spec.config).join(', ')} config vars`,
          config,
        );
        await this.#activate(state, app);
      }
    });
  }

  public async build(app: string, source: SourceRef): Promise<Build> {
    LocalPlatform.#app(await this.#read(), app);
    const id = randomUUID();
    const dir = join(this.#dir, 'slugs', source.commit);
    if (!existsSync(join(dir, BUILT_MARK))) await this.#compile(id, source, dir);
    const procfile = await readFile(join(dir, 'Procfile'), 'utf8').catch(() => undefined);
    if (procfile === undefined)
      throw new PlatformError('BUILD_FAILED', `${source.commit.slice(0, 12)} has no Procfile`);
    return this.#locked(async (state) => {
      const slug: LocalSlug = {
        id: randomUUID(),
        commit: source.commit,
        dir,
        processTypes: parseProcfile(procfile),
      };
      state.slugs[slug.id] = slug;
      const target = LocalPlatform.#app(state, app);
      const release = this.#newRelease(target, slug.id, `Deploy ${source.commit.slice(0, 8)}`, target.config);
      await this.#activate(state, target);
      return {
        id,
        status: 'succeeded',
        sourceVersion: source.commit,
        slugId: slug.id,
        releaseId: release.id,
      };
    });
  }

  /** Snapshot, dependencies, build script; into a temporary directory renamed once complete. */
  async #compile(id: string, source: SourceRef, dir: string): Promise<void> {
    const tmp = `${dir}.${id}`;
    const logFile = join(this.#dir, 'builds', `${id}.log`);
    await mkdir(join(this.#dir, 'builds'), { recursive: true });
    try {
      await snapshotCommit(source.repo, source.commit, tmp);
      const refused = await linkDependencies(this.#options.dependenciesFrom ?? source.repo, tmp);
      if (refused !== undefined)
        throw new PlatformError('BUILD_FAILED', `${source.commit.slice(0, 12)}: ${refused}`);
      const [command, ...args] = this.#options.buildCommand;
      if (command !== undefined && existsSync(join(tmp, 'package.json'))) {
        const log = await open(logFile, 'a');
        const child = spawn(command, args, {
          cwd: tmp,
          stdio: ['ignore', log.fd, log.fd],
          env: { ...this.#options.env, CI: 'true' },
        });
        const code = await new Promise<number | null>((done) => {
          child.once('error', () => done(-1));
          child.once('close', done);
        });
        await log.close();
        if (code !== 0)
          throw new PlatformError(
            'BUILD_FAILED',
            `${this.#options.buildCommand.join(' ')} exited ${code}; its log: ${logFile}`,
          );
      }
      await writeFile(join(tmp, BUILT_MARK), source.commit);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  public async release(app: string, slugId: string, description: string): Promise<Release> {
    return this.#locked(async (state) => {
      const target = LocalPlatform.#app(state, app);
      if (!state.slugs[slugId]) throw new PlatformError('NOTHING_TO_DO', `slug ${slugId} does not exist`);
      const release = this.#newRelease(target, slugId, description, target.config);
      await this.#activate(state, target);
      return LocalPlatform.#show(target, release);
    });
  }

  public async releases(app: string): Promise<Release[]> {
    const target = LocalPlatform.#app(await this.#read(), app);
    return target.releases.map((r) => LocalPlatform.#show(target, r));
  }

  public async currentRelease(app: string): Promise<Release | undefined> {
    return (await this.releases(app)).at(-1);
  }

  public async slugCommit(_app: string, slugId: string): Promise<string | undefined> {
    return (await this.#read()).slugs[slugId]?.commit;
  }

  public async copyBuild(from: string, to: string): Promise<Release> {
    const source = await this.currentRelease(from);
    if (source?.slugId === undefined)
      throw new PlatformError('NOTHING_TO_DO', `${from} has no released build to copy`);
    const commit = await this.slugCommit(from, source.slugId);
    return this.release(to, source.slugId, `Promote ${from} v${source.version} (${commit?.slice(0, 12)})`);
  }

  public async rollback(app: string, releaseId?: string): Promise<Release> {
    return this.#locked(async (state) => {
      const target = LocalPlatform.#app(state, app);
      const current = target.releases.at(-1);
      const earlier =
        releaseId === undefined
          ? target.releases.filter((r) => r.slugId !== null && r.slugId !== current?.slugId).at(-1)
          : target.releases.find((r) => r.id === releaseId || String(r.version) === releaseId);
      if (earlier?.slugId == null)
        throw new PlatformError('NOTHING_TO_DO', `${app} has no earlier build to roll back to`);
      // As Heroku: the earlier release's slug and its config.
      const release = this.#newRelease(
        target,
        earlier.slugId,
        `Rollback to v${earlier.version}`,
        earlier.config,
      );
      await this.#activate(state, target);
      return LocalPlatform.#show(target, release);
    });
  }

  public async config(app: string): Promise<Record<string, string>> {
    return { ...LocalPlatform.#app(await this.#read(), app).config };
  }

  public async setConfig(app: string, changes: ConfigChanges): Promise<Record<string, string>> {
    return this.#locked(async (state) => {
      const target = LocalPlatform.#app(state, app);
      const next = { ...target.config };
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      if (JSON.stringify(next) === JSON.stringify(target.config)) return next;
      this.#newRelease(
        target,
        target.releases.at(-1)?.slugId ?? null,
        `Set ${Object.keys(changes).join(', ')} config vars`,
        next,
      );
      await this.#activate(state, target);
      return next;
    });
  }

  public async scale(app: string, formation: Readonly<Record<string, number>>): Promise<void> {
    await this.#locked(async (state) => {
      const target = LocalPlatform.#app(state, app);
      const before = JSON.stringify(target.formation);
      target.formation = { ...target.formation, ...formation };
      if (JSON.stringify(target.formation) !== before) await this.#activate(state, target);
    });
  }

  public async dynos(app: string): Promise<Dyno[]> {
    return LocalPlatform.#app(await this.#read(), app).processes.map((p) => ({
      name: p.name,
      type: p.type,
      state: alive(p) ? 'up' : 'crashed',
      releaseVersion: p.releaseVersion,
    }));
  }

  public async webUrls(app: string): Promise<string[]> {
    return LocalPlatform.#app(await this.#read(), app)
      .processes.filter(alive)
      .map((p) => `http://127.0.0.1:${p.port}`);
  }

  /** The pids of an app's processes (tests check that a release really stopped them). */
  public async pids(app: string): Promise<number[]> {
    return LocalPlatform.#app(await this.#read(), app).processes.map((p) => p.pid);
  }

  /** Stops every process of every app (SIGTERM, then SIGKILL after the grace period); keeps the rest. */
  public async stopAll(): Promise<void> {
    await this.#locked(async (state) => {
      const all = Object.values(state.apps).flatMap((a) => a.processes);
      for (const a of Object.values(state.apps)) a.processes = [];
      await this.#stop(all);
    });
  }
}
