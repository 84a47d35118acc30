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
export type MetricData =
  | { readonly kind: 'rate'; readonly intervals: RateInterval[]; readonly status: DataStatus }
  | { readonly kind: 'histogram'; readonly intervals: MeanInterval[]; readonly status: DataStatus }
  | { readonly kind: 'gauge'; readonly points: LevelPoint[]; readonly status: DataStatus };

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

/** The increase of the selected counters between two scrapes; a series that went down restarted from 0. */
function counterIncrease(
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
  const old = new Map(before.value.map((s) => [seriesKey(s), s.value]));
  let increase = 0;
  for (const s of after.value) {
    const was = old.get(seriesKey(s)) ?? 0;
    if (s.value < was) {
      notes.push(
        `${describe(side, s)} went from ${was} to ${s.value} at ${isoTime(cur.timeMs)}: counted as a restart`,
      );
      increase += s.value;
    } else increase += s.value - was;
  }
  return { ok: true, value: increase };
}

function gaugeValue(
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
  const sum = read.value.reduce((acc, s) => acc + s.value, 0);
  return { ok: true, value: aggregate === 'sum' ? sum : sum / read.value.length };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Bucket counts (not cumulative) of a histogram between two scrapes, by upper edge. */
function histogramIncrease(
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
  const counts = (samples: Sample[]) => {
    const bySeries = new Map<string, Map<string, number>>();
    for (const s of samples) {
      const key = seriesKey({ ...s, name: config.histogram }, 'le');
      const series = bySeries.get(key) ?? new Map<string, number>();
      bySeries.set(key, series);
      series.set(s.name.endsWith('_count') ? 'count' : (s.labels.le ?? 'count'), s.value);
    }
    return bySeries;
  };
  const old = counts(before.value);
  const total = new Map<number, number>();
  for (const [key, series] of counts(after.value)) {
    const was = old.get(key);
    const restarted = was !== undefined && (series.get('count') ?? 0) < (was.get('count') ?? 0);
    if (restarted)
      notes.push(`${side} ${key} count went down at ${isoTime(cur.timeMs)}: counted as a restart`);
    for (const [le, value] of series) {
      if (le === 'count') continue;
      const edge = le === '+Inf' ? Infinity : Number(le);
      if (Number.isNaN(edge))
        return { ok: false, missing: false, message: `${side} ${key} has bucket le="${le}"` };
      const inc = restarted || was === undefined ? value : value - (was.get(le) ?? 0);
      total.set(edge, (total.get(edge) ?? 0) + inc);
    }
  }
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
      const events = counterIncrease(prev[s], cur[s], config.events, s, status.notes);
      const exposure =
        'counter' in config.exposure
          ? counterIncrease(prev[s], cur[s], config.exposure.counter, s, status.notes)
          : gaugeHours(prev[s], cur[s], config.exposure.gaugeHours, s);
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
    const c = histogramIncrease(prev.canary, cur.canary, config, 'canary', status.notes);
    const p = histogramIncrease(prev.production, cur.production, config, 'production', status.notes);
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
    const read = (s: Side) => gaugeReading(config, prev[s], cur[s], s, status.notes);
    const c = read('canary');
    const p = read('production');
    if (problem([c, p]) || !c.ok || !p.ok) return;
    data.points.push({ t: (cur.canary.timeMs - startMs) / 1000, canary: c.value, production: p.value });
  }
}

function gaugeHours(prev: Scrape, cur: Scrape, selector: SeriesSelector, side: Side): Read<number> {
  const a = gaugeValue(prev, selector, side, 'sum');
  const b = gaugeValue(cur, selector, side, 'sum');
  if (!a.ok) return a;
  if (!b.ok) return b;
  return { ok: true, value: (((a.value + b.value) / 2) * Math.max(0, cur.timeMs - prev.timeMs)) / 3_600_000 };
}

function gaugeReading(
  config: GaugeMetricConfig,
  prev: Scrape,
  cur: Scrape,
  side: Side,
  notes: string[],
): Read<number> {
  if (!config.counterRate) return gaugeValue(cur, config.gauge, side, 'mean');
  const seconds = (cur.timeMs - prev.timeMs) / 1000;
  const inc = counterIncrease(prev, cur, config.gauge, side, notes);
  if (!inc.ok || seconds <= 0) return inc.ok ? { ok: false, missing: true, message: 'no time elapsed' } : inc;
  return { ok: true, value: inc.value / seconds };
}

/** Empty data for a metric. */
export function emptyData(config: MetricConfig): MetricData {
  const status: DataStatus = { notes: [] };
  if (config.kind === 'gauge') return { kind: 'gauge', points: [], status };
  if (config.kind === 'histogram') return { kind: 'histogram', intervals: [], status };
  return { kind: 'rate', intervals: [], status };
}
