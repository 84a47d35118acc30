import { describe, expect, it } from 'vitest';
import { IdentifyLimiter, ReplayBuffer } from '../../src/index.ts';
import { manualClock } from '../helpers.ts';

function limiter(overrides: Partial<ConstructorParameters<typeof IdentifyLimiter>[0]> = {}) {
  const clock = manualClock();
  const l = new IdentifyLimiter({
    maxConcurrency: 4,
    identifyWindowMs: 5_000,
    sessionStartLimit: 1_000,
    sessionStartResetMs: 86_400_000,
    now: clock.now,
    ...overrides,
  });
  return { l, clock };
}

describe('IdentifyLimiter', () => {
  it('allows one IDENTIFY per bucket (shard % max_concurrency) per window', () => {
    const { l, clock } = limiter();
    expect(l.tryIdentify(0)).toEqual({ verdict: 'allow', bucket: 0 });
    expect(l.tryIdentify(1).verdict).toBe('allow');
    expect(l.tryIdentify(4)).toEqual({ verdict: 'rate-limited', bucket: 0, retryAfterMs: 5_000 });
    clock.advance(4_999);
    expect(l.tryIdentify(8)).toEqual({ verdict: 'rate-limited', bucket: 0, retryAfterMs: 1 });
    clock.advance(1);
    expect(l.tryIdentify(8).verdict).toBe('allow');
  });

  it('counts session starts down and refuses when spent, until the reset', () => {
    const { l, clock } = limiter({ sessionStartLimit: 2, identifyWindowMs: 0, sessionStartResetMs: 1_000 });
    l.tryIdentify(0);
    clock.advance(10);
    expect(l.sessionStartLimit()).toEqual({ total: 2, remaining: 1, reset_after: 990, max_concurrency: 4 });
    l.tryIdentify(1);
    expect(l.tryIdentify(2)).toEqual({ verdict: 'session-start-limit', bucket: 2, resetAfterMs: 990 });
    clock.advance(990);
    expect(l.sessionStartLimit().remaining).toBe(2);
    expect(l.tryIdentify(2).verdict).toBe('allow');
  });
});

describe('ReplayBuffer', () => {
  it('returns what came after a sequence number, or null once it is gone', () => {
    const b = new ReplayBuffer(3);
    for (let s = 1; s <= 5; s++) b.push(s, `e${s}`);
    expect(b.after(2)).toEqual(['e3', 'e4', 'e5']);
    expect(b.after(4)).toEqual(['e5']);
    expect(b.after(5)).toEqual([]);
    expect(b.after(1)).toBeNull();
  });
});
