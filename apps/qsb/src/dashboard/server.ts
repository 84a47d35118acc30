import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { TickState } from './summary.ts';

/** The page's files, served by the monitor itself so that it works offline (no CDN). */
function assetFiles(): Record<string, { path: string; type: string }> {
  const require = createRequire(import.meta.url);
  const own = (name: string) => join(import.meta.dirname, 'assets', name);
  return {
    '/': { path: own('index.html'), type: 'text/html; charset=utf-8' },
    '/assets/dashboard.js': { path: own('dashboard.js'), type: 'text/javascript; charset=utf-8' },
    '/assets/dashboard.css': { path: own('dashboard.css'), type: 'text/css; charset=utf-8' },
    '/assets/uPlot.iife.min.js': {
      path: require.resolve('uplot/dist/uPlot.iife.min.js'),
      type: 'text/javascript; charset=utf-8',
    },
    '/assets/uPlot.min.css': {
      path: require.resolve('uplot/dist/uPlot.min.css'),
      type: 'text/css; charset=utf-8',
    },
  };
}

/** What {@link startDashboardServer} cannot do without. */
export interface DashboardServerRequiredOptions {
  /** What the page's title says: the monitored deployments, or the recording. */
  readonly title: string;
  /** The rollout metrics, served on `/metrics`. */
  readonly registry: Registry;
}
/** What {@link startDashboardServer} has defaults for ({@link DefaultDashboardServerOptions}). */
export interface DashboardServerOptionalOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Ticks kept for a page opened late; older ones are dropped. */
  readonly historyLimit: number;
}
/** The options of {@link startDashboardServer}. */
export type DashboardServerOptions = DashboardServerRequiredOptions & Partial<DashboardServerOptionalOptions>;

/** @defaultValue the optional options of {@link startDashboardServer} */
export const DefaultDashboardServerOptions = {
  port: 0,
  host: '127.0.0.1',
  historyLimit: 10_000,
} as const satisfies DashboardServerOptionalOptions;

/** A running dashboard: publish ticks to it; every open page receives them by server-sent events. */
export interface DashboardServer {
  /** `http://host:port/` */
  readonly url: string;
  readonly publish: (state: TickState) => void;
  /** Tells the pages that no more ticks come (the monitor decided, or the recording ended). */
  readonly finish: () => void;
  readonly close: () => Promise<void>;
}

/** Thrown when the dashboard cannot listen (the port is taken, or the host is not local). */
export class DashboardListenError extends Error {
  readonly code = 'DASHBOARD_LISTEN_FAILED';
  override readonly name = 'DashboardListenError[DASHBOARD_LISTEN_FAILED]';
}

/**
 * Serves the live dashboard: the page and its assets, `/state` (every tick so far, JSON), `/events`
 * (each new tick, server-sent events) and `/metrics` (the rollout metrics, Prometheus text).
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { title, registry, port, host, historyLimit } = { ...DefaultDashboardServerOptions, ...options };
  const files = assetFiles();
  const history: TickState[] = [];
  const streams = new Set<ServerResponse>();
  let done = false;

  const send = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    const file = files[path];
    if (file) {
      const body = await readFile(file.path);
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' }).end(body);
      return;
    }
    if (path === '/state') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ title, done, history }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      // A page reconnecting after a drop asks for everything again through /state.
      res.write('retry: 1000\n\n');
      if (done) send(res, 'done', {});
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    res
      .writeHead(404, { 'content-type': 'text/plain' })
      .end(`no such page: ${path} (the dashboard serves /, /state, /events and /metrics)\n`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${error.message}\n`);
    });
  });
  server.listen(port, host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
  } catch (error) {
    throw new DashboardListenError(
      `cannot serve the dashboard on ${host}:${port}: ${(error as Error).message}`,
    );
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    publish(state) {
      history.push(state);
      if (history.length > historyLimit) history.splice(0, history.length - historyLimit);
      for (const res of streams) send(res, 'tick', state);
    },
    finish() {
      done = true;
      for (const res of streams) send(res, 'done', {});
    },
    async close() {
      for (const res of streams) res.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
