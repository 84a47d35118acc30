import type { Registry } from 'prom-client';

/**
 * Prometheus remote write from a process's own registry: for several dynos behind Heroku's router,
 * where a scrape reaches one random dyno, each dyno pushes every series itself to a Prometheus started
 * with `--web.enable-remote-write-receiver` (or any remote-write receiver: Grafana Cloud, Mimir).
 *
 * The wire format is small and fixed (remote write 1.0: a protobuf `WriteRequest` of three message
 * types, snappy-compressed), so it is written here rather than pulling in protobufjs and a native
 * snappy binding for it: the snappy block is made of literals only, which the format allows and every
 * decoder reads; the samples of a few hundred series stay a few tens of kilobytes.
 */

/** One sample of one series: its labels (with `__name__`), value and time. */
export interface RemoteSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

/** Error codes of remote write; operators alert on these, messages may change. */
export const RemoteWriteErrorCodes = {
  PushFailed: 'REMOTE_WRITE_FAILED',
  BadUrl: 'REMOTE_WRITE_BAD_URL',
} as const;
export type RemoteWriteErrorCode = (typeof RemoteWriteErrorCodes)[keyof typeof RemoteWriteErrorCodes];

/** A remote write that could not be set up or delivered. */
export class RemoteWriteError extends Error {
  readonly code: RemoteWriteErrorCode;
  constructor(code: RemoteWriteErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = `RemoteWriteError[${code}]`;
  }
}

class Writer {
  readonly #bytes: number[] = [];
  varint(n: number): this {
    let v = n;
    while (v >= 0x80) {
      this.#bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#bytes.push(v);
    return this;
  }
  key(field: number, wireType: 0 | 1 | 2): this {
    return this.varint(field * 8 + wireType);
  }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    for (const b of data) this.#bytes.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  double(field: number, x: number): this {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, x, true);
    this.key(field, 1);
    for (let i = 0; i < 8; i++) this.#bytes.push(buf.getUint8(i));
    return this;
  }
  int64(field: number, n: number): this {
    return this.key(field, 0).varint(n);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** The protobuf `prometheus.WriteRequest` of `samples`, one time series each, labels sorted by name. */
export function encodeWriteRequest(samples: readonly RemoteSample[]): Uint8Array {
  const request = new Writer();
  for (const s of samples) {
    const series = new Writer();
    for (const [name, value] of Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      series.bytes(1, new Writer().string(1, name).string(2, value).done());
    }
    series.bytes(2, new Writer().double(1, s.value).int64(2, Math.round(s.timestampMs)).done());
    request.bytes(1, series.done());
  }
  return request.done();
}

/** A snappy block (the format remote write uses, not the framed stream) of literals only. */
export function snappyLiterals(data: Uint8Array): Uint8Array {
  const out = new Writer().varint(data.length).done();
  const parts: Uint8Array[] = [out];
  for (let at = 0; at < data.length; at += 65536) {
    const chunk = data.subarray(at, Math.min(at + 65536, data.length));
    const n = chunk.length - 1;
    const tag = n < 60 ? [n << 2] : n < 256 ? [60 << 2, n] : [61 << 2, n & 0xff, n >> 8];
    parts.push(Uint8Array.from(tag), chunk);
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const block = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    block.set(p, offset);
    offset += p.length;
  }
  return block;
}

/** Every sample of `registry` now, its default labels included (histograms as their series). */
export async function collectSamples(registry: Registry, timestampMs: number): Promise<RemoteSample[]> {
  const out: RemoteSample[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const name = (v as { metricName?: string }).metricName ?? metric.name;
      const labels: Record<string, string> = { __name__: name };
      for (const [k, value] of Object.entries(v.labels)) labels[k] = String(value);
      out.push({ labels, value: v.value, timestampMs });
    }
  }
  return out;
}

/** What {@link startRemoteWriter} cannot do without. */
export interface RemoteWriterRequiredOptions {
  readonly registry: Registry;
  /** The receiver, for example `http://prometheus:9090/api/v1/write`. */
  readonly url: string;
}
/** What {@link startRemoteWriter} has defaults for ({@link DefaultRemoteWriterOptions}). */
export interface RemoteWriterOptionalOptions {
  /** Time between two pushes. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Extra headers, for example `authorization` (never logged). */
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  /** Called with each failed push; the next push tries again. */
  readonly onError: (error: RemoteWriteError) => void;
}
/** The options of {@link startRemoteWriter}. */
export type RemoteWriterOptions = RemoteWriterRequiredOptions & Partial<RemoteWriterOptionalOptions>;

/** @defaultValue the optional options of {@link startRemoteWriter} */
export const DefaultRemoteWriterOptions = {
  intervalMs: 15_000,
  timeoutMs: 10_000,
  headers: {},
  fetch: (input, init) => globalThis.fetch(input, init),
  now: () => Date.now(),
  onError: () => {},
} as const satisfies RemoteWriterOptionalOptions;

/** A running remote writer. */
export interface RemoteWriter {
  /** Pushes every series now; rejects with a {@link RemoteWriteError}. */
  readonly push: () => Promise<void>;
  /** Stops the timer and pushes a last time, so that the final counts reach the receiver. */
  readonly stop: () => Promise<void>;
}

/**
 * Pushes `registry` to `url` every `intervalMs` (the timer does not keep the process alive).
 *
 * @example
 * const writer = startRemoteWriter({ registry, url: 'http://127.0.0.1:9090/api/v1/write', intervalMs: 10_000 });
 * // on shutdown
 * await writer.stop();
 */
export function startRemoteWriter(options: RemoteWriterOptions): RemoteWriter {
  const { registry, url, intervalMs, timeoutMs, headers, fetch, now, onError } = {
    ...DefaultRemoteWriterOptions,
    ...options,
  };
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new RemoteWriteError(
      RemoteWriteErrorCodes.BadUrl,
      `remote write URL ${JSON.stringify(url)} is not a URL`,
    );
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new RemoteWriteError(
      RemoteWriteErrorCodes.BadUrl,
      `remote write URL must be http:// or https://, not ${target.protocol}`,
    );
  }
  // fetch refuses credentials in a URL: they become a basic authorization header. Messages show the
  // host and path only.
  const auth: Record<string, string> = {};
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    auth.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const shown = `${target.origin}${target.pathname}`;
  async function push(): Promise<void> {
    const body = snappyLiterals(encodeWriteRequest(await collectSamples(registry, now())));
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers: {
          ...auth,
          ...headers,
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new RemoteWriteError(
        RemoteWriteErrorCodes.PushFailed,
        `remote write to ${shown} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!response.ok) {
      const text = (await response.text()).slice(0, 200);
      throw new RemoteWriteError(
        RemoteWriteErrorCodes.PushFailed,
        `remote write to ${shown} answered HTTP ${response.status}: ${text}`,
      );
    }
  }
  const report = (error: unknown) => {
    if (error instanceof RemoteWriteError) onError(error);
    else onError(new RemoteWriteError(RemoteWriteErrorCodes.PushFailed, String(error), { cause: error }));
  };
  const timer = setInterval(() => push().catch(report), intervalMs);
  timer.unref();
  return {
    push,
    async stop() {
      clearInterval(timer);
      await push();
    },
  };
}
