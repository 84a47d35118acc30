import type { AppName, AppStatus, DemoPlatform } from '../platform/platform.ts';
import type { Release } from '../releases/build.ts';

/** Which release each app runs and the canary's share of shards. */
export interface RouteRequest {
  readonly percent: number;
  readonly production: Release;
  readonly canary: Release;
}

/**
 * Moves shards between production and the canary. Until `qsb route` (a shard handoff through the
 * store) lands, the default restarts both apps with the new `SHARD_PERCENT`: every process computes the
 * same plan from it, so no shard is owned twice, at the price of a few seconds without answers.
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

/** The default {@link DemoRouter}: stop both, start both under the new plan, wait for production's shards. */
export function createRestartRouter(platform: DemoPlatform, env: BaseEnv): DemoRouter {
  const envOf = (app: AppName, release: Release, percent: number) => ({
    ...env,
    CANARY: app === 'quantum-superbot-canary' ? 'true' : 'false',
    SHARD_PERCENT: String(percent),
    QSB_VERSION: release.version,
  });
  return {
    async route({ percent, production, canary }) {
      // Both stop before either starts: the old and the new plan never run side by side.
      await Promise.all([platform.stop('quantum-superbot-canary'), platform.stop('quantum-superbot')]);
      const [p, c] = await Promise.all([
        platform.start('quantum-superbot', production, envOf('quantum-superbot', production, percent)),
        percent > 0
          ? platform.start(
              'quantum-superbot-canary',
              canary,
              envOf('quantum-superbot-canary', canary, percent),
            )
          : Promise.resolve(undefined),
      ]);
      // Production must serve its shards before the step counts; the canary's readiness is verified by the rollout.
      await waitReady(p);
      return { production: p, canary: c };
    },
  };
}
