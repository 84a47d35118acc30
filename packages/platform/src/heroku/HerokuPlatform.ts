import type * as Heroku from '@heroku-cli/schema';
import { PlatformError } from '../errors/PlatformError.ts';
import type {
  AppSpec,
  Build,
  BuildStatus,
  ConfigChanges,
  Dyno,
  DynoState,
  Platform,
  Release,
  SourceRef,
} from '../platform.ts';
import { archiveCommit } from '../source/git.ts';

/** Required options of {@link HerokuPlatform}. */
export interface HerokuPlatformOptions {
  /** `HEROKU_API_KEY`: sent as a bearer token, never logged nor put in an error. */
  readonly apiKey: string;
}

/** Optional options of {@link HerokuPlatform}. */
export interface HerokuPlatformOptionalOptions {
  /** The API root (`HEROKU_API_URL`). */
  readonly apiUrl: string;
  readonly fetch: typeof fetch;
  /** Waits between polls and when the rate limit runs low; tests pass a fake. */
  readonly sleep: (ms: number) => Promise<void>;
  /** How often a pending build or release is polled. */
  readonly pollIntervalMs: number;
  /** How many polls a build or release may stay pending. */
  readonly maxPolls: number;
  /** Below this many `RateLimit-Remaining` tokens, requests slow down to the refill rate. */
  readonly minRemaining: number;
  /** How many times a 429 is retried after waiting. */
  readonly maxRateLimitRetries: number;
  /** Progress lines (never carrying the key). */
  readonly log: (line: string) => void;
}

/** Defaults of {@link HerokuPlatformOptionalOptions}. */
export const HerokuPlatformDefaults = {
  apiUrl: 'https://api.heroku.com',
  fetch: globalThis.fetch,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  pollIntervalMs: 3000,
  maxPolls: 400,
  minRemaining: 20,
  maxRateLimitRetries: 5,
  log: () => {},
} as const satisfies HerokuPlatformOptionalOptions;

/** Heroku refills about 75 request tokens per minute: one every 800 ms. */
const REFILL_MS = 800;
const ACCEPT = 'application/vnd.heroku+json; version=3';

/** One line of Heroku's JSON error, `id: message`, whatever its newlines. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function toRelease(r: Heroku.Release): Release {
  return {
    id: r.id ?? '',
    version: r.version ?? 0,
    status: (r.status ?? 'pending') as BuildStatus,
    slugId: r.slug?.id ?? undefined,
    description: r.description ?? '',
    current: r.current === true,
    createdAt: r.created_at ?? '',
  };
}

function toBuild(b: Heroku.Build): Build {
  return {
    id: b.id,
    status: b.status,
    sourceVersion: b.source_blob.version ?? '',
    slugId: b.slug?.id ?? undefined,
    releaseId: b.release?.id ?? undefined,
  };
}

const DYNO_STATES = new Set<DynoState>(['starting', 'up', 'crashed', 'down', 'idle']);

/**
 * The Heroku Platform API over `fetch`: builds from a source tarball (sources API, then
 * `POST /apps/{app}/builds`), promotion as a slug copy, rollback as a release of an earlier release.
 * It respects `RateLimit-Remaining`, retries a 429 after waiting, and turns Heroku's `{id, message}`
 * errors into one-line {@link PlatformError}s.
 *
 * @example
 * ```ts
 * const heroku = new HerokuPlatform({ apiKey: process.env.HEROKU_API_KEY });
 * const release = await heroku.copyBuild('quantum-superbot-canary', 'quantum-superbot');
 * ```
 */
export class HerokuPlatform implements Platform {
  public readonly kind = 'heroku' as const;
  readonly #apiKey: string;
  readonly #options: HerokuPlatformOptionalOptions;
  /** The last `RateLimit-Remaining` seen; undefined before the first answer. */
  #remaining: number | undefined;

