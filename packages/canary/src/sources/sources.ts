import type { JudgeConfig, SeriesSelector } from '../config/config.ts';
import { CanaryError, CanaryErrorCodes } from '../exposition/errors.ts';
import { type MetricType, parseExposition, type Sample, type Scrape } from '../exposition/parse.ts';
import type { Side } from '../judge/extract.ts';

/** Where the judge's scrapes come from: the deployments' `/metrics` (default) or a Prometheus server. */
export interface MetricSource {
  /** Reads one deployment's metrics now. */
  scrape(side: Side, signal?: AbortSignal): Promise<Scrape>;
  /** Where a side is read from, for messages. */
  describe(side: Side): string;
}

export interface HttpSourceRequiredOptions {
  /** The `/metrics` URL of each deployment. */
  readonly urls: Readonly<Record<Side, string>>;
}
export interface HttpSourceOptionalOptions {
  /** Sent as `Authorization: Bearer <token>` to both deployments (the bots' `METRICS_TOKEN`); never printed. */
  readonly bearerToken: string | undefined;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly timeoutMs: number;
}
export type HttpSourceOptions = HttpSourceRequiredOptions & Partial<HttpSourceOptionalOptions>;

/** @defaultValue the optional options of {@link createHttpSource} */
export const DefaultHttpSourceOptions = {
  bearerToken: undefined,
  fetch: (input, init) => globalThis.fetch(input, init),
  now: () => Date.now(),
  timeoutMs: 5000,
} as const satisfies HttpSourceOptionalOptions;

function reason(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${error.message} (${cause.message})`;
    return error.message;
  }
  return String(error);
}

async function get(
  fetchImpl: typeof globalThis.fetch,
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  code: typeof CanaryErrorCodes.ScrapeFailed | typeof CanaryErrorCodes.QueryFailed,
  what: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      signal: combined,
      headers: { accept: 'text/plain, application/json', ...headers },
    });
  } catch (error) {
    throw new CanaryError(code, `cannot read ${what} at ${url}: ${reason(error)}`, { cause: error });
  }
  const body = await response.text();
  if (!response.ok) {
    throw new CanaryError(
      code,
      `cannot read ${what} at ${url}: HTTP ${response.status} ${body.slice(0, 200)}`,
    );
  }
  return body;
}

/** Scrapes each deployment's `/metrics` directly, the default source of `qsb monitor`. */
export function createHttpSource(options: HttpSourceOptions): MetricSource {
  const { urls, fetch, now, timeoutMs, bearerToken } = { ...DefaultHttpSourceOptions, ...options };
  const headers: Record<string, string> =
    bearerToken === undefined ? {} : { authorization: `Bearer ${bearerToken}` };
  return {
    describe: (side) => urls[side],
    async scrape(side, signal) {
      const time = now();
      const text = await get(
        fetch,
        urls[side],
        timeoutMs,
        signal,
        CanaryErrorCodes.ScrapeFailed,
        `${side} metrics`,
        headers,
      );
      return parseExposition(text, time, `${side} ${urls[side]}`);
    },
  };
}

export interface PrometheusSourceRequiredOptions {
  /** The Prometheus server's base URL, for example `http://127.0.0.1:9090`. */
  readonly url: string;
  /** The metric names to query (see {@link configMetricNames}). */
  readonly metricNames: readonly string[];
}
export interface PrometheusSourceOptionalOptions {
  /** The label telling the deployments apart, and each side's value. */
  readonly label: string;
  readonly values: Readonly<Record<Side, string>>;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly timeoutMs: number;
}
export type PrometheusSourceOptions = PrometheusSourceRequiredOptions &
  Partial<PrometheusSourceOptionalOptions>;

/** @defaultValue the optional options of {@link createPrometheusSource} */
export const DefaultPrometheusSourceOptions = {
  label: 'deployment',
  values: { production: 'production', canary: 'canary' },
  fetch: DefaultHttpSourceOptions.fetch,
  now: DefaultHttpSourceOptions.now,
  timeoutMs: 5000,
} as const satisfies PrometheusSourceOptionalOptions;

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[] };
}

/**
 * Reads the same series from a Prometheus server with one instant PromQL query per side
 * (`{__name__=~"names", deployment="canary"}`), so that the judge sees what a direct scrape would:
 * raw counters, gauges and histogram buckets, summed over instances the same way.
 */
export function createPrometheusSource(options: PrometheusSourceOptions): MetricSource {
  const { url, metricNames, label, values, fetch, now, timeoutMs } = {
    ...DefaultPrometheusSourceOptions,
    ...options,
  };
  const base = url.replace(/\/+$/, '');
  let types: Map<string, MetricType> | undefined;
  const regex = metricNames.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const json = async (path: string, signal: AbortSignal | undefined): Promise<unknown> => {
    const body = await get(
      fetch,
      `${base}${path}`,
      timeoutMs,
      signal,
      CanaryErrorCodes.QueryFailed,
      'Prometheus',
    );
    try {
      return JSON.parse(body);
    } catch {
      throw new CanaryError(CanaryErrorCodes.QueryFailed, `Prometheus at ${base}${path} did not answer JSON`);
    }
  };
  return {
    describe: (side) => `${base} {${label}="${values[side]}"}`,
    async scrape(side, signal) {
      const time = now();
      if (!types) {
        const meta = (await json('/api/v1/metadata', signal)) as {
          data?: Record<string, { type: string }[]>;
        };
        types = new Map();
        for (const [name, entries] of Object.entries(meta.data ?? {})) {
          const type = entries[0]?.type;
          if (type && metricNames.some((n) => n === name || n.startsWith(`${name}_`))) {
            types.set(name, type as MetricType);
          }
        }
      }
      const query = `{__name__=~"${regex}",${label}="${values[side]}"}`;
      const params = new URLSearchParams({ query, time: (time / 1000).toFixed(3) });
      const answer = (await json(`/api/v1/query?${params}`, signal)) as PromVector;
      if (answer.status !== 'success' || answer.data?.resultType !== 'vector') {
        throw new CanaryError(
          CanaryErrorCodes.QueryFailed,
          `Prometheus query ${query} failed: ${answer.error ?? `result type ${answer.data?.resultType}`}`,
        );
      }
      const samples: Sample[] = (answer.data.result ?? []).map(({ metric, value }) => {
        const { __name__: name = '', ...labels } = metric;
        return { name, labels, value: Number(value[1]) };
      });
      return { timeMs: time, samples, types };
    },
  };
}

function selectorNames(selector: SeriesSelector): string[] {
  return typeof selector.name === 'string' ? [selector.name] : [...selector.name];
}

/** Every metric name a configuration reads (histograms as their `_bucket` and `_count` series). */
export function configMetricNames(config: JudgeConfig): string[] {
  const names = new Set<string>();
  for (const m of config.metrics) {
    if (m.kind === 'rate') {
      for (const n of selectorNames(m.events)) names.add(n);
      const exposure = 'counter' in m.exposure ? m.exposure.counter : m.exposure.gaugeHours;
      for (const n of selectorNames(exposure)) names.add(n);
    } else if (m.kind === 'histogram') {
      names.add(`${m.histogram}_bucket`);
      names.add(`${m.histogram}_count`);
    } else for (const n of selectorNames(m.gauge)) names.add(n);
  }
  return [...names].sort();
}
