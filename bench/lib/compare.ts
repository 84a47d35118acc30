/** One measured task. */
export interface BenchTask {
  readonly name: string;
  readonly fn: () => unknown | Promise<unknown>;
}

/** A measured row: the task's time per call and its ratio to the reference measured in the same run. */
export interface BenchRow {
  readonly name: string;
  /** Median over batches of the mean time per call, in ms. */
  readonly meanMs: number;
  readonly ratio: number;
  /** Batches measured. */
  readonly samples: number;
}

export interface CompareOptions {
  /** Time budget per task in ms, warm-up excluded. @defaultValue 1000 */
  time?: number;
  /** Target duration of one batch in ms. @defaultValue 20 */
  batchMs?: number;
}

async function timeBatch(fn: BenchTask['fn'], calls: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const result = fn();
    if (result instanceof Promise) await result;
  }
  return performance.now() - start;
}

/**
 * Measures `reference` and `tasks` in one run and reports each as a ratio to the reference, so that the
 * result does not depend on how fast the machine is. The tasks run in alternating batches (reference,
 * task 1, task 2, reference, ...), so load that comes and goes on a shared machine falls on all of them
 * alike; each row is the median over its batches.
 */
export async function compare(
  title: string,
  reference: BenchTask,
  tasks: readonly BenchTask[],
  options: CompareOptions = {},
): Promise<BenchRow[]> {
  const time = options.time ?? 1000;
  const batchMs = options.batchMs ?? 20;
  const all = [reference, ...tasks];
  // Warm up, and size each task's batch to about batchMs.
  const calls = all.map(() => 1);
  for (const [i, task] of all.entries()) {
    let n = 1;
    let elapsed = await timeBatch(task.fn, n);
    while (elapsed < batchMs / 4 && n < 1 << 24) {
      n *= 4;
      elapsed = await timeBatch(task.fn, n);
    }
    calls[i] = Math.max(1, Math.round((n * batchMs) / Math.max(elapsed, 1e-3)));
  }
  const perCall: number[][] = all.map(() => []);
  const rounds = Math.max(5, Math.round(time / batchMs));
  for (let round = 0; round < rounds; round++) {
    for (const [i, task] of all.entries()) {
      const n = calls[i] ?? 1;
      perCall[i]?.push((await timeBatch(task.fn, n)) / n);
    }
  }
  const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
  const ref = median(perCall[0] ?? []);
  const rows = all.map((task, i) => {
    const ms = median(perCall[i] ?? []);
    return { name: task.name, meanMs: ms, ratio: ms / ref, samples: perCall[i]?.length ?? 0 };
  });
  printTable(title, rows);
  return rows;
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: readonly BenchRow[]): void {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  console.log(`${'task'.padEnd(width)}  ${'per call'.padStart(12)}  ${'ratio'.padStart(8)}  batches`);
  for (const r of rows) {
    const mean = r.meanMs >= 1 ? `${r.meanMs.toFixed(2)} ms` : `${(r.meanMs * 1000).toFixed(2)} µs`;
    console.log(
      `${r.name.padEnd(width)}  ${mean.padStart(12)}  ${`${r.ratio.toFixed(2)}x`.padStart(8)}  ${r.samples}`,
    );
  }
}
