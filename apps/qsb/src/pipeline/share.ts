import type { Platform } from '@qsb/platform';
import type { AppNames } from './context.ts';

/**
 * What moves the canary's share of shards: the router's job (`@qsb/router`, a live shard handoff).
 * The pipeline needs only these two calls.
 */
export interface CanaryShare {
  /** Printable: what moves the share. */
  readonly description: string;
  /** The canary's share now, in percent. */
  current(): Promise<number>;
  /** Moves the canary's share to `percent` and resolves once both deployments serve the new plan. */
  moveTo(percent: number): Promise<void>;
}

/**
 * The share as the `SHARD_PERCENT` config var of both apps: what the bot reads today, until the router
 * moves shards live. Every change restarts every process of an app, so the giving side changes first
 * (a short gap in service of the moved shards, never two deployments answering one guild).
 */
export function configShare(
  platform: Platform,
  apps: AppNames,
  ready: (app: string, version: number) => Promise<void> = async () => {},
): CanaryShare {
  const current = async () => Number((await platform.config(apps.canary)).SHARD_PERCENT ?? '0');
  return {
    description: `SHARD_PERCENT on ${apps.canary} and ${apps.production} (restarts both)`,
    current,
    async moveTo(percent) {
      const before = await current();
      const value = { SHARD_PERCENT: String(percent) };
      const [first, second] =
        percent > before ? [apps.production, apps.canary] : [apps.canary, apps.production];
      for (const app of [first, second]) {
        if ((await platform.config(app)).SHARD_PERCENT === value.SHARD_PERCENT) continue;
        await platform.setConfig(app, value);
        const release = await platform.currentRelease(app);
        // The giving side serves its smaller plan before the receiving side grows.
        if (release !== undefined) await ready(app, release.version);
      }
    },
  };
}
