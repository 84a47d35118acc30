import { inflateSync, constants as zlibConstants } from 'node:zlib';
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DiscordSimHandle, type DiscordSimOptions, startDiscordSim } from '../../src/index.ts';
import { identified, manualClock, manualTime, RawGateway } from '../helpers.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(options: DiscordSimOptions = {}): Promise<DiscordSimHandle> {
  const s = await startDiscordSim({ guilds: 12, ...options });
  cleanups.push(() => s.close());
  return s;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

async function connect(s: DiscordSimHandle, query?: string): Promise<RawGateway> {
  const gw = await RawGateway.connect(s.gatewayUrl, query);
  cleanups.push(() => gw.terminate());
  return gw;
}

async function session(s: DiscordSimHandle, shard: [number, number], intents = 1) {
  const r = await identified(s, shard, intents);
  cleanups.push(() => r.gw.terminate());
  return r;
}

describe('connection', () => {
  it('says HELLO, acknowledges heartbeats and sends a heartbeat request on demand', async () => {
    const s = await sim({ heartbeatIntervalMs: 30_000 });
    const gw = await connect(s);
    const hello = await gw.nextOp(GatewayOpcodes.Hello);
    expect(hello.d).toEqual({ heartbeat_interval: 30_000 });
    expect(hello.s).toBeNull();
    gw.send(GatewayOpcodes.Heartbeat, null);
    await gw.nextOp(GatewayOpcodes.HeartbeatAck);
    gw.identify(s.token, [0, 1]);
    await gw.until(() => gw.dispatches('READY')[0], 'READY');
    const before = gw.received.length;
    expect(s.faults.requestHeartbeat(0)).toBe(1);
    const request = await gw.nextOp(GatewayOpcodes.Heartbeat, before);
    expect(request.d).toBe(s.stats().sessions[0]?.seq);
  });

  it('READY lists the shard guilds unavailable, then one GUILD_CREATE each, sequence numbers 1, 2, 3...', async () => {
    const s = await sim({ guilds: 30, shards: 3 });
    const { gw } = await session(s, [2, 3]);
    const expected = s.world.guilds.filter((g) => s.shardOf(g.id, 3) === 2).map((g) => g.id);
    await gw.until(() => gw.dispatches('GUILD_CREATE').length === expected.length, 'GUILD_CREATEs');
    const ready = gw.dispatches('READY')[0];
    const d = ready?.d as {
      guilds: { id: string; unavailable: boolean }[];
      shard: number[];
      resume_gateway_url: string;
    };
    expect(d.guilds).toEqual(expected.map((id) => ({ id, unavailable: true })));
    expect(d.shard).toEqual([2, 3]);
    expect(d.resume_gateway_url).toBe(s.gatewayUrl);
    expect(gw.dispatches('GUILD_CREATE').map((p) => (p.d as { id: string }).id)).toEqual(expected);
    const seqs = gw.received.filter((p) => p.op === 0).map((p) => p.s);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('sends DM events to shard 0 only', async () => {
    const s = await sim({ guilds: 4, maxConcurrency: 2 });
    const zero = await session(s, [0, 2]);
    const one = await session(s, [1, 2]);
    const sent = s.sendInteraction({ dm: true, command: 'ping' });
    expect(sent.sessionIds).toEqual([zero.sessionId]);
    expect(sent.guildId).toBeNull();
    await zero.gw.until(() => zero.gw.dispatches('INTERACTION_CREATE')[0], 'DM interaction');
    expect(one.gw.dispatches('INTERACTION_CREATE')).toHaveLength(0);
  });

  it('two sessions on the same shard both receive its events', async () => {
    const s = await sim({ guilds: 6, identifyWindowMs: 0 });
    const a = await session(s, [0, 1]);
    const b = await session(s, [0, 1]);
    const sent = s.sendInteraction({ command: 'ping' });
    expect([...sent.sessionIds].sort()).toEqual([a.sessionId, b.sessionId].sort());
    for (const { gw } of [a, b]) {
      const got = await gw.until(() => gw.dispatches('INTERACTION_CREATE')[0], 'interaction');
      expect((got.d as { id: string }).id).toBe(sent.id);
    }
    expect(s.stats().shards[0]?.openSessions).toHaveLength(2);
  });
});

describe('zlib-stream', () => {
  it('deflates every payload in one stream, each message ending in a sync flush', async () => {
    const s = await sim({ guilds: 3 });
    const ws = new WebSocket(`${s.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`);
    cleanups.push(async () => ws.terminate());
    const messages: Buffer[] = [];
    const payloads: { op: number; t: string | null }[] = [];
    let decoded = 0;
    ws.on('message', (data: Buffer, isBinary) => {
      expect(isBinary).toBe(true);
      expect([...data.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
      messages.push(data);
      // The stream so far, inflated; the new text is this message's payload.
      const text = inflateSync(Buffer.concat(messages), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
      }).toString();
      payloads.push(JSON.parse(text.slice(decoded)));
      decoded = text.length;
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(
      JSON.stringify({
        op: GatewayOpcodes.Identify,
        d: { token: s.token, shard: [0, 1], intents: 1, properties: {} },
      }),
    );
    for (let i = 0; i < 200 && payloads.length < 5; i++) await new Promise((r) => setTimeout(r, 5));
    expect(payloads.map((p) => p.t ?? p.op)).toEqual([
      GatewayOpcodes.Hello,
      'READY',
      'GUILD_CREATE',
      'GUILD_CREATE',
      'GUILD_CREATE',
    ]);
  });
});

describe('close codes', () => {
  const cases: [
    string,
    DiscordSimOptions,
    (s: DiscordSimHandle, gw: RawGateway) => void,
    number,
    string | null,
  ][] = [
    [
      'a wrong token: 4004',
      {},
      (_s, gw) => gw.identify('not-the-token', [0, 1]),
      GatewayCloseCodes.AuthenticationFailed,
      'authentication-failed',
    ],
    [
      'a shard id out of range: 4010',
      {},
      (s, gw) => gw.identify(s.token, [2, 2]),
      GatewayCloseCodes.InvalidShard,
      'invalid-shard',
    ],
    [
      'a shard count not a multiple of the assigned one: 4010',
      { shardCountMultiple: 16 },
      (s, gw) => gw.identify(s.token, [0, 8]),
      GatewayCloseCodes.InvalidShard,
      'invalid-shard',
    ],
    [
      'too many guilds on one shard: 4011',
      { guilds: 12, maxGuildsPerShard: 5 },
      (s, gw) => gw.identify(s.token, [0, 1]),
      GatewayCloseCodes.ShardingRequired,
      'sharding-required',
    ],
    [
      'unknown intent bits: 4013',
      {},
      (s, gw) => gw.identify(s.token, [0, 1], 1 << 30),
      GatewayCloseCodes.InvalidIntents,
      'invalid-intents',
    ],
    [
      'a privileged intent not enabled: 4014',
      {},
      (s, gw) => gw.identify(s.token, [0, 1], GatewayIntentBits.Guilds | GatewayIntentBits.MessageContent),
      GatewayCloseCodes.DisallowedIntents,
      'disallowed-intents',
    ],
    ['an unknown opcode: 4001', {}, (_s, gw) => gw.send(42, null), GatewayCloseCodes.UnknownOpcode, null],
    [
      'a payload that is not JSON: 4002',
      {},
      (_s, gw) => gw.sendRaw('{nope'),
      GatewayCloseCodes.DecodeError,
      null,
    ],
    [
      'a request before IDENTIFY: 4003',
      {},
      (_s, gw) => gw.send(GatewayOpcodes.RequestGuildMembers, {}),
      GatewayCloseCodes.NotAuthenticated,
      null,
    ],
  ];

  for (const [name, options, act, code, outcome] of cases) {
    it(name, async () => {
      const s = await sim(options);
      const gw = await connect(s);
      await gw.nextOp(GatewayOpcodes.Hello);
      act(s, gw);
      expect(await gw.closed()).toBe(code);
      const stats = s.stats();
      expect(stats.closes.map((c) => c.code)).toEqual([code]);
      if (outcome) expect(stats.identifies.map((i) => i.outcome)).toEqual([outcome]);
    });
  }

  it('a privileged intent enabled for the application is accepted', async () => {
    const s = await sim({ privilegedIntents: GatewayIntentBits.MessageContent });
    const { gw } = await session(s, [0, 1], GatewayIntentBits.Guilds | GatewayIntentBits.MessageContent);
    expect(gw.closeCode).toBeNull();
  });

  it('a second IDENTIFY on one connection: 4005', async () => {
    const s = await sim();
    const { gw } = await session(s, [0, 1]);
    gw.identify(s.token, [0, 1]);
    expect(await gw.closed()).toBe(GatewayCloseCodes.AlreadyAuthenticated);
  });

  it('more than 120 payloads in 60 s: 4008', async () => {
    const s = await sim();
    const gw = await connect(s);
    for (let i = 0; i < 121; i++) gw.send(GatewayOpcodes.Heartbeat, null);
    expect(await gw.closed()).toBe(GatewayCloseCodes.RateLimited);
  });

  it('a RESUME with a sequence number the session never reached: 4007', async () => {
    const s = await sim();
    const { gw, sessionId } = await session(s, [0, 1]);
    await gw.terminate();
    const again = await connect(s);
    again.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq: 10_000 });
    expect(await again.closed()).toBe(GatewayCloseCodes.InvalidSeq);
  });

  it('an API version other than 10: 4012', async () => {
    const s = await sim();
    const gw = await connect(s, '?v=9&encoding=json');
    expect(await gw.closed()).toBe(GatewayCloseCodes.InvalidAPIVersion);
  });

  it('no heartbeat for 1.5 intervals: 4009, and the session cannot be resumed', async () => {
    const time = manualTime();
    const s = await sim({ heartbeatIntervalMs: 1_000, now: time.now, timers: time.timers });
    const { gw, sessionId } = await session(s, [0, 1]);
    time.advance(1_499);
    gw.send(GatewayOpcodes.Heartbeat, null);
    await gw.nextOp(GatewayOpcodes.HeartbeatAck);
    // The heartbeat pushed the deadline back: 1,499 ms later the connection is still open.
    time.advance(1_499);
    expect(s.stats().closes).toEqual([]);
    time.advance(1);
    expect(await gw.closed()).toBe(GatewayCloseCodes.SessionTimedOut);
    expect(s.stats().sessions.find((x) => x.id === sessionId)?.state).toBe('invalidated');
    expect(time.pending()).toBe(0);
  });
});

describe('resume', () => {
  it('replays what a dropped connection missed, then RESUMED', async () => {
    const s = await sim({ guilds: 3 });
    const { gw, sessionId } = await session(s, [0, 1]);
    await gw.until(() => gw.dispatches('GUILD_CREATE').length === 3, 'guilds');
    const seq = gw.received.at(-1)?.s ?? 0;
    await gw.terminate();
    const missed = [s.sendInteraction({ command: 'a' }), s.sendInteraction({ command: 'b' })];
    expect(missed.every((m) => m.sessionIds.includes(sessionId))).toBe(true);

    const again = await connect(s);
    await again.nextOp(GatewayOpcodes.Hello);
    again.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq });
    await again.until(() => again.dispatches('RESUMED')[0], 'RESUMED');
    const dispatches = again.received.filter((p) => p.op === 0);
    expect(dispatches.map((p) => [p.t, p.s])).toEqual([
      ['INTERACTION_CREATE', seq + 1],
      ['INTERACTION_CREATE', seq + 2],
      ['RESUMED', seq + 3],
    ]);
    expect(dispatches.slice(0, 2).map((p) => (p.d as { id: string }).id)).toEqual(missed.map((m) => m.id));
    const stats = s.stats();
    expect(stats.replayedEvents).toBe(2);
    expect(stats.resumes).toMatchObject([{ sessionId, outcome: 'resumed', replayed: 2 }]);
    expect(stats.identifies).toHaveLength(1);
  });

  for (const code of [1000, 1001]) {
    it(`a session closed by the client with ${code} cannot be resumed (op 9, d: false)`, async () => {
      const s = await sim();
      const { gw, sessionId } = await session(s, [0, 1]);
      await gw.close(code);
      await until(() => s.stats().sessions[0]?.state === 'invalidated');
      const again = await connect(s);
      await again.nextOp(GatewayOpcodes.Hello);
      again.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq: 1 });
      const nine = await again.nextOp(GatewayOpcodes.InvalidSession);
      expect(nine.d).toBe(false);
      expect(s.stats().resumes).toMatchObject([{ sessionId, outcome: 'refused' }]);
    });
  }

  it('a session closed by the server with 4000 can be resumed; the window is on the injected clock', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, resumeWindowMs: 60_000 });
    const { gw, sessionId } = await session(s, [0, 1]);
    expect(s.faults.closeShard(0, GatewayCloseCodes.UnknownError)).toBe(1);
    expect(await gw.closed()).toBe(GatewayCloseCodes.UnknownError);
    const again = await connect(s);
    again.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq: 1 });
    await again.until(() => again.dispatches('RESUMED')[0], 'RESUMED');
    await again.terminate();
    await until(() => s.stats().sessions[0]?.state === 'disconnected');
    clock.advance(60_001);
    const late = await connect(s);
    late.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq: 1 });
    expect((await late.nextOp(GatewayOpcodes.InvalidSession)).d).toBe(false);
  });

  it('events older than the replay buffer cannot be replayed', async () => {
    const s = await sim({ guilds: 1, replayBufferSize: 4 });
    const { gw, sessionId } = await session(s, [0, 1]);
    await gw.terminate();
    for (let i = 0; i < 6; i++) s.sendInteraction({ command: 'x' });
    const again = await connect(s);
    again.send(GatewayOpcodes.Resume, { token: s.token, session_id: sessionId, seq: 2 });
    expect((await again.nextOp(GatewayOpcodes.InvalidSession)).d).toBe(false);
  });
});

