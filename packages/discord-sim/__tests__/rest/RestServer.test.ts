import { afterEach, describe, expect, it } from 'vitest';
import { type DiscordSimHandle, type DiscordSimOptions, startDiscordSim } from '../../src/index.ts';
import { identified, manualClock } from '../helpers.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(options: DiscordSimOptions = {}): Promise<DiscordSimHandle> {
  const s = await startDiscordSim({ guilds: 5, ...options });
  cleanups.push(() => s.close());
  return s;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  headers: Headers;
}

async function call(
  s: DiscordSimHandle,
  method: string,
  path: string,
  init: { body?: unknown; raw?: string; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? `Bot ${s.token}` : init.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined;
  if (init.raw !== undefined || init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = init.raw ?? JSON.stringify(init.body);
  }
  const res = await fetch(`${s.apiUrl}/v10${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    headers: res.headers,
  };
}

describe('REST', () => {
  it('GET /gateway/bot: this gateway, the recommended shards and the session start limit', async () => {
    const s = await sim({ shards: 6, maxConcurrency: 2, sessionStartLimit: 50 });
    const r = await call(s, 'GET', '/gateway/bot');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      url: s.gatewayUrl,
      shards: 6,
      session_start_limit: { total: 50, remaining: 50, reset_after: 86_400_000, max_concurrency: 2 },
    });
  });

  it('refuses a wrong or missing bot token with 401', async () => {
    const s = await sim();
    expect((await call(s, 'GET', '/users/@me', { auth: 'Bot wrong' })).status).toBe(401);
    const missing = await call(s, 'GET', '/gateway/bot', { auth: null });
    expect(missing).toMatchObject({ status: 401, body: { message: '401: Unauthorized', code: 0 } });
    const ok = await call(s, 'GET', '/users/@me');
    expect(ok.body).toMatchObject({ id: s.world.bot.id, bot: true });
    expect((await call(s, 'GET', '/applications/@me')).body).toMatchObject({ id: s.world.applicationId });
  });

  it('answers an unknown route with a Discord 404 and a bad body with 50109 / 50035', async () => {
    const s = await sim();
    expect(await call(s, 'GET', '/nope')).toMatchObject({
      status: 404,
      body: { message: '404: Not Found', code: 0 },
    });
    const channel = s.world.guilds[0]?.channels[0]?.id ?? '';
    expect(await call(s, 'POST', `/channels/${channel}/messages`, { raw: '{"content":' })).toMatchObject({
      status: 400,
      body: { code: 50109 },
    });
    const bad = await call(s, 'PUT', `/applications/${s.world.applicationId}/commands`, {
      body: [{ name: 'Bad Name', description: 'x' }],
    });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        code: 50035,
        errors: { '0': { name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME' }] } } },
      },
    });
  });

  it('bulk-overwrites global and guild commands, keeping the id of a command that stays', async () => {
    const s = await sim();
    const app = s.world.applicationId;
    const first = await call(s, 'PUT', `/applications/${app}/commands`, {
      body: [{ name: 'ping', description: 'p' }],
    });
    const firstId = (first.body as unknown as { id: string }[])[0]?.id;
    const second = await call(s, 'PUT', `/applications/${app}/commands`, {
      body: [
        { name: 'ping', description: 'p2' },
        { name: 'roll', description: 'r' },
      ],
    });
    const cmds = second.body as unknown as { id: string; name: string }[];
    expect(cmds.map((c) => c.name)).toEqual(['ping', 'roll']);
    expect(cmds[0]?.id).toBe(firstId);
    const guild = s.world.guilds[1]?.id ?? '';
    const g = await call(s, 'PUT', `/applications/${app}/guilds/${guild}/commands`, {
      body: [{ name: 'local', description: 'l' }],
    });
    expect((g.body as unknown as { guild_id: string }[])[0]?.guild_id).toBe(guild);
    expect(
      (await call(s, 'PUT', `/applications/${app}/guilds/123/commands`, { body: [] })).body,
    ).toMatchObject({ code: 10004 });
    // A dispatched interaction carries the registered command's id.
    expect(s.sendInteraction({ command: 'roll' }).id).not.toBe('');
  });

  it('creates channel messages and refuses empty ones and unknown channels', async () => {
    const s = await sim();
    const channel = s.world.guilds[0]?.channels[0]?.id ?? '';
    const ok = await call(s, 'POST', `/channels/${channel}/messages`, { body: { content: 'hi' } });
    expect(ok.body).toMatchObject({ channel_id: channel, content: 'hi', author: { id: s.world.bot.id } });
    expect((await call(s, 'POST', `/channels/${channel}/messages`, { body: {} })).body).toMatchObject({
      code: 50006,
    });
    expect((await call(s, 'POST', '/channels/1/messages', { body: { content: 'x' } })).body).toMatchObject({
      code: 10003,
    });
    expect(s.stats().rest.messagesCreated).toBe(1);
  });
});

describe('channels and DMs', () => {
  it('opens a DM channel (the same one each time), fetches channels, sends to a DM', async () => {
    const s = await sim();
    const dm = await call(s, 'POST', '/users/@me/channels', { body: { recipient_id: '123456789012345678' } });
    expect(dm.body).toMatchObject({ type: 1, recipients: [{ id: '123456789012345678' }] });
    const again = await call(s, 'POST', '/users/@me/channels', {
      body: { recipient_id: '123456789012345678' },
    });
    expect(again.body?.id).toBe(dm.body?.id);
    const worldDm = await call(s, 'POST', '/users/@me/channels', {
      body: { recipient_id: s.world.dm.user.id },
    });
    expect(worldDm.body?.id).toBe(s.world.dm.id);
    const sent = await call(s, 'POST', `/channels/${String(dm.body?.id)}/messages`, {
      body: { content: 'hi' },
    });
    expect(sent.body).toMatchObject({ content: 'hi', channel_id: dm.body?.id });
    expect(
      (await call(s, 'POST', '/users/@me/channels', { body: { recipient_id: 'x' } })).body,
    ).toMatchObject({ code: 50035 });
    const guildChannel = s.world.guilds[0]?.channels[0];
    expect((await call(s, 'GET', `/channels/${guildChannel?.id}`)).body).toMatchObject({
      id: guildChannel?.id,
      guild_id: guildChannel?.guildId,
      type: 0,
    });
    expect((await call(s, 'GET', '/channels/42')).body).toMatchObject({ code: 10003 });
  });
});

describe('interaction callbacks', () => {
  it('first answer 204, second 400 40060; both counted', async () => {
    const s = await sim();
    const i = s.sendInteraction({ command: 'ping' });
    const path = `/interactions/${i.id}/${i.token}/callback`;
    const first = await call(s, 'POST', path, { auth: null, body: { type: 4, data: { content: 'pong' } } });
    expect(first.status).toBe(204);
    const second = await call(s, 'POST', path, { auth: null, body: { type: 4, data: { content: 'again' } } });
    expect(second).toMatchObject({
      status: 400,
      body: { code: 40060, message: 'Interaction has already been acknowledged.' },
    });
    const stats = s.stats().interactions;
    expect(stats.answered).toEqual({ zero: 0, one: 0, twoOrMore: 1, expired: 0 });
    expect(stats.list[0]?.answers.map((a) => a.outcome)).toEqual(['accepted', 'already-acknowledged']);
  });

  it('after the deadline the interaction is unknown (404 10062), on the injected clock', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, interactionDeadlineMs: 3_000 });
    const late = s.sendInteraction({ command: 'ping' });
    const onTime = s.sendInteraction({ command: 'ping' });
    clock.advance(3_000);
    expect(
      (
        await call(s, 'POST', `/interactions/${onTime.id}/${onTime.token}/callback`, {
          auth: null,
          body: { type: 5 },
        })
      ).status,
    ).toBe(204);
    clock.advance(1);
    const r = await call(s, 'POST', `/interactions/${late.id}/${late.token}/callback`, {
      auth: null,
      body: { type: 5 },
    });
    expect(r).toMatchObject({ status: 404, body: { code: 10062, message: 'Unknown interaction' } });
    const list = s.stats().interactions.list;
    expect(list.map((x) => x.answers.map((a) => [a.outcome, a.latencyMs]))).toEqual([
      [['expired', 3_001]],
      [['accepted', 3_000]],
    ]);
    // The late one was refused: expired, not answered once.
    expect(s.stats().interactions.answered).toEqual({ zero: 0, one: 1, twoOrMore: 0, expired: 1 });
    // Trying again does not make it answered: still expired, and the totals still sum to dispatched.
    await call(s, 'POST', `/interactions/${late.id}/${late.token}/callback`, {
      auth: null,
      body: { type: 5 },
    });
    const again = s.stats().interactions;
    expect(again.answered).toEqual({ zero: 0, one: 1, twoOrMore: 0, expired: 1 });
    expect(again.latencyMs.max).toBe(3_000);
  });

  it('a wrong token is an unknown interaction; an empty reply is refused', async () => {
    const s = await sim();
    const i = s.sendInteraction({ command: 'ping' });
    expect(
      (await call(s, 'POST', `/interactions/${i.id}/nope/callback`, { body: { type: 5 } })).body,
    ).toMatchObject({ code: 10062 });
    expect(
      (await call(s, 'POST', `/interactions/${i.id}/${i.token}/callback`, { body: { type: 4, data: {} } }))
        .body,
    ).toMatchObject({ code: 50006 });
    expect(s.stats().interactions.answered.zero).toBe(1);
  });

  it('follow-ups and @original edits work once acknowledged', async () => {
    const s = await sim();
    const i = s.sendInteraction({ command: 'ping' });
    const hook = `/webhooks/${s.world.applicationId}/${i.token}`;
    expect((await call(s, 'POST', hook, { auth: null, body: { content: 'early' } })).body).toMatchObject({
      code: 10015,
    });
    await call(s, 'POST', `/interactions/${i.id}/${i.token}/callback?with_response=false`, {
      auth: null,
      body: { type: 5 },
    });
    const edit = await call(s, 'PATCH', `${hook}/messages/@original`, {
      auth: null,
      body: { content: 'done' },
    });
    expect(edit.body).toMatchObject({ content: 'done', channel_id: i.channelId });
    const follow = await call(s, 'POST', hook, { auth: null, body: { content: 'more' } });
    expect(follow.body).toMatchObject({ content: 'more' });
  });

  it('records the answering User-Agent and the sessions an interaction went to', async () => {
    const s = await sim();
    const { gw, sessionId } = await identified(s, [0, 1]);
    cleanups.push(() => gw.terminate());
    const i = s.sendInteraction({ command: 'ping' });
    await fetch(`${s.apiUrl}/v10/interactions/${i.id}/${i.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'DiscordBot (x, 1) canary/dyno-1' },
      body: JSON.stringify({ type: 4, data: { content: 'hi' } }),
    });
    const rec = s.stats().interactions.list[0];
    expect(rec?.sessionIds).toEqual([sessionId]);
    expect(rec?.answers[0]?.userAgent).toBe('DiscordBot (x, 1) canary/dyno-1');
  });
});

