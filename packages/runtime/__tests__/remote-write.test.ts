import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, freePort, startChild, stopChild, waitUntil } from '../../../test/support/processes.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { TestStore } from './support/memory-store.ts';
import { startTestRuntime } from './support/runtime.ts';

// METRICS_REMOTE_WRITE_URL: the dyno pushes its own series to a real Prometheus (remote-write
// receiver), the last push on stop carrying the final counts.

let sim: DiscordSimHandle | undefined;
let prometheus: Child | undefined;
let dir = '';
afterAll(async () => {
  await sim?.close();
  if (prometheus) await stopChild(prometheus);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('remote write from the runtime', () => {
  it("pushes this dyno's series, labelled with its dyno, and the final counts on stop", async () => {
    dir = await mkdtemp(join(tmpdir(), 'qsb-runtime-rw-'));
    await writeFile(join(dir, 'prometheus.yml'), 'global: { scrape_interval: 15s }\n');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    prometheus = startChild('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ]);
    const p = prometheus;
    await waitUntil('Prometheus', async () => (await fetch(`${base}/-/ready`)).ok, p);
    sim = await startDiscordSim({ guilds: 40, shards: 4, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    const { runtime } = await startTestRuntime(s, new TestStore(), {
      DYNO: 'web.2',
      DYNO_COUNT: '2',
      METRICS_REMOTE_WRITE_URL: `${base}/api/v1/write`,
      METRICS_REMOTE_WRITE_INTERVAL_MS: '60000',
    });
    await runtime.ready;
    // A guild of a shard this dyno holds (web.2 of 2 holds half of them).
    const held = new Set(runtime.heldShards());
    const guild = s.world.guilds.find((g) => held.has(s.shardOf(g.id, 4)));
    expect(guild).toBeDefined();
    s.sendInteraction({ command: 'ping', guildId: guild?.id ?? '' });
    await waitFor('the answer', () => (s.stats().interactions.answered.zero === 0 ? true : undefined));
    // Nothing pushed yet (one push a minute): the push on stop brings the count.
    await runtime.stop();
    const query = new URLSearchParams({
      query: 'sum(qsb_interactions_total{dyno="web.2",deployment="production",command="ping",outcome="ok"})',
    });
    let value: string | undefined;
    await waitUntil(
      'the pushed count',
      async () => {
        const answer = (await (await fetch(`${base}/api/v1/query?${query}`)).json()) as {
          data: { result: { value: [number, string] }[] };
        };
        value = answer.data.result[0]?.value[1];
        return value !== undefined;
      },
      p,
      20_000,
    );
    expect(value).toBe('1');
  }, 60_000);
});
