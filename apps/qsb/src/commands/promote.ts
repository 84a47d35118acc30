import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { durationArg } from '../cli/options.ts';
import { platformStep, requireApp, withPipeline } from '../pipeline/context.ts';
import { waitReady } from '../pipeline/readiness.ts';
import { lastVerdictOn } from '../pipeline/verdicts.ts';

/** `qsb promote`: production gets the canary's build (slug copy), then the canary's shards return. */
export function promoteCommand(ctx: CliContext): Command {
  return new Command('promote')
    .description(
      "Release the canary's current build on production (the same slug, no rebuild), wait until ready, then return the canary's shards to production. Refused unless the last verdict on that build was promote (--force overrides).",
    )
    .option('--force', 'promote whatever the last verdict')
    .option('--timeout <d>', 'how long to wait for readiness (e.g. 5m)', durationArg, 300)
    .action(async (flags: { force?: boolean; timeout: number }) => {
      await withPipeline(ctx, async (pipeline) => {
        const canary = await requireApp(pipeline, 'canary');
        const production = await requireApp(pipeline, 'production');
        const { platform } = pipeline;
        const build = await platformStep(() => platform.currentRelease(canary));
        if (build?.slugId === undefined) throw new CliError(`${canary} has no build to promote`);
        const verdict = await lastVerdictOn(pipeline.verdicts, build.slugId);
        if (verdict?.verdict !== 'promote') {
          const why =
            verdict === undefined
              ? `no verdict was recorded on ${canary} v${build.version}'s build`
              : `the last verdict on ${canary} v${build.version}'s build was ${verdict.verdict} (${verdict.at})`;
          if (!flags.force)
            throw new CliError(
              `refusing to promote: ${why}; qsb monitor --record-verdict judges it, --force overrides`,
            );
          ctx.err(`promoting anyway (--force): ${why}`);
        }
        ctx.err(`promoting ${canary} v${build.version} to ${production} (slug copy)`);
        const release = await platformStep(() => platform.copyBuild(canary, production));
        await platformStep(() =>
          waitReady(platform, production, release.version, {
            timeoutMs: flags.timeout * 1000,
            now: pipeline.now,
            sleep: pipeline.sleep,
          }),
        );
        ctx.err(`${production} v${release.version} ready; returning the canary's shards`);
        await platformStep(() => pipeline.share.moveTo(0));
        // Moving the share may have released again (SHARD_PERCENT): print what production runs now.
        const now = await platformStep(() => platform.currentRelease(production));
        ctx.out(`v${now?.version ?? release.version}`);
      });
    });
}
