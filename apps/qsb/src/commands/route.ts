import {
  createRouter,
  type MovePreview,
  type Router,
  RouterError,
  type RouterLogger,
  type RouteStatus,
  type RoutingPlan,
} from '@qsb/router';
import { createStore, type Store, StoreError } from '@qsb/store';
import { Command } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { formatIds, percentArg } from '../cli/options.ts';

interface RouteFlags {
  percent?: number;
  dryRun?: boolean;
  status?: boolean;
  json?: boolean;
}

/** Exit code of a move that aborted (a receiver was not READY in time): nothing changed. */
export const RouteAbortedExitCode = 1;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function previewLines(store: Store, preview: MovePreview): string[] {
  const { diff } = preview;
  const lines = [`route ${preview.from}% -> ${preview.to}% on ${store.description}`];
  if (diff.toCanary.length > 0) lines.push(`  to the canary:     shards ${formatIds(diff.toCanary)}`);
  if (diff.toProduction.length > 0) lines.push(`  to production:     shards ${formatIds(diff.toProduction)}`);
  lines.push(`  guilds that move:  ~${pct(preview.guildShare)}`);
  preview.order.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step}`);
  });
  return lines;
}

function statusLines(store: Store, status: RouteStatus): string[] {
  const { plan } = status;
  const lines = [
    `plan on ${store.description}: canary at ${plan.percent}%, ${plan.phase}, epoch ${plan.epoch} (${plan.reason})`,
  ];
  if (plan.move) lines.push(`  move ${plan.move.id}: ${plan.move.from}% -> ${plan.move.to}%`);
  for (const h of status.holdings) {
    const lease = h.lease
      ? `lease ${h.lease.owner} until ${new Date(h.lease.expiresAt).toISOString()}`
      : `no lease${h.failoverTo ? `: ${h.failoverTo} answers its shards` : ''}`;
    lines.push(
      `  ${`${h.deployment}:${h.dyno}`.padEnd(14)} shards ${formatIds(h.shards).padEnd(12)} ${lease}`,
    );
  }
  for (const waiting of status.waitingFor) lines.push(`  waiting for ${waiting}`);
  return lines;
}

const summary = (plan: RoutingPlan) => ({
  phase: plan.phase,
  epoch: plan.epoch,
  percent: plan.percent,
  reason: plan.reason,
});

async function runMove(ctx: CliContext, store: Store, router: Router, flags: RouteFlags): Promise<void> {
  const percent = flags.percent as number;
  const preview = await router.preview(percent);
  if (!flags.json) for (const line of previewLines(store, preview)) ctx.out(line);
  if (flags.dryRun) {
    if (flags.json) ctx.out(JSON.stringify({ dryRun: true, ...preview }));
    return;
  }
  let last = '';
  const plan = await router.move(percent, {
    signal: ctx.signal,
    onProgress: (progress) => {
      const line =
        progress.phase === 'Connecting'
          ? `[Connecting] ${progress.ready}/${progress.moving} receiving shards READY: ${progress.reason}`
          : `[${progress.phase}] ${progress.reason}`;
      if (line !== last) ctx.err(line);
      last = line;
    },
  });
  if (flags.json) ctx.out(JSON.stringify({ dryRun: false, ...preview, result: summary(plan) }));
  else ctx.out(`${plan.phase} at ${plan.percent}%, epoch ${plan.epoch}: ${plan.reason}`);
  if (plan.phase === 'Aborted') throw new CliError(plan.reason, RouteAbortedExitCode);
  if (plan.percent !== percent || plan.phase !== 'Stable') {
    throw new CliError(
      `the move stopped in ${plan.phase} (interrupted): run the same command again to finish it`,
    );
  }
}

/** `qsb route`: moves the canary's share of shards live, make-before-break, through the store's plan. */
export function routeCommand(ctx: CliContext): Command {
  return new Command('route')
    .description(
      "Move the canary's share of shards live (no restart): the plan diff, then the move with its progress. The store is $QSB_STORE (memory:, file:PATH, redis://..., rediss://...; default .qsb/store.json).",
    )
    .option('--percent <p>', "the canary's new share of shards, 0..100", percentArg)
    .option('--dry-run', 'show the plan diff and the order of the move, change nothing')
    .option('--status', 'show the plan, its phase and epoch, who holds which shards, the leases')
    .option('--json', 'print one JSON object')
    .action(async (flags: RouteFlags) => {
      if (flags.status === undefined && flags.percent === undefined) {
        throw new CliError('nothing to do: pass --percent P (0..100) or --status');
      }
      if (flags.status && flags.percent !== undefined) {
        throw new CliError('--status and --percent are exclusive: pass one');
      }
      let store: Store;
      try {
        store = await createStore(ctx.env.QSB_STORE, { cwd: process.cwd() });
      } catch (error) {
        if (error instanceof StoreError) throw new CliError(error.message);
        throw error;
      }
      const logger: RouterLogger = { info: (_, line) => ctx.err(line), warn: (_, line) => ctx.err(line) };
      const router = createRouter({ store, logger });
      try {
        if (flags.status) {
          const status = await router.status();
          if (flags.json) ctx.out(JSON.stringify(status));
          else for (const line of statusLines(store, status)) ctx.out(line);
          return;
        }
        await runMove(ctx, store, router, flags);
      } catch (error) {
        if (error instanceof RouterError || error instanceof StoreError) throw new CliError(error.message);
        throw error;
      } finally {
        await store.close();
      }
    });
}
