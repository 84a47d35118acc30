import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { collect } from '../cli/options.ts';
import { type AppRole, AppRoles, platformStep, withPipeline } from '../pipeline/context.ts';

/**
 * What differs between the three apps (app.json documents every variable). Slash commands are
 * registered by production alone: they are global to the Discord application the canary shares with
 * production, so a canary registering would publish its new commands to every guild before promotion,
 * and two registrars would race their bulk overwrites. Staging is its own Discord application (its own
 * token), so it registers its own.
 */
export const RoleConfig = {
  staging: { CANARY: 'false', SHARD_PERCENT: '0', REGISTER_COMMANDS: 'true' },
  canary: { CANARY: 'true', SHARD_PERCENT: '0', REGISTER_COMMANDS: 'false' },
  production: { CANARY: 'false', SHARD_PERCENT: '0' },
} as const satisfies Record<AppRole, Record<string, string>>;

/** Variables passed from the environment of `qsb setup` when set; never printed. */
const PASSED = [
  'METRICS_TOKEN',
  'QSB_STORE',
  'UNLEASH_URL',
  'UNLEASH_API_TOKEN',
  'DISCORD_API_URL',
  'IDENTIFY_WINDOW_MS',
  'LOG_LEVEL',
] as const;

function roleList(value: string, previous: AppRole[] = []): AppRole[] {
  if (!(AppRoles as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Allowed choices are ${AppRoles.join(', ')}.`);
  }
  return [...previous, value as AppRole];
}

interface SetupFlags {
  app: AppRole[];
  set?: string[];
}

function assignment(value: string): [string, string] {
  const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/s.exec(value);
  if (!m?.[1] || m[2] === undefined)
    throw new CliError(`--set ${JSON.stringify(value)} must be KEY=VALUE with KEY in A-Z 0-9 _`);
  return [m[1], m[2]];
}

/** The config of one app from its role, the environment and `--set`; refuses what is missing. */
export function setupConfig(
  role: AppRole,
  env: NodeJS.ProcessEnv,
  sets: readonly string[],
): Record<string, string> {
  const tokenVar = role === 'staging' ? 'STAGING_DISCORD_TOKEN' : 'DISCORD_TOKEN';
  const token = env[tokenVar];
  if (!token) {
    throw new CliError(
      `${tokenVar} is not set: the ${role} app's bot token${role === 'staging' ? ' (a separate Discord application for staging)' : ' (the same on canary and production)'}`,
    );
  }
  const shardCount = env.SHARD_COUNT;
  if (role !== 'staging' && (shardCount === undefined || !/^[1-9][0-9]{0,6}$/.test(shardCount))) {
    throw new CliError(
      `SHARD_COUNT=${JSON.stringify(shardCount ?? '')} must be the total shard count (an integer from 1), the same on canary and production`,
    );
  }
  const config: Record<string, string> = {
    ...RoleConfig[role],
    DISCORD_TOKEN: token,
    NPM_CONFIG_PRODUCTION: 'false',
  };
  if (shardCount !== undefined && /^[1-9][0-9]*$/.test(shardCount)) config.SHARD_COUNT = shardCount;
  for (const key of PASSED) {
    const value = env[key];
    if (value !== undefined && value !== '') config[key] = value;
  }
  // The share moves through the router (QSB_CANARY_SHARE unset or router): canary and production
  // follow the plan in one store shared by both apps.
  const routed = role !== 'staging' && (env.QSB_CANARY_SHARE ?? 'router') === 'router';
  if (routed) config.QSB_ROUTE = 'live';
  for (const set of sets) {
    const [key, value] = assignment(set);
    config[key] = value;
  }
  if (config.QSB_ROUTE === 'live' && !config.QSB_STORE) {
    throw new CliError(
      `QSB_STORE is not set: the ${role} app follows the routing plan (QSB_ROUTE=live) in a store shared with the other app, such as Redis (QSB_STORE="$REDIS_URL?tls=no-verify" on Heroku Key-Value Store); or QSB_CANARY_SHARE=config to move the share by SHARD_PERCENT`,
    );
  }
  return config;
}

async function formation(repo: string): Promise<Record<string, number>> {
  const manifest = JSON.parse(await readFile(join(repo, 'app.json'), 'utf8')) as {
    formation?: Record<string, { quantity?: number }>;
  };
  return Object.fromEntries(Object.entries(manifest.formation ?? {}).map(([t, f]) => [t, f.quantity ?? 0]));
}

/** `qsb setup --app A [--app B]`: creates the apps (stack heroku-24) with their config through the API. */
export function setupCommand(ctx: CliContext): Command {
  return new Command('setup')
    .description(
      'Create the staging, canary and production apps (stack heroku-24) with their config vars through the platform API; an existing app gets its config updated. Bot tokens come from DISCORD_TOKEN (canary, production) and STAGING_DISCORD_TOKEN; SHARD_COUNT is required for canary and production.',
    )
    .addOption(
      new Option('--app <app>', `an app to create, repeatable: ${AppRoles.join(', ')}`)
        .argParser(roleList)
        .makeOptionMandatory(),
    )
    .option(
      '--set <KEY=VALUE>',
      'another config var (repeatable; not for secrets: use the environment)',
      collect,
    )
    .action(async (flags: SetupFlags) => {
      const roles = [...new Set(flags.app)];
      // Every refusal before the first change.
      const configs = roles.map((role) => [role, setupConfig(role, ctx.env, flags.set ?? [])] as const);
      await withPipeline(ctx, async (pipeline) => {
        const wanted = await formation(pipeline.repo).catch(() => ({ web: 1 }));
        for (const [role, config] of configs) {
          const name = pipeline.apps[role];
          await platformStep(() =>
            pipeline.platform.createApp({ name, stack: 'heroku-24', config, formation: wanted }),
          );
          ctx.out(
            `${role}: ${name} ready with ${Object.keys(config).length} config vars (${Object.keys(config).sort().join(', ')})`,
          );
        }
      });
    });
}