describe('identify limits, per token across connections', () => {
  it('one IDENTIFY per bucket per window: the second of a bucket gets op 9 (d: false)', async () => {
    const clock = manualClock();
    const s = await sim({ guilds: 8, shards: 4, maxConcurrency: 2, identifyWindowMs: 5_000, now: clock.now });
    await session(s, [0, 4]);
    const sameBucket = await connect(s);
    await sameBucket.nextOp(GatewayOpcodes.Hello);
    sameBucket.identify(s.token, [2, 4]);
    expect((await sameBucket.nextOp(GatewayOpcodes.InvalidSession)).d).toBe(false);
    expect(sameBucket.dispatches('READY')).toHaveLength(0);
    // Another bucket is free in the same window.
    await session(s, [1, 4]);
    clock.advance(5_000);
    sameBucket.identify(s.token, [2, 4]);
    await sameBucket.until(() => sameBucket.dispatches('READY')[0], 'READY after the window');
    const stats = s.stats();
    expect(stats.identifies.map((i) => [i.shard?.[0], i.bucket, i.outcome])).toEqual([
      [0, 0, 'ready'],
      [2, 0, 'rate-limited'],
      [1, 1, 'ready'],
      [2, 0, 'ready'],
    ]);
    expect(stats.invalidSessions).toMatchObject([{ resumable: false, reason: 'identify-rate-limited' }]);
  });

  it('session_start_limit.remaining counts down; when spent, IDENTIFY is refused and every session ends', async () => {
    const s = await sim({ sessionStartLimit: 2, identifyWindowMs: 0 });
    const gatewayBot = async () =>
      (await (
        await fetch(`${s.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${s.token}` } })
      ).json()) as {
        session_start_limit: { remaining: number; total: number };
      };
    expect((await gatewayBot()).session_start_limit).toMatchObject({ total: 2, remaining: 2 });
    const first = await session(s, [0, 1]);
    expect((await gatewayBot()).session_start_limit.remaining).toBe(1);
    const second = await session(s, [0, 1]);
    expect((await gatewayBot()).session_start_limit.remaining).toBe(0);
    const third = await connect(s);
    third.identify(s.token, [0, 1]);
    expect(await third.closed()).toBe(GatewayCloseCodes.AuthenticationFailed);
    expect(s.stats().identifies.at(-1)?.outcome).toBe('session-start-limit');
    // As on Discord, the token is reset: the sessions already open end too, and cannot be resumed.
    expect(await first.gw.closed()).toBe(GatewayCloseCodes.AuthenticationFailed);
    expect(await second.gw.closed()).toBe(GatewayCloseCodes.AuthenticationFailed);
    expect(s.stats().sessions.map((x) => x.state)).toEqual(['invalidated', 'invalidated']);
  });
});

