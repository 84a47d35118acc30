// Where the local Discord's answers fall in qsb_interaction_duration_seconds: one bot process
// against the local Discord, interactions one at a time and in bursts of 25, then the histogram.
// Run: pnpm exec tsx scripts/latency-buckets.ts   (numbers quoted in the README come from here)
import { startDiscordSim } from '@qsb/discord-sim';
import { InteractionDurationBuckets } from '@qsb/metrics';
import { startBotProcess, sumMetric } from '../test/support/bot-process.ts';

async function main(): Promise<void> {
  const sim = await startDiscordSim({
    guilds: 100,
    shards: 2,
    maxConcurrency: 1,
    identifyWindowMs: 200,
    seed: 1,
  });
  const bot = startBotProcess({
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.apiUrl,
    SHARD_COUNT: '2',
    SHARD_PERCENT: '0',
    CANARY: 'false',
    QSB_VERSION: 'v1',
    LOG_LEVEL: 'info',
    IDENTIFY_WINDOW_MS: '300',
  });
  try {
    await bot.waitReady();
    const guild = (i: number) => sim.world.guilds[i % sim.world.guilds.length]?.id ?? '';
    const read = async () => {
      const text = await (await fetch(`${await bot.url()}/metrics`)).text();
      return [...InteractionDurationBuckets, '+Inf'].map((le) =>
        sumMetric(text, 'qsb_interaction_duration_seconds_bucket', { le: String(le) }),
      );
    };
    const report = (name: string, before: number[], after: number[]) => {
      const total = (after.at(-1) ?? 0) - (before.at(-1) ?? 0);
      const shares = after.map((c, i) => ((c - (before[i] ?? 0)) / total) * 100);
      const edges = [...InteractionDurationBuckets, '+Inf'];
      const rows = shares.map((s, i) => `le ${edges[i]}: ${s.toFixed(1)}%`).filter((_, i) => i < 18);
      console.log(`${name} (${total} interactions), cumulative share per edge:\n  ${rows.join('\n  ')}`);
    };
    // The bot counts an interaction once it has answered: wait for the count, not for a time.
    const handled = async () =>
      sumMetric(await (await fetch(`${await bot.url()}/metrics`)).text(), 'qsb_interactions_total');
    const settle = async (count: number) => {
      for (;;) {
        if ((await handled()) >= count) return read();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const start = await read();
    for (let i = 0; i < 200; i++) await sim.sendInteraction({ command: 'ping', guildId: guild(i) });
    const single = await settle(200);
    report('one at a time', start, single);
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) => sim.sendInteraction({ command: 'ping', guildId: guild(i) })),
      );
    }
    report('bursts of 25', single, await settle(1200));
  } finally {
    await bot.stop();
    await sim.close();
  }
}

await main();
