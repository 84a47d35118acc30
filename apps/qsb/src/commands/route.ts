import { Command, Option } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { percentArg } from '../cli/options.ts';
import { pipelineFromContext, platformStep, requireApp } from '../pipeline/context.ts';

/** `qsb route --percent P`: moves the canary's share of shards (through the router seam). */
export function routeCommand(ctx: CliContext): Command {
  return new Command('route')
    .description("Move the canary's share of shards to a percent, 0..100")
    .addOption(
      new Option('--percent <p>', "the canary's share, 0..100").argParser(percentArg).makeOptionMandatory(),
    )
    .option('--json', 'print one JSON object')
    .action(async (flags: { percent: number; json?: boolean }) => {
      const pipeline = pipelineFromContext(ctx);
      await requireApp(pipeline, 'canary');
      await requireApp(pipeline, 'production');
      const before = await platformStep(() => pipeline.share.current());
      ctx.err(
        `moving the canary's share from ${before}% to ${flags.percent}% (${pipeline.share.description})`,
      );
      await platformStep(() => pipeline.share.moveTo(flags.percent));
      if (flags.json) ctx.out(JSON.stringify({ from: before, percent: flags.percent }));
      else ctx.out(`canary at ${flags.percent}%`);
    });
}
