import { describe, expect, it } from 'vitest';
import {
  initialPlan,
  type LeaseView,
  type RouteSelf,
  type RoutingPlan,
  shouldAnswer,
  snowflakeAt,
  snowflakeTime,
} from '../../src/index.ts';

const NOW = 1_800_000_100_000;
const T = NOW - 1000;
const stable = initialPlan({ shardCount: 10, percent: 20 }, NOW - 60_000);
// 20% -> 50% cut over at T: shards 3-5 go to the canary for interactions created from T on.
const cutOver: RoutingPlan = {
  ...stable,
  epoch: 3,
  phase: 'CuttingOver',
  previousPercent: 20,
  percent: 50,
  cutoverAt: T,
  cutoverVisibleBy: T - 1900,
};
// The same cutover before the router confirmed it: each process goes by when it first read it.
const { cutoverVisibleBy: _confirmed, ...unconfirmed } = cutOver;
const connecting: RoutingPlan = {
  ...stable,
  epoch: 2,
  phase: 'Connecting',
  move: { id: 'm', from: 20, to: 50, startedAt: NOW - 500, connectDeadline: NOW + 60_000 },
};

const canary: RouteSelf = { deployment: 'canary', dyno: 1 };
const production: RouteSelf = { deployment: 'production', dyno: 1 };
const alive: LeaseView = {
  viewAt: NOW - 100,
  own: { expiresAt: NOW + 2000, acquiredAt: NOW - 10_000 },
  canaryMembers: [1],
};
const stale: LeaseView = { ...alive, viewAt: NOW - 1500 };
const canaryGone: LeaseView = { ...alive, canaryMembers: [], canaryAbsentSince: { 1: NOW - 3000 } };

describe('shouldAnswer', () => {
  it.each([
    // plan, self, shard, created, leases, answer, reason
    [stable, canary, 1, NOW, alive, true, 'owner'],
    [stable, production, 1, NOW, alive, false, 'canary-alive'],
    [stable, production, 0, NOW, alive, true, 'owner'],
    [stable, canary, 0, NOW, alive, false, 'not-owner'],
    [cutOver, production, 4, T - 1, alive, true, 'owner'],
    [cutOver, canary, 4, T - 1, alive, false, 'not-owner'],
    [cutOver, production, 4, T, alive, false, 'canary-alive'],
    [cutOver, canary, 4, T, alive, true, 'owner'],
    [stable, canary, 1, NOW, stale, false, 'stale-view'],
    [stable, production, 6, NOW, stale, true, 'owner'],
    [connecting, production, 4, NOW, stale, false, 'moving-stale-view'],
    [connecting, production, 6, NOW, stale, true, 'owner'],
    [connecting, canary, 4, NOW, alive, false, 'not-owner'],
    [
      stable,
      canary,
      1,
      NOW,
      { ...alive, own: { expiresAt: NOW + 100, acquiredAt: NOW - 9000 } },
      false,
      'lease-lost',
    ],
    [
      stable,
      canary,
      1,
      NOW,
      { ...alive, own: { expiresAt: NOW + 2900, acquiredAt: NOW - 100 } },
      false,
      'lease-too-new',
    ],
    [stable, canary, 1, NOW, { viewAt: NOW - 100, canaryMembers: [] }, false, 'lease-lost'],
    [stable, production, 1, NOW, canaryGone, true, 'failover'],
    [stable, production, 1, NOW - 3001, canaryGone, false, 'before-failover'],
    [stable, production, 1, NOW, { ...canaryGone, viewAt: NOW - 1500 }, false, 'stale-view'],
    [stable, production, 0, NOW - 6000, alive, false, 'too-old'],
    [stable, production, 0, NOW, { viewAt: NOW - 100, canaryMembers: [1] }, false, 'lease-lost'],
    [stable, production, 0, NOW, { viewAt: NOW - 1500, canaryMembers: [1] }, true, 'owner'],
    // A commit read by this process well ahead of T: the new owner answers from T.
    [unconfirmed, canary, 4, T, { ...alive, cutoverSeenAt: T - 1900 }, true, 'owner'],
    // A commit that became visible late (read 200 ms before T): views from before it live until
    // then plus maxViewAge, so the new owner waits that long; the old owner has stopped at T.
    [unconfirmed, canary, 4, T, { ...alive, cutoverSeenAt: T - 200 }, false, 'cutover-settling'],
    [unconfirmed, production, 4, T, { ...alive, cutoverSeenAt: T - 200 }, false, 'canary-alive'],
    [unconfirmed, canary, 4, T + 800, { ...alive, cutoverSeenAt: T - 200 }, true, 'owner'],
    [unconfirmed, canary, 4, T, alive, false, 'cutover-settling'],
    [{ ...cutOver, cutoverVisibleBy: T - 200 }, canary, 4, T + 799, alive, false, 'cutover-settling'],
    // Shards that did not move are not held back.
    [unconfirmed, canary, 1, T, { ...alive, cutoverSeenAt: T - 200 }, true, 'owner'],
    [unconfirmed, production, 7, T, { ...alive, cutoverSeenAt: T - 200 }, true, 'owner'],
  ] as const)('vector %#', (plan, self, shard, created, leases, answer, reason) => {
    const decision = shouldAnswer(plan, self, shard, snowflakeAt(created), NOW, leases);
    expect(decision).toMatchObject({ answer, reason });
  });

  it('reads the creation time of a snowflake', () => {
    // Discord's documented example: 175928847299117063 was created at 2016-04-30T11:18:25.796Z.
    expect(new Date(snowflakeTime('175928847299117063')).toISOString()).toBe('2016-04-30T11:18:25.796Z');
    expect(snowflakeTime(snowflakeAt(NOW))).toBe(NOW);
  });
});
