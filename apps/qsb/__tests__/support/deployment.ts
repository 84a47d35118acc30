import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBotMetrics, type MetricDeployment } from '@qsb/metrics';
import { Registry } from 'prom-client';

/** A served fake deployment: where its /metrics is. */
export interface ServedDeployment {
  /** `http://127.0.0.1:P/metrics` */
  readonly metricsUrl: string;
  /** `127.0.0.1:P`, as a Prometheus scrape target. */
  readonly target: string;
}

/**
 * A deployment for the judge: a real prom-client registry with the bot's metrics, served on /metrics
 * (127.0.0.1, a free port), with traffic driven every 25 ms at `perTick` interactions of which a share
 * `errorRate` fail. With `token`, /metrics wants `Authorization: Bearer <token>`. What stops it is
 * handed to `onCleanup`.
 */
export async function serveDeployment(
  deployment: MetricDeployment,
  perTick: number,
  errorRate: number,
  onCleanup: (stop: () => Promise<void> | void) => void,
  options: { readonly token?: string } = {},
): Promise<ServedDeployment> {
  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version: 'test' });
  const shards = deployment === 'canary' ? 4 : 12;
  metrics.shardsOwned.set(shards);
  for (let id = 0; id < shards; id++) metrics.shardReady.set({ shard: String(id) }, 1);
  let owed = 0;
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      owed += errorRate;
      const failed = owed >= 1;
      if (failed) owed -= 1;
      metrics.observeInteraction('ping', failed ? 'error' : 'ok', 0.02 + (i++ % 20) * 0.01);
    }
  }, 25);
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    // As the bot does with METRICS_TOKEN.
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => clearInterval(timer));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { metricsUrl: `http://${target}/metrics`, target };
}
