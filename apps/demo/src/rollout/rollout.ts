import type { Verdict } from '@qsb/canary';
import type { Watcher } from '../monitor/monitor.ts';
import type { AppStatus, DemoPlatform } from '../platform/platform.ts';
import type { Release } from '../releases/build.ts';
import type { DemoRouter } from './router.ts';

/** The rollout's named phases (as Argo Rollouts and Flagger name theirs). */
export type RolloutPhase =
  | 'Deploying'
  | 'Progressing'
  | 'Verifying'
  | 'Watching'
  | 'Promoting'
  | 'RollingBack'
  | 'Succeeded'
  | 'RolledBack'
  | 'Aborted';

/** One transition, logged once with its reason. */
export interface Transition {
  readonly phase: RolloutPhase;
  /** The canary's share of shards in this phase. */
  readonly percent: number;
  readonly at: number;
  readonly reason: string;
}

/** How the rollout ended: the judge's code (0 promote, 1 rollback, 2 undecided), and why. */
export interface RolloutOutcome {
  readonly verdict: 'promote' | 'rollback' | 'continue';
  readonly exitCode: 0 | 1 | 2;
  readonly reason: string;
  /** The last verdict of the judge, when a watch ran. */
  readonly judged: Verdict | undefined;
  readonly transitions: readonly Transition[];
  /** The release each app ends on (the canary's is what it would run next; at 0% it owns no shard). */
  readonly releases: { readonly production: string; readonly canary: string };
  /** The share of the last step the judge watched (its recording is the one to replay). */
  readonly watchedPercent: number | undefined;
}

/** The steps of a rollout; `steps` are the canary's shares, watched one after the other. */
export interface RolloutPlan {
  readonly current: Release;
  readonly next: Release;
  /** @defaultValue [20, 50] */
  readonly steps: readonly number[];
  readonly watchSeconds: number;
  readonly minWatchSeconds: number;
  readonly intervalSeconds: number;
  /** How long the canary must stay up and ready after each step before it is watched. */
  readonly verifySeconds: number;
  readonly judgeConfig: string;
  /** The dashboard's port for every watch (none: no dashboard). */
  readonly dashboardPort?: number;
  /** Each watch records its scrapes under `<recordDir>/<percent>`. */
  readonly recordDir?: string;
}

/** What a rollout uses. */
export interface RolloutDependencies {
  readonly platform: DemoPlatform;
  readonly router: DemoRouter;
  readonly watch: Watcher;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called on each transition (the terminal display, logs). */
  readonly onTransition: (t: Transition) => void;
  /** `qsb monitor`'s stderr lines. */
  readonly onMonitorLine?: (line: string) => void;
  readonly signal: AbortSignal;
}

