import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlanKey, RouteMember, readOrBootPlan, silentLogger } from '@qsb/router';
import { FileStore } from '@qsb/store';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/support/processes.ts';
import { qsb } from '../support/qsb.ts';

const folder = mkdtempSync(join(tmpdir(), 'qsb-route-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

// Short timings, so that a whole move takes about a second of real time.
const timings = {
  leaseTtlMs: 900,
  maxViewAgeMs: 300,
  cutoverLeadMs: 400,
  graceMs: 300,
  interactionMaxAgeMs: 300,
  connectTimeoutMs: 10_000,
};

async function seeded(percent = 20): Promise<{ env: NodeJS.ProcessEnv; store: FileStore }> {
  const path = join(folder, `store-${++files}.json`);
  const store = await new FileStore(path).open();
  await readOrBootPlan(store, { shardCount: 10, percent, timings }, Date.now());
  return { env: { QSB_STORE: `file:${path}` }, store };
}

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((stop) => stop()));
});

/** Both deployments' members, refreshing every 50 ms with their sessions READY at once. */
function members(store: FileStore): void {
  for (const deployment of ['production', 'canary'] as const) {
    const member = new RouteMember({
      store,
      self: { deployment, dyno: 1 },
      boot: { shardCount: 10, percent: 20 },
      logger: silentLogger,
    });
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      await member.refresh().catch(() => undefined);
      member.setReady(member.wantedShards());
      busy = false;
    }, 50);
    running.push(async () => {
      clearInterval(timer);
      await member.leave();
    });
  }
}

describe('qsb route', () => {
  it('shows the plan diff with --dry-run and changes nothing', async () => {
    const { env, store } = await seeded();
    const before = await store.get(PlanKey);
    const { code, out } = await qsb(['route', '--percent', '50', '--dry-run', '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      dryRun: true,
      from: 20,
      to: 50,
      diff: { toCanary: [3, 4, 5] },
      guildShare: 0.3,
    });
    const text = await qsb(['route', '--percent', '0', '--dry-run'], env);
    expect(text.out).toContain('to production:     shards 1-2');
    expect(text.out).toContain('guilds that move:  ~20.0%');
    expect(await store.get(PlanKey)).toEqual(before);
    await store.close();
  });

  it('moves the canary live, printing progress, and shows it with --status', async () => {
    const { env, store } = await seeded();
    members(store);
    const { code, out, err } = await qsb(['route', '--percent', '50', '--json'], env);
    expect(err).toContain('route Stable -> Connecting: move 20% -> 50%');
    expect(err).toContain('route Draining -> Stable: move to 50% done');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      dryRun: false,
      result: { phase: 'Stable', percent: 50, epoch: 6 },
    });
    const status = await qsb(['route', '--status'], env);
    expect(status.out).toContain('canary at 50%, Stable, epoch 6');
    expect(status.out).toMatch(/canary:1 +shards 1-5 +lease canary\/1\//);
    await store.close();
  });

  it('aborts, exit code 1, when a receiver never reports READY', async () => {
    const path = join(folder, `store-${++files}.json`);
    const store = await new FileStore(path).open();
    await readOrBootPlan(
      store,
      { shardCount: 10, percent: 20, timings: { ...timings, connectTimeoutMs: 300 } },
      Date.now(),
    );
    const { code, err } = await qsb(['route', '--percent', '50'], { QSB_STORE: `file:${path}` });
    expect(code).toBe(1);
    expect(err).toContain(
      'qsb: move 20% -> 50% aborted: not ready by the deadline: production:1 (no acknowledgement), canary:1 (no acknowledgement)',
    );
    expect(JSON.parse((await store.get(PlanKey))?.value ?? '{}')).toMatchObject({
      phase: 'Aborted',
      percent: 20,
    });
    await store.close();
  });

  it('refuses a move while another is in progress, in one line, changing nothing', async () => {
    const { env, store } = await seeded();
    const plan = JSON.parse((await store.get(PlanKey))?.value ?? '{}');
    await store.set(
      PlanKey,
      JSON.stringify({
        ...plan,
        epoch: 2,
        phase: 'Connecting',
        move: { id: 'x', from: 20, to: 50, startedAt: 0, connectDeadline: Date.now() + 60_000 },
      }),
    );
    const before = await store.get(PlanKey);
    const { code, err } = await qsb(['route', '--percent', '0'], env);
    expect(code).toBe(3);
    expect(err).toBe(
      'qsb: a move is already in progress: 20% -> 50% is Connecting (epoch 2); wait for it, or run the same move again to continue it',
    );
    expect(await store.get(PlanKey)).toEqual(before);
    await store.close();
  });

  it.each([
    [
      ['route', '--percent', '150'],
      {},
      "'--percent <p>' argument '150' is invalid. must be a number from 0 to 100",
    ],
    [['route'], {}, 'qsb: nothing to do: pass --percent P (0..100) or --status'],
    [['route', '--percent', '5', '--status'], {}, 'qsb: --status and --percent are exclusive'],
    [
      ['route', '--status'],
      { QSB_STORE: 'postgres://u:pw@h/db' },
      'qsb: invalid store: QSB_STORE="postgres://u:***@h/db" is not a store; allowed: memory:',
    ],
    [
      ['route', '--percent', '50'],
      { QSB_STORE: 'memory:' },
      'qsb: no routing plan in the store: memory:: no bot has started against this store yet',
    ],
  ])('refuses %j in one line', async (argv, env, message) => {
    const { code, err } = await qsb(argv, env);
    expect(code).toBe(3);
    expect(err.split('\n')[0]).toContain(message);
  });

  it('refuses a store that cannot be reached, password masked', async () => {
    const port = await freePort();
    const { code, err } = await qsb(['route', '--percent', '50'], {
      QSB_STORE: `redis://:hunter2@127.0.0.1:${port}`,
    });
    expect(code).toBe(3);
    expect(err).toBe(
      `qsb: store unreachable: redis://:***@127.0.0.1:${port} prefix qsb: (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });
});
