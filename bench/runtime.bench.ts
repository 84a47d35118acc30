import { type DiscordSimHandle, type SimStats, startDiscordSim } from '@qsb/discord-sim';
import { createBotMetrics } from '@qsb/metrics';
import {
  type Command,
  createCommandInteraction,
  createInteractionHandler,
  type Runtime,
  SlottedIdentifyThrottler,
  StoreIdentifyThrottler,
  startRuntime,
} from '@qsb/runtime';
import { createIdentifySchedule } from '@qsb/sharding';
import { createStore, type Store } from '@qsb/store';
import pino from 'pino';
import { Registry } from 'prom-client';
import { compare } from './lib/compare.ts';

// `pnpm bench runtime`: boot, restart and re-identify of @qsb/runtime against the local Discord with
// its 3 s deadline, and its cost per interaction. QSB_BENCH_COLD_WINDOW_MS shortens the 5 s window of the
// cold start (16 shards take 16 windows) while developing.
const COLD_WINDOW_MS = Number(process.env.QSB_BENCH_COLD_WINDOW_MS ?? 5000);

const ping: Command = {
  name: 'ping',
  definition: { name: 'ping', description: 'ping' },
  async execute(interaction) {
    await interaction.reply('pong');
  },
};

const quiet = () => pino({ level: 'silent' });
type REST = Parameters<typeof createCommandInteraction>[2];
type APIChatInputApplicationCommandInteraction = Parameters<typeof createCommandInteraction>[0];

async function runtimeOn(
  sim: DiscordSimHandle,
  store: Store,
  shards: number,
  windowMs: number,
  env: Record<string, string> = {},
): Promise<Runtime> {
  return startRuntime({
    commands: [ping],
    logger: quiet(),
    store,
    env: {
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.apiUrl,
      SHARD_COUNT: String(shards),
      SHARD_PERCENT: '0',
      IDENTIFY_WINDOW_MS: String(windowMs),
      HOST: '127.0.0.1',
      PORT: '0',
      REGISTER_COMMANDS: 'false',
      ...env,
    },
  });
}

/** When each shard last became READY or RESUMED on the local Discord, after `since`. */
function sessionStarts(stats: SimStats, since: number): Map<number, number> {
  const out = new Map<number, number>();
  const shardOf = new Map(stats.sessions.map((s) => [s.id, s.shard[0]]));
  for (const i of stats.identifies) {
    if (i.outcome === 'ready' && i.at >= since && i.shard && !out.has(i.shard[0])) out.set(i.shard[0], i.at);
  }
  for (const r of stats.resumes) {
    const shard = shardOf.get(r.sessionId);
    if (r.outcome === 'resumed' && r.at >= since && shard !== undefined && !out.has(shard))
      out.set(shard, r.at);
  }
  return out;
}

const accepted = (r: SimStats['interactions']['list'][number]) =>
  r.answers.some((a) => a.outcome === 'accepted');

async function settle(sim: DiscordSimHandle): Promise<void> {
  // Every interaction is answered or past its deadline.
  for (;;) {
    const stats = sim.stats();
    if (stats.interactions.list.every((r) => r.answers.length > 0 || r.dispatchedAt < stats.now - 3500))
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  readonly name: string;
  readonly value: string;
}

function printRows(title: string, rows: readonly Row[]): void {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.value}`);
}

/** 16 shards, max_concurrency 1, the identify window, traffic from the first second. */
async function coldStart(): Promise<void> {
  const shards = 16;
  const sim = await startDiscordSim({
    guilds: 320,
    shards,
    maxConcurrency: 1,
    identifyWindowMs: COLD_WINDOW_MS,
    seed: 7,
  });
  const store = await createStore('memory:');
  const started = Date.now();
  sim.traffic.start({ ratePerSecond: 20, commands: ['ping'] });
  const runtime = await runtimeOn(sim, store, shards, COLD_WINDOW_MS);
  await runtime.ready;
  const readyMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 1000));
  sim.traffic.stop();
  await settle(sim);
  const stats = sim.stats();
  await runtime.stop();
  await sim.close();
  const ready = sessionStarts(stats, 0);
  const onReady = stats.interactions.list.filter((r) => r.dispatchedAt >= (ready.get(r.shardId) ?? Infinity));
  const beforeReady = stats.interactions.list.length - onReady.length;
  printRows(
    `cold start: ${shards} shards, max_concurrency 1, ${COLD_WINDOW_MS} ms window, 20 interactions/s from the start`,
    [
      {
        name: 'every shard READY after',
        value: `${(readyMs / 1000).toFixed(1)} s (bound ${((shards * COLD_WINDOW_MS * 1.1) / 1000).toFixed(1)} s with the schedule's guard)`,
      },
      { name: 'interactions on READY shards', value: String(onReady.length) },
      { name: 'expired on READY shards (goal 0)', value: String(onReady.filter((r) => !accepted(r)).length) },
      { name: 'sent before their shard was READY (Discord drops them)', value: String(beforeReady) },
      { name: 'INVALID_SESSION', value: String(stats.invalidSessions.length) },
    ],
  );
}