describe('REST faults and /__sim/stats', () => {
  it('429 with retry_after and the rate-limit headers, then 5xx, then normal', async () => {
    const s = await sim();
    s.faults.rest({ status: 429, retryAfter: 1.5, path: '/users/@me' });
    s.faults.rest({ status: 502 });
    const limited = await call(s, 'GET', '/users/@me');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ message: 'You are being rate limited.', retry_after: 1.5, global: false });
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset-after')).toBe('1.500');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
    expect((await call(s, 'GET', '/gateway/bot')).status).toBe(502);
    expect((await call(s, 'GET', '/gateway/bot')).status).toBe(200);
  });

  it('GET /__sim/stats returns the typed stats as JSON', async () => {
    const s = await sim();
    s.sendInteraction({ command: 'ping' });
    const r = await fetch(`http://127.0.0.1:${s.port}/__sim/stats`);
    const json = (await r.json()) as { interactions: { dispatched: number }; shards: unknown[] };
    expect(json.interactions.dispatched).toBe(1);
    expect(json.shards).toEqual([{ shardId: 0, openSessions: [] }]);
    const summary = (await (
      await fetch(`http://127.0.0.1:${s.port}/__sim/stats?interactions=summary`)
    ).json()) as {
      interactions: { dispatched: number; list: unknown[] };
    };
    expect(summary.interactions).toMatchObject({ dispatched: 1, list: [] });
    expect(s.stats().interactions.list).toHaveLength(1);
  });
});
