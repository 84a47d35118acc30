import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RouterError } from '../src/index.ts';
import { type Proc, World } from './support/world.ts';

const SHARDS = 10;

interface Model {
  lastAnswered: number[];
  maxGap: number;
  /** Who answered each interaction (`shard:createdAt`) at any instant: a replay may deliver it late. */
  answeredBy?: Map<string, Set<string>>;
}

type Real = World;

/** Checks, after every command, that no interaction has two answerers, and tracks gaps. */
function check(model: Model, world: World): void {
  for (let shard = 0; shard < SHARDS; shard++) {
    for (const createdAt of world.interestingTimes()) {
      const answering = world.answerers(shard, createdAt, false);
      if (answering.length > 1) {
        throw new Error(
          `shard ${shard}, interaction at ${createdAt - world.clock} ms: answered by ${answering.join(' and ')} (plan ${JSON.stringify(world.procs[0]?.member.plan)})`,
        );
      }
      // Across instants too: the same interaction answered earlier by one process and replayed to another.
      if (model.answeredBy && answering.length > 0) {
        const key = `${shard}:${createdAt}`;
        const who = model.answeredBy.get(key) ?? new Set<string>();
        for (const name of answering) who.add(name);
        model.answeredBy.set(key, who);
        if (who.size > 1) {
          throw new Error(
            `shard ${shard}, interaction at ${createdAt}: answered by ${[...who].join(' and ')} at different times`,
          );
        }
      }
    }
    if (world.answerers(shard, world.clock, true).length === 1) model.lastAnswered[shard] = world.clock;
    model.maxGap = Math.max(model.maxGap, world.clock - (model.lastAnswered[shard] ?? world.clock));
  }
}

const proc = (world: World, i: number): Proc => world.procs[i % world.procs.length] as Proc;

class Tick implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, w: Real) {
    w.advance(this.ms);
    check(m, w);
  }
  toString = () => `tick(${this.ms})`;
}

class Refresh implements fc.AsyncCommand<Model, Real> {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: Model, w: Real) {
    await w.refresh(proc(w, this.i));
    check(m, w);
  }
  toString = () => `refresh(${this.i})`;
}

class RouterStep implements fc.AsyncCommand<Model, Real> {
  constructor(readonly lagMs = 0) {}
  check = () => true;
  async run(m: Model, w: Real) {
    w.routerLagMs = this.lagMs;
    try {
      await w.router.step();
    } finally {
      w.routerLagMs = 0;
    }
    check(m, w);
  }
  toString = () => (this.lagMs === 0 ? 'routerStep' : `routerStep(slow write ${this.lagMs} ms)`);
}

/** The process's next refresh writes through a slow store: stamped `ms` before they are visible. */
class SlowWrites implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly i: number,
    readonly ms: number,
  ) {}
  check = () => true;
  async run(m: Model, w: Real) {
    const p = proc(w, this.i);
    p.writeLagMs = this.ms;
    await w.refresh(p);
    check(m, w);
  }
  toString = () => `slowWrites(${this.i}, ${this.ms})`;
}

class Begin implements fc.AsyncCommand<Model, Real> {
  constructor(readonly percent: number) {}
  check = () => true;
  async run(m: Model, w: Real) {
    await w.router.begin(this.percent).catch((error: unknown) => {
      if (!(error instanceof RouterError) || error.code !== 'MOVE_IN_PROGRESS') throw error;
    });
    check(m, w);
  }
  toString = () => `begin(${this.percent})`;
}

class Crash implements fc.AsyncCommand<Model, Real> {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: Model, w: Real) {
    w.crash(proc(w, this.i));
    check(m, w);
  }
  toString = () => `crash(${this.i})`;
}

class Restart implements fc.AsyncCommand<Model, Real> {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: Model, w: Real) {
    w.restart(proc(w, this.i));
    check(m, w);
  }
  toString = () => `restart(${this.i})`;
}

class Late implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly i: number,
    readonly ms: number,
  ) {}
  check = () => true;
  async run(m: Model, w: Real) {
    const p = proc(w, this.i);
    p.lateUntil = w.clock + this.ms;
    check(m, w);
  }
  toString = () => `late(${this.i}, ${this.ms})`;
}

