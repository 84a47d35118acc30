import { createIdentifySchedule } from '@qsb/sharding';
import { describe, expect, it } from 'vitest';
import { SlottedIdentifyThrottler } from '../../src/identify/throttlers.ts';

function fakeClock(start: number, lateBy: (ms: number) => number = () => 0) {
  let time = start;
  const sleeps: number[] = [];
  return {
    now: () => time,
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      time += ms + lateBy(ms);
    },
  };
}

describe('SlottedIdentifyThrottler', () => {
  const schedule = createIdentifySchedule({ shardCount: 4, maxConcurrency: 1, windowMs: 1000, guard: 0.1 });

  it('waits for the shard’s slot', async () => {
    const clock = fakeClock(8900);
    const throttler = new SlottedIdentifyThrottler({ schedule, now: clock.now, sleep: clock.sleep });
    await throttler.waitForIdentify(1, new AbortController().signal);
    expect(clock.sleeps).toEqual([1000]);
    expect(clock.now()).toBe(9900);
  });

  it('waits another cycle when woken after the guard', async () => {
    let first = true;
    const clock = fakeClock(8900, () => {
      const late = first ? 500 : 0;
      first = false;
      return late;
    });
    const throttler = new SlottedIdentifyThrottler({ schedule, now: clock.now, sleep: clock.sleep });
    await throttler.waitForIdentify(1, new AbortController().signal);
    expect(clock.now()).toBe(9900 + 4 * 1100);
  });

  it('stops when aborted', async () => {
    const clock = fakeClock(0);
    const controller = new AbortController();
    controller.abort();
    const throttler = new SlottedIdentifyThrottler({ schedule, now: clock.now, sleep: clock.sleep });
    await expect(throttler.waitForIdentify(2, controller.signal)).rejects.toThrow();
  });
});
