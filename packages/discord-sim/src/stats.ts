import type { SessionStartLimit } from './gateway/IdentifyLimiter.ts';

/** How an IDENTIFY ended. */
export type IdentifyOutcome =
  | 'ready'
  | 'rate-limited'
  | 'session-start-limit'
  | 'authentication-failed'
  | 'invalid-shard'
  | 'sharding-required'
  | 'invalid-intents'
  | 'disallowed-intents'
  | 'already-authenticated';

/** One IDENTIFY as the local Discord saw it. */
export interface IdentifyRecord {
  /** Unix ms on the sim's clock. */
  readonly at: number;
  readonly connectionId: number;
  /** `[shard_id, num_shards]` as sent (null when the payload had none or was malformed). */
  readonly shard: readonly [number, number] | null;
  /** `shard_id % max_concurrency`, or null when the shard was invalid. */
  readonly bucket: number | null;
  readonly outcome: IdentifyOutcome;
  /** The session created when the outcome is `ready`. */
  readonly sessionId: string | null;
  /** The IDENTIFY `properties` (`os`, `browser`, `device`): which client identified. */
  readonly properties: Readonly<Record<string, unknown>>;
}

/** One gateway session (a successful IDENTIFY) and what happened to it. */
export interface SessionStats {
  readonly id: string;
  readonly shard: readonly [number, number];
  readonly properties: Readonly<Record<string, unknown>>;
  /** The User-Agent of the WebSocket upgrade that identified. */
  readonly userAgent: string | null;
  /** `open`: a connection receives its events; `disconnected`: resumable; `invalidated`: gone. */
  readonly state: 'open' | 'disconnected' | 'invalidated';
  /** Last sequence number sent. */
  readonly seq: number;
  readonly resumes: number;
  readonly createdAt: number;
}

/** The sessions of one shard id. */
export interface ShardStats {
  readonly shardId: number;
  /** Ids of sessions of this shard with a connection right now. */
  readonly openSessions: readonly string[];
}

/** An INVALID_SESSION (op 9) the local Discord sent. */
export interface InvalidSessionRecord {
  readonly at: number;
  readonly connectionId: number;
  readonly sessionId: string | null;
  readonly resumable: boolean;
  readonly reason: 'identify-rate-limited' | 'resume-refused' | 'fault';
}

/** A RESUME and its outcome. */
export interface ResumeRecord {
  readonly at: number;
  readonly connectionId: number;
  readonly sessionId: string;
  readonly outcome: 'resumed' | 'refused';
  readonly replayed: number;
}

/** A gateway close the local Discord initiated. */
export interface CloseRecord {
  readonly at: number;
  readonly connectionId: number;
  readonly sessionId: string | null;
  readonly code: number;
  readonly reason: string;
}

/** One attempt to answer an interaction (a POST to its callback). */
export interface AnswerRecord {
  readonly at: number;
  /** Milliseconds after the interaction was dispatched. */
  readonly latencyMs: number;
  /** `accepted` (204), `already-acknowledged` (400 40060) or `expired` (404 10062). */
  readonly outcome: 'accepted' | 'already-acknowledged' | 'expired';
  /** The interaction response type (4 reply, 5 defer, ...). */
  readonly type: number;
  /** The User-Agent header of the answering request (discord.js appends `rest.userAgentAppendix`). */
  readonly userAgent: string | null;
}

/** One interaction: where it went and who answered it. */
export interface InteractionRecord {
  readonly id: string;
  readonly command: string;
  readonly guildId: string | null;
  readonly channelId: string;
  readonly shardId: number;
  readonly dispatchedAt: number;
  /** Sessions it was sent to (or buffered for, when disconnected but resumable). */
  readonly sessionIds: readonly string[];
  readonly answers: readonly AnswerRecord[];
}

/** Everything the local Discord counted, as `GET /__sim/stats` returns it. */
export interface SimStats {
  readonly now: number;
  readonly sessionStartLimit: SessionStartLimit;
  readonly shards: readonly ShardStats[];
  readonly sessions: readonly SessionStats[];
  readonly identifies: readonly IdentifyRecord[];
  readonly invalidSessions: readonly InvalidSessionRecord[];
  readonly resumes: readonly ResumeRecord[];
  /** Events sent again because of RESUMEs. */
  readonly replayedEvents: number;
  readonly closes: readonly CloseRecord[];
  /** Dispatches sent to connections (all sessions, all events). */
  readonly dispatchesSent: number;
  readonly interactions: {
    readonly dispatched: number;
    /**
     * Every interaction in exactly one of: `zero` (no answer attempted), `one` (answered once, accepted),
     * `twoOrMore` (accepted, and answered again: refused 40060), `expired` (never accepted: every attempt
     * came after the deadline and Discord refused it with 10062, which a user sees as "The application
     * did not respond"). They sum to `dispatched`.
     */
    readonly answered: {
      readonly zero: number;
      readonly one: number;
      readonly twoOrMore: number;
      readonly expired: number;
    };
    /** Accepted answers' latency after dispatch. */
    readonly latencyMs: {
      readonly p50: number | null;
      readonly p99: number | null;
      readonly max: number | null;
    };
    readonly list: readonly InteractionRecord[];
  };
  readonly rest: {
    readonly requests: number;
    /** Responses by status code. */
    readonly byStatus: Readonly<Record<string, number>>;
    readonly messagesCreated: number;
  };
}
