import {
  type Deployment,
  identifyBuckets,
  parseShardingEnv,
  placeGuild,
  planShards,
  shardsForProcess,
} from '@qsb/sharding';
import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { collect, formatIds, integerIn, percentArg } from '../cli/options.ts';

interface ShardsFlags {
  shardCount?: number;
  percent?: number;
  maxConcurrency?: number;
  canaryTakesShardZero?: boolean;
  guild?: string[];
  json?: boolean;
}

/** `qsb shards`: each deployment's shards, the share of guilds, the identify buckets. */
export function shardsCommand({ env, out }: CliContext): Command {
  return new Command('shards')
    .description(
      'Show which shards the canary and production own. Flags override the environment (CANARY, SHARD_PERCENT, SHARD_COUNT, DYNO, DYNO_COUNT, MAX_CONCURRENCY).',
    )
    .option('--shard-count <n>', 'total shard count (default: $SHARD_COUNT)', integerIn(1, 1 << 20))
    .option(
      '--percent <p>',
      "the canary's share of shards, 0..100 (default: $SHARD_PERCENT or 20)",
      percentArg,
    )
    .option('--max-concurrency <m>', 'identify buckets (default: $MAX_CONCURRENCY or 1)', integerIn(1, 1024))
    .option('--canary-takes-shard-zero', 'let the canary own shard 0 (DMs) below 100%')
    .option('--guild <id>', 'which shard and deployment serve this guild (repeatable)', collect)
    .option('--json', 'print one JSON object')
    .action((flags: ShardsFlags) => {
      const fromEnv = parseShardingEnv(env);
      const shardCount = flags.shardCount ?? fromEnv.shardCount;
      if (shardCount === undefined) {
        throw new CliError('the shard count is unknown: pass --shard-count or set SHARD_COUNT');
      }
      const plan = planShards({
        shardCount,
        percent: flags.percent ?? fromEnv.percent,
        maxConcurrency: flags.maxConcurrency ?? fromEnv.maxConcurrency ?? 1,
        canaryTakesShardZero: flags.canaryTakesShardZero ?? fromEnv.canaryTakesShardZero,
      });
      const self = shardsForProcess(plan, fromEnv.deployment, fromEnv.dyno);
      const guilds = (flags.guild ?? []).map((id) => placeGuild(plan, id));
      const buckets = (d: Deployment) => identifyBuckets(plan[d], plan.maxConcurrency);
      const share = (d: Deployment) => plan[d].length / plan.shardCount;

      if (flags.json) {
        out(
          JSON.stringify({
            shardCount: plan.shardCount,
            percent: plan.percent,
            maxConcurrency: plan.maxConcurrency,
            canaryTakesShardZero: plan.canaryTakesShardZero,
            canary: plan.canary,
            production: plan.production,
            guildShare: { canary: share('canary'), production: share('production') },
            buckets: { canary: buckets('canary'), production: buckets('production') },
            process: { deployment: self.deployment, dyno: fromEnv.dyno, shardIds: self.shardIds },
            ...(guilds.length > 0 ? { guilds } : {}),
          }),
        );
        return;
      }
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      out(`${plan.shardCount} shards, canary at ${plan.percent}%, max_concurrency ${plan.maxConcurrency}`);
      for (const d of ['canary', 'production'] as const) {
        out(
          `  ${d.padEnd(10)} ${String(plan[d].length).padStart(5)} shards  ~${pct(share(d))} of guilds  ${formatIds(plan[d])}`,
        );
      }
      if (plan.maxConcurrency > 1) {
        out('identify buckets (shard id % max_concurrency):');
        const c = buckets('canary');
        const p = buckets('production');
        for (let b = 0; b < plan.maxConcurrency; b++) {
          out(`  bucket ${b}: canary ${formatIds(c[b] ?? [])} | production ${formatIds(p[b] ?? [])}`);
        }
      }
      out(
        `this process: ${self.deployment}, dyno ${fromEnv.dyno.index} of ${fromEnv.dyno.count}, shards ${formatIds(self.shardIds)}`,
      );
      for (const g of guilds) out(`guild ${g.id}: shard ${g.shard}, ${g.deployment}`);
    });
}
