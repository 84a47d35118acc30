import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { AppRoles, type Pipeline, platformStep, withPipeline } from '../pipeline/context.ts';
import type { VerdictRecord } from '../pipeline/verdicts.ts';

/** One app as `qsb status` shows it. */
export interface AppStatus {
  readonly role: string;
  readonly app: string;
  readonly exists: boolean;
  readonly release?: number;
  readonly version?: string;
  readonly commit?: string;
  readonly slugId?: string;
  readonly dynos?: { readonly up: number; readonly total: number };
}

/**
 * The rollout's phase, named as Argo Rollouts and Flagger name theirs: `Idle` (no canary share, the
 * canary's build not promoted), `Progressing` (a share, no verdict on its build yet), `Paused`
 * (undecided: a person decides), `WaitingPromotion` (verdict promote), `Degraded` (verdict rollback,
 * share not returned yet), `Promoted` (production runs the canary's build, share 0), `RolledBack`.
 */
export type RolloutPhase =
  | 'Idle'
  | 'Progressing'
  | 'Paused'
  | 'WaitingPromotion'
  | 'Degraded'
  | 'Promoted'
  | 'RolledBack';

/** Derives the phase from the canary's share, its build, production's build and the last verdict. */
export function rolloutPhase(
  share: number,
  canary: AppStatus,
  production: AppStatus,
  verdict: VerdictRecord | undefined,
): RolloutPhase {
  const onCanaryBuild = verdict !== undefined && verdict.slugId === canary.slugId;
  if (share === 0) {
    // A rollback verdict on a build the canary no longer runs: it was rolled back.
    if (verdict?.verdict === 'rollback' && verdict.app === canary.app && !onCanaryBuild) return 'RolledBack';
    if (canary.slugId !== undefined && canary.slugId === production.slugId) return 'Promoted';
    return 'Idle';
  }
  if (!onCanaryBuild) return 'Progressing';
  return { promote: 'WaitingPromotion', rollback: 'Degraded', continue: 'Paused' }[
    verdict.verdict
  ] as RolloutPhase;
}

async function appStatus(pipeline: Pipeline, role: (typeof AppRoles)[number]): Promise<AppStatus> {
  const app = pipeline.apps[role];
  const { platform } = pipeline;
  if (!(await platform.hasApp(app))) return { role, app, exists: false };
  const [release, dynos] = await Promise.all([platform.currentRelease(app), platform.dynos(app)]);
  const slugId = release?.slugId;
  const commit = slugId === undefined ? undefined : await platform.slugCommit(app, slugId);
  return {
    role,
    app,
    exists: true,
    ...(release ? { release: release.version, version: `v${release.version}` } : {}),
    ...(commit ? { commit } : {}),
    ...(slugId ? { slugId } : {}),
    dynos: { up: dynos.filter((d) => d.state === 'up').length, total: dynos.length },
  };
}

function ago(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

/** `qsb status`: each app's version and release, the canary's share, the last verdict and when. */
export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description(
      "Each app's release and build, the canary's share of shards, the last verdict and when, and the rollout's phase",
    )
    .option('--json', 'print one JSON object')
    .action(async (flags: { json?: boolean }) => {
      await withPipeline(ctx, async (pipeline) => {
        const [staging, canary, production] = await platformStep(() =>
          Promise.all(AppRoles.map((r) => appStatus(pipeline, r))),
        );
        if (!staging || !canary || !production) return;
        let shareError: string | undefined;
        const share =
          canary.exists && production.exists
            ? await platformStep(() => pipeline.share.current()).catch((error: Error) => {
                // The rest is still what a person needs when the share cannot be read.
                shareError = error.message;
                return 0;
              })
            : 0;
        const verdict = (await pipeline.verdicts.all()).at(-1);
        const phase = rolloutPhase(share, canary, production, verdict);
        if (flags.json) {
          ctx.out(
            JSON.stringify({
              apps: { staging, canary, production },
              canaryShare: shareError === undefined ? share : null,
              phase,
              lastVerdict: verdict ?? null,
            }),
          );
          return;
        }
        for (const s of [staging, canary, production]) {
          const where = `${s.role.padEnd(10)} ${s.app.padEnd(26)}`;
          if (!s.exists) {
            ctx.out(`${where} (not created: qsb setup --app ${s.role})`);
            continue;
          }
          const dynos = s.dynos ? `${s.dynos.up}/${s.dynos.total} up` : '';
          ctx.out(
            `${where} ${(s.version ?? '-').padEnd(5)} ${(s.commit?.slice(0, 12) ?? '(no build)').padEnd(12)}  ${dynos}`,
          );
        }
        ctx.out(
          shareError === undefined
            ? `canary share: ${share}% (${pipeline.share.description})`
            : `canary share: unknown (${shareError})`,
        );
        if (verdict === undefined) ctx.out('last verdict: none recorded');
        else {
          const on = verdict.slugId === canary.slugId ? "the canary's current build" : 'an earlier build';
          ctx.out(
            `last verdict: ${verdict.verdict} on ${verdict.app} v${verdict.release} (${verdict.commit?.slice(0, 12) ?? verdict.slugId}, ${on}) at ${verdict.at}, ${ago(new Date(verdict.at), pipeline.now())}`,
          );
          if (verdict.summary) ctx.out(`  ${verdict.summary}`);
        }
        ctx.out(`phase: ${phase}`);
      });
    });
}
