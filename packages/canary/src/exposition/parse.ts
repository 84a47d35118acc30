import { CanaryError, CanaryErrorCodes } from './errors.ts';

/*
 * A strict reader of the Prometheus text exposition format (version 0.0.4), the format prom-client
 * serves and `qsb monitor --record` writes. Written here rather than taken from npm: the parsers on
 * the registry are either unmaintained or lenient (they skip a malformed line or read `1.2.3` as a
 * number), and a judge must refuse bad input with the line that was wrong, never guess.
 */

/** The metric types of the text format. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** One sample line: a series (name and labels) and its value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries a timestamp. */
  readonly timestampMs?: number;
}

/** One scrape of one deployment: every sample at one time, and the declared metric families. */
export interface Scrape {
  /** When the scrape was taken, in milliseconds since the epoch. */
  readonly timeMs: number;
  readonly samples: readonly Sample[];
  /** Metric families declared with `# TYPE`, including those that have no series yet. */
  readonly types: ReadonlyMap<string, MetricType>;
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/;
// Like Prometheus (Go's ParseFloat): Inf, Infinity and NaN in any case; prom-client writes `Nan`.
const number = /^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?|nan)$/i;
const integer = /^-?[0-9]+$/;
const types = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(source: string, line: number, text: string, what: string): never {
  const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  throw new CanaryError(
    CanaryErrorCodes.MalformedExposition,
    `${source} line ${line}: ${what} in ${JSON.stringify(shown)}`,
  );
}

/** Parses a sample value: a decimal, `+Inf`, `-Inf` or `NaN` (kept; the judge decides what NaN means). */
function parseValue(token: string): number | undefined {
  if (!number.test(token)) return undefined;
  const lower = token.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(token);
}

function parseLabels(
  text: string,
  start: number,
  fail: (what: string) => never,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const name = labelName.exec(text.slice(i))?.[0];
    if (!name) fail(`a label name expected at column ${i + 1}`);
    i += name.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') fail(`"=" expected after label ${name}`);
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') fail(`a quoted value expected for label ${name}`);
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) fail(`unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else fail(`invalid escape \\${next ?? ''} in label ${name}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (Object.hasOwn(labels, name)) fail(`label ${name} repeated`);
    labels[name] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] !== '}') fail(`"," or "}" expected after label ${name}`);
  }
}

/** What {@link parseLines} reads: every sample with its line, and the declared families. */
interface Parsed {
  readonly samples: (Sample & { readonly line: number })[];
  readonly types: Map<string, MetricType>;
}

type LineSample = Sample & { readonly line: number };

/** Reads one line into `declared` (a `# TYPE`) or as a sample; blank lines and comments give nothing. */
function parseLine(
  raw: string,
  lineNo: number,
  source: string,
  declared: Map<string, MetricType>,
  allowRepeatedTypes: boolean,
): LineSample | undefined {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const bad: (what: string) => never = (what) => fail(source, lineNo, line, what);
  if (line.trim() === '') return undefined;
  if (line.startsWith('#')) {
    const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) return undefined; // any other comment
    const [, keyword, name = '', rest = ''] = m;
    if (!metricName.test(name) || metricName.exec(name)?.[0] !== name) bad(`invalid metric name ${name}`);
    if (keyword === 'TYPE') {
      const type = rest.trim() as MetricType;
      if (!types.has(type)) bad(`unknown metric type ${JSON.stringify(rest.trim())}`);
      const before = declared.get(name);
      if (before !== undefined && (!allowRepeatedTypes || before !== type)) {
        bad(before === type ? `TYPE of ${name} repeated` : `TYPE of ${name} changed from ${before}`);
      }
      declared.set(name, type);
    }
    return undefined;
  }
  const name = metricName.exec(line)?.[0];
  if (!name) bad('a metric name expected');
  let i = name.length;
  let labels: Record<string, string> = {};
  if (line[i] === '{') {
    const parsed = parseLabels(line, i, bad);
    labels = parsed.labels;
    i = parsed.end;
  }
  const rest = line.slice(i);
  if (!/^[ \t]/.test(rest)) bad('a space and a value expected after the series');
  const tokens = rest.trim().split(/[ \t]+/);
  if (tokens.length > 2) bad('unexpected text after the value and timestamp');
  const [valueToken = '', timestampToken] = tokens;
  const value = parseValue(valueToken);
  if (value === undefined) bad(`invalid value ${JSON.stringify(valueToken)}`);
  let timestampMs: number | undefined;
  if (timestampToken !== undefined) {
    if (!integer.test(timestampToken)) bad(`invalid timestamp ${JSON.stringify(timestampToken)}`);
    timestampMs = Number(timestampToken);
  }
  return { name, labels, value, line: lineNo, ...(timestampMs === undefined ? {} : { timestampMs }) };
}

