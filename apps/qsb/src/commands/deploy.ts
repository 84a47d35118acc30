import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveRef } from '@qsb/platform';
import { Command, Option } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { durationArg } from '../cli/options.ts';
import { type AppRole, appOption, platformStep, requireApp, withPipeline } from '../pipeline/context.ts';
import { waitReady } from '../pipeline/readiness.ts';

interface DeployFlags {
  app: AppRole;
  ref: string;
  timeout: number;
  json?: boolean;
}

/** The formation app.json asks for, read from the working tree (the build has the same file). */
async function formationOf(repo: string): Promise<Record<string, number>> {
  try {
    const manifest = JSON.parse(await readFile(join(repo, 'app.json'), 'utf8')) as {
      formation?: Record<string, { quantity?: number }>;
    };
    return Object.fromEntries(Object.entries(manifest.formation ?? {}).map(([t, f]) => [t, f.quantity ?? 0]));
  } catch {
    return {};
  }
}

/** `qsb deploy --app A --ref REF`: build REF on the app, release it, wait until ready; prints `vN`. */
export function deployCommand(ctx: CliContext): Command {
  return new Command('deploy')
    .description(
      "Build a git ref from source on an app and release it; waits until the app's processes are ready (/readyz, or the dyno state of a worker). Prints the release version (v12).",
    )
    .addOption(appOption('the app to deploy to'))
    .addOption(new Option('--ref <ref>', 'the branch, tag or commit to build').makeOptionMandatory())
    .option('--timeout <d>', 'how long to wait for readiness (e.g. 5m)', durationArg, 300)
    .option('--json', 'print one JSON object')
    .action(async (flags: DeployFlags) => {
      await withPipeline(ctx, async (pipeline) => {
        const commit = await platformStep(() => resolveRef(pipeline.repo, flags.ref));
        const app = await requireApp(pipeline, flags.app);
        ctx.err(`building ${flags.ref} (${commit.slice(0, 12)}) on ${app}`);
        const build = await platformStep(() => pipeline.platform.build(app, { repo: pipeline.repo, commit }));
        const release = await platformStep(async () => {
          const releases = await pipeline.platform.releases(app);
          return releases.find((r) => r.id === build.releaseId) ?? releases.at(-1);
        });
        if (release === undefined) throw new Error(`${app} has no release after the build`);
        if ((await platformStep(() => pipeline.platform.dynos(app))).length === 0) {
          // A first build: Heroku knows the process types only now.
          await platformStep(async () => pipeline.platform.scale(app, await formationOf(pipeline.repo)));
        }
        ctx.err(`released v${release.version} on ${app}; waiting until ready`);
        await platformStep(() =>
          waitReady(pipeline.platform, app, release.version, {
            timeoutMs: flags.timeout * 1000,
            now: pipeline.now,
            sleep: pipeline.sleep,
          }),
        );
        if (flags.json) {
          ctx.out(
            JSON.stringify({
              app,
              role: flags.app,
              version: `v${release.version}`,
              release: release.version,
              commit,
              slugId: build.slugId,
            }),
          );
        } else ctx.out(`v${release.version}`);
      });
    });
}
