import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscordSimError, DiscordSimErrorCodes } from './errors/DiscordSimError.ts';
import type { ActiveSimFault, SimFaultRequest } from './faults/faultRequest.ts';
import { Gateway, type GatewayEvent } from './gateway/Gateway.ts';
import { IdentifyLimiter } from './gateway/IdentifyLimiter.ts';
import { Interactions, type SendInteractionInput, type SimInteraction } from './interactions/Interactions.ts';
import { type DiscordSimOptions, resolveSimOptions } from './options.ts';
import { type RestFault, RestServer, type SimFaultControl } from './rest/RestServer.ts';
import type { SimStats } from './stats.ts';
import { Traffic, type TrafficOptions } from './traffic/Traffic.ts';
import { seededRandom } from './world/random.ts';
import { SnowflakeFactory } from './world/snowflake.ts';
import { createWorld, type SimWorld } from './world/world.ts';

/** Options of {@link DiscordSimHandle.stats}. */
export interface SimStatsOptions {
  /** Include every interaction's record; default true. */
  readonly interactionList?: boolean;
}

/** Faults on demand. Each returns how many connections it touched, where that applies. */
export interface SimFaults {
  /** Closes every connection of a shard with a close code (4000..4014, 1000, ...). */
  closeShard(shardId: number, code: number, reason?: string): number;
  /** Sends op 7 RECONNECT to a shard's connections. */
  reconnect(shardId: number): number;
  /** Sends op 9 INVALID_SESSION; `resumable: false` also ends the sessions. */
  invalidateSession(shardId: number, resumable: boolean): number;
  /** Sends op 1: the server asks for a heartbeat now. */
  requestHeartbeat(shardId: number): number;
  /** Stops (false) or restarts (true) acknowledging a shard's heartbeats. */
  setHeartbeatAcks(shardId: number, acknowledge: boolean): void;
  /** Delays every dispatch by `ms`; 0 restores immediate delivery. */
  delayDispatches(ms: number): void;
  /** Answers the next matching REST request(s) with a 5xx or a 429. */
  rest(fault: RestFault): void;
  /** Removes pending REST faults. */
  clearRest(): void;
}

