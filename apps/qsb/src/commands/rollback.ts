import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { durationArg } from '../cli/options.ts';
import { platformStep, requireApp, withPipeline } from '../pipeline/context.ts';
import { waitReady } from '../pipeline/readiness.ts';

/** `qsb rollback`: the canary's shards go back to production first, then the canary's previous release. */
export function rollbackCommand(ctx: CliContext): Command {
  return new Command('rollback')
    .description(
      "Give the canary's shards back to production, then return the canary app to its previous build (a new release, as Heroku rolls back).",
    )
    .option('--timeout <d>', 'how long to wait for readiness (e.g. 5m)', durationArg, 300)
    .action(async (flags: { timeout: number }) => {
      await withPipeline(ctx, async (pipeline) => {
        const canary = await requireApp(pipeline, 'canary');
        await requireApp(pipeline, 'production');
        const { platform } = pipeline;
        ctx.err("returning the canary's shards to production");
        await platformStep(() => pipeline.share.moveTo(0));
        const release = await platformStep(() => platform.rollback(canary));
        ctx.err(`${canary}: ${release.description} as v${release.version}`);
        await platformStep(() =>
          waitReady(platform, canary, release.version, {
            timeoutMs: flags.timeout * 1000,
            now: pipeline.now,
            sleep: pipeline.sleep,
          }),
        );
        // A rollback restores the earlier release's config too; the share stays where the router put it.
        await platformStep(() => pipeline.share.moveTo(0));
        ctx.out(
          `v${(await platformStep(() => platform.currentRelease(canary)))?.version ?? release.version}`,
        );
      });
    });
}
