import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { createRouter, readOrBootPlan, silentLogger } from '@qsb/router';
import { MemoryStore } from '@qsb/store';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import type { Command } from '../src/interactions/handler.ts';
import { TestStore } from './support/memory-store.ts';
import { ping, startTestRuntime } from './support/runtime.ts';

let sim: DiscordSimHandle | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await sim?.close();
  sim = undefined;
});

const guildOn = (s: DiscordSimHandle, shard: number, count = 4) =>
  s.world.guilds.find((g) => s.shardOf(g.id, count) === shard)?.id ?? '';

describe('startRuntime against the local Discord', () => {
  it('answers on each READY shard, and a restart resumes every shard with a replay and no identify', async () => {
    sim = await startDiscordSim({ guilds: 40, shards: 4, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    const store = new TestStore();
    const first = await startTestRuntime(s, store);
    stops.push(() => first.runtime.stop());
    await first.runtime.ready;
    const a = s.sendInteraction({ command: 'ping', guildId: guildOn(s, 1) });
    await waitFor('the first answer', () => (s.stats().interactions.answered.zero === 0 ? true : undefined));
    expect(
      s
        .stats()
        .interactions.list.find((r) => r.id === a.id)
        ?.answers.map((x) => x.outcome),
    ).toEqual(['accepted']);
    // Per-shard counters exist at 0 from the start.
    const text = await (await fetch(`http://127.0.0.1:${first.runtime.port}/metrics`)).text();
    for (const shard of [0, 1, 2, 3]) {
      expect(text).toContain(`qsb_shard_reconnects_total{shard="${shard}"`);
      expect(text).toContain(`qsb_shard_invalid_sessions_total{shard="${shard}"`);
    }

    await first.runtime.stop();
    const identifies = s.stats().identifies.length;
    // Sent while no process holds the shards: Discord buffers them for the sessions.
    const missed = [0, 1, 2, 3].map((shard) =>
      s.sendInteraction({ command: 'ping', guildId: guildOn(s, shard) }),
    );
    const second = await startTestRuntime(s, store);
    stops.push(() => second.runtime.stop());
    await second.runtime.ready;
    await waitFor('the missed interactions', () =>
      s.stats().interactions.answered.zero === 0 ? true : undefined,
    );
    const stats = s.stats();
    expect(stats.identifies.length).toBe(identifies);
    expect(stats.resumes.filter((r) => r.outcome === 'resumed')).toHaveLength(4);
    expect(stats.resumes.every((r) => r.replayed >= 1)).toBe(true);
    for (const m of missed) {
      expect(stats.interactions.list.find((r) => r.id === m.id)?.answers.map((x) => x.outcome)).toEqual([
        'accepted',
      ]);
    }
    expect(stats.interactions.answered.twoOrMore).toBe(0);
    expect(second.lines.filter((l) => l.msg === 'shard resumed')).toHaveLength(4);
  });

  it('drops the per-shard gauges of a shard it gives away, so that readiness counts only the shards it holds', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    const started = await startTestRuntime(s, new TestStore(), { SHARD_COUNT: '2' });
    stops.push(() => started.runtime.stop());
    await started.runtime.ready;
    const scrape = async () => (await fetch(`http://127.0.0.1:${started.runtime.port}/metrics`)).text();
    expect(await scrape()).toContain('qsb_shard_ready{shard="1"');
    await started.runtime.removeShards([1]);
    expect(started.runtime.heldShards()).toEqual([0]);
    const text = await scrape();
    expect(text).toMatch(/^qsb_shard_ready\{shard="0"[^}]*\} 1$/m);
    expect(text).not.toContain('qsb_shard_ready{shard="1"');
    expect(text).not.toContain('qsb_shard_status{shard="1"');
    expect(text).toMatch(/^qsb_shards_owned\{[^}]*\} 1$/m);
  });

  it('with QSB_ROUTE=live, waits only for the shards the store plan gives it, not those of SHARD_PERCENT', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const store = new TestStore();
    // The store's plan gives the canary half; this production process boots with SHARD_PERCENT=0 (all).
    await readOrBootPlan(store, { shardCount: 2, percent: 50, maxConcurrency: 1 }, await store.now());
    const canary = await startTestRuntime(sim, store, {
      SHARD_COUNT: '2',
      QSB_ROUTE: 'live',
      CANARY: 'true',
    });
    stops.push(() => canary.runtime.stop());
    await canary.runtime.ready;
    const started = await startTestRuntime(sim, store, { SHARD_COUNT: '2', QSB_ROUTE: 'live' });
    stops.push(() => started.runtime.stop());
    await started.runtime.ready;
    expect(started.runtime.heldShards()).toHaveLength(1);
    expect(canary.runtime.heldShards()).toHaveLength(1);
    const res = await fetch(`http://127.0.0.1:${started.runtime.port}/readyz`);
    expect(res.status, await res.text()).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${started.runtime.port}/metrics`)).text();
    expect(text).toMatch(/^qsb_shards_owned\{[^}]*\} 1$/m);
    // Where the process stands in the plan, for Prometheus to compare both deployments.
    expect(text).toMatch(/^qsb_route_epoch\{[^}]*\} 1$/m);
    expect(text).toMatch(/^qsb_route_phase\{phase="Stable",[^}]*\} 1$/m);
    expect(text).toMatch(/^qsb_route_phase\{phase="Connecting",[^}]*\} 0$/m);
    expect(text).toMatch(/^qsb_route_canary_percent\{[^}]*\} 50$/m);
    expect(text).toMatch(/^qsb_route_member_lease\{[^}]*\} 1$/m);
    expect(text).toMatch(/^qsb_route_plan_info\{store="memory:test",[^}]*\} 1$/m);
    expect(text).toMatch(/^qsb_route_view_age_seconds\{[^}]*\} [0-9.e-]+$/m);
    expect(text).toMatch(/^qsb_interactions_answered_elsewhere_total\{[^}]*\} 0$/m);
  });

  it('does not count as its own timeouts the interactions the other deployment answered while a shard was away', async () => {
    sim = await startDiscordSim({ guilds: 40, shards: 2, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    // On the wall clock: the plan's timings must pass.
    const store = new MemoryStore();
    const timings = {
      leaseTtlMs: 2000,
      maxViewAgeMs: 600,
      cutoverLeadMs: 1200,
      graceMs: 1000,
      interactionMaxAgeMs: 1000,
    };
    await readOrBootPlan(store, { shardCount: 2, percent: 0, maxConcurrency: 1, timings }, await store.now());
    const production = await startTestRuntime(s, store, { SHARD_COUNT: '2', QSB_ROUTE: 'live' });
    stops.push(() => production.runtime.stop());
    const canary = await startTestRuntime(s, store, { SHARD_COUNT: '2', QSB_ROUTE: 'live', CANARY: 'true' });
    stops.push(() => canary.runtime.stop());
    await production.runtime.ready;
    s.traffic.start({ ratePerSecond: 20, commands: ['ping'] });
    const router = createRouter({ store, logger: silentLogger });
    await router.move(50);
    // Shard 1 is the canary's for 5 s: production's saved session of it falls that far behind.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await router.move(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    s.traffic.stop();
    const stats = s.stats();
    expect(stats.interactions.answered.twoOrMore).toBe(0);
    // Production resumed its old session of shard 1 (no identify) and got the canary's interactions replayed.
    expect(production.lines.some((l) => l.msg === 'shard resumed' && l.shard === 1)).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${production.runtime.port}/metrics`)).text();
    const timeouts = [...text.matchAll(/^qsb_interactions_total\{[^}]*outcome="timeout"[^}]*\} (\d+)$/gm)];
    expect(timeouts.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(0);
    expect(production.lines.some((l) => l.msg === 'interaction expired before it arrived')).toBe(true);
  }, 60_000);

  it('counts and reports an answer Discord refused as already given by another process (40060), without any shared store', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50, heartbeatIntervalMs: 5000 });
    const s = sim;
    // Misconfigured: each app on a store of its own and both owning shard 1 (SHARD_PERCENT 0 and 50).
    const production = await startTestRuntime(s, new TestStore(), { SHARD_COUNT: '2' });
    stops.push(() => production.runtime.stop());
    const canary = await startTestRuntime(s, new TestStore(), {
      SHARD_COUNT: '2',
      CANARY: 'true',
      SHARD_PERCENT: '50',
    });
    stops.push(() => canary.runtime.stop());
    await Promise.all([production.runtime.ready, canary.runtime.ready]);
    for (let i = 0; i < 3; i++) s.sendInteraction({ command: 'ping', guildId: guildOn(s, 1, 2) });
    await waitFor('the second answers', () =>
      s.stats().interactions.answered.twoOrMore === 3 ? true : undefined,
    );
    const counts = await Promise.all(
      [production, canary].map(async ({ runtime }) => {
        const text = await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text();
        return Number(/^qsb_interactions_answered_elsewhere_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
      }),
    );
    // Each interaction: one process answered, the other was refused.
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
    const warnings = [...production.lines, ...canary.lines].filter((l) =>
      String(l.msg).startsWith('another process had already answered this interaction (Discord 40060)'),
    );
    // Logged once (per minute), with what to check; not as a failed command.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(String(warnings[0]?.msg)).toContain('SHARD_PERCENT');
    expect([...production.lines, ...canary.lines].some((l) => l.msg === 'command failed')).toBe(false);
  });

  it('falls back to identify when the saved session is too old to resume', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50, resumeWindowMs: 0 });
    const s = sim;
    const store = new TestStore();
    const env = { SHARD_COUNT: '2' };
    const first = await startTestRuntime(s, store, env);
    await first.runtime.ready;
    await first.runtime.stop();
    const identifies = s.stats().identifies.length;
    const second = await startTestRuntime(s, store, env);
    stops.push(() => second.runtime.stop());
    await second.runtime.ready;
    const stats = s.stats();
    expect(stats.resumes.filter((r) => r.outcome === 'refused')).toHaveLength(2);
    expect(stats.identifies.length).toBe(identifies + 2);
    expect(stats.identifies.slice(identifies).every((i) => i.outcome === 'ready')).toBe(true);
    const g = s.world.guilds[0]?.id ?? '';
    const sent = s.sendInteraction({ command: 'ping', guildId: g });
    await waitFor('an answer after the fallback', () =>
      s.stats().interactions.list.find((r) => r.id === sent.id)?.answers.length ? true : undefined,
    );
  });

  it('makes the process unhealthy on a fatal close code, and logs why', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50 });
    const s = sim;
    const { runtime, lines } = await startTestRuntime(s, new TestStore(), { SHARD_COUNT: '2' });
    stops.push(() => runtime.stop());
    await runtime.ready;
    expect((await fetch(`http://127.0.0.1:${runtime.port}/healthz`)).status).toBe(200);
    s.faults.closeShard(1, 4014, 'Disallowed intent(s)');
    const error = await runtime.fatal;
    expect(error.code).toBe('FATAL_CLOSE');
    expect(error.message).toContain('shard 1 closed with 4014');
    const health = await fetch(`http://127.0.0.1:${runtime.port}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'unhealthy', reason: 'shard 1 closed with 4014' });
    expect(lines.filter((l) => l.level === 60 && l.code === 4014)).toHaveLength(1);
  });

  it('backs off exponentially while Discord is unreachable and logs once per change of state', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50 });
    const s = sim;
    const { runtime, lines } = await startTestRuntime(
      s,
      new TestStore(),
      { SHARD_COUNT: '2' },
      {
        backoffBaseMs: 10,
        random: () => 0.5,
      },
    );
    const delays = (shard: number) =>
      lines.filter((l) => l.shard === shard && l.msg === 'reconnect backoff').map((l) => l.delayMs);
    stops.push(() => runtime.stop());
    await runtime.ready;
    await s.close();
    sim = undefined;
    await waitFor('three backoffs per shard', () =>
      delays(0).length >= 3 && delays(1).length >= 3 ? true : undefined,
    );
    // Equal jitter at random 0.5: 3/4 of base x 2^(n-2); the first (7.5 ms) is the warning line.
    expect(delays(0).slice(0, 3)).toEqual([15, 30, 60]);
    expect(delays(1).slice(0, 3)).toEqual([15, 30, 60]);
    expect(lines.filter((l) => l.msg === 'shard reconnecting')).toHaveLength(2);
    expect(lines.filter((l) => l.msg === 'shard cannot reconnect: backing off')).toHaveLength(2);
    for (const line of lines) expect(JSON.stringify(line)).not.toContain('unable to serialize');
  });

  it('never logs the bot token or an interaction token, whatever fails', async () => {
    sim = await startDiscordSim({ guilds: 20, shards: 2, identifyWindowMs: 50, interactionDeadlineMs: 100 });
    const s = sim;
    const slow: Command = {
      name: 'slow',
      definition: { name: 'slow', description: 'slow' },
      async execute(interaction) {
        await new Promise((r) => setTimeout(r, 200));
        await interaction.reply({ content: 'too late, with a body that must not be logged' });
      },
    };
    const boom: Command = {
      name: 'boom',
      definition: { name: 'boom', description: 'boom' },
      async execute() {
        throw new Error('boom');
      },
    };
    const { runtime, lines } = await startTestRuntime(
      s,
      new TestStore(),
      { SHARD_COUNT: '2', LOG_LEVEL: 'trace' },
      {
        commands: [ping, slow, boom],
      },
    );
    stops.push(() => runtime.stop());
    await runtime.ready;
    s.faults.rest({ status: 500, count: 2, path: '/callback' });
    const sent = [
      s.sendInteraction({ command: 'ping' }),
      s.sendInteraction({ command: 'slow' }),
      s.sendInteraction({ command: 'boom' }),
      s.sendInteraction({ command: 'ping', dm: true }),
    ];
    await waitFor('every interaction to end', () =>
      lines.filter((l) => l.msg === 'interaction expired before it was answered').length >= 1 &&
      lines.filter((l) => l.msg === 'command failed').length >= 1
        ? true
        : undefined,
    );
    await runtime.stop();
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(text).not.toContain(s.token);
    for (const i of sent) expect(text).not.toContain(i.token);
    expect(text).not.toContain('must not be logged');
    expect(text).toContain('/interactions/');
  });

  it('gates a flag by user in a DM, where there is no guild', async () => {
    sim = await startDiscordSim({ guilds: 10, shards: 1, identifyWindowMs: 50 });
    const s = sim;
    const dir = await mkdtemp(join(tmpdir(), 'qsb-flags-'));
    const file = join(dir, 'features.json');
    const rollout = (percent: number) => ({
      name: 'flexibleRollout',
      parameters: { rollout: String(percent), stickiness: 'guildId', groupId: 'beta' },
    });
    await writeFile(
      file,
      JSON.stringify({ version: 2, features: [{ name: 'beta', enabled: true, strategies: [rollout(50)] }] }),
    );
    const results: boolean[] = [];
    const beta: Command<'beta'> = {
      name: 'beta',
      definition: { name: 'beta', description: 'beta' },
      async execute(interaction, ctx) {
        results.push(ctx.flag('beta', interaction));
        await interaction.reply('ok');
      },
    };
    const { runtime } = await startTestRuntime(
      s,
      new TestStore(),
      { SHARD_COUNT: '1', FLAGS_FILE: file },
      {
        commands: [beta] as never,
        flags: ['beta'] as never,
      },
    );
    stops.push(async () => {
      await runtime.stop();
      await rm(dir, { recursive: true, force: true });
    });
    await runtime.ready;
    const users = Array.from({ length: 40 }, (_, n) => String(200_000_000_000_000_000n + BigInt(n) * 7919n));
    for (const userId of users) s.sendInteraction({ command: 'beta', dm: true, userId });
    await waitFor('40 answers', () => (results.length === 40 ? true : undefined));
    // A 50% rollout sticky on guildId splits DM users (each user stands in for a guild); before, every DM was off.
    const on = results.filter(Boolean).length;
    expect(on).toBeGreaterThan(5);
    expect(on).toBeLessThan(35);
  });
});
