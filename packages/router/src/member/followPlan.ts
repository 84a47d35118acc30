import type { RouterLogger } from '../logger.ts';
import type { RouteMember } from './RouteMember.ts';

/** The part of a bot runtime the plan drives: which shards it holds, and taking shards on or off. */
export interface RoutedShards {
  /** The shards this process holds sessions on (connecting or READY). */
  held(): readonly number[];
  /** The held shards that are READY now. */
  ready(): readonly number[];
  /** Connects shards (resolves once they are under way; READY shows in `ready()`). */
  add(ids: readonly number[]): Promise<void>;
  /** Closes shards. */
  remove(ids: readonly number[]): Promise<void>;
}

/** Options of {@link followPlan}. */
export interface FollowPlanOptions {
  readonly member: RouteMember;
  readonly shards: RoutedShards;
  readonly logger: RouterLogger;
  /** Waits between refreshes. @defaultValue setTimeout */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A running {@link followPlan}. */
export interface PlanFollowing {
  /** One refresh and reconcile, as the loop does (tests call it directly). */
  step(): Promise<void>;
  /** Stops the loop and gives the member lease up. */
  stop(): Promise<void>;
}

/** Connects what the member wants, closes what it no longer wants, and reports READY shards. */
async function reconcile(member: RouteMember, shards: RoutedShards, logger: RouterLogger): Promise<void> {
  const wanted = new Set(member.wantedShards());
  const held = new Set(shards.held());
  const adding = [...wanted].filter((id) => !held.has(id));
  const removing = [...held].filter((id) => !wanted.has(id));
  if (adding.length > 0) {
    logger.info({ shards: adding, epoch: member.plan?.epoch }, 'routing plan: connecting shards');
    await shards.add(adding);
  }
  if (removing.length > 0) {
    logger.info({ shards: removing, epoch: member.plan?.epoch }, 'routing plan: closing shards');
    await shards.remove(removing);
  }
  member.setReady(shards.ready());
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Makes a bot process follow the routing plan: every `member.refreshIntervalMs` it refreshes the
 * member (lease, plan, acknowledgements), then connects the shards it wants and closes the others.
 * The runtime answers an interaction only when `member.decide(shardId, interaction.id).answer`.
 * A failed refresh is logged; the member's view then ages, and it holds back as the rules say.
 *
 * @example
 * ```ts
 * let member: RouteMember | undefined;
 * const runtime = await startRuntime({ commands, shouldAnswer: (shard, i) => member?.decide(shard, i.id).answer ?? false });
 * member = new RouteMember({ store: runtime.store, self, boot, logger: runtime.logger });
 * const following = followPlan({ member, shards: { held: runtime.heldShards, ready, add: runtime.addShards, remove: runtime.removeShards }, logger: runtime.logger });
 * // on shutdown: await following.stop();
 * ```
 */
export function followPlan(options: FollowPlanOptions): PlanFollowing {
  const { member, shards, logger } = options;
  const sleep = options.sleep ?? defaultSleep;
  const abort = new AbortController();
  const step = async () => {
    try {
      await member.refresh();
    } catch (error) {
      logger.warn({ err: error }, 'routing plan: refresh failed; the view ages until one succeeds');
      return;
    }
    await reconcile(member, shards, logger);
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await step().catch((error: unknown) => logger.warn({ err: error }, 'routing plan: reconcile failed'));
      await sleep(member.refreshIntervalMs, abort.signal);
    }
  })();
  return {
    step,
    async stop() {
      abort.abort();
      await loop;
      await member.leave();
    },
  };
}