/** Old process stops and the new one starts at the same moment, under traffic, with or without saved sessions. */
async function rollingRestart(withStore: boolean): Promise<Row[]> {
  const shards = 16;
  const windowMs = 500;
  const sim = await startDiscordSim({
    guilds: 320,
    shards,
    maxConcurrency: 1,
    identifyWindowMs: windowMs,
    seed: 8,
  });
  const shared = await createStore('memory:');
  const old = await runtimeOn(sim, shared, shards, windowMs);
  await old.ready;
  sim.traffic.start({ ratePerSecond: 100, commands: ['ping'] });
  await new Promise((r) => setTimeout(r, 1000));
  const identifiesBefore = sim.stats().identifies.length;
  const t0 = Date.now();
  // With the store the old process answers until the new one asks for each session, as on SIGTERM.
  const stopping = old.stop({ handoffWaitMs: withStore ? 10_000 : 0 });
  const next = await runtimeOn(sim, withStore ? shared : await createStore('memory:'), shards, windowMs);
  await stopping;
  await next.ready;
  const back = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  sim.traffic.stop();
  await settle(sim);
  const stats = sim.stats();
  await next.stop();
  await sim.close();
  const starts = sessionStarts(stats, t0);
  const gaps = [...starts.values()].map((at) => (at - t0) / 1000);
  const during = stats.interactions.list.filter((r) => r.dispatchedAt >= t0);
  return [
    { name: 'interactions sent from the restart on', value: String(during.length) },
    { name: 'lost (not answered in time)', value: String(during.filter((r) => !accepted(r)).length) },
    { name: 'answered twice (goal 0)', value: String(stats.interactions.answered.twoOrMore) },
    { name: 'identifies spent (goal 0)', value: String(stats.identifies.length - identifiesBefore) },
    { name: 'every shard back after', value: `${(back / 1000).toFixed(2)} s` },
    {
      name: 's without a session per shard: mean / max (goal max 2)',
      value: `${(gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length)).toFixed(2)} / ${Math.max(...gaps).toFixed(2)}`,
    },
  ];
}

