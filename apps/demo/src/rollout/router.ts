import { createRouter, silentLogger } from '@qsb/router';
import type { Store } from '@qsb/store';
import type { AppName, AppStatus, DemoPlatform } from '../platform/platform.ts';
import type { Release } from '../releases/build.ts';

/** Which release each app runs and the canary's share of shards. */
export interface RouteRequest {
  readonly percent: number;
  readonly production: Release;
  readonly canary: Release;
}

/**
 * Moves shards between production and the canary, and gives each app the release a step asks for:
 * {@link createLiveRouter} (the live handoff of `qsb route`) is the demo's.
 */
export interface DemoRouter {
  route(request: RouteRequest): Promise<{ production: AppStatus; canary: AppStatus | undefined }>;
}

/** The environment both apps share, without their role and share. */
export type BaseEnv = Readonly<Record<string, string>>;

/** Waits until `url/readyz` answers 200 (every owned shard READY), or fails after `timeoutMs`. */
export async function waitReady(status: AppStatus, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${status.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(
      () => undefined,
    );
    if (res?.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(
        `${status.app} ${status.release.version} was not READY within ${timeoutMs} ms; see ${status.logFile}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One phase of a live move, for the progress display. */
export interface DemoMoveProgress {
  readonly from: number;
  readonly to: number;
  readonly phase: string;
  readonly reason: string;
}

/** Options of {@link createLiveRouter}. */
export interface LiveRouterOptions {
  /** The store both apps follow (`QSB_STORE` of `env`), opened by the demo. */
  readonly store: Store;
  /** Each phase of a move as the router reports it. */
  readonly onProgress?: (progress: DemoMoveProgress) => void;
  /** Called with the start and end of each move, in the local Discord's clock. */
  readonly onMoved?: (window: { readonly from: number; readonly to: number }) => void;
  /** The local Discord's clock, for `onMoved`. */
  readonly clock?: () => number;
  readonly signal?: AbortSignal;
}

/**
 * The {@link DemoRouter} of `qsb route`: both apps run with `QSB_ROUTE=live` on one store and the
 * canary's share moves by make-before-break handoff through `@qsb/router`, with no restart. A step
 * that changes production's release (promotion) restarts production on it first, then takes the
 * share to 0; an app whose share is 0 at the end is stopped.
 */
export function createLiveRouter(
  platform: DemoPlatform,
  env: BaseEnv,
  options: LiveRouterOptions,
): DemoRouter {
  const router = createRouter({ store: options.store, logger: silentLogger });
  let percentNow = 0;
  const envOf = (app: AppName, release: Release) => ({
    ...env,
    QSB_ROUTE: 'live',
    CANARY: app === 'quantum-superbot-canary' ? 'true' : 'false',
    // Only the plan a process boots with when the store has none: the store's plan wins.
    SHARD_PERCENT: String(percentNow),
    QSB_VERSION: release.version,
  });
  const runs = (app: AppName, release: Release) => {
    const status = platform.status(app);
    return status?.pid !== undefined && status.release.version === release.version ? status : undefined;
  };
  const move = async (to: number) => {
    const from = percentNow;
    if (from === to) return;
    const startedAt = options.clock?.();
    let last: string | undefined;
    const plan = await router.move(to, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => {
        if (p.phase === last) return;
        last = p.phase;
        options.onProgress?.({ from, to, phase: p.phase, reason: p.reason });
      },
    });
    if (startedAt !== undefined && options.clock) options.onMoved?.({ from: startedAt, to: options.clock() });
    if (plan.phase !== last) options.onProgress?.({ from, to, phase: plan.phase, reason: plan.reason });
    percentNow = plan.percent;
    // A canary that crashed during the move is the verification's to report (and roll back); any other
    // move that did not arrive is an error of the demo.
    const crashed = (platform.status('quantum-superbot-canary')?.restarts ?? 0) > 0;
    if ((plan.phase !== 'Stable' || plan.percent !== to) && !crashed)
      throw new Error(`the move ${from}% -> ${to}% ended ${plan.phase} at ${plan.percent}%: ${plan.reason}`);
  };
  return {
    async route({ percent, production, canary }) {
      let p = runs('quantum-superbot', production);
      if (p === undefined) {
        // First start, or a release of production (promotion): its shards come back from the saved sessions.
        p = await platform.start('quantum-superbot', production, envOf('quantum-superbot', production));
        await waitReady(p);
        // The first production process writes the plan (at SHARD_PERCENT): wait for it before moving.
        for (;;) {
          const status = await router.status().catch(() => undefined);
          if (status !== undefined) {
            percentNow = status.plan.percent;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      let c: AppStatus | undefined = platform.status('quantum-superbot-canary');
      if (percent > 0 && runs('quantum-superbot-canary', canary) === undefined) {
        // The canary boots holding nothing (the store's plan) and receives its shards through the move.
        if (percentNow > 0) await move(0);
        c = await platform.start('quantum-superbot-canary', canary, envOf('quantum-superbot-canary', canary));
        await waitReady(c);
      }
      await move(percent);
      if (percent === 0) {
        await platform.stop('quantum-superbot-canary');
        c = undefined;
      }
      return { production: p, canary: c };
    },
  };
}
