import { Bench } from 'tinybench';

/** One measured task. */
export interface BenchTask {
  readonly name: string;
  readonly fn: () => unknown | Promise<unknown>;
}

/** A measured row: the task's mean time and its ratio to the reference measured in the same run. */
export interface BenchRow {
  readonly name: string;
  readonly meanMs: number;
  readonly ratio: number;
  readonly samples: number;
}

/**
 * Measures `reference` and `tasks` in one run and reports each as a ratio to the reference, so that
 * the result does not depend on how fast or busy the machine is.
 */
export async function compare(
  title: string,
  reference: BenchTask,
  tasks: readonly BenchTask[],
  options: { time?: number; iterations?: number } = {},
): Promise<BenchRow[]> {
  const bench = new Bench({ time: options.time ?? 1000, iterations: options.iterations ?? 10 });
  for (const task of [reference, ...tasks]) bench.add(task.name, task.fn);
  await bench.run();
  const mean = (name: string): { ms: number; n: number } => {
    const result = bench.getTask(name)?.result;
    if (!result || !('latency' in result)) throw new Error(`benchmark task ${name} did not complete`);
    return { ms: result.latency.mean, n: result.latency.samplesCount };
  };
  const ref = mean(reference.name);
  const rows = [reference, ...tasks].map((task) => {
    const m = mean(task.name);
    return { name: task.name, meanMs: m.ms, ratio: m.ms / ref.ms, samples: m.n };
  });
  printTable(title, rows);
  return rows;
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: readonly BenchRow[]): void {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  console.log(`${'task'.padEnd(width)}  ${'mean'.padStart(12)}  ${'ratio'.padStart(8)}  samples`);
  for (const r of rows) {
    const mean = r.meanMs >= 1 ? `${r.meanMs.toFixed(2)} ms` : `${(r.meanMs * 1000).toFixed(2)} µs`;
    console.log(
      `${r.name.padEnd(width)}  ${mean.padStart(12)}  ${`${r.ratio.toFixed(2)}x`.padStart(8)}  ${r.samples}`,
    );
  }
}
