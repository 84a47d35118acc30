import { type Rehearsal, startRehearsal } from '../test/support/route-rehearsal.ts';

// `pnpm bench router`: the same ramp under the same traffic, once moved live by the router and once by
// restarting both apps with a new SHARD_PERCENT (what a Heroku config-var change does), in one run.
// Set QSB_BENCH_ROUTER_RAMP (e.g. "50,0") for a shorter ramp while developing.
const ramp = (process.env.QSB_BENCH_ROUTER_RAMP ?? '50,20,0').split(',').map(Number);
const RATE = 30;

interface Row {
  readonly strategy: string;
  readonly total: number;
  readonly twice: number;
  readonly unanswered: number;
  readonly identifies: number;
  readonly seconds: number;
}

async function measure(
  strategy: string,
  step: (r: Rehearsal, percent: number) => Promise<void>,
): Promise<Row> {
  const r = await startRehearsal('redis', 20);
  try {
    r.sim.traffic.start({ ratePerSecond: RATE, commands: ['ping'] });
    await r.allAnswering(20, r.now());
    const from = r.now();
    const identifies = r.sim.stats().identifies.length;
    const started = Date.now();
    for (const percent of ramp) await step(r, percent);
    const seconds = (Date.now() - started) / 1000;
    r.sim.traffic.stop();
    const result = await r.outcomes(from);
    return {
      strategy,
      total: result.total,
      twice: result.twoOrMore,
      unanswered: result.zero,
      identifies: r.identifiedSince(identifies).length,
      seconds,
    };
  } finally {
    await r.close();
  }
}

/** Restarting both apps: both stop, the plan is the new SHARD_PERCENT, both boot and connect everything. */
async function restartBoth(r: Rehearsal, percent: number): Promise<void> {
  await Promise.all([r.stopBot('production'), r.stopBot('canary')]);
  await r.resetPlan(percent);
  const restartedAt = r.now();
  r.startBot('production', percent);
  r.startBot('canary', percent);
  await r.allAnswering(percent, restartedAt);
}

export default async function routerBench(): Promise<void> {
  const live = await measure('live move (qsb route)', (r, percent) => r.route(percent));
  const restart = await measure('restart both apps', restartBoth);
  console.log(
    `\n## router: 20% -> ${ramp.join('% -> ')}% under ${RATE} interactions/s (local Discord, 10 shards, Redis)`,
  );
  console.log('| strategy | interactions | answered twice | unanswered | identifies | seconds |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of [live, restart]) {
    console.log(
      `| ${row.strategy} | ${row.total} | ${row.twice} | ${row.unanswered} | ${row.identifies} | ${row.seconds.toFixed(1)} |`,
    );
  }
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
  console.log(
    `live / restart: unanswered ${ratio(live.unanswered, restart.unanswered)}, identifies ${ratio(live.identifies, restart.identifies)}, seconds ${ratio(live.seconds, restart.seconds)}`,
  );
}
