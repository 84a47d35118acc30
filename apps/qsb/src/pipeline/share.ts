import type { Platform } from '@qsb/platform';
import { createRouter, RouterError } from '@qsb/router';
import { createStore, type Store, StoreError } from '@qsb/store';
import { CliError } from '../cli/errors.ts';
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
  /** Closes what it opened (the store). */
  close(): Promise<void>;
}

/** Which {@link CanaryShare} `QSB_CANARY_SHARE` names. */
export const CanaryShareKinds = ['router', 'config'] as const;

/**
 * The share as the router's plan in the store (`QSB_STORE`): a live, make-before-break move of the
 * shards, with no restart, for processes that follow the plan (`@qsb/runtime`).
 */
export function routerShare(
  storeUrl: string | undefined,
  cwd: string,
  log: (line: string) => void,
): CanaryShare {
  let opened: Promise<Store> | undefined;
  const open = () => {
    opened ??= createStore(storeUrl, { cwd });
    return opened;
  };
  const router = async () =>
    createRouter({ store: await open(), logger: { info: (_, l) => log(l), warn: (_, l) => log(l) } });
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof RouterError || error instanceof StoreError) throw new CliError(error.message);
      throw error;
    }
  };
  return {
    description: `the router's plan in ${storeUrl ?? '.qsb/store.json'}`,
    current: () => guard(async () => (await (await router()).status()).plan.percent),
    moveTo: (percent) =>
      guard(async () => {
        const plan = await (await router()).move(percent);
        if (plan.phase !== 'Stable' || plan.percent !== percent) {
          throw new CliError(
            `the router's move to ${percent}% ended ${plan.phase} at ${plan.percent}%: ${plan.reason}`,
          );
        }
      }),
    close: async () => {
      if (opened !== undefined) await (await opened).close();
    },
  };
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
    close: async () => {},
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
