import type { Store, Versioned } from '@qsb/store';
import { type BootPlan, initialPlan, PlanKey, parsePlan, type RoutingPlan } from './plan.ts';

/** A plan read from the store, with the record's version for the next compare-and-set. */
export interface StoredPlan {
  readonly plan: RoutingPlan;
  readonly version: number;
}

/** The plan in the store, or undefined when there is none yet. */
export async function readPlan(store: Store): Promise<StoredPlan | undefined> {
  const record = await store.get(PlanKey);
  return record === undefined ? undefined : fromRecord(record);
}

function fromRecord(record: Versioned): StoredPlan {
  return { plan: parsePlan(record.value), version: record.version };
}

/** Writes `next` over `current` by compare-and-set; undefined when someone else wrote first. */
export async function writePlan(
  store: Store,
  current: StoredPlan,
  next: RoutingPlan,
): Promise<StoredPlan | undefined> {
  const written = await store.compareAndSet(PlanKey, JSON.stringify(next), current.version);
  return written === undefined ? undefined : { plan: next, version: written.version };
}

/**
 * The plan in the store, or the boot plan written there if there is none: the first writer wins, and
 * every later process reads (and follows) the winner's plan.
 */
export async function readOrBootPlan(store: Store, boot: BootPlan, now: number): Promise<StoredPlan> {
  for (;;) {
    const current = await readPlan(store);
    if (current !== undefined) return current;
    const plan = initialPlan(boot, now);
    const written = await store.compareAndSet(PlanKey, JSON.stringify(plan), 0);
    if (written !== undefined) return { plan, version: written.version };
  }
}

/** A member's acknowledgement of a move: it has seen it, and which of its receiving shards are READY. */
export interface MoveAck {
  readonly moveId: string;
  readonly epoch: number;
  readonly ready: readonly number[];
}

/** The store key of a member's acknowledgement of a move. */
export function ackKey(moveId: string, deployment: string, dyno: number): string {
  return `route:ack:${moveId}:${deployment}:${dyno}`;
}

/** Every acknowledgement of a move, by `deployment:dyno`. */
export async function readAcks(store: Store, moveId: string): Promise<Map<string, MoveAck>> {
  const prefix = `route:ack:${moveId}:`;
  const acks = new Map<string, MoveAck>();
  for (const [key, record] of await store.list(prefix)) {
    try {
      acks.set(key.slice(prefix.length), JSON.parse(record.value) as MoveAck);
    } catch {
      // An unreadable ack counts as none: the move waits, then aborts, naming the member.
    }
  }
  return acks;
}

/** The lease name of a member: one per deployment and dyno (empty: the prefix of a deployment's leases). */
export function memberLease(deployment: string, dyno: number | ''): string {
  return `route:member:${deployment}:${dyno}`;
}
