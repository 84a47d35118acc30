import { createBotMetrics, type MetricDeployment } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { parseExposition, type Scrape } from '../../src/index.ts';

/** A deployment's real prom-client registry, driven by the test, scraped as text. */
export function fakeDeployment(deployment: MetricDeployment, shards = 4) {
  const registry = new Registry();
  const metrics = createBotMetrics({ registry, deployment, version: 'v1', collectDefaultMetrics: false });
  metrics.shardsOwned.set(shards);
  const memory = new (class {
    value = 100e6;
  })();
  return {
    registry,
    metrics,
    memory,
    /** Records `n` interactions, `errors` of them failed, with durations drawn by `duration`. */
    traffic(n: number, errors: number, duration: (i: number) => number) {
      for (let i = 0; i < n; i++)
        metrics.observeInteraction('ping', i < errors ? 'error' : 'ok', duration(i));
    },
    async scrape(timeMs: number): Promise<Scrape> {
      return parseExposition(await registry.metrics(), timeMs, deployment);
    },
  };
}