/** Why the canary failed verification, or undefined when it passed. */
async function verify(deps: RolloutDependencies, seconds: number): Promise<string | undefined> {
  const deadline = deps.now() + Math.max(seconds, 1) * 1000;
  const readyBy = deps.now() + 30_000;
  let ready = false;
  for (;;) {
    const canary = deps.platform.status('quantum-superbot-canary');
    if (canary === undefined) return 'the canary is not running';
    if (canary.restarts > 0 || canary.pid === undefined) return crashed(canary);
    if (!ready && canary.url) {
      const res = await fetch(`${canary.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      );
      ready = res?.status === 200;
    }
    if (ready && deps.now() >= deadline) return undefined;
    if (!ready && deps.now() >= readyBy) return 'the canary did not become ready within 30 s';
    if (deps.signal.aborted) return 'aborted';
    await deps.sleep(200, deps.signal);
  }
}

function crashed(canary: AppStatus): string {
  const exit = canary.lastExit;
  const how = exit ? (exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`) : 'no process';
  const restarted =
    canary.restarts > 0 ? `, restarted ${canary.restarts} time${canary.restarts === 1 ? '' : 's'}` : '';
  const said = canary.lastError === undefined ? '' : `: "${canary.lastError}"`;
  return `the canary ${canary.release.version} crashed (${how}${restarted})${said}`;
}

/**
 * The rollout: production on the current release owns every shard; the canary takes each step's share
 * on the next release, must pass verification (up and READY, no crash), then is watched by the judge;
 * a rollback at any step returns its shards to production and the canary to the current release; the
 * last step's promotion gives production the next release.
 */
export async function runRollout(plan: RolloutPlan, deps: RolloutDependencies): Promise<RolloutOutcome> {
  const transitions: Transition[] = [];
  let watchedPercent: number | undefined;
  const enter = (phase: RolloutPhase, percent: number, reason: string) => {
    const t = { phase, percent, at: deps.now(), reason };
    transitions.push(t);
    deps.onTransition(t);
  };
  const end = async (
    verdict: RolloutOutcome['verdict'],
    reason: string,
    judged: Verdict | undefined,
  ): Promise<RolloutOutcome> => {
    if (verdict === 'promote') {
      enter('Promoting', 0, `production gets ${plan.next.version}`);
      await deps.router.route({ percent: 0, production: plan.next, canary: plan.next });
      enter('Succeeded', 0, `production runs ${plan.next.version} on every shard`);
      const releases = { production: plan.next.version, canary: plan.next.version };
      return { verdict, exitCode: 0, reason, judged, transitions, releases, watchedPercent };
    }
    enter('RollingBack', 0, reason);
    await deps.router.route({ percent: 0, production: plan.current, canary: plan.current });
    enter(
      'RolledBack',
      0,
      `production runs ${plan.current.version} on every shard; the canary is back on ${plan.current.version}`,
    );
    const releases = { production: plan.current.version, canary: plan.current.version };
    const exitCode = verdict === 'rollback' ? 1 : 2;
    return { verdict, exitCode, reason, judged, transitions, releases, watchedPercent };
  };

  enter('Deploying', 0, `production on ${plan.current.version}`);
  await deps.router.route({ percent: 0, production: plan.current, canary: plan.current });
  let judged: Verdict | undefined;
  for (const [i, percent] of plan.steps.entries()) {
    enter('Progressing', percent, `canary ${plan.next.version} at ${percent}%`);
    const routed = await deps.router.route({ percent, production: plan.current, canary: plan.next });
    enter('Verifying', percent, `the canary must stay up and READY for ${plan.verifySeconds} s`);
    const failed = await verify(deps, plan.verifySeconds);
    if (deps.signal.aborted) throw new Error('aborted');
    if (failed !== undefined) return end('rollback', `verification at ${percent}%: ${failed}`, judged);
    enter(
      'Watching',
      percent,
      `step ${i + 1} of ${plan.steps.length}: the judge compares the canary with production`,
    );
    const result = await deps.watch({
      production: routed.production.url ?? '',
      canary: routed.canary?.url ?? '',
      durationSeconds: plan.watchSeconds,
      minDurationSeconds: plan.minWatchSeconds,
      intervalSeconds: plan.intervalSeconds,
      config: plan.judgeConfig,
      ...(plan.dashboardPort === undefined ? {} : { dashboardPort: plan.dashboardPort }),
      ...(plan.recordDir === undefined ? {} : { record: `${plan.recordDir}/${percent}` }),
      signal: deps.signal,
      ...(deps.onMonitorLine ? { onLine: deps.onMonitorLine } : {}),
    });
    if (deps.signal.aborted) throw new Error('aborted');
    judged = result.verdict ?? judged;
    watchedPercent = percent;
    if (result.exitCode === 1)
      return end('rollback', `at ${percent}%: ${result.verdict?.summary ?? 'rollback'}`, judged);
    if (result.exitCode === 2)
      return end('continue', `at ${percent}%: still undecided after ${plan.watchSeconds} s`, judged);
    if (result.exitCode !== 0) {
      const canary = deps.platform.status('quantum-superbot-canary');
      const why = canary && canary.restarts > 0 ? crashed(canary) : result.stderr.trim().split('\n').at(-1);
      return end('rollback', `at ${percent}%: the judge could not run: ${why}`, judged);
    }
  }
  return end('promote', judged?.summary ?? 'every step promoted', judged);
}
