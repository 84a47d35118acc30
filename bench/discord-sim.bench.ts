import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startDiscordSim } from '@qsb/discord-sim';
import WebSocket, { WebSocketServer } from 'ws';
import { compare } from './lib/compare.ts';

const EVENTS = 5_000;

/** A plain ws client that counts messages and resolves when `n` more have arrived. */
async function counter(url: string) {
  const ws = new WebSocket(url);
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  let done: () => void = () => {};
  // Listen before 'open': a payload sent right after the upgrade can arrive in the same read.
  ws.on('message', () => {
    if (++count >= target) done();
  });
  await once(ws, 'open');
  return {
    ws,
    send: (data: string) => ws.send(data),
    received: () => count,
    expect(n: number): Promise<void> {
      return this.reach(count + n);
    },
    /** Resolves once `total` messages have arrived since the connection opened. */
    reach(total: number): Promise<void> {
      target = total;
      if (count >= total) return Promise.resolve();
      return new Promise<void>((resolve) => {
        done = resolve;
      });
    },
  };
}

/**
 * Dispatch throughput of the local Discord to one connected client, against raw ws sends of the same
 * pre-serialised payload (the least a WebSocket server can do per event). Goal: >= 50,000 events/s.
 */
export default async function run(): Promise<void> {
  const sim = await startDiscordSim({ guilds: 1, heartbeatIntervalMs: 3_600_000 });
  const guild = sim.world.guilds[0];
  if (!guild) throw new Error('the world has no guild');
  const client = await counter(`${sim.gatewayUrl}?v=10&encoding=json`);
  // HELLO, then READY and GUILD_CREATE after the IDENTIFY.
  const ready = client.reach(3);
  client.send(JSON.stringify({ op: 2, d: { token: sim.token, shard: [0, 1], intents: 1, properties: {} } }));
  await ready;

  const channel = guild.channels[0]?.id ?? '0';
  const d = {
    id: '1300000000000000000',
    channel_id: channel,
    guild_id: guild.id,
    author: {
      id: sim.world.dm.user.id,
      username: 'user0',
      discriminator: '0',
      avatar: null,
      global_name: 'user0',
    },
    content: 'hello from the benchmark',
    timestamp: new Date(0).toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
  };
  const event = { t: 'MESSAGE_CREATE', guildId: guild.id, d };

  // Reference: a bare ws server sending the same payload, already serialised, to one ws client.
  const raw = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(raw, 'listening');
  const serverSide = once(raw, 'connection') as Promise<[WebSocket]>;
  const rawClient = await counter(`ws://127.0.0.1:${(raw.address() as AddressInfo).port}/`);
  const [rawSocket] = await serverSide;
  const payload = JSON.stringify({ t: 'MESSAGE_CREATE', s: 1, op: 0, d });

  const rows = await compare(
    `@qsb/discord-sim: ${EVENTS.toLocaleString('en')} dispatches to one connected client`,
    {
      name: 'reference: raw ws.send of a pre-serialised payload',
      fn: async () => {
        const arrived = rawClient.expect(EVENTS);
        for (let i = 0; i < EVENTS; i++) rawSocket.send(payload);
        await arrived;
      },
    },
    [
      {
        name: 'sim.dispatch (serialise, sequence, replay buffer, send)',
        fn: async () => {
          const arrived = client.expect(EVENTS);
          for (let i = 0; i < EVENTS; i++) sim.dispatch(event);
          await arrived;
        },
      },
      {
        name: 'sim.sendInteraction (build, record, dispatch)',
        fn: async () => {
          const arrived = client.expect(EVENTS);
          for (let i = 0; i < EVENTS; i++) sim.sendInteraction({ guildId: guild.id, command: 'ping' });
          await arrived;
        },
      },
    ],
    { time: 2_000, batchMs: 100 },
  );
  for (const row of rows) {
    const perSecond = Math.round(EVENTS / (row.meanMs / 1000));
    console.log(`${row.name}: ${perSecond.toLocaleString('en')} events/s`);
  }
  client.ws.terminate();
  rawClient.ws.terminate();
  raw.close();
  await sim.close();
}
