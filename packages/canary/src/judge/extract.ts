import type {
  GaugeMetricConfig,
  HistogramMetricConfig,
  MetricConfig,
  SeriesSelector,
} from '../config/config.ts';
import type { Sample, Scrape } from '../exposition/parse.ts';
import type { LevelPoint, MeanInterval, Moments, RateInterval } from '../stats/estimators.ts';

/** The deployments the judge compares. */
export type Side = 'production' | 'canary';

/** What one metric has gathered so far: its intervals, and why any were unusable. */
export type MetricData = (
  | { readonly kind: 'rate'; readonly intervals: RateInterval[] }
  | { readonly kind: 'histogram'; readonly intervals: MeanInterval[] }
  | { readonly kind: 'gauge'; readonly points: LevelPoint[] }
) & {
  readonly status: DataStatus;
  /** Per side, per role of a selector (events, exposure, ...): the series read so far. */
  readonly seen: Readonly<Record<Side, Map<string, SeenSeries>>>;
};

/**
 * Every series of one side the metric has read, by name and labels (`dyno` and `instance` included),
 * with its last value: through Heroku's router a scrape reaches one random dyno, so a series may be
 * absent from several scrapes in a row. Its increase is counted from its last value whenever it comes
 * back, never from zero, unless it went down (a restart).
 */
export interface SeenSeries {
  readonly series: Map<string, { value: number; timeMs: number }>;
  /** Processes (by `dyno`, `instance`, `version`) seen so far, with when they were last seen. */
  readonly processes: Map<string, number>;
  /** Whether the first scrape of the pair that opened the judgement was read. */
  seeded: boolean;
}

/**
 * How long a gauge of a process that stopped answering still counts (in sums and means): Prometheus'
 * own staleness delay. Counters never expire: a dyno seen again after any gap counts its increase.
 */
export const GaugeStaleMs = 5 * 60_000;

/** Labels that tell one process apart from another of the same deployment. */
const ProcessLabels = ['dyno', 'instance', 'version'] as const;

/** Problems seen while reading a metric: the latest one per kind, and notes such as counter resets. */
export interface DataStatus {
  /** Set while the latest scrape lacked the metric on a side (not even declared). */
  missing?: string;
  /** Set when a value was NaN or otherwise unusable; it stays set: such data never promotes. */
  invalid?: string;
  readonly notes: string[];
}

type Read<T> = { ok: true; value: T } | { ok: false; missing: boolean; message: string };

function names(selector: SeriesSelector): readonly string[] {
  return typeof selector.name === 'string' ? [selector.name] : selector.name;
}

function matches(labels: Readonly<Record<string, string>>, wanted: SeriesSelector['labels']): boolean {
  if (!wanted) return true;
  for (const [key, value] of Object.entries(wanted)) {
    const have = labels[key];
    if (have === undefined) return false;
    if (typeof value === 'string' ? have !== value : !value.includes(have)) return false;
  }
  return true;
}

/**
 * Whether the scrape declares the family a series name belongs to: prom-client writes only `# HELP`
 * and `# TYPE` for a histogram or a labelled counter before its first observation, which is a family
 * with no observations yet (empty), not a missing one.
 */
function isDeclared(scrape: Scrape, name: string): boolean {
  if (scrape.types.has(name)) return true;
  const suffix = /_(total|bucket|count|sum)$/.exec(name);
  return suffix !== null && scrape.types.has(name.slice(0, -suffix[0].length));
}