/** Everyone refreshes every 300 ms of the clock, with router steps, until the plan settles. */
async function settle(m: Model, w: World): Promise<void> {
  for (const p of w.procs) {
    w.restart(p);
    p.lateUntil = 0;
  }
  for (let round = 0; round < 400; round++) {
    await w.refreshAll();
    await w.router.step();
    check(m, w);
    const plan = (await w.router.status()).plan;
    if ((plan.phase === 'Stable' || plan.phase === 'Aborted') && round > 20) return;
    w.advance(300);
    check(m, w);
  }
  throw new Error('the plan did not settle');
}

const commands = (processes: number) =>
  fc.commands(
    [
      fc.integer({ min: 1, max: 1500 }).map((ms) => new Tick(ms)),
      fc.nat(processes - 1).map((i) => new Refresh(i)),
      fc.nat(processes - 1).map((i) => new Refresh(i)),
      fc.constant(new RouterStep()),
      fc.integer({ min: 1, max: 3000 }).map((ms) => new RouterStep(ms)),
      fc
        .tuple(fc.nat(processes - 1), fc.integer({ min: 1, max: 4000 }))
        .map(([i, ms]) => new SlowWrites(i, ms)),
      fc.constantFrom(0, 20, 50, 100).map((p) => new Begin(p)),
      fc.nat(processes - 1).map((i) => new Crash(i)),
      fc.nat(processes - 1).map((i) => new Restart(i)),
      fc.tuple(fc.nat(processes - 1), fc.integer({ min: 100, max: 5000 })).map(([i, ms]) => new Late(i, ms)),
    ],
    { size: '+1' },
  );

describe('router properties', () => {
  it('never lets two processes answer one interaction, over random moves, crashes, expiries, late watchers and slow writes', {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(commands(2), async (cmds) => {
        const world = new World({ shardCount: SHARDS, percent: 20 });
        const model: Model = {
          lastAnswered: Array(SHARDS).fill(world.clock),
          maxGap: 0,
          answeredBy: new Map(),
        };
        await world.refreshAll();
        await fc.asyncModelRun(() => ({ model, real: world }), cmds);
        await settle(model, world);
      }),
      { numRuns: 80, seed: 11 },
    );
  });

  it('never lets two processes answer one interaction with two dynos on each side', {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(commands(4), async (cmds) => {
        const world = new World({ shardCount: SHARDS, percent: 20 }, [
          { deployment: 'production', dyno: 1 },
          { deployment: 'production', dyno: 2 },
          { deployment: 'canary', dyno: 1 },
          { deployment: 'canary', dyno: 2 },
        ]);
        const model: Model = {
          lastAnswered: Array(SHARDS).fill(world.clock),
          maxGap: 0,
          answeredBy: new Map(),
        };
        await world.refreshAll();
        await fc.asyncModelRun(() => ({ model, real: world }), cmds);
        await settle(model, world);
      }),
      { numRuns: 25, seed: 12 },
    );
  });

  it('bounds the time a guild has no answering process by the lease time when nobody is late', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('begin' as const), percent: fc.constantFrom(0, 20, 50, 100) }),
            // Only the canary fails over; a crashed production dyno has no taker by design.
            fc.record({ op: fc.constant('crash' as const), i: fc.constant(1) }),
            fc.record({ op: fc.constant('restart' as const), i: fc.constant(1) }),
            fc.record({ op: fc.constant('run' as const), ms: fc.integer({ min: 100, max: 8000 }) }),
          ),
          { maxLength: 25 },
        ),
        async (ops) => {
          const world = new World({ shardCount: SHARDS, percent: 20 });
          const model: Model = { lastAnswered: Array(SHARDS).fill(world.clock), maxGap: 0 };
          const refreshMs = 250;
          await world.refreshAll();
          for (const op of ops) {
            if (op.op === 'begin') await world.router.begin(op.percent).catch(() => undefined);
            else if (op.op === 'crash') world.crash(world.procs[op.i] as Proc);
            else if (op.op === 'restart') world.restart(world.procs[op.i] as Proc);
            else {
              // Processes refresh on their timer and the router polls, as in production.
              for (let t = 0; t < op.ms; t += refreshMs) {
                await world.refreshAll();
                await world.router.step();
                check(model, world);
                world.advance(refreshMs);
                check(model, world);
              }
            }
          }
          const timings = (await world.router.status()).plan.timings;
          // A canary crash: its lease runs out, production sees that at its next refresh (failover);
          // a canary restart: it waits maxViewAge after taking its lease, and production looks again.
          const bound = ops.some((op) => op.op === 'crash')
            ? timings.leaseTtlMs + timings.maxViewAgeMs + 2 * refreshMs
            : timings.maxViewAgeMs + 2 * refreshMs;
          expect(model.maxGap).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});
