import { ceilingTests, flagger, kayenta } from './lib/canary-baselines.ts';
import { BaseScenario, benchConfig, type Run, runJudge, type Scenario, simulate } from './lib/canary-sim.ts';

/*
 * The canary judge on simulated traffic with fixed seeds: false rollbacks on A/A runs (looking every
 * 10 s for 5 minutes), and detection of regressions, beside Kayenta's and Flagger's rules on the same
 * runs and the best fixed-horizon test at the end of the window. QSB_BENCH_RUNS sets the A/A runs per
 * row (default 1000; regressions run a quarter as many); QSB_BENCH_RATES the canary's interactions per
 * minute (default 1,10,100,1000).
 */

/** The level of the fixed-horizon tests (the false-rollback goal), against the judge's tolerances. */
const CeilingLevel = 0.01;
const runs = Number(process.env.QSB_BENCH_RUNS ?? 1000);
const rates = (process.env.QSB_BENCH_RATES ?? '1,10,100,1000').split(',').map(Number);

interface Outcome {
  ours: number | null;
  kayenta: number | null;
  flagger: number | null;
  run: Run;
}

function play(scenario: Scenario, n: number, seedBase: number): Outcome[] {
  const config = benchConfig();
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const run = simulate(scenario, seedBase + i);
    out.push({ ours: runJudge(config, run).rollbackAt, kayenta: kayenta(run), flagger: flagger(run), run });
  }
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rate = (xs: readonly (number | null)[]) => xs.filter((x) => x !== null).length / xs.length;
function median(xs: readonly (number | null)[]): string {
  const d = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (d.length === 0) return '-';
  return `${d[Math.floor((d.length - 1) / 2)]} s`;
}

type Regression = { name: string; change: Partial<Scenario>; ceiling: keyof typeof ceilingTests };
const regressions: Regression[] = [
  { name: 'errors x2', change: { errorFactor: 2 }, ceiling: 'errors' },
  { name: 'errors x5', change: { errorFactor: 5 }, ceiling: 'errors' },
  { name: 'latency +20%', change: { latencyFactor: 1.2 }, ceiling: 'latency' },
  { name: 'latency +50%', change: { latencyFactor: 1.5 }, ceiling: 'latency' },
  { name: 'memory leak 0.5 MB/s', change: { leakBytesPerSecond: 0.5e6 }, ceiling: 'memory' },
  { name: 'reconnect storm 60/shard-h', change: { reconnectsPerShardHour: 60 }, ceiling: 'stability' },
];

export default async function run(): Promise<void> {
  const started = Date.now();
  console.log(`\n## @qsb/canary: the judge on simulated canaries (${runs} A/A runs per row, seeds fixed)\n`);
  console.log('### A/A: false-rollback rate over a 5-minute window, judged every 10 s\n');
  console.log(
    '| canary/min | A/A variant | runs | ours | Kayenta (MW 0.98, 1/min) | Flagger (>=99%, threshold 5) |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  const calibration = new Map<number, Outcome[]>();
  const variants: [string, Partial<Scenario>][] = [
    ['independent binomial, flat load', { realistic: false }],
    ['shared load curve, bursty errors', {}],
    ['same, canary errs 1.25x (tolerated)', { errorFactor: 1.25 }],
  ];
  let seed = 1;
  for (const perMinute of rates) {
    for (const [name, change] of variants) {
      const outcomes = play({ ...BaseScenario, ...change, perMinute, name }, runs, seed);
      seed += runs;
      if (name.startsWith('shared')) calibration.set(perMinute, outcomes);
      console.log(
        `| ${perMinute} | ${name} | ${runs} | ${pct(rate(outcomes.map((o) => o.ours)))} | ${pct(rate(outcomes.map((o) => o.kayenta)))} | ${pct(rate(outcomes.map((o) => o.flagger)))} |`,
      );
    }
  }
  const regressionRuns = Math.max(20, Math.round(runs / 4));
  console.log(
    `\n### Regressions: detected within the window (median time to detect), ${regressionRuns} runs per row\n`,
  );
  console.log(
    '| canary/min | regression | ours | Kayenta | Flagger | ceiling: fixed horizon at 1% | ours / ceiling |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const perMinute of rates) {
    const aa = calibration.get(perMinute) ?? [];
    for (const r of regressions) {
      const outcomes = play({ ...BaseScenario, ...r.change, perMinute, name: r.name }, regressionRuns, seed);
      seed += regressionRuns;
      const test = ceilingTests[r.ceiling];
      const ceiling = outcomes.filter((o) => test(o.run) <= CeilingLevel).length / outcomes.length;
      const ceilingAA = aa.filter((o) => test(o.run) <= CeilingLevel).length / Math.max(1, aa.length);
      const ours = rate(outcomes.map((o) => o.ours));
      const cell = (xs: (number | null)[]) => `${pct(rate(xs))} (${median(xs)})`;
      console.log(
        `| ${perMinute} | ${r.name} | ${cell(outcomes.map((o) => o.ours))} | ${cell(outcomes.map((o) => o.kayenta))} | ${cell(outcomes.map((o) => o.flagger))} | ${pct(ceiling)} (A/A ${pct(ceilingAA)}) | ${ceiling > 0 ? (ours / ceiling).toFixed(2) : '-'} |`,
      );
    }
  }
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
