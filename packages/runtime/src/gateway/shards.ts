import type { REST } from '@discordjs/rest';
import {
  Encoding,
  type FetchingStrategyOptions,
  type IIdentifyThrottler,
  type SessionInfo,
  SimpleContextFetchingStrategy,
  WebSocketManager,
  WebSocketShard,
  WebSocketShardEvents,
} from '@discordjs/ws';
import type { APIGatewayBotInfo, GatewayDispatchPayload, GatewayIntentBits } from 'discord-api-types/v10';

/** Close codes after which Discord forbids reconnecting with the same settings. */
export const FatalCloseCodes: ReadonlySet<number> = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

/**
 * Close code for a shutdown that keeps the session resumable: Discord ends the session on 1000 and
 * 1001 only. 4200 is what @discordjs/ws itself closes with before a resume.
 */
export const ResumableCloseCode = 4200;

/** Where the shards keep their sessions: read on every connect and heartbeat, so it must be fast. */
export interface SessionCache {
  get(shardId: number): SessionInfo | null;
  set(shardId: number, session: SessionInfo | null): void;
}

/** What a shard reports. Every callback gets the shard id first. */
export interface ShardListener {
  dispatch(shardId: number, payload: GatewayDispatchPayload): void;
  ready(shardId: number, how: 'identified' | 'resumed', replayed: number): void;
  closed(shardId: number, code: number): void;
  invalidSession(shardId: number, resumable: boolean): void;
  error(shardId: number, error: Error): void;
  heartbeat(shardId: number, latencyMs: number): void;
  debug(shardId: number, message: string): void;
}

/** Options of {@link ShardSet}. */
export interface ShardSetOptions {
  readonly token: string;
  readonly intents: GatewayIntentBits | 0;
  readonly rest: REST;
  readonly shardCount: number;
  readonly gateway: APIGatewayBotInfo;
  readonly throttler: IIdentifyThrottler;
  readonly sessions: SessionCache;
  /**
   * Awaited before a shard reconnects after a close (its backoff); `@discordjs/ws` itself waits a fixed
   * 500 ms, which a Discord outage turns into two attempts per second per shard.
   */
  readonly beforeReconnect: (shardId: number) => Promise<void> | undefined;
  readonly listener: ShardListener;
  readonly identifyProperties?: { browser: string; device: string; os: string };
}

/** A connected shard's state as the runtime sees it. */
export type ShardState = 'connecting' | 'ready' | 'closed';

/**
 * The gateway shards of this process, each a `@discordjs/ws` `WebSocketShard` of its own, so that the
 * set can grow and shrink while the process runs (a live handoff) and each shard dispatches the moment
 * it is READY, whatever the others are doing.
 */
export class ShardSet {
  readonly #options: ShardSetOptions;
  readonly #manager: WebSocketManager;
  readonly #strategy: FetchingStrategyOptions;
  readonly #shards = new Map<number, WebSocketShard>();
  readonly #state = new Map<number, ShardState>();
  readonly #ping = new Map<number, number>();
  readonly #reconnecting = new Set<number>();

