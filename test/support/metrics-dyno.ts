// One dyno of a deployment for the many-dynos tests: the bot's real metrics (prom-client), traffic
// at a steady rate, /metrics on a free port, and optionally its own remote write. Prints one JSON line
// {"port": N} once it listens. Environment: DEPLOYMENT, DYNO, PER_TICK (interactions per 25 ms),
// ERROR_RATE, HISTORY (ok interactions before it starts, as a dyno up for days has), REMOTE_WRITE_URL,
// REMOTE_WRITE_INTERVAL_MS.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBotMetrics, type MetricDeployment, startRemoteWriter } from '@qsb/metrics';
import { Registry } from 'prom-client';

const env = process.env;
const deployment = (env.DEPLOYMENT ?? 'production') as MetricDeployment;
const registry = new Registry();
const metrics = createBotMetrics({ registry, deployment, version: 'v1', dyno: env.DYNO ?? '' });
metrics.shardsOwned.set(Number(env.SHARDS ?? 4));
const perTick = Number(env.PER_TICK ?? 10);
const errorRate = Number(env.ERROR_RATE ?? 0.01);
metrics.interactions.inc({ command: 'ping', outcome: 'ok' }, Number(env.HISTORY ?? 0));
let owed = 0;
let i = 0;
const timer = setInterval(() => {
  for (let k = 0; k < perTick; k++) {
    owed += errorRate;
    const failed = owed >= 1;
    if (failed) owed -= 1;
    metrics.observeInteraction('ping', failed ? 'error' : 'ok', 0.02 + (i++ % 20) * 0.005);
  }
}, 25);
const writer = env.REMOTE_WRITE_URL
  ? startRemoteWriter({
      registry,
      url: env.REMOTE_WRITE_URL,
      intervalMs: Number(env.REMOTE_WRITE_INTERVAL_MS ?? 1000),
      onError: (error) => process.stderr.write(`${error.name}: ${error.message}\n`),
    })
  : undefined;
const server = createServer(async (_req, res) => {
  res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', async () => {
  clearInterval(timer);
  await writer?.stop().catch(() => {});
  server.close(() => process.exit(0));
});
