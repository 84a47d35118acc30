import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createBotMetrics } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.ts';

const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(options: { metricsToken?: string; notReady?: number[]; unhealthy?: string } = {}) {
  const registry = new Registry();
  const metrics = createBotMetrics({
    registry,
    deployment: 'canary',
    version: 'v1',
    collectDefaultMetrics: false,
  });
  let scrapes = 0;
  const server = createHttpServer({
    registry,
    metricsToken: options.metricsToken,
    beforeScrape: () => {
      scrapes++;
    },
    notReadyShards: () => options.notReady ?? [],
    unhealthyReason: () => options.unhealthy,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, metrics, scrapes: () => scrapes };
}

describe('http server', () => {
  it('serves /metrics in Prometheus text format', async () => {
    const { url, metrics, scrapes } = await serve();
    metrics.observeInteraction('ping', 'ok', 0.01);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain(
      'qsb_interactions_total{command="ping",outcome="ok",deployment="canary",version="v1"} 1',
    );
    expect(scrapes()).toBe(1);
  });

  it('requires the bearer token when one is set', async () => {
    const { url } = await serve({ metricsToken: '0123456789abcdef' });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer 0123456789abcdef' } });
    expect(ok.status).toBe(200);
  });

  it('answers /healthz always and /readyz only when every shard is ready', async () => {
    const waiting = await serve({ notReady: [3, 5] });
    expect((await fetch(`${waiting.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${waiting.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, notReadyShards: [3, 5] });
    const ready = await serve();
    expect((await fetch(`${ready.url}/readyz`)).status).toBe(200);
  });

  it('answers /healthz 503 with the reason once a shard is closed for good', async () => {
    const dead = await serve({ unhealthy: 'shard 3 closed with 4014' });
    const res = await fetch(`${dead.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unhealthy', reason: 'shard 3 closed with 4014' });
  });

  it('refuses unknown paths and methods with a clear message', async () => {
    const { url } = await serve();
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('no route /nope');
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
