import { MemoryStore, type Store } from '@qsb/store';
import {
  createRouter,
  RouteMember,
  type Router,
  type RouteSelf,
  silentLogger,
  snowflakeAt,
} from '../../src/index.ts';

/** A simulated process: a member, whether it runs, and until when it does not read the store. */
export interface Proc {
  readonly name: string;
  readonly self: RouteSelf;
  member: RouteMember;
  alive: boolean;
  /** A late watcher: it keeps answering on its old view and does not refresh before this time. */
  lateUntil: number;
  /** Shards it holds sessions on (connected instantly at each refresh, closed when no longer wanted). */
  sessions: Set<number>;
  restarts: number;
  /**
   * A slow store for this process's next refresh: its writes are stamped this long before they become
   * visible (the store read its clock, then the write stalled), as a file store under I/O pressure does.
   */
  writeLagMs: number;
}

const Writes = ['acquire', 'renew', 'renewMany', 'release', 'compareAndSet', 'set', 'delete'] as const;

export const T0 = 1_800_000_000_000;

/**
 * Bot processes, a router and a memory store on one injected clock: the router's protocol, run
 * deterministically. Sessions connect as soon as a member wants them (READY at once).
 */
export class World {
  public clock = T0;
  /** How far in the past the write under way is stamped (see {@link Proc.writeLagMs}). */
  private stampLagMs = 0;
  public readonly store = new MemoryStore({ now: () => this.clock - this.stampLagMs });
  /**
   * A slow store for the router's next step: it read the store's clock this long before its write
   * became visible, so the cutover it commits is that much closer than it planned.
   */
  public routerLagMs = 0;
  public readonly router: Router;
  public readonly procs: Proc[] = [];
  public readonly log: string[] = [];
  private readonly dynos: { canary: number; production: number };

  public constructor(
    public readonly boot: { shardCount: number; percent: number },
    selves: readonly RouteSelf[] = [
      { deployment: 'production', dyno: 1 },
      { deployment: 'canary', dyno: 1 },
    ],
  ) {
    this.dynos = {
      canary: selves.filter((self) => self.deployment === 'canary').length,
      production: selves.filter((self) => self.deployment === 'production').length,
    };
    const logger = {
      info: (_: object, m: string) => this.log.push(m),
      warn: (_: object, m: string) => this.log.push(m),
    };
    const routerStore = new Proxy(this.store, {
      get: (target, key, receiver) => {
        if (key !== 'now') return Reflect.get(target, key, receiver);
        return async () => (await target.now()) - this.routerLagMs;
      },
    }) as Store;
    this.router = createRouter({
      store: routerStore,
      logger,
      sleep: async (ms) => {
        // While the router waits, the processes refresh on their own timers.
        this.advance(ms);
        await this.refreshAll();
      },
      newId: () => `m${this.log.length}`,
    });
    for (const self of selves) {
      const name = `${self.deployment}:${self.dyno}`;
      this.procs.push({
        name,
        self,
        member: this.newMember(self, name, 0),
        alive: true,
        lateUntil: 0,
        sessions: new Set(),
        restarts: 0,
        writeLagMs: 0,
      });
    }
  }

  /** The store as one process sees it: its writes stamped `writeLagMs` in the past. */
  private storeOf(name: string): Store {
    return new Proxy(this.store, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (!(Writes as readonly PropertyKey[]).includes(key) || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          this.stampLagMs = this.procs.find((p) => p.name === name)?.writeLagMs ?? 0;
          try {
            return await value.apply(target, args);
          } finally {
            this.stampLagMs = 0;
          }
        };
      },
    }) as Store;
  }

  private newMember(self: RouteSelf, name: string, restarts: number): RouteMember {
    const dynos = this.dynos;
    return new RouteMember({
      store: this.storeOf(name),
      self,
      boot: { ...this.boot, dynos },
      logger: silentLogger,
      clock: () => this.clock,
      identity: `${name}/${restarts}`,
    });
  }

  public advance(ms: number): void {
    this.clock += ms;
  }

  /** One refresh of a running, not late process; then it connects what it wants and closes the rest. */
  public async refresh(proc: Proc): Promise<void> {
    if (!proc.alive || this.clock < proc.lateUntil) return;
    try {
      await proc.member.refresh();
    } finally {
      proc.writeLagMs = 0;
    }
    proc.sessions = new Set(proc.member.wantedShards());
    proc.member.setReady(proc.sessions);
  }

  public async refreshAll(): Promise<void> {
    for (const proc of this.procs) await this.refresh(proc);
  }

  public crash(proc: Proc): void {
    proc.alive = false;
    proc.sessions.clear();
  }

  public restart(proc: Proc): void {
    if (proc.alive) return;
    proc.restarts++;
    proc.member = this.newMember(proc.self, proc.name, proc.restarts);
    proc.alive = true;
    proc.lateUntil = 0;
  }

  /** The running processes that would answer an interaction created at `createdAt` on `shard`, now. */
  public answerers(shard: number, createdAt: number, withSessions: boolean): string[] {
    const snowflake = snowflakeAt(createdAt);
    return this.procs
      .filter(
        (p) =>
          p.alive && (!withSessions || p.sessions.has(shard)) && p.member.decide(shard, snowflake).answer,
      )
      .map((p) => p.name);
  }

  /** Creation times worth checking now: now, just before and at the last cutover, the oldest still alive. */
  public interestingTimes(): number[] {
    const plan = this.procs.map((p) => p.member.plan).find((p) => p !== undefined);
    const times = [this.clock, this.clock - 1, this.clock - 700];
    if (plan !== undefined) {
      times.push(plan.cutoverAt - 1, plan.cutoverAt, this.clock - plan.timings.interactionMaxAgeMs);
    }
    // A fixed grid, so that one interaction is looked at again at later instants (a replay).
    for (let k = 0; k <= 10; k++) times.push(Math.floor(this.clock / 500) * 500 - k * 500);
    return times.filter((t) => t <= this.clock && t > T0 - 10_000);
  }
}
