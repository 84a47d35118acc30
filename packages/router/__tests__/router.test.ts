import { describe, expect, it } from 'vitest';
import { createRouter, PlanKey, RouterError, silentLogger, snowflakeAt } from '../src/index.ts';
import { type Proc, World } from './support/world.ts';

/** Runs every process and the router on a 250 ms beat until `done` or the plan settles. */
async function run(world: World, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 250) {
    await world.refreshAll();
    await world.router.step();
    world.advance(250);
  }
}

describe('router', () => {
  it('moves 20% -> 50% -> 0% through every phase, each transition logged once with its reason', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await world.refreshAll();
    const phases: string[] = [];
    const plan = await world.router.move(50, { onProgress: (p) => phases.push(p.phase) });
    expect(plan).toMatchObject({ phase: 'Stable', percent: 50, previousPercent: 20 });
    expect(new Set(phases)).toEqual(new Set(['Connecting', 'CuttingOver', 'Draining', 'Stable']));
    const transitions = world.log.filter((line) => line.startsWith('route '));
    expect(transitions).toEqual([
      expect.stringMatching(/^route Stable -> Connecting: move 20% -> 50%: receivers connect 3 shard/),
      expect.stringMatching(/^route Connecting -> CuttingOver: every receiver is READY on its 3 shard/),
      expect.stringMatching(/^route CuttingOver: cutover at .* confirmed: visible to every reader by /),
      expect.stringMatching(/^route CuttingOver -> Draining/),
      expect.stringMatching(/^route Draining -> Stable: move to 50% done/),
    ]);
    expect(plan.epoch).toBe(6);
    const [production, canary] = world.procs;
    await run(world, 2000);
    expect(canary?.member.wantedShards()).toEqual([1, 2, 3, 4, 5]);
    expect(production?.member.wantedShards()).toEqual([0, 6, 7, 8, 9]);
    // A rollback is the same move to 0%.
    const back = await world.router.move(0);
    expect(back).toMatchObject({ phase: 'Stable', percent: 0, previousPercent: 50 });
    await run(world, 6000);
    expect(canary?.member.wantedShards()).toEqual([]);
    expect(production?.member.wantedShards()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('answers an interaction created before T by the giver and from T on by the receiver', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 1500);
    await world.router.begin(50);
    await run(world, 1000);
    const plan = (await world.router.status()).plan;
    expect(plan.phase).toBe('CuttingOver');
    const [production, canary] = world.procs;
    world.advance(plan.cutoverAt - world.clock);
    await world.refreshAll();
    expect(production?.member.decide(3, snowflakeAt(plan.cutoverAt - 1)).answer).toBe(true);
    expect(canary?.member.decide(3, snowflakeAt(plan.cutoverAt - 1)).answer).toBe(false);
    expect(production?.member.decide(3, snowflakeAt(plan.cutoverAt)).answer).toBe(false);
    expect(canary?.member.decide(3, snowflakeAt(plan.cutoverAt))).toMatchObject({
      answer: true,
      reason: 'owner',
    });
  });

  it('holds the receiver back when the commit of the cutover became visible late, so that no giver on an older view answers with it', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    const [production, canary] = world.procs as [Proc, Proc];
    await run(world, 1500);
    await world.router.begin(50);
    // Until every receiver is READY and acknowledged, so that the next step commits the cutover.
    for (let i = 0; i < 4 && (await world.router.status()).plan.phase === 'Connecting'; i++) {
      await world.refreshAll();
      const status = await world.router.status();
      if (status.waitingFor.length === 0) break;
      world.advance(250);
    }
    // Production reads the plan (Connecting) just before the commit lands; the commit was stamped
    // 1500 ms before it became visible, so T is only 500 ms ahead.
    await world.refresh(production);
    world.routerLagMs = 1500;
    await world.router.step();
    world.routerLagMs = 0;
    await world.refresh(canary);
    const plan = canary.member.plan;
    expect(plan?.phase).toBe('CuttingOver');
    const T = plan?.cutoverAt ?? 0;
    expect(T - world.clock).toBe(500);
    // At T + 200 production's view of Connecting is 700 ms old, still fresh: it answers by the old rule.
    world.advance(700);
    const at = snowflakeAt(T + 200);
    expect(production.member.plan?.phase).toBe('Connecting');
    expect(production.member.decide(3, at)).toMatchObject({ answer: true, reason: 'owner' });
    expect(canary.member.decide(3, at)).toMatchObject({ answer: false, reason: 'cutover-settling' });
    // Once every view from before the commit has aged out, the receiver answers.
    world.advance(400);
    await world.refreshAll();
    const later = snowflakeAt(world.clock);
    expect(production.member.decide(3, later).answer).toBe(false);
    expect(canary.member.decide(3, later)).toMatchObject({ answer: true, reason: 'owner' });
  });

  it('aborts when a receiver reports nothing READY by the deadline; the giver never stopped answering', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 1500);
    const [production, canary] = world.procs as [Proc, Proc];
    world.crash(canary);
    await world.router.begin(50);
    await run(world, 61_000);
    const plan = (await world.router.status()).plan;
    expect(plan).toMatchObject({ phase: 'Aborted', percent: 20 });
    expect(plan.reason).toContain('canary:1 (no acknowledgement)');
    expect(production?.member.decide(4, snowflakeAt(world.clock)).answer).toBe(true);
    // Production answers the dead canary's own shards too (failover).
    expect(production?.member.decide(1, snowflakeAt(world.clock))).toMatchObject({
      answer: true,
      reason: 'failover',
    });
  });

  it('continues a move after its router crashed, from the phase in the store', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 1500);
    await world.router.begin(50);
    await run(world, 500);
    // A new router process (same store) picks the move up: the same command continues it.
    const sleep = async (ms: number) => {
      world.advance(ms);
      await world.refreshAll();
    };
    const again = createRouter({ store: world.store, logger: silentLogger, sleep });
    const plan = await again.move(50);
    expect(plan).toMatchObject({ phase: 'Stable', percent: 50 });
  });

  it('refuses before anything changes: a percent of 150, a move to another percent under way, an empty store', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 500);
    const before = await world.store.get(PlanKey);
    await expect(world.router.move(150)).rejects.toThrow(
      'invalid percent: --percent 150: allowed is a number from 0 to 100 with at most two decimals',
    );
    await expect(world.router.preview(-1)).rejects.toMatchObject({ code: 'INVALID_PERCENT' });
    expect(await world.store.get(PlanKey)).toEqual(before);
    await world.router.begin(50);
    const during = await world.store.get(PlanKey);
    const error = await world.router.move(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterError);
    expect(error).toMatchObject({
      code: 'MOVE_IN_PROGRESS',
      message: expect.stringContaining('20% -> 50% is Connecting'),
    });
    expect(await world.store.get(PlanKey)).toEqual(during);
    const empty = createRouter({
      store: new World({ shardCount: 1, percent: 0 }).store,
      logger: silentLogger,
    });
    await expect(empty.status()).rejects.toMatchObject({ code: 'NO_PLAN' });
  });

  it('aborts a move left in Connecting past its deadline by a dead router, then starts the new one', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 500);
    world.crash(world.procs[1] as Proc);
    await world.router.begin(50);
    world.advance(61_000);
    const plan = await world.router.begin(0);
    expect(plan).toMatchObject({ phase: 'Connecting', move: { from: 20, to: 0 } });
    expect(world.log.filter((line) => line.startsWith('route '))).toEqual([
      expect.stringMatching(/^route Stable -> Connecting: move 20% -> 50%/),
      expect.stringMatching(
        /^route Connecting -> Aborted: move 20% -> 50% aborted: not ready by the deadline/,
      ),
      expect.stringMatching(/^route Aborted -> Connecting: move 20% -> 0%/),
    ]);
  });

  it('previews a move with the shards, the share of guilds and the order, writing nothing', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 250);
    const preview = await world.router.preview(50);
    expect(preview).toMatchObject({
      from: 20,
      to: 50,
      diff: { toCanary: [3, 4, 5], toProduction: [] },
      guildShare: 0.3,
    });
    expect(preview.order[0]).toBe('Connecting: canary connects 3, 4, 5 and reports READY');
    const back = await world.router.preview(0);
    expect(back.diff.toProduction).toEqual([1, 2]);
    expect((await world.router.status()).phase).toBe('Stable');
  });

  it('lets production take a crashed canary’s shards after the lease time, and the canary take them back', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 1500);
    const [production, canary] = world.procs as [Proc, Proc];
    expect(canary.member.decide(1, snowflakeAt(world.clock)).answer).toBe(true);
    world.crash(canary);
    const crashedAt = world.clock;
    while (!production?.member.decide(1, snowflakeAt(world.clock)).answer) await run(world, 250);
    const takeover = world.clock - crashedAt;
    expect(takeover).toBeGreaterThanOrEqual(2500);
    expect(takeover).toBeLessThanOrEqual(3000 + 500);
    expect(production?.member.wantedShards()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await world.router.status()).holdings).toContainEqual({
      deployment: 'canary',
      dyno: 1,
      shards: [1, 2],
      failoverTo: 'production:1',
    });
    world.restart(canary);
    // The canary takes its lease at its first refresh; production sees it at its next one.
    await run(world, 500);
    expect(production?.member.decide(1, snowflakeAt(world.clock))).toMatchObject({
      answer: false,
      reason: 'canary-alive',
    });
    expect(canary?.member.decide(1, snowflakeAt(world.clock))).toMatchObject({
      answer: false,
      reason: 'lease-too-new',
    });
    await run(world, 750);
    expect(canary?.member.decide(1, snowflakeAt(world.clock)).answer).toBe(true);
    expect(production?.member.decide(1, snowflakeAt(world.clock)).answer).toBe(false);
    expect(production.member.snapshot()).toMatchObject({
      epoch: 1,
      phase: 'Stable',
      percent: 20,
      leaseHeld: true,
    });
    expect(production.member.snapshot().decisions.failover).toBe(1);
    expect(production.member.snapshot().decisions['canary-alive']).toBeGreaterThan(1);
  });

  it('logs a process whose SHARD_PERCENT disagrees with the store, and follows the store', async () => {
    const world = new World({ shardCount: 10, percent: 20 });
    await run(world, 250);
    const lines: string[] = [];
    const { RouteMember } = await import('../src/index.ts');
    const late = new RouteMember({
      store: world.store,
      self: { deployment: 'canary', dyno: 1 },
      boot: { shardCount: 10, percent: 30 },
      logger: { info: () => undefined, warn: (_, m) => lines.push(m) },
      clock: () => world.clock,
    });
    await late.refresh();
    expect(late.plan?.percent).toBe(20);
    expect(lines).toContain("SHARD_PERCENT=30 disagrees with the store's plan (20%): following the store");
  });
});