describe('faults', () => {
  it('op 7 RECONNECT and op 9 with its resumable flag', async () => {
    const s = await sim();
    const { gw, sessionId } = await session(s, [0, 1]);
    expect(s.faults.reconnect(0)).toBe(1);
    await gw.nextOp(GatewayOpcodes.Reconnect);
    s.faults.invalidateSession(0, true);
    expect((await gw.nextOp(GatewayOpcodes.InvalidSession)).d).toBe(true);
    expect(s.stats().sessions.find((x) => x.id === sessionId)?.state).toBe('open');
    const n = gw.received.length;
    s.faults.invalidateSession(0, false);
    expect((await gw.nextOp(GatewayOpcodes.InvalidSession, n)).d).toBe(false);
    expect(s.stats().sessions.find((x) => x.id === sessionId)?.state).toBe('invalidated');
  });

  it('stops acknowledging heartbeats on demand', async () => {
    const s = await sim({ identifyWindowMs: 0 });
    const { gw } = await session(s, [0, 1]);
    s.faults.setHeartbeatAcks(0, false);
    gw.send(GatewayOpcodes.Heartbeat, 1);
    // A second IDENTIFY closes the connection (4005) after the heartbeat was handled: the close is the
    // last thing on the wire, so an ACK, had one been sent, would have arrived before it.
    gw.identify(s.token, [0, 1]);
    expect(await gw.closed()).toBe(GatewayCloseCodes.AlreadyAuthenticated);
    expect(gw.received.filter((p) => p.op === GatewayOpcodes.HeartbeatAck)).toHaveLength(0);
    s.faults.setHeartbeatAcks(0, true);
    const again = await session(s, [0, 1]);
    again.gw.send(GatewayOpcodes.Heartbeat, 1);
    await again.gw.nextOp(GatewayOpcodes.HeartbeatAck);
  });

  it('delays dispatches on demand', async () => {
    const time = manualTime();
    const s = await sim({ now: time.now, timers: time.timers });
    const { gw } = await session(s, [0, 1]);
    s.faults.delayDispatches(80);
    s.sendInteraction({ command: 'slow' });
    gw.send(GatewayOpcodes.Heartbeat, null);
    // The ACK (not delayed) arrives; the interaction is still held.
    await gw.nextOp(GatewayOpcodes.HeartbeatAck);
    expect(gw.dispatches('INTERACTION_CREATE')).toHaveLength(0);
    time.advance(80);
    await gw.until(() => gw.dispatches('INTERACTION_CREATE')[0], 'delayed interaction');
  });
});
