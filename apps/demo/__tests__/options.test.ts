import { resolveConfig } from '@qsb/canary';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { demoJudgeConfig } from '../src/demo.ts';
import { durationArg, rateArg } from '../src/main.ts';

describe('pnpm demo flags', () => {
  it.each([
    ['90s', 90],
    ['2m', 120],
    ['45', 45],
  ])('--duration %s is %i s', (value, seconds) => {
    expect(durationArg(value)).toBe(seconds);
  });

  it.each(['10s', '2h', 'soon', '-5'])('--duration %s is refused, naming the range', (value) => {
    expect(() => durationArg(value)).toThrow(InvalidArgumentError);
    expect(() => durationArg(value)).toThrow('from 20s to 60m');
  });

  it.each(['9', '1001', '2.5', 'fast'])('--rate %s is refused', (value) => {
    expect(() => rateArg(value)).toThrow('from 10 to 1000');
  });
});

describe('the demo judge', () => {
  it('is a configuration the judge accepts, deciding within the watch', () => {
    const config = resolveConfig(demoJudgeConfig(45), 'demo');
    expect(config.durationSeconds).toBe(45);
    expect(config.minDurationSeconds).toBe(23);
    const errors = config.metrics.find((m) => m.name === 'errors');
    expect(errors?.tolerance).toEqual({ relative: 2, absolute: 0.04 });
  });
});