/** One shard told its session is gone (op 9, not resumable) under traffic: how long it stays without one. */
async function loneReidentify(mode: 'schedule' | 'store'): Promise<Row[]> {
  const shards = 16;
  const windowMs = 1000;
  const sim = await startDiscordSim({
    guilds: 320,
    shards,
    maxConcurrency: 1,
    identifyWindowMs: windowMs,
    seed: 9,
  });
  const runtime = await runtimeOn(sim, await createStore('memory:'), shards, windowMs, {
    QSB_IDENTIFY: mode,
  });
  await runtime.ready;
  // Past the boot's identifies, so that the bucket is free as on a long-running bot.
  await new Promise((r) => setTimeout(r, windowMs * 1.2));
  sim.traffic.start({ ratePerSecond: 100, commands: ['ping'] });
  await new Promise((r) => setTimeout(r, 500));
  const shard = 5;
  const t0 = Date.now();
  sim.faults.invalidateSession(shard, false);
  let back: number | undefined;
  while (back === undefined) {
    back = sessionStarts(sim.stats(), t0).get(shard);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  sim.traffic.stop();
  await settle(sim);
  const stats = sim.stats();
  await runtime.stop();
  await sim.close();
  const lost = stats.interactions.list.filter(
    (r) => r.shardId === shard && r.dispatchedAt >= t0 && !accepted(r),
  );
  return [
    { name: `${mode}: seconds without a session`, value: ((back - t0) / 1000).toFixed(2) },
    { name: `${mode}: interactions lost on that shard`, value: String(lost.length) },
  ];
}

/** The wait of a lone identify at 1,024 shards and max_concurrency 16, 5 s window, by the throttlers themselves. */
async function loneReidentifySimulated(): Promise<Row[]> {
  const shardCount = 1024;
  const maxConcurrency = 16;
  const windowMs = 5000;
  const schedule = createIdentifySchedule({ shardCount, maxConcurrency, windowMs });
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const samples = 2000;
  const scheduleWaits: number[] = [];
  const storeWaits: number[] = [];
  for (let i = 0; i < samples; i++) {
    const shard = Math.floor(random() * shardCount);
    let clock = 1_800_000_000_000 + random() * 1e9;
    const start = clock;
    const slotted = new SlottedIdentifyThrottler({
      schedule,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    await slotted.waitForIdentify(shard, new AbortController().signal);
    scheduleWaits.push(clock - start);
    // The store: the shard's bucket identified `ago` ms before (worst case: every bucket busy).
    const store = await createStore('memory:');
    const ago = random() * windowMs * 1.1;
    await store.acquire(`identify:${shard % maxConcurrency}`, 'another', Math.max(1, windowMs * 1.1 - ago));
    const before = Date.now();
    const throttler = new StoreIdentifyThrottler({
      store,
      maxConcurrency,
      windowMs,
      owner: 'bench',
      sleep: async (ms) => {
        storeWaits.push(ms);
        await new Promise((r) => setTimeout(r, 0));
        await store.release((await store.holder(`identify:${shard % maxConcurrency}`)) ?? ({} as never));
      },
    });
    const waitsBefore = storeWaits.length;
    await throttler.waitForIdentify(shard, new AbortController().signal);
    if (storeWaits.length === waitsBefore) storeWaits.push(Date.now() - before);
    await store.close();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length / 1000;
  const max = (xs: number[]) => Math.max(...xs) / 1000;
  return [
    {
      name: 'schedule: wait for the slot, mean / max (s)',
      value: `${mean(scheduleWaits).toFixed(1)} / ${max(scheduleWaits).toFixed(1)}`,
    },
    {
      name: 'store, bucket busy (worst case): mean / max (s)',
      value: `${mean(storeWaits).toFixed(1)} / ${max(storeWaits).toFixed(1)}`,
    },
    { name: 'store, bucket free: wait (s)', value: '0 (the lease is taken at once)' },
  ];
}

/** The runtime's path per interaction (object, gate, dedup, metrics, logs) against the bare command. */
async function perInteraction(): Promise<void> {
  const registry = new Registry();
  const metrics = createBotMetrics({
    registry,
    deployment: 'production',
    version: 'bench',
    collectDefaultMetrics: false,
  });
  const handler = createInteractionHandler<never>({
    commands: [ping],
    metrics,
    logger: quiet(),
    now: () => performance.now(),
    shardPing: () => 42,
    flag: () => false,
  });
  const rest = { post: async () => undefined, patch: async () => undefined } as unknown as REST;
  let next = 1_100_000_000_000_000_000n;
  const raw = (): APIChatInputApplicationCommandInteraction =>
    ({
      id: String(next++),
      application_id: '1',
      type: 2,
      token: 'aW50ZXJhY3Rpb246bench',
      guild_id: '81384788765712384',
      channel: { id: '2' },
      member: { user: { id: '3', username: 'u' } },
      data: { id: '4', name: 'ping', type: 1 },
    }) as unknown as APIChatInputApplicationCommandInteraction;
  const bare = { shardPing: 42, flag: () => false, logger: quiet(), metrics };
  await compare(
    'runtime cost per interaction (reply in memory)',
    {
      name: 'reference: the bare command',
      fn: () => ping.execute(createCommandInteraction(raw(), 0, rest), bare),
    },
    [
      {
        name: 'through the runtime handler',
        fn: () => handler.handle(createCommandInteraction(raw(), 0, rest)),
      },
    ],
  );
}

export default async function run(): Promise<void> {
  await perInteraction();
  printRows(
    'rolling restart, 16 shards, 100 interactions/s: sessions handed over through the store',
    await rollingRestart(true),
  );
  printRows(
    'rolling restart, 16 shards, 100 interactions/s: no saved sessions (identify, as before)',
    await rollingRestart(false),
  );
  printRows('lone re-identify (op 9) on 1 of 16 shards, 1 s window, 100 interactions/s', [
    ...(await loneReidentify('schedule')),
    ...(await loneReidentify('store')),
  ]);
  printRows(
    'lone re-identify at 1,024 shards, max_concurrency 16, 5 s window (the throttlers on a simulated clock)',
    await loneReidentifySimulated(),
  );
  await coldStart();
}
