import { resolve } from 'node:path';
import { HerokuPlatform, LocalPlatform, type Platform, PlatformError } from '@qsb/platform';
import { Option } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { waitReady } from './readiness.ts';
import { type CanaryShare, CanaryShareKinds, configShare, routerShare } from './share.ts';
import type { SmokeTester } from './smoke.ts';
import { FileVerdictLog, type VerdictLog } from './verdicts.ts';

/** The three apps of the pipeline, by role. */
export const AppRoles = ['staging', 'canary', 'production'] as const;

/** One of {@link AppRoles}. */
export type AppRole = (typeof AppRoles)[number];

/** The platform's app name of each role. */
export type AppNames = Readonly<Record<AppRole, string>>;

/** Heroku app names of the roles, unless `QSB_APP_STAGING`, `QSB_APP_CANARY`, `QSB_APP_PRODUCTION` say otherwise. */
export const DefaultAppNames = {
  staging: 'quantum-superbot-staging',
  canary: 'quantum-superbot-canary',
  production: 'quantum-superbot',
} as const satisfies AppNames;

/** What tests replace in the release commands. */
export interface PipelineOverrides {
  /** Builds what moves the canary's share (the router); default: {@link configShare}. */
  readonly canaryShare?: (platform: Platform, apps: AppNames) => CanaryShare;
  /** The smoke interaction of `qsb verify`. */
  readonly smoke?: SmokeTester;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Everything a release command works with, built once from the environment. */
export interface Pipeline {
  readonly platform: Platform;
  readonly apps: AppNames;
  readonly share: CanaryShare;
  readonly verdicts: VerdictLog;
  /** The git repository builds come from (`QSB_REPO`, else the working directory). */
  readonly repo: string;
  readonly smoke: SmokeTester | undefined;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** The `--app` option: one of the roles, refused with the allowed values otherwise. */
export function appOption(description = 'which app'): Option {
  return new Option('--app <app>', description).choices(AppRoles).makeOptionMandatory();
}

const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;

function appNames(env: NodeJS.ProcessEnv): AppNames {
  const names = { ...DefaultAppNames } as Record<AppRole, string>;
  for (const role of AppRoles) {
    const key = `QSB_APP_${role.toUpperCase()}`;
    const value = env[key];
    if (value === undefined || value === '') continue;
    if (!APP_NAME.test(value)) {
      throw new CliError(
        `${key}=${JSON.stringify(value)} is not a Heroku app name (3 to 30 of a-z 0-9 -, starting with a letter)`,
      );
    }
    names[role] = value;
  }
  return names;
}

/** The platform `QSB_PLATFORM` names (`heroku`, the default, or `local`), configured from the environment. */
export function platformFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void, repo: string): Platform {
  const kind = env.QSB_PLATFORM ?? 'heroku';
  if (kind === 'local') {
    return new LocalPlatform({
      dir: resolve(env.QSB_LOCAL_DIR ?? '.qsb/local'),
      dependenciesFrom: repo,
      log,
    });
  }
  if (kind !== 'heroku')
    throw new CliError(`QSB_PLATFORM=${JSON.stringify(kind)} is not a platform: use heroku or local`);
  const apiKey = env.HEROKU_API_KEY;
  if (apiKey === undefined || apiKey === '') {
    throw new CliError(
      'HEROKU_API_KEY is not set: the Heroku API key (in GitHub Actions, the HEROKU_API_KEY secret), or QSB_PLATFORM=local',
    );
  }
  try {
    return new HerokuPlatform({ apiKey, log, ...(env.HEROKU_API_URL ? { apiUrl: env.HEROKU_API_URL } : {}) });
  } catch (error) {
    if (error instanceof PlatformError) throw new CliError(error.message);
    throw error;
  }
}

/** `QSB_CANARY_SHARE`: `router` (the default: the store's plan) or `config` (SHARD_PERCENT, restarts). */
function shareFromEnv(
  env: NodeJS.ProcessEnv,
  platform: Platform,
  apps: AppNames,
  ready: (app: string, version: number) => Promise<void>,
  log: (line: string) => void,
): CanaryShare {
  const kind = env.QSB_CANARY_SHARE ?? 'router';
  if (kind === 'config') return configShare(platform, apps, ready);
  if (kind === 'router') return routerShare(env.QSB_STORE, process.cwd(), log);
  throw new CliError(`QSB_CANARY_SHARE=${JSON.stringify(kind)} is not one of ${CanaryShareKinds.join(', ')}`);
}

/** Runs `fn` with the pipeline built from the environment, closing what it opened afterwards. */
export async function withPipeline<T>(ctx: CliContext, fn: (pipeline: Pipeline) => Promise<T>): Promise<T> {
  const pipeline = pipelineFromContext(ctx);
  try {
    return await fn(pipeline);
  } finally {
    await pipeline.share.close();
  }
}

/** Builds the pipeline from the environment; every refusal is one CliError before anything changes. */
export function pipelineFromContext(ctx: CliContext): Pipeline {
  const { env } = ctx;
  const overrides = ctx.pipeline ?? {};
  const repo = resolve(env.QSB_REPO ?? process.cwd());
  const apps = appNames(env);
  const platform = platformFromEnv(env, (line) => ctx.err(line), repo);
  const stateDir = resolve(env.QSB_STATE_DIR ?? '.qsb');
  const now = overrides.now ?? (() => new Date());
  const sleep = overrides.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ready = (app: string, version: number) =>
    waitReady(platform, app, version, { timeoutMs: 300_000, now, sleep });
  return {
    platform,
    apps,
    share: overrides.canaryShare?.(platform, apps) ?? shareFromEnv(env, platform, apps, ready, ctx.err),
    verdicts: new FileVerdictLog(env.QSB_VERDICTS ?? resolve(stateDir, 'verdicts.json')),
    repo,
    smoke: overrides.smoke,
    now,
    sleep,
  };
}

/** Runs `fn`, turning a PlatformError into the one line qsb prints. */
export async function platformStep<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof PlatformError) throw new CliError(error.message);
    throw error;
  }
}

/** Refuses an app that does not exist yet, naming the command that creates it. */
export async function requireApp(pipeline: Pipeline, role: AppRole): Promise<string> {
  const name = pipeline.apps[role];
  if (!(await platformStep(() => pipeline.platform.hasApp(name)))) {
    throw new CliError(
      `the ${role} app ${name} does not exist on ${pipeline.platform.kind}: qsb setup --app ${role} creates it`,
    );
  }
  return name;
}