  public constructor(options: HerokuPlatformOptions & Partial<HerokuPlatformOptionalOptions>) {
    const { apiKey, ...rest } = options;
    if (!/^\S{8,}$/.test(apiKey)) {
      throw new PlatformError(
        'INVALID_CONFIGURATION',
        'HEROKU_API_KEY must be an API key (8 or more characters, no spaces)',
      );
    }
    this.#apiKey = apiKey;
    this.#options = { ...HerokuPlatformDefaults, ...rest };
    try {
      new URL(this.#options.apiUrl);
    } catch {
      throw new PlatformError(
        'INVALID_CONFIGURATION',
        `HEROKU_API_URL ${JSON.stringify(this.#options.apiUrl)} is not a URL`,
      );
    }
  }

  /** The last `RateLimit-Remaining` Heroku reported. */
  public get rateLimitRemaining(): number | undefined {
    return this.#remaining;
  }

  /** Sends one API request and returns its JSON, or throws a one-line PlatformError. */
  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const { minRemaining, maxRateLimitRetries, sleep } = this.#options;
    for (let attempt = 0; ; attempt++) {
      // Slow down to the refill rate before the budget is spent, rather than run into 429s.
      if (this.#remaining !== undefined && this.#remaining < minRemaining) {
        await sleep((minRemaining - this.#remaining) * REFILL_MS);
        this.#remaining = minRemaining;
      }
      const response = await this.#options.fetch(new URL(path, this.#options.apiUrl), {
        method,
        headers: {
          Accept: ACCEPT,
          Authorization: `Bearer ${this.#apiKey}`,
          'User-Agent': 'qsb-platform',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const remaining = Number(response.headers.get('ratelimit-remaining'));
      if (response.headers.has('ratelimit-remaining') && Number.isFinite(remaining))
        this.#remaining = remaining;
      if (response.status === 429) {
        await response.body?.cancel();
        if (attempt >= maxRateLimitRetries) {
          throw new PlatformError(
            'RATE_LIMITED',
            `${method} ${path}: HTTP 429 after ${attempt + 1} attempts; Heroku refills about 75 requests a minute`,
            429,
          );
        }
        this.#options.log(`rate limited on ${method} ${path}; waiting for the budget to refill`);
        await sleep(minRemaining * REFILL_MS);
        this.#remaining = minRemaining;
        continue;
      }
      const text = await response.text();
      if (!response.ok) throw this.#error(method, path, response.status, text);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    }
  }

  #error(method: string, path: string, status: number, text: string): PlatformError {
    let id = 'unknown';
    let message = text.slice(0, 200);
    try {
      const parsed = JSON.parse(text) as { id?: unknown; message?: unknown };
      if (typeof parsed.id === 'string') id = parsed.id;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON: keep the start of the text
    }
    const detail = oneLine(`${method} ${path}: HTTP ${status} ${id}: ${message}`)
      .split(this.#apiKey)
      .join('***');
    const app = /^\/apps\/([^/]+)/.exec(path)?.[1];
    if (status === 404 && id === 'not_found' && app !== undefined && path === `/apps/${app}`) {
      return new PlatformError(
        'UNKNOWN_APP',
        `${decodeURIComponent(app)} does not exist on Heroku (${detail})`,
        status,
      );
    }
    return new PlatformError('API_ERROR', detail, status);
  }

  static #app(app: string): string {
    return `/apps/${encodeURIComponent(app)}`;
  }

  public async hasApp(app: string): Promise<boolean> {
    try {
      await this.#request<Heroku.App>('GET', HerokuPlatform.#app(app));
      return true;
    } catch (error) {
      if (error instanceof PlatformError && error.code === 'UNKNOWN_APP') return false;
      throw error;
    }
  }

  public async createApp(spec: AppSpec): Promise<void> {
    if (!(await this.hasApp(spec.name))) {
      await this.#request<Heroku.App>('POST', '/apps', { name: spec.name, stack: spec.stack ?? 'heroku-24' });
      this.#options.log(`created app ${spec.name}`);
    }
    // HEROKU_RELEASE_VERSION and HEROKU_SLUG_COMMIT in every dyno: the bot labels its metrics with them.
    await this.#request('PATCH', `${HerokuPlatform.#app(spec.name)}/features/runtime-dyno-metadata`, {
      enabled: true,
    });
    await this.setConfig(spec.name, spec.config);
  }

  public async build(app: string, source: SourceRef): Promise<Build> {
    const tarball = await archiveCommit(source.repo, source.commit);
    const blob = await this.#request<Heroku.Source>('POST', '/sources');
    const putUrl = blob.source_blob?.put_url;
    const getUrl = blob.source_blob?.get_url;
    if (putUrl === undefined || getUrl === undefined) {
      throw new PlatformError('API_ERROR', 'POST /sources: the answer has no source_blob.put_url/get_url');
    }
    // A presigned storage URL: no Heroku headers, and an empty Content-Type as the URL was signed with.
    const upload = await this.#options.fetch(putUrl, {
      method: 'PUT',
      headers: { 'Content-Type': '' },
      body: new Uint8Array(tarball),
    });
    if (!upload.ok)
      throw new PlatformError('API_ERROR', `uploading the source tarball: HTTP ${upload.status}`);
    const created = await this.#request<Heroku.Build>('POST', `${HerokuPlatform.#app(app)}/builds`, {
      source_blob: { url: getUrl, version: source.commit },
    });
    this.#options.log(`build ${created.id} of ${source.commit.slice(0, 12)} on ${app} started`);
    const done = await this.#poll(`build ${created.id} on ${app}`, () =>
      this.#request<Heroku.Build>('GET', `${HerokuPlatform.#app(app)}/builds/${created.id}`),
    );
    const build = toBuild(done);
    if (build.status === 'failed') {
      throw new PlatformError(
        'BUILD_FAILED',
        `build ${build.id} of ${source.commit.slice(0, 12)} on ${app} failed; its log: ${done.output_stream_url ?? '(none)'}`,
      );
    }
    if (build.releaseId !== undefined) await this.#waitRelease(app, build.releaseId);
    return build;
  }

  async #poll<T extends { status?: BuildStatus }>(what: string, get: () => Promise<T>): Promise<T> {
    for (let i = 0; i < this.#options.maxPolls; i++) {
      const value = await get();
      if (value.status !== 'pending') return value;
      await this.#options.sleep(this.#options.pollIntervalMs);
    }
    throw new PlatformError('TIMEOUT', `${what} still pending after ${this.#options.maxPolls} polls`);
  }

  async #waitRelease(app: string, id: string): Promise<Release> {
    const done = toRelease(
      await this.#poll(`release ${id} on ${app}`, () =>
        this.#request<Heroku.Release>('GET', `${HerokuPlatform.#app(app)}/releases/${id}`),
      ),
    );
    if (done.status === 'failed') {
      throw new PlatformError(
        'RELEASE_FAILED',
        `release v${done.version} on ${app} failed (its release phase)`,
      );
    }
    return done;
  }

  public async release(app: string, slugId: string, description: string): Promise<Release> {
    const created = await this.#request<Heroku.Release>('POST', `${HerokuPlatform.#app(app)}/releases`, {
      slug: slugId,
      description,
    });
    return this.#waitRelease(app, created.id ?? '');
  }

  public async releases(app: string): Promise<Release[]> {
    const list = await this.#request<Heroku.Release[]>(
      'GET',
      `${HerokuPlatform.#app(app)}/releases`,
      undefined,
      {
        // Heroku pages lists; the newest 1000 releases, oldest first, are more than the pipeline reads.
        Range: 'version ..; max=1000',
      },
    );
    return list.map(toRelease).sort((a, b) => a.version - b.version);
  }

  public async currentRelease(app: string): Promise<Release | undefined> {
    const list = await this.releases(app);
    return list.find((r) => r.current) ?? list.filter((r) => r.status === 'succeeded').at(-1);
  }

  public async slugCommit(app: string, slugId: string): Promise<string | undefined> {
    const slug = await this.#request<Heroku.Slug>('GET', `${HerokuPlatform.#app(app)}/slugs/${slugId}`);
    return slug.commit ?? undefined;
  }

  public async copyBuild(from: string, to: string): Promise<Release> {
    const source = await this.currentRelease(from);
    if (source?.slugId === undefined) {
      throw new PlatformError('NOTHING_TO_DO', `${from} has no released build to copy`);
    }
    const commit = await this.slugCommit(from, source.slugId);
    return this.release(
      to,
      source.slugId,
      `Promote ${from} v${source.version}${commit ? ` (${commit.slice(0, 12)})` : ''}`,
    );
  }

  public async rollback(app: string, releaseId?: string): Promise<Release> {
    let target = releaseId;
    if (target === undefined) {
      const list = await this.releases(app);
      const current = list.find((r) => r.current) ?? list.at(-1);
      const earlier = list.filter(
        (r) =>
          r.status === 'succeeded' &&
          r.slugId !== undefined &&
          r.version < (current?.version ?? 0) &&
          r.slugId !== current?.slugId,
      );
      target = earlier.at(-1)?.id;
      if (target === undefined)
        throw new PlatformError('NOTHING_TO_DO', `${app} has no earlier build to roll back to`);
    }
    const created = await this.#request<Heroku.Release>('POST', `${HerokuPlatform.#app(app)}/releases`, {
      release: target,
    });
    return this.#waitRelease(app, created.id ?? '');
  }

  public async config(app: string): Promise<Record<string, string>> {
    return this.#request<Record<string, string>>('GET', `${HerokuPlatform.#app(app)}/config-vars`);
  }

  public async setConfig(app: string, changes: ConfigChanges): Promise<Record<string, string>> {
    return this.#request<Record<string, string>>('PATCH', `${HerokuPlatform.#app(app)}/config-vars`, changes);
  }

  public async scale(app: string, formation: Readonly<Record<string, number>>): Promise<void> {
    const updates = Object.entries(formation).map(([type, quantity]) => ({ type, quantity }));
    await this.#request('PATCH', `${HerokuPlatform.#app(app)}/formation`, { updates });
  }

  public async dynos(app: string): Promise<Dyno[]> {
    const list = await this.#request<Heroku.Dyno[]>('GET', `${HerokuPlatform.#app(app)}/dynos`);
    return list.map((d) => ({
      name: d.name ?? '',
      type: d.type ?? '',
      state: DYNO_STATES.has(d.state as DynoState) ? (d.state as DynoState) : 'down',
      releaseVersion: d.release?.version,
    }));
  }

  public async webUrls(app: string): Promise<string[]> {
    const info = await this.#request<Heroku.App>('GET', HerokuPlatform.#app(app));
    return typeof info.web_url === 'string' ? [info.web_url.replace(/\/$/, '')] : [];
  }
}
