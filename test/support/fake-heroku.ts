import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A release as the fake keeps it (Heroku's fields). */
export interface FakeRelease {
  id: string;
  version: number;
  status: 'pending' | 'succeeded' | 'failed';
  slug: { id: string } | null;
  description: string;
  current: boolean;
  created_at: string;
  config: Record<string, string>;
  /** GETs left before a pending release succeeds. */
  pendingPolls: number;
}

/** An app as the fake keeps it. */
export interface FakeApp {
  id: string;
  name: string;
  stack: string;
  config: Record<string, string>;
  releases: FakeRelease[];
  formation: Record<string, number>;
  features: Record<string, boolean>;
}

/** What a test can read and change of the fake. */
export interface FakeHeroku {
  /** The API root, for `HEROKU_API_URL`. */
  readonly url: string;
  readonly apps: Map<string, FakeApp>;
  readonly slugs: Map<string, { id: string; commit: string | null; process_types: Record<string, string> }>;
  /** Every API request, `METHOD /path`, in order (blob uploads included). */
  readonly requests: string[];
  /** Request tokens left; 0 means every API request answers 429. */
  remaining: number;
  /** Answers the next API request whose `METHOD /path` matches with this status and Heroku error. */
  failNext(match: RegExp, status: number, id: string, message: string): void;
  close(): Promise<void>;
}

/** Options of {@link startFakeHeroku}. */
export interface FakeHerokuOptions {
  readonly apiKey: string;
  /** Request tokens at start. @defaultValue 4500 */
  readonly budget?: number;
  /** GETs a build stays pending. @defaultValue 1 */
  readonly buildPolls?: number;
  /** The app's `web_url` (a test serves /readyz there). @defaultValue `https://<app>.herokuapp.com/` */
  readonly webUrl?: (app: string) => string;
}

class HttpError extends Error {
  public constructor(
    public readonly status: number,
    public readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function only(body: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'bad_request', `${what}: the body must be a JSON object`);
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw new HttpError(422, 'invalid_params', `${what}: unknown parameter ${key}`);
  }
  return body as Record<string, unknown>;
}

/**
 * Reads the Procfile of a gzipped tarball (null when there is none or it is not a tarball). A ustar
 * reader of a few lines: 512-byte headers (name, octal size, prefix), data padded to 512 bytes.
 */
function procfileOf(tarball: Buffer): Record<string, string> | null {
  let tar: Buffer;
  try {
    tar = gunzipSync(tarball);
  } catch {
    return null;
  }
  const text = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    const name = text(header.subarray(0, 100));
    if (name === '') break;
    const size = Number.parseInt(text(header.subarray(124, 136)).trim() || '0', 8);
    const prefix = text(header.subarray(345, 500));
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^\.\//, '');
    if (path === 'Procfile') {
      const types: Record<string, string> = {};
      for (const line of tar
        .subarray(at + 512, at + 512 + size)
        .toString('utf8')
        .split('\n')) {
        const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line.trim());
        if (m?.[1] !== undefined && m[2] !== undefined) types[m[1]] = m[2];
      }
      return types;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return null;
}

/**
 * A local Heroku Platform API on 127.0.0.1 for tests: the routes the pipeline uses, with the headers
 * and bodies checked as the API documents them, releases and slugs kept as Heroku keeps them
 * (numbered releases, a config change makes a release, a rollback copies an earlier release's slug and
 * config), errors as `{ id, message }`, and a request budget that answers 429 when spent.
 */
export async function startFakeHeroku(options: FakeHerokuOptions): Promise<FakeHeroku> {
  const apps = new Map<string, FakeApp>();
  const slugs: FakeHeroku['slugs'] = new Map();
  const blobs = new Map<string, Buffer | null>();
  const builds = new Map<
    string,
    { app: string; body: Record<string, unknown>; polls: number; result: unknown }
  >();
  const requests: string[] = [];
  const failures: { match: RegExp; status: number; id: string; message: string }[] = [];
  let url = '';
  const state = { remaining: options.budget ?? 4500 };

  const app = (name: string): FakeApp => {
    const found = apps.get(name) ?? [...apps.values()].find((a) => a.id === name);
    if (!found) throw new HttpError(404, 'not_found', "Couldn't find that app.");
    return found;
  };
  const current = (a: FakeApp) => a.releases.find((r) => r.current);
  const addRelease = (
    a: FakeApp,
    slug: string | null,
    description: string,
    config = a.config,
    pendingPolls = 1,
  ) => {
    for (const r of a.releases) r.current = false;
    const release: FakeRelease = {
      id: randomUUID(),
      version: a.releases.length + 1,
      status: pendingPolls > 0 ? 'pending' : 'succeeded',
      slug: slug === null ? null : { id: slug },
      description,
      current: true,
      created_at: new Date().toISOString(),
      config: { ...config },
      pendingPolls,
    };
    a.config = { ...config };
    a.releases.push(release);
    return release;
  };
  const showRelease = (r: FakeRelease) => {
    const { config: _config, pendingPolls: _polls, ...shown } = r;
    return shown;
  };
  const showApp = (a: FakeApp) => ({
    id: a.id,
    name: a.name,
    stack: { name: a.stack },
    build_stack: { name: a.stack },
    web_url: options.webUrl?.(a.name) ?? `https://${a.name}.herokuapp.com/`,
  });

  async function route(
    method: string,
    path: string,
    req: IncomingMessage,
    body: unknown,
  ): Promise<[number, unknown]> {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'POST' && path === '/apps') {
      const b = only(body, ['name', 'stack', 'region'], 'POST /apps');
      if (typeof b.name !== 'string' || !APP_NAME.test(b.name)) {
        throw new HttpError(
          422,
          'invalid_params',
          'Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes.',
        );
      }
      if (apps.has(b.name)) throw new HttpError(422, 'invalid_params', 'Name is already taken');
      const stack = b.stack ?? 'heroku-24';
      if (stack !== 'heroku-24')
        throw new HttpError(
          422,
          'invalid_params',
          `Stack ${String(stack)} is not available for new apps; use heroku-24.`,
        );
      const a: FakeApp = {
        id: randomUUID(),
        name: b.name,
        stack,
        config: {},
        releases: [],
        formation: {},
        features: {},
      };
      apps.set(a.name, a);
      addRelease(a, null, 'Initial release', {}, 0);
      return [201, showApp(a)];
    }
    if (method === 'POST' && path === '/sources') {
      only(body ?? {}, [], 'POST /sources');
      const id = randomUUID();
      blobs.set(id, null);
      return [201, { source_blob: { get_url: `${url}/blobs/${id}?get`, put_url: `${url}/blobs/${id}?put` } }];
    }
    if (parts[0] !== 'apps' || parts[1] === undefined) throw new HttpError(404, 'not_found', 'Not found.');
    const a = app(parts[1]);
    const [, , resource, id, ...rest] = parts;
    if (resource === undefined && method === 'GET') return [200, showApp(a)];
    if (resource === 'features' && id !== undefined && method === 'PATCH' && rest.length === 0) {
      const b = only(body, ['enabled'], `PATCH /apps/${a.name}/features/${id}`);
      if (typeof b.enabled !== 'boolean')
        throw new HttpError(422, 'invalid_params', 'enabled must be a boolean');
      a.features[id] = b.enabled;
      return [200, { name: id, enabled: b.enabled }];
    }
    if (resource === 'config-vars' && id === undefined) {
      if (method === 'GET') return [200, a.config];
      if (method === 'PATCH') {
        const b = only(body, Object.keys(body as object), 'PATCH config-vars');
        const next = { ...a.config };
        for (const [k, v] of Object.entries(b)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
            throw new HttpError(422, 'invalid_params', `Invalid config var name ${k}`);
          if (v === null) delete next[k];
          else if (typeof v === 'string') next[k] = v;
          else throw new HttpError(422, 'invalid_params', `Config var ${k} must be a string or null`);
        }
        const changed = Object.keys(b);
        // Every config change is a release of the current slug with the new config.
        if (changed.length > 0)
          addRelease(a, current(a)?.slug?.id ?? null, `Set ${changed.join(', ')} config vars`, next, 0);
        return [200, a.config];
      }
    }
    if (resource === 'builds') {
      if (method === 'POST' && id === undefined) {
        const b = only(body, ['source_blob', 'buildpacks'], `POST /apps/${a.name}/builds`);
        const blob = only(
          b.source_blob,
          ['url', 'version', 'checksum', 'version_description'],
          'source_blob',
        );
        if (typeof blob.url !== 'string')
          throw new HttpError(422, 'invalid_params', 'source_blob.url is required');
        const blobId = /\/blobs\/([^?]+)/.exec(blob.url)?.[1];
        const tarball = blobId === undefined ? undefined : blobs.get(blobId);
        const buildId = randomUUID();
        const build = { app: a.name, body: b, polls: options.buildPolls ?? 1, result: undefined as unknown };
        builds.set(buildId, build);
        const procfile = tarball ? procfileOf(tarball) : null;
        const started = {
          id: buildId,
          status: 'pending',
          source_blob: { url: blob.url, version: blob.version ?? null },
          output_stream_url: `${url}/streams/${buildId}`,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          stack: a.stack,
          user: { id: randomUUID(), email: 'ops@example.com' },
          slug: null,
          release: null,
        };
        build.result = { ...started, procfile };
        return [201, started];
      }
      if (method === 'GET' && id !== undefined) {
        const build = builds.get(id);
        if (!build || build.app !== a.name)
          throw new HttpError(404, 'not_found', "Couldn't find that build.");
        const result = build.result as Record<string, unknown> & { procfile: Record<string, string> | null };
        const { procfile, ...shown } = result;
        if (build.polls > 0) {
          build.polls--;
          return [200, shown];
        }
        if (shown.status === 'pending') {
          if (procfile === null) shown.status = 'failed';
          else {
            const slugId = randomUUID();
            const version = (shown.source_blob as { version: string | null }).version;
            slugs.set(slugId, { id: slugId, commit: version, process_types: procfile });
            const release = addRelease(a, slugId, `Deploy ${version?.slice(0, 8) ?? slugId.slice(0, 8)}`);
            Object.assign(shown, { status: 'succeeded', slug: { id: slugId }, release: { id: release.id } });
          }
          build.result = { ...shown, procfile };
        }
        return [200, shown];
      }
    }
    if (resource === 'releases') {
      if (method === 'GET' && id === undefined) {
        const range = req.headers.range;
        if (
          range !== undefined &&
          !/^(id|version) \.\.(\w*)?(; (max=\d+|order=(asc|desc))(, (max=\d+|order=(asc|desc)))?)?$/.test(
            range,
          )
        ) {
          throw new HttpError(400, 'bad_request', `Invalid Range header ${range}`);
        }
        return [200, a.releases.map(showRelease)];
      }
      if (method === 'GET' && id !== undefined) {
        const r = a.releases.find((x) => x.id === id || String(x.version) === id);
        if (!r) throw new HttpError(404, 'not_found', "Couldn't find that release.");
        if (r.status === 'pending' && --r.pendingPolls <= 0) r.status = 'succeeded';
        return [200, showRelease(r)];
      }
      if (method === 'POST' && id === undefined) {
        const b = only(body, ['slug', 'release', 'description'], `POST /apps/${a.name}/releases`);
        if ((b.slug === undefined) === (b.release === undefined)) {
          throw new HttpError(422, 'invalid_params', 'Exactly one of slug or release is required');
        }
        if (b.slug !== undefined) {
          if (typeof b.slug !== 'string' || !UUID.test(b.slug) || !slugs.has(b.slug)) {
            throw new HttpError(404, 'not_found', "Couldn't find that slug.");
          }
          const r = addRelease(
            a,
            b.slug,
            typeof b.description === 'string' ? b.description : `Deploy ${b.slug.slice(0, 8)}`,
          );
          return [201, showRelease(r)];
        }
        const earlier = a.releases.find((x) => x.id === b.release || String(x.version) === String(b.release));
        if (!earlier) throw new HttpError(404, 'not_found', "Couldn't find that release.");
        if (earlier.slug === null)
          throw new HttpError(422, 'invalid_params', 'Cannot roll back to a release without a slug.');
        return [
          201,
          showRelease(addRelease(a, earlier.slug.id, `Rollback to v${earlier.version}`, earlier.config)),
        ];
      }
    }
    if (resource === 'slugs' && method === 'GET' && id !== undefined) {
      const slug = slugs.get(id);
      if (!slug) throw new HttpError(404, 'not_found', "Couldn't find that slug.");
      return [200, slug];
    }
    if (resource === 'formation' && method === 'PATCH' && id === undefined) {
      const b = only(body, ['updates'], `PATCH /apps/${a.name}/formation`);
      if (!Array.isArray(b.updates)) throw new HttpError(422, 'invalid_params', 'updates must be an array');
      const types = slugs.get(current(a)?.slug?.id ?? '')?.process_types ?? {};
      for (const u of b.updates) {
        const up = only(u, ['type', 'quantity', 'size'], 'formation update');
        if (typeof up.type !== 'string' || !(up.type in types)) {
          throw new HttpError(404, 'not_found', `Couldn't find that process type (${String(up.type)}).`);
        }
        if (!Number.isInteger(up.quantity) || (up.quantity as number) < 0) {
          throw new HttpError(422, 'invalid_params', 'quantity must be a non-negative integer');
        }
        a.formation[up.type] = up.quantity as number;
      }
      return [
        200,
        Object.entries(a.formation).map(([type, quantity]) => ({ type, quantity, size: 'basic' })),
      ];
    }
    if (resource === 'dynos' && method === 'GET' && id === undefined) {
      const release = current(a);
      return [
        200,
        Object.entries(a.formation).flatMap(([type, quantity]) =>
          Array.from({ length: quantity }, (_, i) => ({
            name: `${type}.${i + 1}`,
            type,
            state: 'up',
            release: { id: release?.id, version: release?.version },
          })),
        ),
      ];
    }
    throw new HttpError(404, 'not_found', 'Not found.');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    requests.push(`${method} ${target.pathname}`);
    // The presigned source URLs: storage, not the API (no Heroku headers, no rate limit).
    if (target.pathname.startsWith('/blobs/')) {
      const blobId = target.pathname.slice('/blobs/'.length);
      if (!blobs.has(blobId)) return void res.writeHead(404).end();
      if (method === 'PUT' && target.search === '?put') {
        // S3 refuses a second authentication on a presigned URL, and the signature covers the empty Content-Type.
        if (req.headers.authorization !== undefined || (req.headers['content-type'] ?? '') !== '') {
          return void res.writeHead(400).end('presigned PUT: no Authorization, empty Content-Type');
        }
        blobs.set(blobId, raw);
        return void res.writeHead(200).end();
      }
      if (method === 'GET' && target.search === '?get')
        return void res.writeHead(200).end(blobs.get(blobId) ?? '');
      return void res.writeHead(403).end();
    }
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'ratelimit-remaining': String(state.remaining),
      });
      res.end(JSON.stringify(payload));
    };
    try {
      if (state.remaining <= 0) {
        throw new HttpError(
          429,
          'rate_limit',
          'Your account reached the API rate limit\nPlease wait a few minutes before making new requests',
        );
      }
      state.remaining--;
      if (req.headers.accept !== 'application/vnd.heroku+json; version=3') {
        throw new HttpError(400, 'bad_request', 'Accept must be application/vnd.heroku+json; version=3');
      }
      if (
        !/^Bearer \S+$/.test(req.headers.authorization ?? '') ||
        req.headers.authorization !== `Bearer ${options.apiKey}`
      ) {
        throw new HttpError(401, 'unauthorized', 'Invalid credentials provided.');
      }
      let body: unknown;
      if (raw.length > 0) {
        if (req.headers['content-type'] !== 'application/json') {
          throw new HttpError(400, 'bad_request', 'Content-Type must be application/json');
        }
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, 'bad_request', 'Request body is not valid JSON');
        }
      } else if (method === 'PATCH' || (method === 'POST' && target.pathname !== '/sources')) {
        throw new HttpError(400, 'bad_request', `${method} ${target.pathname} needs a JSON body`);
      }
      const failure = failures.findIndex((f) => f.match.test(`${method} ${target.pathname}`));
      if (failure >= 0) {
        const [f] = failures.splice(failure, 1);
        if (f) throw new HttpError(f.status, f.id, f.message);
      }
      const [status, payload] = await route(method, target.pathname, req, body);
      send(status, payload);
    } catch (error) {
      if (error instanceof HttpError) send(error.status, { id: error.id, message: error.message });
      else send(500, { id: 'internal_error', message: (error as Error).message });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apps,
    slugs,
    requests,
    get remaining() {
      return state.remaining;
    },
    set remaining(n: number) {
      state.remaining = n;
    },
    failNext(match, status, id, message) {
      failures.push({ match, status, id, message });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
