import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createDeflate, type Deflate, constants as zlibConstants } from 'node:zlib';
import { shardForGuild } from '@qsb/sharding';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
} from 'discord-api-types/v10';
import { type WebSocket, WebSocketServer } from 'ws';
import type { DiscordSimOptionalOptions } from '../options.ts';
import type {
  CloseRecord,
  IdentifyOutcome,
  IdentifyRecord,
  InvalidSessionRecord,
  ResumeRecord,
  SessionStats,
  ShardStats,
} from '../stats.ts';
import type { SimTimer, SimTimers } from '../timers.ts';
import { type Random, randomString } from '../world/random.ts';
import type { SimGuild, SimWorld } from '../world/world.ts';
import type { IdentifyLimiter } from './IdentifyLimiter.ts';
import { guildCreatePayload, readyPayload } from './payloads.ts';
import { ReplayBuffer } from './ReplayBuffer.ts';

/** Every intent bit discord-api-types knows; any other bit closes the IDENTIFY with 4013. */
const KNOWN_INTENTS = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((a, b) => a | b, 0);
const PRIVILEGED_INTENTS =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** Discord closes a connection that sends more than 120 payloads in 60 s with 4008. */
const SEND_LIMIT = 120;
const SEND_LIMIT_WINDOW_MS = 60_000;
/** Discord's limit on one client payload; above it the connection is closed with 4002. */
const MAX_CLIENT_PAYLOAD = 4096;
/** Server closes after which a session stays resumable (Discord: "you may reconnect"). */
const RESUMABLE_CLOSES = new Set<number>([
  GatewayCloseCodes.UnknownError,
  GatewayCloseCodes.UnknownOpcode,
  GatewayCloseCodes.DecodeError,
  GatewayCloseCodes.NotAuthenticated,
  GatewayCloseCodes.AlreadyAuthenticated,
  GatewayCloseCodes.RateLimited,
]);

const CLOSE_REASONS: Record<number, string> = {
  [GatewayCloseCodes.UnknownError]: 'Unknown error.',
  [GatewayCloseCodes.UnknownOpcode]: 'Unknown opcode.',
  [GatewayCloseCodes.DecodeError]: 'Error while decoding payload.',
  [GatewayCloseCodes.NotAuthenticated]: 'Not authenticated.',
  [GatewayCloseCodes.AuthenticationFailed]: 'Authentication failed.',
  [GatewayCloseCodes.AlreadyAuthenticated]: 'Already authenticated.',
  [GatewayCloseCodes.InvalidSeq]: 'Invalid seq.',
  [GatewayCloseCodes.RateLimited]: 'Rate limited.',
  [GatewayCloseCodes.SessionTimedOut]: 'Session timed out.',
  [GatewayCloseCodes.InvalidShard]: 'Invalid shard.',
  [GatewayCloseCodes.ShardingRequired]: 'Sharding required.',
  [GatewayCloseCodes.InvalidAPIVersion]: 'Invalid API version.',
  [GatewayCloseCodes.InvalidIntents]: 'Invalid intent(s).',
  [GatewayCloseCodes.DisallowedIntents]: 'Disallowed intent(s).',
};

/** A gateway event to send: its name, its data, and the guild it belongs to (null: shard 0 only). */
export interface GatewayEvent {
  readonly t: string;
  readonly d: unknown;
  readonly guildId: string | null;
  /** Intent a session needs to receive it; none for events every session gets (interactions). */
  readonly intent?: number;
}

export interface GatewayContext {
  readonly options: DiscordSimOptionalOptions;
  readonly world: SimWorld;
  readonly limiter: IdentifyLimiter;
  readonly random: Random;
  readonly gatewayUrl: () => string;
  readonly timers: SimTimers;
}

class Session {
  public state: 'open' | 'disconnected' | 'invalidated' = 'open';
  public seq = 0;
  public resumes = 0;
  public disconnectedAt = 0;
  public connection: Connection | null = null;
  public readonly buffer: ReplayBuffer;

  public constructor(
    public readonly id: string,
    public readonly shardId: number,
    public readonly shardCount: number,
    public readonly intents: number,
    public readonly properties: Record<string, unknown>,
    public readonly userAgent: string | null,
    public readonly createdAt: number,
    bufferSize: number,
  ) {
    this.buffer = new ReplayBuffer(bufferSize);
  }
}

