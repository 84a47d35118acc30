import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIdentifySchedule } from '../../src/index.ts';

describe('createIdentifySchedule', () => {
  it('never puts two shards of one bucket less than a window apart, whoever starts when', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 255 }),
        (shardCount, maxConcurrency, starts, seed) => {
          const schedule = createIdentifySchedule({ shardCount, maxConcurrency, windowMs: 5000 });
          // Shards asking at arbitrary times (processes booting, shards re-identifying), each at its next slot,
          // then sent up to the guard late.
          const sends = starts.map((now, i) => {
            const shard = (i * 7 + seed) % shardCount;
            const { at } = schedule.next(shard, now);
            const late = ((i * 131 + seed) % 100) / 100;
            return { shard, bucket: shard % maxConcurrency, time: at + late * schedule.guardMs };
          });
          for (const a of sends) {
            for (const b of sends) {
              if (a === b || a.bucket !== b.bucket || a.shard === b.shard) continue;
              expect(Math.abs(a.time - b.time)).toBeGreaterThanOrEqual(5000);
            }
          }
        },
      ),
    );
  });

  it('lets a cold start finish within one cycle of slots', () => {
    const schedule = createIdentifySchedule({ shardCount: 16, maxConcurrency: 1, windowMs: 500 });
    expect(schedule.cycle).toBe(16);
    expect(schedule.slotMs).toBeCloseTo(550);
    const now = 1_700_000_000_123;
    const last = Math.max(...Array.from({ length: 16 }, (_, s) => schedule.next(s, now).at));
    expect(last - now).toBeLessThanOrEqual(16 * 550);
  });

  it('uses the current slot while inside its guard, and waits a cycle after it', () => {
    const s = createIdentifySchedule({ shardCount: 4, maxConcurrency: 1, windowMs: 1000, guard: 0.1 });
    // Slot 8 starts at 8800 and belongs to position 0 (8 % 4).
    expect(s.next(0, 8800)).toEqual({ slot: 8, at: 8800 });
    expect(s.next(0, 8899)).toEqual({ slot: 8, at: 8800 });
    expect(s.next(0, 8901)).toEqual({ slot: 12, at: 13200 });
    expect(s.next(1, 8801)).toEqual({ slot: 9, at: 9900 });
  });

  it('refuses bad options with a message naming them', () => {
    expect(() => createIdentifySchedule({ shardCount: 0, maxConcurrency: 1, windowMs: 5000 })).toThrow(
      /shardCount 0/,
    );
    expect(() => createIdentifySchedule({ shardCount: 4, maxConcurrency: 0, windowMs: 5000 })).toThrow(
      /maxConcurrency 0/,
    );
    expect(() => createIdentifySchedule({ shardCount: 4, maxConcurrency: 1, windowMs: -1 })).toThrow(
      /window -1/,
    );
    expect(() =>
      createIdentifySchedule({ shardCount: 4, maxConcurrency: 1, windowMs: 5000 }).next(4, 0),
    ).toThrow(/shard 4/);
  });
});
