import { createBotMetrics } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { compare } from './lib/compare.ts';

/** A registry as a bot owning `shards` shards fills it: per-shard gauges and counters, commands, events. */
function filledRegistry(shards: number): Registry {
  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment: 'canary', version: 'bench' });
  for (let id = 0; id < shards; id++) {
    const shard = String(id);
    metrics.shardReady.set({ shard }, 1);
    metrics.shardStatus.set({ shard }, 0);
    metrics.shardHeartbeatLatency.set({ shard }, 0.042);
    metrics.shardReconnects.inc({ shard });
    metrics.shardResumes.inc({ shard });
    metrics.shardInvalidSessions.inc({ shard });
  }
  for (const command of ['ping', 'report', 'quantum']) {
    for (const outcome of ['ok', 'error', 'timeout'] as const)
      metrics.observeInteraction(command, outcome, 0.05);
  }
  for (const event of ['GUILD_CREATE', 'INTERACTION_CREATE', 'MESSAGE_CREATE', 'READY', 'RESUMED']) {
    metrics.gatewayDispatches.inc({ event });
  }
  return registry;
}

/** Rendering /metrics at 64 and 1,024 shards, against the same registry with one shard. */
export default async function run(): Promise<void> {
  const one = filledRegistry(1);
  const r64 = filledRegistry(64);
  const r1024 = filledRegistry(1024);
  await compare(
    '/metrics render time by shard count',
    { name: 'reference: 1 shard', fn: () => one.metrics() },
    [
      { name: '64 shards', fn: () => r64.metrics() },
      { name: '1,024 shards', fn: () => r1024.metrics() },
    ],
  );
  const size = async (r: Registry) => `${Math.round((await r.metrics()).length / 1024)} KiB`;
  console.log(
    `body size: 1 shard ${await size(one)}, 64 shards ${await size(r64)}, 1,024 shards ${await size(r1024)}`,
  );
}