function parseLines(text: string, source: string, allowRepeatedTypes: boolean): Parsed {
  const samples: LineSample[] = [];
  const declared = new Map<string, MetricType>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const sample = parseLine(lines[n] ?? '', n + 1, source, declared, allowRepeatedTypes);
    if (sample) samples.push(sample);
  }
  return { samples, types: declared };
}

/**
 * Parses one `/metrics` response taken at `timeMs`.
 *
 * @throws CanaryError `MalformedExposition` naming the source, the line and what was wrong.
 */
export function parseExposition(text: string, timeMs: number, source = 'metrics'): Scrape {
  const { samples, types: declared } = parseLines(text, source, false);
  return { timeMs, samples: samples.map(({ line: _line, ...s }) => s), types: declared };
}

/**
 * Parses a recording: scrapes in the text format, every sample line with its timestamp, in time
 * order (what `qsb monitor --record` writes). Samples with the same timestamp form one scrape.
 *
 * @throws CanaryError `MalformedRecording` naming the file and line, for a sample without a
 * timestamp, time going backwards, an empty file, or any malformed line.
 */
export function parseRecording(text: string, source = 'recording'): Scrape[] {
  const scrapes: Scrape[] = [];
  const group = recordingGrouper(source, (scrape) => scrapes.push(scrape));
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) group.line(lines[n] ?? '', n + 1);
  group.end();
  return scrapes;
}

/**
 * Reads a recording line by line, as {@link parseRecording} does, yielding each scrape as soon as
 * the next one starts: memory stays bounded by one scrape, whatever the file's size.
 *
 * @example
 * const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
 * for await (const scrape of readRecording(lines, path)) judge.observe(...);
 */
export async function* readRecording(
  lines: AsyncIterable<string>,
  source = 'recording',
): AsyncGenerator<Scrape> {
  const ready: Scrape[] = [];
  const group = recordingGrouper(source, (scrape) => ready.push(scrape));
  let n = 0;
  for await (const line of lines) {
    group.line(line, ++n);
    while (ready.length > 0) yield ready.shift() as Scrape;
  }
  group.end();
  while (ready.length > 0) yield ready.shift() as Scrape;
}

/** Groups a recording's samples into scrapes by timestamp, handing each on when the next begins. */
function recordingGrouper(source: string, emit: (scrape: Scrape) => void) {
  const declared = new Map<string, MetricType>();
  let current: { timeMs: number; samples: Sample[] } | undefined;
  let count = 0;
  const flush = () => {
    if (current) emit({ ...current, types: declared });
    current = undefined;
  };
  const recordingError = (error: unknown): never => {
    if (error instanceof CanaryError && error.code === CanaryErrorCodes.MalformedExposition) {
      throw new CanaryError(CanaryErrorCodes.MalformedRecording, error.message, { cause: error });
    }
    throw error;
  };
  return {
    line(raw: string, lineNo: number) {
      let parsed: LineSample | undefined;
      try {
        parsed = parseLine(raw, lineNo, source, declared, true);
      } catch (error) {
        recordingError(error);
      }
      if (!parsed) return;
      const { line, ...sample } = parsed;
      const t = sample.timestampMs;
      if (t === undefined) {
        throw new CanaryError(
          CanaryErrorCodes.MalformedRecording,
          `${source} line ${line}: a recorded sample needs a timestamp (milliseconds) after its value`,
        );
      }
      if (current && t < current.timeMs) {
        throw new CanaryError(
          CanaryErrorCodes.MalformedRecording,
          `${source} line ${line}: timestamp ${t} goes back in time (the previous scrape is at ${current.timeMs})`,
        );
      }
      count++;
      if (current && t === current.timeMs) current.samples.push(sample);
      else {
        flush();
        current = { timeMs: t, samples: [sample] };
      }
    },
    end() {
      flush();
      if (count === 0) {
        throw new CanaryError(
          CanaryErrorCodes.MalformedRecording,
          `${source}: the recording holds no samples`,
        );
      }
    },
  };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Writes a scrape in the text format with every sample stamped with the scrape's time: one block of
 * a recording. `parseRecording` reads a concatenation of such blocks back.
 */
export function formatScrape(scrape: Scrape): string {
  const lines = [`# scrape ${new Date(scrape.timeMs).toISOString()}`];
  for (const [name, type] of scrape.types) lines.push(`# TYPE ${name} ${type}`);
  const t = Math.round(scrape.timeMs);
  for (const s of scrape.samples) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    lines.push(`${s.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)} ${t}`);
  }
  return `${lines.join('\n')}\n`;
}
