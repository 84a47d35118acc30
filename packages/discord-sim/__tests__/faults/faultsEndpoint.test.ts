import { GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { type DiscordSimHandle, parseSimFaultRequest, startDiscordSim } from '../../src/index.ts';
import { identified, manualTime } from '../helpers.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(options: Parameters<typeof startDiscordSim>[0] = {}): Promise<DiscordSimHandle> {
  const s = await startDiscordSim({
    guilds: 8,
    shards: 4,
    maxConcurrency: 4,
    identifyWindowMs: 0,
    ...options,
  });
  cleanups.push(() => s.close());
  return s;
}

async function faults(
  s: DiscordSimHandle,
  method: string,
  body?: unknown,
  raw?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${s.port}/__sim/faults`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(raw !== undefined ? { body: raw } : body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('POST /__sim/faults from another process', () => {
  it('closes a shard with a code, and counts the connections it reached', async () => {
    const s = await sim();
    const { gw } = await identified(s, [2, 4]);
    const r = await faults(s, 'POST', { type: 'close', shard: 2, code: 4000, reason: 'rehearsal' });
    expect(r.status).toBe(200);
    expect(r.body.connections).toBe(1);
    expect(await gw.closed()).toBe(4000);
    expect(s.stats().closes.map((c) => [c.code, c.reason])).toEqual([[4000, 'rehearsal']]);
  });

  it('sends op 7 and op 9 to the shard named, and only to it', async () => {
    const s = await sim();
    const a = await identified(s, [1, 4]);
    const b = await identified(s, [3, 4]);
    expect((await faults(s, 'POST', { type: 'reconnect', shard: 1 })).body.connections).toBe(1);
    await a.gw.nextOp(GatewayOpcodes.Reconnect);
    const r = await faults(s, 'POST', { type: 'invalid-session', shard: 3, resumable: false });
    expect(r.body.connections).toBe(1);
    const op9 = await b.gw.nextOp(GatewayOpcodes.InvalidSession);
    expect(op9.d).toBe(false);
    expect(a.gw.received.some((p) => p.op === GatewayOpcodes.InvalidSession)).toBe(false);
    expect(b.gw.received.some((p) => p.op === GatewayOpcodes.Reconnect)).toBe(false);
    expect(s.stats().invalidSessions.map((i) => i.reason)).toEqual(['fault']);
  });

  it('serves 5xx and 429 on a route, lists what is pending, and DELETE clears every lasting fault', async () => {
    const s = await sim();
    expect(
      (await faults(s, 'POST', { type: 'rest', status: 503, count: 2, path: '/users/@me' })).status,
    ).toBe(200);
    await faults(s, 'POST', { type: 'rest', status: 429, path: '/gateway/bot', retryAfter: 2, global: true });
    await faults(s, 'POST', { type: 'latency', ms: 250 });
    await faults(s, 'POST', { type: 'heartbeat-acks', shard: 0, acknowledge: false });
    const listed = await faults(s, 'GET');
    expect(listed.body.faults).toEqual([
      { type: 'latency', ms: 250 },
      { type: 'heartbeat-acks', shard: 0, acknowledge: false },
      { type: 'rest', status: 503, left: 2, path: '/users/@me', retryAfter: null, global: false },
      { type: 'rest', status: 429, left: 1, path: '/gateway/bot', retryAfter: 2, global: true },
    ]);
    const me = () => fetch(`${s.apiUrl}/v10/users/@me`, { headers: { authorization: `Bot ${s.token}` } });
    expect((await me()).status).toBe(503);
    const limited = await fetch(`${s.apiUrl}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${s.token}` },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-global')).toBe('true');
    expect(((await faults(s, 'GET')).body.faults as { left?: number }[])[2]).toMatchObject({ left: 1 });
    const cleared = await faults(s, 'DELETE');
    expect(cleared.body).toEqual({ cleared: 3, faults: [] });
    expect((await me()).status).toBe(200);
  });

  it('delays dispatches by the latency asked for', async () => {
    const time = manualTime();
    const s = await sim({ now: time.now, timers: time.timers });
    const { gw } = await identified(s, [0, 4]);
    await faults(s, 'POST', { type: 'latency', ms: 500 });
    const guild = s.world.guilds.find((g) => s.shardOf(g.id) === 0);
    if (!guild) throw new Error('seed has no guild on shard 0');
    const before = gw.dispatches('INTERACTION_CREATE').length;
    s.sendInteraction({ command: 'ping', guildId: guild.id });
    expect(time.pending()).toBeGreaterThan(0);
    time.advance(499);
    expect(gw.dispatches('INTERACTION_CREATE').length).toBe(before);
    time.advance(1);
    await gw.until(() => gw.dispatches('INTERACTION_CREATE').length > before, 'the delayed interaction');
  });

  it('refuses bad input with one 400 naming the field, and changes nothing', async () => {
    const s = await sim();
    const cases: [unknown, string, RegExp][] = [
      [{ type: 'explode' }, 'type', /type: must be one of close, reconnect, .*rest, got "explode"/],
      [
        { type: 'close', shard: 4, code: 4000 },
        'shard',
        /shard: must be an integer from 0 to 3 \(the local Discord has 4 shards\), got 4/,
      ],
      [{ type: 'close', shard: 1, code: 1005 }, 'code', /code: must be a WebSocket close code .*got 1005/],
      [{ type: 'close', shard: '1', code: 4000 }, 'shard', /got "1"/],
      [
        { type: 'reconnect', shard: 1, code: 4000 },
        'code',
        /code: not a field of a reconnect fault, whose fields are type, shard/,
      ],
      [{ type: 'invalid-session', shard: 1 }, 'resumable', /resumable: must be true or false, got nothing/],
      [{ type: 'rest', status: 404 }, 'status', /status: must be 429 or an integer from 500 to 599, got 404/],
      [{ type: 'rest', status: 500, retryAfter: 1 }, 'retryAfter', /only a 429 fault takes it/],
      [
        { type: 'rest', status: 429, count: 0 },
        'count',
        /count: must be an integer from 1 to 1000000, got 0/,
      ],
      [{ type: 'latency', ms: -1 }, 'ms', /ms: must be an integer from 0 to 600000/],
      [[{ type: 'latency', ms: 1 }], 'body', /body: must be one JSON object/],
    ];
    for (const [body, field, message] of cases) {
      const r = await faults(s, 'POST', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field).toBe(field);
      expect(r.body.message).toMatch(message);
    }
    const invalidJson = await faults(s, 'POST', undefined, '{"type":');
    expect(invalidJson).toEqual({
      status: 400,
      body: { field: 'body', message: expect.stringMatching(/not valid JSON/) },
    });
    const put = await fetch(`http://127.0.0.1:${s.port}/__sim/faults`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    expect((await faults(s, 'GET')).body.faults).toEqual([]);
    expect(s.stats().closes).toEqual([]);
  });

  it('parseSimFaultRequest is the same check, for scripts that build requests', () => {
    expect(parseSimFaultRequest({ type: 'heartbeat-request', shard: 0 }, 1)).toEqual({
      ok: true,
      fault: { type: 'heartbeat-request', shard: 0 },
    });
    expect(parseSimFaultRequest(null, 1)).toMatchObject({ ok: false, field: 'body' });
  });
});
