import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Catalog, createBotMetrics, MetricNames } from '../../src/index.ts';

describe('createBotMetrics', () => {
  it('labels every series with deployment and version', async () => {
    const registry = new Registry();
    const metrics = createBotMetrics({ registry, deployment: 'canary', version: 'v42' });
    metrics.observeInteraction('ping', 'ok', 0.02);
    metrics.shardReady.set({ shard: '3' }, 1);
    const text = await registry.metrics();
    expect(text).toContain(
      'qsb_interactions_total{command="ping",outcome="ok",deployment="canary",version="v42"} 1',
    );
    expect(text).toContain('qsb_shard_ready{shard="3",deployment="canary",version="v42"} 1');
    expect(text).toMatch(/process_resident_memory_bytes\{deployment="canary",version="v42"\} \d+/);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toContain('deployment="canary"');
    }
  });

  it('counts a timeout without a duration sample', async () => {
    const registry = new Registry();
    const metrics = createBotMetrics({
      registry,
      deployment: 'production',
      version: 'v1',
      collectDefaultMetrics: false,
    });
    metrics.observeInteraction('quantum', 'timeout', 3.5);
    const text = await registry.metrics();
    expect(text).toContain(
      'qsb_interactions_total{command="quantum",outcome="timeout",deployment="production",version="v1"} 1',
    );
    expect(text).not.toContain('qsb_interaction_duration_seconds_count');
  });

  it('keeps two registries apart (nothing global)', async () => {
    const a = createBotMetrics({
      registry: new Registry(),
      deployment: 'canary',
      version: 'a',
      collectDefaultMetrics: false,
    });
    const b = createBotMetrics({
      registry: new Registry(),
      deployment: 'production',
      version: 'b',
      collectDefaultMetrics: false,
    });
    a.userReports.inc();
    expect(await b.registry.metrics()).toContain(
      'qsb_user_reports_total{deployment="production",version="b"} 0',
    );
  });

  it('adds the dyno label when given', async () => {
    const registry = new Registry();
    createBotMetrics({
      registry,
      deployment: 'production',
      version: 'v1',
      dyno: 'web.2',
      collectDefaultMetrics: false,
    });
    expect(await registry.metrics()).toContain(
      'qsb_user_reports_total{deployment="production",version="v1",dyno="web.2"} 0',
    );
  });

  it.each([
    [{ dyno: 'web 2' }, 'metrics dyno "web 2"'],
    [{ deployment: 'staging' }, 'metrics deployment "staging" must be canary or production'],
    [{ version: '' }, 'metrics version "" must be 1 to 64 characters'],
    [{ version: 'a b' }, 'metrics version "a b"'],
  ])('refuses %j', (override, message) => {
    expect(() =>
      createBotMetrics({
        registry: new Registry(),
        deployment: 'canary',
        version: 'v1',
        ...override,
      } as never),
    ).toThrow(message);
  });

  it('follows Prometheus naming: counters end in _total, units in the name, no guild or user labels', () => {
    for (const def of Object.values(Catalog)) {
      expect(def.name).toMatch(/^qsb_[a-z_]+$/);
      if (def.type === 'counter') expect(def.name).toMatch(/_total$/);
      else expect(def.name).not.toMatch(/_total$/);
      for (const label of def.labelNames)
        expect(['guild', 'guild_id', 'user', 'user_id']).not.toContain(label);
    }
    expect(Catalog.interactionDuration.buckets).toContain(3);
    expect(MetricNames.interactions).toBe('qsb_interactions_total');
    expect(MetricNames.residentMemory).toBe('process_resident_memory_bytes');
  });
});