  public constructor(options: ShardSetOptions) {
    this.#options = options;
    const { sessions } = options;
    // The manager only carries the options the shards read through their context strategy.
    this.#manager = new WebSocketManager({
      token: options.token,
      intents: options.intents,
      rest: options.rest,
      shardCount: options.shardCount,
      shardIds: [],
      buildIdentifyThrottler: () => options.throttler,
      retrieveSessionInfo: (shardId) => {
        // After a close, the next read is the reconnect's: the backoff goes there.
        if (this.#reconnecting.delete(shardId)) {
          const wait = options.beforeReconnect(shardId);
          if (wait !== undefined) return wait.then(() => sessions.get(shardId));
        }
        return sessions.get(shardId);
      },
      updateSessionInfo: (shardId, info) => sessions.set(shardId, info),
      ...(options.identifyProperties ? { identifyProperties: options.identifyProperties } : {}),
    });
    this.#strategy = {
      compression: null,
      encoding: Encoding.JSON,
      handshakeTimeout: 30_000,
      helloTimeout: 60_000,
      identifyProperties: options.identifyProperties ?? {
        browser: 'qsb',
        device: 'qsb',
        os: process.platform,
      },
      initialPresence: null,
      intents: options.intents,
      largeThreshold: null,
      readyTimeout: 15_000,
      token: options.token,
      useIdentifyCompression: false,
      version: '10',
      gatewayInformation: options.gateway,
      shardCount: options.shardCount,
    };
  }

  /** The shards of this set. */
  public ids(): number[] {
    return [...this.#shards.keys()].sort((a, b) => a - b);
  }

  public state(shardId: number): ShardState | undefined {
    return this.#state.get(shardId);
  }

  /** Heartbeat round trip of a shard in ms, -1 before the first acknowledgement. */
  public ping(shardId: number): number {
    return this.#ping.get(shardId) ?? -1;
  }

  /** Connects `shardId` (identify or resume, per its session); resolves once it has started connecting. */
  public add(shardId: number): void {
    if (this.#shards.has(shardId)) return;
    const shard = new WebSocketShard(
      new SimpleContextFetchingStrategy(this.#manager, this.#strategy),
      shardId,
    );
    this.#shards.set(shardId, shard);
    this.#state.set(shardId, 'connecting');
    this.#listen(shard, shardId);
    shard.connect().catch((error: unknown) => {
      this.#options.listener.error(shardId, error instanceof Error ? error : new Error(String(error)));
    });
  }

  /**
   * Closes `shardId` with `code` (resumable by default) and forgets it. The session cache entry is
   * cleared by `@discordjs/ws`; the caller saves it before when it should be resumed elsewhere.
   */
  public async remove(shardId: number, code = ResumableCloseCode): Promise<void> {
    const shard = this.#shards.get(shardId);
    if (!shard) return;
    this.#shards.delete(shardId);
    this.#state.set(shardId, 'closed');
    shard.removeAllListeners();
    await shard.destroy({ code, reason: 'shutting down; the session is resumed elsewhere' });
    this.#state.delete(shardId);
  }

  /** Closes every shard. */
  public async close(code = ResumableCloseCode): Promise<void> {
    await Promise.all(this.ids().map((id) => this.remove(id, code)));
  }

  #listen(shard: WebSocketShard, shardId: number): void {
    const l = this.#options.listener;
    let replayed = 0;
    let resuming = false;
    shard.on(WebSocketShardEvents.Dispatch, (payload) => {
      if (resuming) replayed++;
      l.dispatch(shardId, payload);
    });
    shard.on(WebSocketShardEvents.Ready, () => {
      this.#state.set(shardId, 'ready');
      resuming = false;
      l.ready(shardId, 'identified', 0);
    });
    shard.on(WebSocketShardEvents.Resumed, () => {
      this.#state.set(shardId, 'ready');
      resuming = false;
      // The RESUMED dispatch itself is counted above; it replays nothing.
      l.ready(shardId, 'resumed', Math.max(0, replayed - 1));
      replayed = 0;
    });
    shard.on(WebSocketShardEvents.Closed, (code) => {
      if (!this.#shards.has(shardId)) return;
      this.#state.set(shardId, 'closed');
      this.#reconnecting.add(shardId);
      l.closed(shardId, code);
    });
    shard.on(WebSocketShardEvents.Error, (error) => l.error(shardId, error));
    shard.on(WebSocketShardEvents.SocketError, (error) => l.error(shardId, error));
    shard.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }) => {
      this.#ping.set(shardId, latency);
      l.heartbeat(shardId, latency);
    });
    shard.on(WebSocketShardEvents.Debug, (message) => {
      if (message.startsWith('Resuming session')) {
        resuming = true;
        replayed = 0;
      }
      const invalid = /^Invalid session; will attempt to resume: (true|false)/.exec(message);
      if (invalid) l.invalidSession(shardId, invalid[1] === 'true');
      l.debug(shardId, message);
    });
  }
}