function seriesKey(s: Sample, without?: string): string {
  return `${s.name}{${Object.entries(s.labels)
    .filter(([k]) => k !== without)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}

function describe(side: Side, s: Sample): string {
  return `${side} ${seriesKey(s)}`;
}

/** The samples a selector picks from a scrape, or why there are none to use. */
function select(scrape: Scrape, selector: SeriesSelector, side: Side, finite: boolean): Read<Sample[]> {
  const wanted = names(selector);
  const picked = scrape.samples.filter((s) => wanted.includes(s.name) && matches(s.labels, selector.labels));
  for (const s of picked) {
    if (Number.isNaN(s.value) || (finite && !Number.isFinite(s.value))) {
      return { ok: false, missing: false, message: `${describe(side, s)} is ${s.value}` };
    }
  }
  if (picked.length === 0 && !wanted.some((n) => isDeclared(scrape, n))) {
    return { ok: false, missing: true, message: `${wanted.join(', ')} missing on ${side}` };
  }
  return { ok: true, value: picked };
}

/** The memory of one side's series for one role: events and exposure may read the same series. */
function memory(data: MetricData, side: Side, role: string): SeenSeries {
  let seen = data.seen[side].get(role);
  if (!seen) {
    seen = { series: new Map(), processes: new Map(), seeded: false };
    data.seen[side].set(role, seen);
  }
  return seen;
}

function processKey(s: Sample): string {
  return ProcessLabels.map((l) => s.labels[l] ?? '').join('\u0000');
}

/** Marks every process of `scrape` as seen (any of its samples counts, not only the selected ones). */
function seeProcesses(seen: SeenSeries, scrape: Scrape): void {
  for (const s of scrape.samples) seen.processes.set(processKey(s), scrape.timeMs);
}

/** Reads the pair's first scrape once: what was there before the judge started is its baseline. */
function seed(seen: SeenSeries, prev: Scrape, samples: readonly Sample[], key = seriesKey): void {
  if (seen.seeded) return;
  seen.seeded = true;
  seeProcesses(seen, prev);
  for (const s of samples) seen.series.set(key(s), { value: s.value, timeMs: prev.timeMs });
}

/**
 * The increase of a counter series since that series was last seen. A series never seen is new:
 * from zero when its process was seen before (prom-client creates a labelled series at its first
 * increment), or not counted when its process is new to the judge (a dyno the router had not reached
 * yet: its history precedes the rollout). A series that went down restarted from zero.
 */
function followCounter(
  seen: SeenSeries,
  key: string,
  s: Sample,
  timeMs: number,
  processSeen: boolean,
): { increase: number; restartedFrom?: number } {
  const last = seen.series.get(key);
  seen.series.set(key, { value: s.value, timeMs });
  if (last === undefined) return { increase: processSeen ? s.value : 0 };
  if (s.value < last.value) return { increase: s.value, restartedFrom: last.value };
  return { increase: s.value - last.value };
}

/** The increase of the selected counters since each series was last seen (see {@link SeenSeries}). */
function counterIncrease(
  seen: SeenSeries,
  prev: Scrape,
  cur: Scrape,
  selector: SeriesSelector,
  side: Side,
  notes: string[],
): Read<number> {
  const before = select(prev, selector, side, true);
  const after = select(cur, selector, side, true);
  if (!after.ok) return after;
  if (!before.ok) return before;
  seed(seen, prev, before.value);
  let increase = 0;
  for (const s of after.value) {
    const key = seriesKey(s);
    const step = followCounter(seen, key, s, cur.timeMs, seen.processes.has(processKey(s)));
    if (step.restartedFrom !== undefined) {
      notes.push(
        `${describe(side, s)} went from ${step.restartedFrom} to ${s.value} at ${isoTime(cur.timeMs)}: counted as a restart`,
      );
    }
    increase += step.increase;
  }
  seeProcesses(seen, cur);
  return { ok: true, value: increase };
}

/** Processes seen within {@link GaugeStaleMs} of `timeMs`. */
function liveProcesses(seen: SeenSeries, timeMs: number): number {
  let n = 0;
  for (const at of seen.processes.values()) if (at >= timeMs - GaugeStaleMs) n++;
  return n;
}

/**
 * A gauge summed or averaged over every series seen within {@link GaugeStaleMs}, each at its latest
 * value: with one random dyno per scrape, the others still count at what they last reported.
 */
function gaugeValue(
  seen: SeenSeries,
  scrape: Scrape,
  selector: SeriesSelector,
  side: Side,
  aggregate: 'sum' | 'mean',
): Read<number> {
  const read = select(scrape, selector, side, true);
  if (!read.ok) return read;
  if (read.value.length === 0) {
    return { ok: false, missing: true, message: `${names(selector).join(', ')} has no series on ${side}` };
  }
  const wanted = names(selector);
  for (const s of read.value) seen.series.set(seriesKey(s), { value: s.value, timeMs: scrape.timeMs });
  let sum = 0;
  let n = 0;
  for (const [key, { value, timeMs }] of seen.series) {
    if (timeMs < scrape.timeMs - GaugeStaleMs || !wanted.includes(key.slice(0, key.indexOf('{')))) continue;
    sum += value;
    n++;
  }
  return { ok: true, value: aggregate === 'sum' ? sum : sum / n };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Bucket counts (not cumulative) of a histogram since each series was last seen, by upper edge. */
function histogramIncrease(
  seen: SeenSeries,
  prev: Scrape,
  cur: Scrape,
  config: HistogramMetricConfig,
  side: Side,
  notes: string[],
): Read<{ edges: number[]; counts: number[] }> {
  const selector = {
    name: [`${config.histogram}_bucket`, `${config.histogram}_count`],
    labels: config.labels,
  };
  const before = select(prev, selector, side, false);
  const after = select(cur, selector, side, false);
  if (!after.ok) return after;
  if (!before.ok) return before;
  if (after.value.length === 0 && !isDeclared(cur, config.histogram)) {
    return { ok: false, missing: true, message: `${config.histogram} missing on ${side}` };
  }
  seed(seen, prev, before.value);
  const bySeries = new Map<string, Sample[]>();
  for (const s of after.value) {
    const key = seriesKey({ ...s, name: config.histogram }, 'le');
    bySeries.set(key, [...(bySeries.get(key) ?? []), s]);
  }
  const total = new Map<number, number>();
  for (const [key, samples] of bySeries) {
    const count = samples.find((s) => s.name.endsWith('_count'));
    const wasCount = count && seen.series.get(seriesKey(count));
    const restarted = count !== undefined && wasCount !== undefined && count.value < wasCount.value;
    if (restarted)
      notes.push(`${side} ${key} count went down at ${isoTime(cur.timeMs)}: counted as a restart`);
    const processSeen = seen.processes.has(processKey(samples[0] as Sample));
    for (const s of samples) {
      const sKey = seriesKey(s);
      const last = seen.series.get(sKey);
      seen.series.set(sKey, { value: s.value, timeMs: cur.timeMs });
      if (s.name.endsWith('_count')) continue;
      const le = s.labels.le ?? '';
      const edge = le === '+Inf' ? Infinity : Number(le);
      if (le === '' || Number.isNaN(edge))
        return { ok: false, missing: false, message: `${side} ${key} has bucket le="${le}"` };
      const inc = restarted
        ? s.value
        : last === undefined
          ? processSeen
            ? s.value
            : 0
          : s.value - last.value;
      total.set(edge, (total.get(edge) ?? 0) + inc);
    }
  }
  seeProcesses(seen, cur);
  const edges = [...total.keys()].sort((a, b) => a - b);
  const cumulative = edges.map((e) => total.get(e) ?? 0);
  return {
    ok: true,
    value: { edges, counts: cumulative.map((c, i) => Math.max(0, c - (cumulative[i - 1] ?? 0))) },
  };
}

/** A representative value per bucket: geometric middle; half the first edge; 1.5x the last finite edge. */
export function bucketValues(edges: readonly number[]): number[] {
  return edges.map((hi, i) => {
    const lo = edges[i - 1];
    if (hi === Infinity) return (lo ?? 1) * 1.5;
    if (lo === undefined || lo <= 0) return hi / 2;
    return Math.sqrt(lo * hi);
  });
}

/** Count, sum and sum of squares of observations given by bucket counts. */
export function bucketMoments(counts: readonly number[], values: readonly number[], log: boolean): Moments {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c <= 0) continue;
    const v = log ? Math.log(values[i] ?? 1) : (values[i] ?? 0);
    n += c;
    sum += c * v;
    sumSq += c * v * v;
  }
  return { n, sum, sumSq };
}

/** Reads metric `config` from consecutive scrape pairs into `data`. */
export function appendInterval(
  config: MetricConfig,
  data: MetricData,
  prev: Readonly<Record<Side, Scrape>>,
  cur: Readonly<Record<Side, Scrape>>,
  startMs: number,
): void {
  const { status } = data;
  const problem = (reads: Read<unknown>[]): boolean => {
    for (const r of reads) {
      if (r.ok) continue;
      if (r.missing) status.missing = r.message;
      else status.invalid = r.message;
      return true;
    }
    delete status.missing;
    return false;
  };
  if (config.kind === 'rate' && data.kind === 'rate') {
    const side = (s: Side) => {
      const events = counterIncrease(
        memory(data, s, 'events'),
        prev[s],
        cur[s],
        config.events,
        s,
        status.notes,
      );
      const exposure =
        'counter' in config.exposure
          ? counterIncrease(
              memory(data, s, 'exposure'),
              prev[s],
              cur[s],
              config.exposure.counter,
              s,
              status.notes,
            )
          : gaugeHours(memory(data, s, 'exposure'), prev[s], cur[s], config.exposure.gaugeHours, s);
      return { events, exposure };
    };
    const c = side('canary');
    const p = side('production');
    if (problem([c.events, c.exposure, p.events, p.exposure])) return;
    if (c.events.ok && c.exposure.ok && p.events.ok && p.exposure.ok) {
      data.intervals.push({ x: c.events.value, a: c.exposure.value, y: p.events.value, b: p.exposure.value });
    }
    return;
  }
  if (config.kind === 'histogram' && data.kind === 'histogram') {
    const read = (s: Side) =>
      histogramIncrease(memory(data, s, 'histogram'), prev[s], cur[s], config, s, status.notes);
    const c = read('canary');
    const p = read('production');
    if (problem([c, p]) || !c.ok || !p.ok) return;
    if (
      c.value.edges.length > 0 &&
      p.value.edges.length > 0 &&
      c.value.edges.join() !== p.value.edges.join()
    ) {
      status.invalid = `${config.histogram} has different buckets on canary (${c.value.edges.join(', ')}) and production (${p.value.edges.join(', ')})`;
      return;
    }
    const edges = c.value.edges.length > 0 ? c.value.edges : p.value.edges;
    const values = bucketValues(edges);
    data.intervals.push({
      canaryLog: bucketMoments(c.value.counts, values, true),
      productionLog: bucketMoments(p.value.counts, values, true),
      canary: bucketMoments(c.value.counts, values, false),
      production: bucketMoments(p.value.counts, values, false),
    });
    return;
  }
  if (config.kind === 'gauge' && data.kind === 'gauge') {
    const read = (s: Side) =>
      gaugeReading(memory(data, s, 'gauge'), config, prev[s], cur[s], s, status.notes);
    const c = read('canary');
    const p = read('production');
    if (problem([c, p]) || !c.ok || !p.ok) return;
    data.points.push({ t: (cur.canary.timeMs - startMs) / 1000, canary: c.value, production: p.value });
  }
}

function gaugeHours(
  seen: SeenSeries,
  prev: Scrape,
  cur: Scrape,
  selector: SeriesSelector,
  side: Side,
): Read<number> {
  const a = gaugeValue(seen, prev, selector, side, 'sum');
  const b = gaugeValue(seen, cur, selector, side, 'sum');
  if (!a.ok) return a;
  if (!b.ok) return b;
  return { ok: true, value: (((a.value + b.value) / 2) * Math.max(0, cur.timeMs - prev.timeMs)) / 3_600_000 };
}

function gaugeReading(
  seen: SeenSeries,
  config: GaugeMetricConfig,
  prev: Scrape,
  cur: Scrape,
  side: Side,
  notes: string[],
): Read<number> {
  if (!config.counterRate) return gaugeValue(seen, cur, config.gauge, side, 'mean');
  const seconds = (cur.timeMs - prev.timeMs) / 1000;
  const inc = counterIncrease(seen, prev, cur, config.gauge, side, notes);
  if (!inc.ok || seconds <= 0) return inc.ok ? { ok: false, missing: true, message: 'no time elapsed' } : inc;
  // Per process: the increase of the dynos seen this time, spread over every live one.
  return { ok: true, value: inc.value / seconds / Math.max(1, liveProcesses(seen, cur.timeMs)) };
}

/** Empty data for a metric. */
export function emptyData(config: MetricConfig): MetricData {
  const status: DataStatus = { notes: [] };
  const seen = { production: new Map(), canary: new Map() };
  if (config.kind === 'gauge') return { kind: 'gauge', points: [], status, seen };
  if (config.kind === 'histogram') return { kind: 'histogram', intervals: [], status, seen };
  return { kind: 'rate', intervals: [], status, seen };
}