class Connection {
  public session: Session | null = null;
  public heartbeatTimer: SimTimer | null = null;
  public closing = false;
  /** Whether writes are held until the end of this tick (see `Gateway.#write`). */
  public corked = false;
  /** `compress=zlib-stream`: one deflate context for the whole connection, flushed per payload. */
  public deflate: Deflate | null = null;
  public deflated: Buffer[] = [];
  public received = 0;
  public receivedWindowStart = 0;

  public constructor(
    public readonly id: number,
    public readonly ws: WebSocket,
    public readonly userAgent: string | null,
  ) {}
}

/**
 * The gateway: WebSocket connections, sessions, identify limits, dispatch with sequence numbers,
 * RESUME with replay, and the faults tests ask for.
 */
export class Gateway {
  readonly #ctx: GatewayContext;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  readonly #connections = new Set<Connection>();
  readonly #sessions = new Map<string, Session>();
  readonly #shardCache = new Map<number, Map<string, number>>();
  readonly #pending = new Set<SimTimer>();
  #nextConnectionId = 1;
  #closed = false;

  /** Faults in force. */
  readonly #noAck = new Set<number>();
  #dispatchDelayMs = 0;

  public readonly identifies: IdentifyRecord[] = [];
  public readonly invalidSessions: InvalidSessionRecord[] = [];
  public readonly resumes: ResumeRecord[] = [];
  public readonly closes: CloseRecord[] = [];
  public replayedEvents = 0;
  public dispatchesSent = 0;