/** The running local Discord. */
export interface DiscordSimHandle {
  /** Base for discord.js `rest.api`: `http://127.0.0.1:P/api`. */
  readonly apiUrl: string;
  /** The gateway `GET /gateway/bot` hands out: `ws://127.0.0.1:P/`. */
  readonly gatewayUrl: string;
  readonly port: number;
  /** The bot token accepted. */
  readonly token: string;
  readonly world: SimWorld;
  /** Dispatches a slash command interaction to the sessions of its shard. */
  sendInteraction(input: SendInteractionInput): SimInteraction;
  /** Dispatches any event to the sessions of a guild's shard (shard 0 when `guildId` is null). */
  dispatch(event: GatewayEvent): readonly string[];
  /** The shard of a guild for a shard count (default: the recommended one). */
  shardOf(guildId: string, shardCount?: number): number;
  readonly traffic: { start(options: TrafficOptions): void; stop(): void; readonly sent: number };
  /**
   * Everything counted so far. `{ interactionList: false }` leaves `interactions.list` empty (the
   * totals stay), for polling under heavy traffic; `GET /__sim/stats?interactions=summary` does the same.
   */
  stats(options?: SimStatsOptions): SimStats;
  readonly faults: SimFaults;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

/**
 * Starts a local Discord on 127.0.0.1: gateway v10 (JSON) and the REST routes a bot uses, with
 * Discord's limits and refusals.
 *
 * @example
 * const sim = await startDiscordSim({ guilds: 20, shards: 2 });
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], shards: [0], shardCount: 2, rest: { api: sim.apiUrl } });
 * await client.login(sim.token);
 */
export async function startDiscordSim(options: DiscordSimOptions = {}): Promise<DiscordSimHandle> {
  const o = resolveSimOptions(options);
  const world = createWorld(o.guilds, o.seed);
  // A separate stream for runtime randomness, so traffic does not change the world of a seed.
  const random = seededRandom(o.seed ^ 0x5eed);
  const ids = new SnowflakeFactory(random, o.now);
  const limiter = new IdentifyLimiter(o);
  let port = 0;
  const gatewayUrl = () => `ws://127.0.0.1:${port}/`;
  const gateway = new Gateway({ options: o, world, limiter, random, gatewayUrl, timers: o.timers });
  let rest: RestServer | null = null;
  const interactions = new Interactions({
    options: o,
    world,
    gateway,
    random,
    ids,
    commandId: (name, guildId) => rest?.commandId(name, guildId),
  });
  const stats = (options: SimStatsOptions = {}): SimStats => ({
    now: o.now(),
    sessionStartLimit: limiter.sessionStartLimit(),
    shards: gateway.shardStats(o.shards),
    sessions: gateway.sessionStats(),
    identifies: [...gateway.identifies],
    invalidSessions: [...gateway.invalidSessions],
    resumes: [...gateway.resumes],
    replayedEvents: gateway.replayedEvents,
    closes: [...gateway.closes],
    dispatchesSent: gateway.dispatchesSent,
    interactions: interactions.stats(options.interactionList ?? true),
    rest: {
      requests: rest?.requests ?? 0,
      byStatus: { ...rest?.byStatus },
      messagesCreated: rest?.messagesCreated ?? 0,
    },
  });
  const faults: SimFaultControl = {
    apply: (fault) => applyFault(fault),
    active: () => activeFaults(),
    clear: () => {
      const n = activeFaults().length;
      const { heartbeatAcksOff } = gateway.faultState();
      for (const shard of heartbeatAcksOff) gateway.setHeartbeatAcks(shard, true);
      gateway.setDispatchDelay(0);
      server.clearFaults();
      return n;
    },
  };
  const server = new RestServer({ options: o, world, limiter, interactions, ids, gatewayUrl, stats, faults });
  rest = server;
  const applyFault = (f: SimFaultRequest): { connections?: number } => {
    switch (f.type) {
      case 'close':
        return { connections: gateway.closeShard(f.shard, f.code, f.reason) };
      case 'reconnect':
        return { connections: gateway.reconnect(f.shard) };
      case 'invalid-session':
        return { connections: gateway.invalidateSessions(f.shard, f.resumable) };
      case 'heartbeat-request':
        return { connections: gateway.requestHeartbeat(f.shard) };
      case 'heartbeat-acks':
        gateway.setHeartbeatAcks(f.shard, f.acknowledge);
        return {};
      case 'latency':
        gateway.setDispatchDelay(f.ms);
        return {};
      case 'rest': {
        const { type: _, ...fault } = f;
        server.addFault(fault);
        return {};
      }
    }
  };
  const activeFaults = (): ActiveSimFault[] => {
    const state = gateway.faultState();
    return [
      ...(state.dispatchDelayMs > 0 ? [{ type: 'latency' as const, ms: state.dispatchDelayMs }] : []),
      ...state.heartbeatAcksOff.map((shard) => ({
        type: 'heartbeat-acks' as const,
        shard,
        acknowledge: false as const,
      })),
      ...server.pendingFaults().map(({ fault, left }) => ({
        type: 'rest' as const,
        status: fault.status,
        left,
        path: fault.path ?? null,
        retryAfter: fault.status === 429 ? (fault.retryAfter ?? 0.1) : null,
        global: fault.global === true,
      })),
    ];
  };
  const sendInteraction = (input: SendInteractionInput) => {
    if (closed) throw new DiscordSimError(DiscordSimErrorCodes.Closed, 'sendInteraction after close()');
    return interactions.send(input);
  };
  const traffic = new Traffic({ world, gateway, random, ids, now: o.now, sendInteraction });
  const http = createServer((req, res) => server.handle(req, res));
  http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  let closed = false;
  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    gatewayUrl: gatewayUrl(),
    port,
    token: o.token,
    world,
    sendInteraction,
    dispatch: (event) => gateway.dispatch(event),
    shardOf: (guildId, shardCount = o.shards) => gateway.shardOf(guildId, shardCount),
    traffic: {
      start: (t) => traffic.start(t),
      stop: () => traffic.stop(),
      get sent() {
        return traffic.sent;
      },
    },
    stats,
    faults: {
      closeShard: (shardId, code, reason) => gateway.closeShard(shardId, code, reason),
      reconnect: (shardId) => gateway.reconnect(shardId),
      invalidateSession: (shardId, resumable) => gateway.invalidateSessions(shardId, resumable),
      requestHeartbeat: (shardId) => gateway.requestHeartbeat(shardId),
      setHeartbeatAcks: (shardId, acknowledge) => gateway.setHeartbeatAcks(shardId, acknowledge),
      delayDispatches: (ms) => gateway.setDispatchDelay(ms),
      rest: (fault) => server.addFault(fault),
      clearRest: () => server.clearFaults(),
    },
    close: async () => {
      if (closed) return;
      closed = true;
      traffic.stop();
      gateway.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
