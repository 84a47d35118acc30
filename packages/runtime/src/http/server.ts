import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpServerOptions {
  readonly registry: Registry;
  /** Bearer token required on /metrics, or undefined for none. */
  readonly metricsToken: string | undefined;
  /** Refreshes gauges read at scrape time (shard status, heartbeat latency). */
  readonly beforeScrape: () => void;
  /** Shards that are not READY yet; empty means ready. */
  readonly notReadyShards: () => readonly number[];
  /** Why the process is unhealthy (a shard closed for good), or undefined while it is healthy. */
  readonly unhealthyReason: () => string | undefined;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(body);
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The bot's HTTP endpoints: `/metrics` (Prometheus text, optionally behind a bearer token), `/healthz`
 * (the process is alive and no shard is closed for good) and `/readyz` (every owned shard is READY).
 */
export function createHttpServer(options: HttpServerOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, JSON.stringify({ error: `method ${req.method} not allowed: use GET` }), {
        allow: 'GET, HEAD',
      });
      return;
    }
    switch (path) {
      case '/healthz': {
        const reason = options.unhealthyReason();
        send(
          res,
          reason === undefined ? 200 : 503,
          JSON.stringify(reason === undefined ? { status: 'ok' } : { status: 'unhealthy', reason }),
        );
        return;
      }
      case '/readyz': {
        const waiting = options.notReadyShards();
        send(
          res,
          waiting.length === 0 ? 200 : 503,
          JSON.stringify({ ready: waiting.length === 0, notReadyShards: waiting }),
        );
        return;
      }
      case '/metrics': {
        if (options.metricsToken !== undefined && !authorized(req, options.metricsToken)) {
          send(res, 401, JSON.stringify({ error: 'a bearer token is required on /metrics' }), {
            'www-authenticate': 'Bearer realm="metrics"',
          });
          return;
        }
        options.beforeScrape();
        options.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': options.registry.contentType });
            res.end(text);
          },
          (error: unknown) => send(res, 500, JSON.stringify({ error: `metrics failed: ${String(error)}` })),
        );
        return;
      }
      default:
        send(res, 404, JSON.stringify({ error: `no route ${path}: try /metrics, /healthz or /readyz` }));
    }
  });
}
