import {
  createFlags,
  DEPLOYMENTS,
  type Deployment,
  FlagsError,
  type FlagsLogger,
  loadFeatureFile,
} from '@qsb/flags';
import { parseShardingEnv, parseSnowflake, ShardingError } from '@qsb/sharding';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';

/** The flags file the bot reads, relative to the repository root (where `pnpm qsb` runs). */
const DEFAULT_FILE = 'flags/features.json';
const DEFAULT_APP_NAME = 'quantum-superbot';

interface EvalFlags {
  guild?: string;
  user?: string;
  deployment?: Deployment;
  file: string;
  appName: string;
  json?: boolean;
}

interface ListFlags {
  file: string;
  json?: boolean;
}

function deploymentArg(value: string): Deployment {
  if (!(DEPLOYMENTS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be ${DEPLOYMENTS.join(' or ')}.`);
  }
  return value as Deployment;
}

function snowflake(value: string, what: string): string {
  try {
    parseSnowflake(value, what);
    return value;
  } catch (error) {
    if (error instanceof ShardingError) throw new CliError(error.detail);
    throw error;
  }
}

/** Runs `fn`, turning a flags error (bad file, bad environment) into the one-line CLI error. */
function orCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof FlagsError || error instanceof ShardingError) throw new CliError(error.message);
    throw error;
  }
}

/** Formats a constraint as an operator reads it: `deployment IN [canary]`. */
function constraintText(c: {
  contextName: string;
  operator: string;
  values?: string[];
  value?: unknown;
  inverted?: boolean;
}): string {
  const values = c.values !== undefined ? `[${c.values.join(', ')}]` : JSON.stringify(c.value);
  return `${c.inverted ? 'NOT ' : ''}${c.contextName} ${c.operator} ${values}`;
}

/** `qsb flags eval` and `qsb flags list`: what the flags file says, as the bot evaluates it. */
export function flagsCommand({ env, out, err }: CliContext): Command {
  const logger: FlagsLogger = {
    info: () => {},
    warn: (_obj, msg) => err(`qsb: warning: ${msg}`),
    error: (_obj, msg) => err(`qsb: ${msg}`),
  };
  const command = new Command('flags').description(
    'Feature flags: evaluate a flag for a guild (and user) on a deployment, or list the flags, from the flags file.',
  );

  command
    .command('eval')
    .description(
      'Is <name> on for this guild (and user) on this deployment? With --user alone: for that user in a DM, where the user stands in for the guild.',
    )
    .argument('<name>', 'the flag')
    .option('--guild <id>', 'the guild id (leave out for a DM)')
    .option('--user <id>', 'the user id (required without --guild)')
    .option(
      '--deployment <deployment>',
      'canary or production (default: canary when $CANARY is true, else production)',
      deploymentArg,
    )
    .option('--file <path>', 'the flags file', DEFAULT_FILE)
    .option('--app-name <name>', 'the appName context field', DEFAULT_APP_NAME)
    .option('--json', 'print one JSON object')
    .action(async (name: string, opts: EvalFlags) => {
      if (opts.guild === undefined && opts.user === undefined) {
        throw new CliError('flags eval needs --guild <id>, --user <id> (a DM), or both');
      }
      const userId = opts.user === undefined ? undefined : snowflake(opts.user, 'user id');
      const dm = opts.guild === undefined;
      // In a DM the user stands in for the guild, as the runtime's flag() does.
      const guildId = dm ? (userId ?? '') : snowflake(opts.guild ?? '', 'guild id');
      const deployment = opts.deployment ?? orCliError(() => parseShardingEnv(env).deployment);
      const flags = orCliError(() =>
        createFlags({ file: opts.file, appName: opts.appName, deployment, logger, watch: false }),
      );
      try {
        await flags.ready;
        const defined = flags.definitions().map((d) => d.name);
        if (!defined.includes(name)) {
          throw new CliError(
            `unknown flag ${JSON.stringify(name)}: ${opts.file} defines ${defined.length === 0 ? 'no flags' : defined.join(', ')}`,
          );
        }
        const enabled = flags.flag(name, { guild: guildId, user: userId ?? null });
        if (opts.json) {
          out(
            JSON.stringify({
              flag: name,
              enabled,
              guildId: dm ? null : guildId,
              userId: userId ?? null,
              deployment,
              file: opts.file,
            }),
          );
          return;
        }
        const who = dm
          ? `user ${userId} in a DM`
          : userId === undefined
            ? `guild ${guildId}`
            : `guild ${guildId}, user ${userId}`;
        out(`${name}: ${enabled ? 'on' : 'off'} for ${who} on ${deployment}`);
      } finally {
        flags.close();
      }
    });

  command
    .command('list')
    .description('List the flags of the flags file and their strategies.')
    .option('--file <path>', 'the flags file', DEFAULT_FILE)
    .option('--json', 'print one JSON object')
    .action((opts: ListFlags) => {
      const file = orCliError(() => loadFeatureFile(opts.file));
      for (const warning of file.warnings) err(`qsb: warning: ${warning}`);
      if (opts.json) {
        out(
          JSON.stringify({
            file: opts.file,
            flags: file.features.map((f) => ({
              name: f.name,
              enabled: f.enabled,
              description: f.description ?? null,
              strategies: f.strategies ?? [],
            })),
          }),
        );
        return;
      }
      if (file.features.length === 0) out(`${opts.file}: no flags`);
      for (const f of file.features) {
        out(`${f.name}  ${f.enabled ? 'enabled' : 'disabled'}${f.description ? `  ${f.description}` : ''}`);
        const strategies = f.strategies ?? [];
        if (strategies.length === 0) out('  on for everyone (no strategy)');
        for (const s of strategies) {
          const params = Object.entries(s.parameters ?? {})
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(', ');
          const where = (s.constraints ?? []).map(constraintText).join(' AND ');
          const segments = s.segments?.length ? ` segments ${s.segments.join(', ')}` : '';
          out(`  ${s.name}${params ? `(${params})` : ''}${where ? ` where ${where}` : ''}${segments}`);
        }
      }
    });
  return command;
}
