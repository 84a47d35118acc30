import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { type AppRole, appOption, platformStep, requireApp, withPipeline } from '../pipeline/context.ts';
import { discordSmoke } from '../pipeline/smoke.ts';
import { formatChecks, verifyDeployment } from '../pipeline/verify.ts';

interface VerifyFlags {
  app: AppRole;
  expectVersion?: string;
  json?: boolean;
}

/** Exit code of `qsb verify` when a check failed (3 stays for errors). */
export const VerifyFailedExitCode = 1;

/** `qsb verify --app A`: the deployment tests, a readable report, exit 1 when any failed. */
export function verifyCommand(ctx: CliContext): Command {
  return new Command('verify')
    .description(
      'Test a deployed app: /healthz, /readyz, /metrics (parses, carries the metric catalog), the version, the shard plan against the config, and a smoke interaction (QSB_SMOKE_GUILD on Discord). Exit 0 all passed, 1 a check failed, 3 error.',
    )
    .addOption(appOption('the app to test'))
    .option(
      '--expect-version <v>',
      "the release every process must report (default: the app's current release, v12)",
    )
    .option('--json', 'print one JSON object')
    .action(async (flags: VerifyFlags) => {
      if (flags.expectVersion !== undefined && !/^v[1-9][0-9]*$/.test(flags.expectVersion)) {
        throw new CliError(`--expect-version ${flags.expectVersion} must be a release version such as v12`);
      }
      await withPipeline(ctx, async (pipeline) => {
        const app = await requireApp(pipeline, flags.app);
        const { platform } = pipeline;
        const [release, urls, config] = await platformStep(() =>
          Promise.all([platform.currentRelease(app), platform.webUrls(app), platform.config(app)]),
        );
        const share =
          flags.app === 'staging' ? undefined : await platformStep(() => pipeline.share.current());
        const checks = await verifyDeployment({
          app,
          urls,
          config,
          expectVersion: flags.expectVersion ?? `v${release?.version ?? 0}`,
          share,
          smoke: pipeline.smoke ?? discordSmoke(ctx.env),
        });
        if (flags.json) ctx.out(JSON.stringify({ app, checks }));
        else for (const line of formatChecks(app, checks)) ctx.out(line);
        const failed = checks.filter((c) => c.outcome === 'failed');
        if (failed.length > 0) {
          throw new CliError(
            `verify ${app}: ${failed.map((c) => c.name).join(', ')} failed`,
            VerifyFailedExitCode,
          );
        }
      });
    });
}
