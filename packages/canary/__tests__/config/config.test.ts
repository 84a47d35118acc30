import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DefaultJudgeConfigInput, defaultConfig, parseConfig, resolveConfig } from '../../src/index.ts';

describe('judge configuration', () => {
  it('defaults fit the metric catalog', () => {
    const config = defaultConfig();
    expect(config.alpha).toBe(0.05);
    expect(config.metrics.map((m) => m.name)).toEqual(DefaultJudgeConfigInput.metrics.map((m) => m.name));
    const errors = config.metrics.find((m) => m.name === 'errors');
    expect(errors).toMatchObject({
      critical: true,
      mustPass: true,
      direction: 'increase',
      noData: 'continue',
    });
  });

  it('reads YAML, keeps the default metrics when none are given', () => {
    const config = parseConfig('alpha: 0.02\nminDurationSeconds: 30\n', 'judge.yaml');
    expect(config.alpha).toBe(0.02);
    expect(config.minDurationSeconds).toBe(30);
    expect(config.metrics).toHaveLength(DefaultJudgeConfigInput.metrics.length);
  });

  it('reads JSON with its own metrics and fills their defaults', () => {
    const config = parseConfig(
      JSON.stringify({
        metrics: [
          {
            name: 'heap',
            kind: 'gauge',
            gauge: { name: 'nodejs_heap_size_used_bytes' },
            tolerance: { relative: 1.2, absolute: 0 },
          },
        ],
      }),
    );
    expect(config.metrics[0]).toMatchObject({
      critical: true,
      mustPass: false,
      weight: 1,
      noData: 'continue',
      counterRate: false,
    });
  });

  it.each([
    ['alpha: 0.7', 'alpha: Too big: expected number to be <0.5'],
    ['metrics: []', 'metrics: Too small: expected array to have >=1 items'],
    [
      'metrics:\n  - {name: e, kind: rate, events: {name: "bad name"}, exposure: {counter: {name: x}}, tolerance: {relative: 1.5, absolute: 0}}',
      'metrics.0.events.name',
    ],
    [
      'metrics:\n  - {name: e, kind: gauge, gauge: {name: x}, tolerance: {relative: 0.5, absolute: 0}}',
      'metrics.0.tolerance.relative: must be at least 1',
    ],
    [
      'metrics:\n  - {name: e, kind: gauge, gauge: {name: x}, tolerance: {relative: 1, absolute: 0}}\n  - {name: e, kind: gauge, gauge: {name: y}, tolerance: {relative: 1, absolute: 0}}',
      'metrics.1.name: duplicate metric e',
    ],
    ['alpah: 0.1', 'Unrecognized key: "alpah"'],
    ['[1, 2]', 'must be an object'],
    ['a: [', 'not YAML or JSON'],
  ])('refuses %j naming the key', (text, message) => {
    expect(() => parseConfig(text, 'judge.yaml')).toThrow(message);
    expect(() => parseConfig(text, 'judge.yaml')).toThrow('invalid judge configuration judge.yaml');
  });

  it('the shipped judge.default.yaml is exactly the defaults', async () => {
    const text = await readFile(new URL('../../judge.default.yaml', import.meta.url), 'utf8');
    expect(parseConfig(text, 'judge.default.yaml')).toEqual(defaultConfig());
  });

  it('resolveConfig takes objects', () => {
    expect(resolveConfig({ beta: 0.1 }).beta).toBe(0.1);
  });
});