  public constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
  }

  get #now(): number {
    return this.#ctx.options.now();
  }

  /** Takes over an HTTP upgrade request. */
  public handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const ua = req.headers['user-agent'] ?? null;
    const conn = new Connection(this.#nextConnectionId++, ws, ua);
    this.#connections.add(conn);
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data as Buffer, isBinary));
    ws.on('close', (code) => this.#onClose(conn, code));
    ws.on('error', () => ws.terminate());
    const url = new URL(req.url ?? '/', 'ws://127.0.0.1');
    const v = url.searchParams.get('v');
    if (v !== null && v !== '10') {
      this.#close(conn, GatewayCloseCodes.InvalidAPIVersion);
      return;
    }
    const encoding = url.searchParams.get('encoding');
    const compress = url.searchParams.get('compress');
    if ((encoding !== null && encoding !== 'json') || (compress !== null && compress !== 'zlib-stream')) {
      // JSON is the only encoding spoken here (no ETF), zlib-stream the only transport compression.
      this.#close(
        conn,
        GatewayCloseCodes.DecodeError,
        'Only encoding=json and compress=zlib-stream are supported.',
      );
      return;
    }
    if (compress === 'zlib-stream') {
      const deflate = createDeflate();
      deflate.on('data', (chunk: Buffer) => conn.deflated.push(chunk));
      conn.deflate = deflate;
    }
    this.#send(conn, {
      op: GatewayOpcodes.Hello,
      d: { heartbeat_interval: this.#ctx.options.heartbeatIntervalMs },
    });
    this.#armHeartbeat(conn);
  }

  #armHeartbeat(conn: Connection): void {
    const timeout = Math.ceil(this.#ctx.options.heartbeatIntervalMs * 1.5);
    if (conn.heartbeatTimer) {
      conn.heartbeatTimer.refresh();
      return;
    }
    conn.heartbeatTimer = this.#ctx.timers.setTimeout(() => {
      this.#close(conn, GatewayCloseCodes.SessionTimedOut);
    }, timeout);
  }

  #send(conn: Connection, payload: { op: number; d: unknown }): void {
    if (conn.ws.readyState !== conn.ws.OPEN || conn.closing) return;
    this.#emit(conn, JSON.stringify({ op: payload.op, d: payload.d, s: null, t: null }));
  }

  /**
   * Puts one payload on the wire: as text, or with zlib-stream as the deflated bytes up to a sync flush
   * (each message then ends in 00 00 ff ff, which is how clients find payload boundaries).
   */
  #emit(conn: Connection, text: string): void {
    const deflate = conn.deflate;
    if (!deflate) {
      conn.ws.send(text);
      return;
    }
    deflate.write(text);
    deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
      const out = Buffer.concat(conn.deflated);
      conn.deflated = [];
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(out);
    });
  }

  /** Closes a connection from the server side with a gateway close code. */
  #close(conn: Connection, code: number, reason = CLOSE_REASONS[code] ?? ''): void {
    if (conn.closing) return;
    conn.closing = true;
    this.closes.push({
      at: this.#now,
      connectionId: conn.id,
      sessionId: conn.session?.id ?? null,
      code,
      reason,
    });
    const session = conn.session;
    if (session && session.connection === conn) {
      if (RESUMABLE_CLOSES.has(code)) this.#disconnect(session);
      else this.#invalidate(session);
    }
    conn.heartbeatTimer?.cancel();
    conn.ws.close(code, reason);
  }

  #disconnect(session: Session): void {
    session.connection = null;
    session.state = 'disconnected';
    session.disconnectedAt = this.#now;
  }

  #invalidate(session: Session): void {
    session.connection = null;
    session.state = 'invalidated';
  }

  #onClose(conn: Connection, code: number): void {
    this.#connections.delete(conn);
    conn.deflate?.close();
    conn.heartbeatTimer?.cancel();
    const session = conn.session;
    if (!session || session.connection !== conn) return;
    // A client closing with 1000 or 1001 ends its session; any other close leaves it resumable.
    if (code === 1000 || code === 1001) this.#invalidate(session);
    else this.#disconnect(session);
  }

  #onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    if (conn.closing) return;
    const now = this.#now;
    if (now - conn.receivedWindowStart >= SEND_LIMIT_WINDOW_MS) {
      conn.receivedWindowStart = now;
      conn.received = 0;
    }
    if (++conn.received > SEND_LIMIT) {
      this.#close(conn, GatewayCloseCodes.RateLimited);
      return;
    }
    if (isBinary || data.length > MAX_CLIENT_PAYLOAD) {
      this.#close(conn, GatewayCloseCodes.DecodeError);
      return;
    }
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString('utf8')) as { op?: unknown; d?: unknown };
    } catch {
      this.#close(conn, GatewayCloseCodes.DecodeError);
      return;
    }
    if (payload === null || typeof payload !== 'object') {
      this.#close(conn, GatewayCloseCodes.DecodeError);
      return;
    }
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        this.#armHeartbeat(conn);
        if (!(conn.session && this.#noAck.has(conn.session.shardId))) {
          this.#send(conn, { op: GatewayOpcodes.HeartbeatAck, d: null });
        }
        return;
      case GatewayOpcodes.Identify:
        this.#identify(conn, payload.d);
        return;
      case GatewayOpcodes.Resume:
        this.#resume(conn, payload.d);
        return;
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
      case GatewayOpcodes.RequestSoundboardSounds:
        if (!conn.session) this.#close(conn, GatewayCloseCodes.NotAuthenticated);
        return;
      default:
        this.#close(conn, GatewayCloseCodes.UnknownOpcode);
    }
  }

  #recordIdentify(
    conn: Connection,
    shard: readonly [number, number] | null,
    bucket: number | null,
    outcome: IdentifyOutcome,
    properties: Record<string, unknown>,
    sessionId: string | null = null,
  ): void {
    this.identifies.push({
      at: this.#now,
      connectionId: conn.id,
      shard,
      bucket,
      outcome,
      sessionId,
      properties,
    });
  }

  #identify(conn: Connection, raw: unknown): void {
    const d = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const properties =
      d.properties && typeof d.properties === 'object' ? (d.properties as Record<string, unknown>) : {};
    const o = this.#ctx.options;
    const rawShard = d.shard ?? [0, 1];
    const shard =
      Array.isArray(rawShard) &&
      rawShard.length === 2 &&
      Number.isSafeInteger(rawShard[0]) &&
      Number.isSafeInteger(rawShard[1])
        ? ([rawShard[0] as number, rawShard[1] as number] as const)
        : null;
    if (conn.session) {
      this.#recordIdentify(conn, shard, null, 'already-authenticated', properties);
      this.#close(conn, GatewayCloseCodes.AlreadyAuthenticated);
      return;
    }
    if (typeof d.token !== 'string' || stripBot(d.token) !== o.token) {
      this.#recordIdentify(conn, shard, null, 'authentication-failed', properties);
      this.#close(conn, GatewayCloseCodes.AuthenticationFailed);
      return;
    }
    if (
      !shard ||
      shard[1] < 1 ||
      shard[0] < 0 ||
      shard[0] >= shard[1] ||
      shard[1] % o.shardCountMultiple !== 0
    ) {
      this.#recordIdentify(conn, shard, null, 'invalid-shard', properties);
      this.#close(conn, GatewayCloseCodes.InvalidShard);
      return;
    }
    const [shardId, shardCount] = shard;
    const bucket = shardId % o.maxConcurrency;
    const guilds = this.#guildsOf(shardId, shardCount);
    if (guilds.length > o.maxGuildsPerShard) {
      this.#recordIdentify(conn, shard, bucket, 'sharding-required', properties);
      this.#close(conn, GatewayCloseCodes.ShardingRequired);
      return;
    }
    const intents = d.intents;
    if (
      typeof intents !== 'number' ||
      !Number.isSafeInteger(intents) ||
      intents < 0 ||
      (intents & ~KNOWN_INTENTS) !== 0
    ) {
      this.#recordIdentify(conn, shard, bucket, 'invalid-intents', properties);
      this.#close(conn, GatewayCloseCodes.InvalidIntents);
      return;
    }
    if ((intents & PRIVILEGED_INTENTS & ~o.privilegedIntents) !== 0) {
      this.#recordIdentify(conn, shard, bucket, 'disallowed-intents', properties);
      this.#close(conn, GatewayCloseCodes.DisallowedIntents);
      return;
    }
    const decision = this.#ctx.limiter.tryIdentify(shardId);
    if (decision.verdict === 'rate-limited') {
      // Discord answers an IDENTIFY over the bucket's limit with INVALID_SESSION (d: false).
      this.#recordIdentify(conn, shard, bucket, 'rate-limited', properties);
      this.#sendInvalidSession(conn, false, 'identify-rate-limited');
      return;
    }
    if (decision.verdict === 'session-start-limit') {
      // Spending the daily budget resets the token on Discord: the IDENTIFY fails authentication, and
      // every session of the bot is terminated with it.
      this.#recordIdentify(conn, shard, bucket, 'session-start-limit', properties);
      for (const other of [...this.#connections]) {
        this.#close(other, GatewayCloseCodes.AuthenticationFailed, 'Session start limit reached.');
      }
      return;
    }
    const session = new Session(
      randomString(this.#ctx.random, 32, '0123456789abcdef'),
      shardId,
      shardCount,
      intents,
      properties,
      conn.userAgent,
      this.#now,
      o.replayBufferSize,
    );
    this.#sessions.set(session.id, session);
    session.connection = conn;
    conn.session = session;
    this.#recordIdentify(conn, shard, bucket, 'ready', properties, session.id);
    const url = this.#ctx.gatewayUrl();
    this.#dispatchTo(
      session,
      GatewayDispatchEvents.Ready,
      JSON.stringify(readyPayload(this.#ctx.world, session.id, url, shard, guilds)),
    );
    if ((intents & GatewayIntentBits.Guilds) !== 0) {
      for (const guild of guilds) {
        this.#dispatchTo(
          session,
          GatewayDispatchEvents.GuildCreate,
          JSON.stringify(guildCreatePayload(this.#ctx.world, guild)),
        );
      }
    }
  }

  #sendInvalidSession(conn: Connection, resumable: boolean, reason: InvalidSessionRecord['reason']): void {
    this.invalidSessions.push({
      at: this.#now,
      connectionId: conn.id,
      sessionId: conn.session?.id ?? null,
      resumable,
      reason,
    });
    this.#send(conn, { op: GatewayOpcodes.InvalidSession, d: resumable });
  }

  #resume(conn: Connection, raw: unknown): void {
    const d = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    if (conn.session) {
      this.#close(conn, GatewayCloseCodes.AlreadyAuthenticated);
      return;
    }
    if (typeof d.token !== 'string' || stripBot(d.token) !== this.#ctx.options.token) {
      this.#close(conn, GatewayCloseCodes.AuthenticationFailed);
      return;
    }
    const sessionId = typeof d.session_id === 'string' ? d.session_id : '';
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    const session = this.#sessions.get(sessionId);
    const refuse = () => {
      this.resumes.push({ at: this.#now, connectionId: conn.id, sessionId, outcome: 'refused', replayed: 0 });
      this.#sendInvalidSession(conn, false, 'resume-refused');
    };
    if (!session || !this.#resumable(session)) {
      refuse();
      return;
    }
    if (seq > session.seq) {
      this.#close(conn, GatewayCloseCodes.InvalidSeq);
      return;
    }
    const missed = session.buffer.after(seq);
    if (missed === null) {
      this.#invalidate(session);
      refuse();
      return;
    }
    const previous = session.connection;
    if (previous && previous !== conn) {
      previous.session = null;
      previous.ws.terminate();
    }
    session.connection = conn;
    session.state = 'open';
    session.resumes++;
    conn.session = session;
    for (const payload of missed) this.#sendRaw(session, payload);
    this.replayedEvents += missed.length;
    this.resumes.push({
      at: this.#now,
      connectionId: conn.id,
      sessionId,
      outcome: 'resumed',
      replayed: missed.length,
    });
    this.#dispatchTo(session, GatewayDispatchEvents.Resumed, '{"_trace":["qsb-discord-sim"]}');
  }

  #resumable(session: Session): boolean {
    if (session.state === 'invalidated') return false;
    if (
      session.state === 'disconnected' &&
      this.#now - session.disconnectedAt > this.#ctx.options.resumeWindowMs
    ) {
      session.state = 'invalidated';
      return false;
    }
    return true;
  }

  /** Guilds that `[shardId, shardCount]` receives. */
  #guildsOf(shardId: number, shardCount: number): SimGuild[] {
    return this.#ctx.world.guilds.filter((g) => this.shardOf(g.id, shardCount) === shardId);
  }

  /** The shard of a guild for a shard count (the shared formula of @qsb/sharding, cached). */
  public shardOf(guildId: string, shardCount: number): number {
    let byGuild = this.#shardCache.get(shardCount);
    if (!byGuild) {
      byGuild = new Map();
      this.#shardCache.set(shardCount, byGuild);
    }
    let shard = byGuild.get(guildId);
    if (shard === undefined) {
      shard = shardForGuild(guildId, shardCount);
      byGuild.set(guildId, shard);
    }
    return shard;
  }

  /** Serialises `d` once and sends `{t, s, op: 0, d}` to one session with its next sequence number. */
  #dispatchTo(session: Session, t: string, dJson: string): void {
    const seq = ++session.seq;
    const payload = `{"t":"${t}","s":${seq},"op":0,"d":${dJson}}`;
    session.buffer.push(seq, payload);
    this.#sendRaw(session, payload);
  }

  #sendRaw(session: Session, payload: string): void {
    const conn = session.connection;
    if (!conn || conn.closing) return;
    if (this.#dispatchDelayMs > 0) {
      const timer = this.#ctx.timers.setTimeout(() => {
        this.#pending.delete(timer);
        if (session.connection === conn && !conn.closing) this.#write(conn, payload);
      }, this.#dispatchDelayMs);
      this.#pending.add(timer);
      return;
    }
    this.#write(conn, payload);
  }

  /**
   * Sends one frame. Frames sent in the same tick are corked into one write, so a burst of events
   * costs one system call instead of one each (ws writes every frame straight to the socket).
   */
  #write(conn: Connection, payload: string): void {
    if (!conn.corked) {
      const socket = (conn.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (socket) {
        conn.corked = true;
        socket.cork();
        process.nextTick(() => {
          conn.corked = false;
          socket.uncork();
        });
      }
    }
    this.#emit(conn, payload);
    this.dispatchesSent++;
  }

  /**
   * Sends an event to every live session of the shard it belongs to (shard 0 for events without a
   * guild), buffering it for disconnected but resumable sessions. Returns the sessions it went to.
   */
  public dispatch(event: GatewayEvent): string[] {
    const to: string[] = [];
    let dJson: string | null = null;
    for (const session of this.#sessions.values()) {
      if (session.state === 'invalidated') continue;
      if (event.intent !== undefined && (session.intents & event.intent) === 0) continue;
      const shard = event.guildId === null ? 0 : this.shardOf(event.guildId, session.shardCount);
      if (shard !== session.shardId) continue;
      if (!this.#resumable(session)) continue;
      dJson ??= JSON.stringify(event.d);
      this.#dispatchTo(session, event.t, dJson);
      to.push(session.id);
    }
    return to;
  }

  /** The shard count a session identified with. */
  public shardCountOf(sessionId: string | undefined): number | undefined {
    return sessionId === undefined ? undefined : this.#sessions.get(sessionId)?.shardCount;
  }

  #connectionsOf(shardId: number): Connection[] {
    return [...this.#connections].filter((c) => c.session?.shardId === shardId && !c.closing);
  }

  /** Fault: closes every connection of a shard with `code`. Returns how many were closed. */
  public closeShard(shardId: number, code: number, reason?: string): number {
    const conns = this.#connectionsOf(shardId);
    for (const c of conns) this.#close(c, code, reason);
    return conns.length;
  }

  /** Fault: sends op 7 RECONNECT to every connection of a shard. */
  public reconnect(shardId: number): number {
    const conns = this.#connectionsOf(shardId);
    for (const c of conns) this.#send(c, { op: GatewayOpcodes.Reconnect, d: null });
    return conns.length;
  }

  /** Fault: sends op 9 INVALID_SESSION; when not resumable, the sessions end. */
  public invalidateSessions(shardId: number, resumable: boolean): number {
    const conns = this.#connectionsOf(shardId);
    for (const c of conns) {
      this.#sendInvalidSession(c, resumable, 'fault');
      if (!resumable && c.session) {
        this.#invalidate(c.session);
        c.session = null;
      }
    }
    return conns.length;
  }

  /** Fault: asks every connection of a shard for a heartbeat now (op 1). */
  public requestHeartbeat(shardId: number): number {
    const conns = this.#connectionsOf(shardId);
    for (const c of conns) this.#send(c, { op: GatewayOpcodes.Heartbeat, d: c.session?.seq ?? null });
    return conns.length;
  }

  /** Fault: stop (or resume) acknowledging a shard's heartbeats. */
  public setHeartbeatAcks(shardId: number, acknowledge: boolean): void {
    if (acknowledge) this.#noAck.delete(shardId);
    else this.#noAck.add(shardId);
  }

  /** Fault: delay every dispatch by `ms` (0 restores immediate delivery). */
  public setDispatchDelay(ms: number): void {
    this.#dispatchDelayMs = ms;
  }

  /** The lasting gateway faults in force: the dispatch delay and the shards whose heartbeats go unacknowledged. */
  public faultState(): { readonly dispatchDelayMs: number; readonly heartbeatAcksOff: readonly number[] } {
    return {
      dispatchDelayMs: this.#dispatchDelayMs,
      heartbeatAcksOff: [...this.#noAck].sort((a, b) => a - b),
    };
  }

  public sessionStats(): SessionStats[] {
    return [...this.#sessions.values()].map((s) => {
      this.#resumable(s);
      return {
        id: s.id,
        shard: [s.shardId, s.shardCount] as const,
        properties: s.properties,
        userAgent: s.userAgent,
        state: s.state,
        seq: s.seq,
        resumes: s.resumes,
        createdAt: s.createdAt,
      };
    });
  }

  public shardStats(recommended: number): ShardStats[] {
    const byShard = new Map<number, string[]>();
    for (let i = 0; i < recommended; i++) byShard.set(i, []);
    for (const s of this.#sessions.values()) {
      if (s.state !== 'open') continue;
      const list = byShard.get(s.shardId) ?? [];
      list.push(s.id);
      byShard.set(s.shardId, list);
    }
    return [...byShard.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([shardId, openSessions]) => ({ shardId, openSessions }));
  }

  /** Closes every connection (1001, going away) and stops accepting new ones. */
  public close(): void {
    this.#closed = true;
    for (const t of this.#pending) t.cancel();
    this.#pending.clear();
    for (const c of this.#connections) {
      c.heartbeatTimer?.cancel();
      c.deflate?.close();
      c.ws.terminate();
    }
    this.#connections.clear();
    this.#wss.close();
  }
}

function stripBot(token: string): string {
  return token.startsWith('Bot ') ? token.slice(4) : token;
}
