import { createBoundaryCache } from '@qsb/canary';
import { ceilingTests, flagger, kayenta } from './lib/canary-baselines.ts';
import {
  BaseScenario,
  benchConfig,
  type JudgeOutcome,
  type Run,
  runJudge,
  type Scenario,
  simulate,
  WindowSeconds,
} from './lib/canary-sim.ts';

/*
 * The canary judge on simulated traffic with fixed seeds, looking every 10 s over a 5-minute window:
 * what happens to a healthy canary (A/A: rolled back, promoted by the end, still undecided) and to
 * regressions (rolled back, promoted by mistake, median time to rollback), beside Kayenta's and
 * Flagger's rules on the same runs and the best fixed-horizon test read once at the end of the window.
 * QSB_BENCH_RUNS sets the A/A runs per row (default 1000; regressions run a quarter as many);
 * QSB_BENCH_RATES the interactions per minute of both deployments together (default 250,1000,5000).
 */

/** The level of the fixed-horizon tests: the false-rollback goal, against the judge's tolerances. */
const CeilingLevel = 0.01;
const runs = Number(process.env.QSB_BENCH_RUNS ?? 1000);
const rates = (process.env.QSB_BENCH_RATES ?? '250,1000,5000').split(',').map(Number);

interface Outcome {
  ours: JudgeOutcome;
  kayenta: number | null;
  flagger: number | null;
  run: Run;
}

function play(scenario: Scenario, n: number, seedBase: number): Outcome[] {
  const config = benchConfig();
  const cache = createBoundaryCache();
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const run = simulate(scenario, seedBase + i);
    out.push({ ours: runJudge(config, run, cache), kayenta: kayenta(run), flagger: flagger(run), run });
  }
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / Math.max(1, xs.length);
function median(xs: readonly (number | null)[]): string {
  const d = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (d.length === 0) return '-';
  return `${d[Math.floor((d.length - 1) / 2)]} s`;
}

type CeilingName = keyof typeof ceilingTests;
type Regression = { name: string; change: Partial<Scenario>; ceiling: CeilingName };
const regressions: Regression[] = [
  { name: 'errors x2', change: { errorFactor: 2 }, ceiling: 'errors' },
  { name: 'errors x5', change: { errorFactor: 5 }, ceiling: 'errors' },
  { name: 'latency +20%', change: { latencyFactor: 1.2 }, ceiling: 'latency' },
  { name: 'latency +50%', change: { latencyFactor: 1.5 }, ceiling: 'latency' },
  { name: 'leak 8 MB/min', change: { leakBytesPerSecond: 8e6 / 60 }, ceiling: 'memoryGrowth' },
  { name: 'reconnects x20', change: { reconnectsPerShardHour: 10 }, ceiling: 'stability' },
];

/** Rollback, promotion and undecided shares of our judge; Kayenta and Flagger promote what they do not fail. */
function ourCells(o: readonly Outcome[]): string {
  const r = share(o.map((x) => x.ours.final === 'rollback'));
  const p = share(o.map((x) => x.ours.final === 'promote'));
  return `${pct(r)} / ${pct(p)} / ${pct(Math.max(0, 1 - r - p))}`;
}
const baselineCell = (xs: readonly (number | null)[]) => {
  const r = share(xs.map((x) => x !== null));
  return `${pct(r)} / ${pct(1 - r)}`;
};
/** The fixed-horizon ceiling: the best single test at the end of each metric a regression touches. */
const ceilingRejects = (run: Run, names: readonly CeilingName[]) =>
  names.some((n) => ceilingTests[n](run) <= CeilingLevel / names.length);

export default async function run(): Promise<void> {
  const started = Date.now();
  console.log(
    `\n## @qsb/canary: the judge on simulated canaries (${runs} A/A runs per row, seeds fixed, ${WindowSeconds / 60}-minute window, a look every 10 s)\n`,
  );
  console.log('### A/A: a healthy canary. Rollback / promote by the end of the window / still undecided\n');
  console.log(
    '| interactions/min (both) | A/A variant | ours | Kayenta (MW 0.98, 1/min) | Flagger (>=99%, threshold 5) | fixed horizon at 1% |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  const variants: [string, Partial<Scenario>][] = [
    ['shared load curve, bursty errors, 20% canary', {}],
    ['same, canary errs 1.25x (tolerated)', { errorFactor: 1.25 }],
    ['same, canary ramped 20% to 50%', { shareAtEnd: 0.5 }],
  ];
  const all: CeilingName[] = ['errors', 'latency', 'memoryGrowth', 'stability'];
  let seed = 1;
  for (const perMinute of rates) {
    for (const [name, change] of variants) {
      const outcomes = play({ ...BaseScenario, ...change, perMinute, name }, runs, seed);
      seed += runs;
      const ceiling = share(outcomes.map((o) => ceilingRejects(o.run, all)));
      console.log(
        `| ${perMinute} | ${name} | ${ourCells(outcomes)} | ${baselineCell(outcomes.map((o) => o.kayenta))} | ${baselineCell(outcomes.map((o) => o.flagger))} | ${pct(ceiling)} / ${pct(1 - ceiling)} |`,
      );
    }
  }
  const regressionRuns = Math.max(20, Math.round(runs / 4));
  console.log(
    `\n### Regressions (20% canary), ${regressionRuns} runs per row. Rolled back / promoted (by mistake) / undecided (median time to rollback)\n`,
  );
  console.log(
    '| interactions/min (both) | regression | ours | Kayenta | Flagger | fixed horizon at 1% | ours / ceiling |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const perMinute of rates) {
    for (const r of regressions) {
      const outcomes = play({ ...BaseScenario, ...r.change, perMinute, name: r.name }, regressionRuns, seed);
      seed += regressionRuns;
      const ceiling = share(outcomes.map((o) => ceilingTests[r.ceiling](o.run) <= CeilingLevel));
      const ours = share(outcomes.map((o) => o.ours.final === 'rollback'));
      const base = (xs: (number | null)[]) => `${baselineCell(xs)} (${median(xs)})`;
      console.log(
        `| ${perMinute} | ${r.name} | ${ourCells(outcomes)} (${median(outcomes.map((o) => o.ours.rollbackAt))}) | ${base(outcomes.map((o) => o.kayenta))} | ${base(outcomes.map((o) => o.flagger))} | ${pct(ceiling)} | ${ceiling > 0 ? (ours / ceiling).toFixed(2) : '-'} |`,
      );
    }
  }
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
