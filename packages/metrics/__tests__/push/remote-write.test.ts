import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  collectSamples,
  createBotMetrics,
  encodeWriteRequest,
  RemoteWriteError,
  snappyLiterals,
  startRemoteWriter,
} from '../../src/index.ts';

describe('encodeWriteRequest', () => {
  it('writes the protobuf WriteRequest byte for byte, labels sorted by name', () => {
    const bytes = encodeWriteRequest([{ labels: { b: '2', __name__: 'm' }, value: 1, timestampMs: 300 }]);
    // timeseries(1) { labels(1) {name(1) "__name__", value(2) "m"}, labels(1) {"b","2"}, samples(2) {value(1) 1.0, timestamp(2) 300} }
    const label = (n: string, v: string) => [
      0x0a,
      n.length + v.length + 4,
      0x0a,
      n.length,
      ...Buffer.from(n),
      0x12,
      v.length,
      ...Buffer.from(v),
    ];
    const sample = [0x12, 12, 0x09, ...new Uint8Array(new Float64Array([1]).buffer), 0x10, 0xac, 0x02];
    const series = [...label('__name__', 'm'), ...label('b', '2'), ...sample];
    expect([...bytes]).toEqual([0x0a, series.length, ...series]);
  });
});

describe('snappyLiterals', () => {
  it('is a length then literal chunks, for short and long inputs', () => {
    expect([...snappyLiterals(Uint8Array.from([1, 2, 3]))]).toEqual([3, 2 << 2, 1, 2, 3]);
    const long = new Uint8Array(100).fill(7);
    expect([...snappyLiterals(long).subarray(0, 3)]).toEqual([100, 60 << 2, 99]);
    const big = new Uint8Array(70_000);
    const block = snappyLiterals(big);
    // varint(70000) is 3 bytes; two chunks of 65536 and 4464 bytes with 3-byte tags.
    expect(block.length).toBe(3 + 3 + 65536 + 3 + 4464);
  });
});

describe('collectSamples', () => {
  it("carries the registry's default labels and each histogram series by name", async () => {
    const registry = new Registry();
    const m = createBotMetrics({
      registry,
      deployment: 'canary',
      version: 'v9',
      dyno: 'web.2',
      collectDefaultMetrics: false,
    });
    m.observeInteraction('ping', 'ok', 0.004);
    const samples = await collectSamples(registry, 1000);
    const ok = samples.find((s) => s.labels.__name__ === 'qsb_interactions_total');
    expect(ok).toEqual({
      labels: {
        __name__: 'qsb_interactions_total',
        deployment: 'canary',
        version: 'v9',
        dyno: 'web.2',
        command: 'ping',
        outcome: 'ok',
      },
      value: 1,
      timestampMs: 1000,
    });
    const bucket = samples.find(
      (s) => s.labels.__name__ === 'qsb_interaction_duration_seconds_bucket' && s.labels.le === '0.005',
    );
    expect(bucket?.value).toBe(1);
  });
});

describe('startRemoteWriter', () => {
  it('refuses a URL that is not http(s), naming what is allowed', () => {
    expect(() => startRemoteWriter({ registry: new Registry(), url: 'ftp://x/' })).toThrow(
      /remote write URL must be http:\/\/ or https:\/\/, not ftp:/,
    );
    expect(() => startRemoteWriter({ registry: new Registry(), url: 'nope' })).toThrow(RemoteWriteError);
  });

  it('posts snappy protobuf with the remote-write headers, and reports a refusal without credentials', async () => {
    const seen: { url: string; headers: Record<string, string>; length: number }[] = [];
    const writer = startRemoteWriter({
      registry: new Registry(),
      url: 'https://user:secret@example.test/api/v1/write',
      intervalMs: 3_600_000,
      fetch: async (input, init) => {
        seen.push({
          url: String(input),
          headers: init?.headers as Record<string, string>,
          length: (init?.body as Uint8Array | undefined)?.length ?? 0,
        });
        return new Response('out of order sample', { status: 400 });
      },
    });
    const error = await writer.push().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteWriteError);
    expect((error as RemoteWriteError).code).toBe('REMOTE_WRITE_FAILED');
    expect((error as Error).message).toBe(
      'remote write to https://example.test/api/v1/write answered HTTP 400: out of order sample',
    );
    expect(seen[0]?.url).toBe('https://example.test/api/v1/write');
    expect(seen[0]?.headers).toMatchObject({
      authorization: `Basic ${Buffer.from('user:secret').toString('base64')}`,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    await expect(writer.stop()).rejects.toThrow(RemoteWriteError);
  });
});
