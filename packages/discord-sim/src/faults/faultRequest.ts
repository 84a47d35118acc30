/**
 * Faults as data: what `POST /__sim/faults` accepts, so that a script, a rehearsal or the demo can break
 * the local Discord while bots run in other processes. Each maps onto one method of `sim.faults`.
 */
export type SimFaultRequest =
  /** Closes every connection of a shard with a close code (4000: resumable, 4009 timed out, ...). */
  | { readonly type: 'close'; readonly shard: number; readonly code: number; readonly reason?: string }
  /** Op 7 RECONNECT to a shard's connections. */
  | { readonly type: 'reconnect'; readonly shard: number }
  /** Op 9 INVALID_SESSION; `resumable: false` ends the sessions. */
  | { readonly type: 'invalid-session'; readonly shard: number; readonly resumable: boolean }
  /** Op 1: the server asks a shard for a heartbeat now. */
  | { readonly type: 'heartbeat-request'; readonly shard: number }
  /** Stops (false) or restarts (true) acknowledging a shard's heartbeats; lasts until changed or cleared. */
  | { readonly type: 'heartbeat-acks'; readonly shard: number; readonly acknowledge: boolean }
  /** Delays every dispatch by `ms` (0 restores immediate delivery); lasts until changed or cleared. */
  | { readonly type: 'latency'; readonly ms: number }
  /** Answers the next `count` REST requests (whose path contains `path`) with a 5xx or a 429. */
  | {
      readonly type: 'rest';
      readonly status: number;
      readonly count?: number;
      readonly path?: string;
      readonly retryAfter?: number;
      readonly global?: boolean;
    };

/** The kinds of fault, as `type` names them. */
export const SIM_FAULT_TYPES = [
  'close',
  'reconnect',
  'invalid-session',
  'heartbeat-request',
  'heartbeat-acks',
  'latency',
  'rest',
] as const;

/** A fault in force, as `GET /__sim/faults` lists it. */
export type ActiveSimFault =
  | { readonly type: 'latency'; readonly ms: number }
  | { readonly type: 'heartbeat-acks'; readonly shard: number; readonly acknowledge: false }
  | {
      readonly type: 'rest';
      readonly status: number;
      /** Requests it will still answer. */
      readonly left: number;
      readonly path: string | null;
      readonly retryAfter: number | null;
      readonly global: boolean;
    };

/** The outcome of {@link parseSimFaultRequest}: the fault, or the field that was wrong and why. */
export type SimFaultParse =
  | { readonly ok: true; readonly fault: SimFaultRequest }
  | { readonly ok: false; readonly field: string; readonly message: string };

const FIELDS: Record<SimFaultRequest['type'], readonly string[]> = {
  close: ['type', 'shard', 'code', 'reason'],
  reconnect: ['type', 'shard'],
  'invalid-session': ['type', 'shard', 'resumable'],
  'heartbeat-request': ['type', 'shard'],
  'heartbeat-acks': ['type', 'shard', 'acknowledge'],
  latency: ['type', 'ms'],
  rest: ['type', 'status', 'count', 'path', 'retryAfter', 'global'],
};

class Refusal {
  public constructor(
    public readonly field: string,
    public readonly message: string,
  ) {}
}

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

function integer(body: Record<string, unknown>, field: string, min: number, max: number, what = ''): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new Refusal(field, `${field}: must be an integer from ${min} to ${max}${what}, got ${show(v)}`);
  }
  return v;
}

function boolean(body: Record<string, unknown>, field: string): boolean {
  const v = body[field];
  if (typeof v !== 'boolean') throw new Refusal(field, `${field}: must be true or false, got ${show(v)}`);
  return v;
}

function optional<T>(body: Record<string, unknown>, field: string, read: () => T): T | undefined {
  return body[field] === undefined ? undefined : read();
}

/** Valid close codes a server may send: 1000 (normal), 1001 (going away), 1011, and 3000 to 4999. */
function closeCode(body: Record<string, unknown>): number {
  const v = body.code;
  if (
    typeof v === 'number' &&
    (v === 1000 || v === 1001 || v === 1011 || (Number.isSafeInteger(v) && v >= 3000 && v <= 4999))
  )
    return v;
  throw new Refusal(
    'code',
    `code: must be a WebSocket close code a server may send (1000, 1001, 1011, or 3000 to 4999; Discord's are 4000 to 4014), got ${show(v)}`,
  );
}

function restStatus(body: Record<string, unknown>): number {
  const v = body.status;
  if (v === 429 || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 500 && v <= 599)) return v;
  throw new Refusal('status', `status: must be 429 or an integer from 500 to 599, got ${show(v)}`);
}

function parse(input: unknown, shards: number): SimFaultRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new Refusal('body', `body: must be one JSON object with a "type", got ${show(input)}`);
  }
  const body = input as Record<string, unknown>;
  const type = body.type;
  if (typeof type !== 'string' || !(SIM_FAULT_TYPES as readonly string[]).includes(type)) {
    throw new Refusal('type', `type: must be one of ${SIM_FAULT_TYPES.join(', ')}, got ${show(type)}`);
  }
  const t = type as SimFaultRequest['type'];
  const allowed = FIELDS[t];
  const unknown = Object.keys(body).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw new Refusal(
      unknown,
      `${unknown}: not a field of a ${t} fault, whose fields are ${allowed.join(', ')}`,
    );
  }
  const shard = () => integer(body, 'shard', 0, shards - 1, ` (the local Discord has ${shards} shards)`);
  switch (t) {
    case 'close': {
      const s = shard();
      const code = closeCode(body);
      const reason = optional(body, 'reason', () => {
        const r = body.reason;
        // A close frame carries at most 123 bytes of reason.
        if (typeof r !== 'string' || Buffer.byteLength(r) > 123)
          throw new Refusal('reason', `reason: must be a string of at most 123 bytes, got ${show(r)}`);
        return r;
      });
      return reason === undefined ? { type: t, shard: s, code } : { type: t, shard: s, code, reason };
    }
    case 'reconnect':
    case 'heartbeat-request':
      return { type: t, shard: shard() };
    case 'invalid-session':
      return { type: t, shard: shard(), resumable: boolean(body, 'resumable') };
    case 'heartbeat-acks':
      return { type: t, shard: shard(), acknowledge: boolean(body, 'acknowledge') };
    case 'latency':
      return { type: t, ms: integer(body, 'ms', 0, 600_000, ' (milliseconds)') };
    case 'rest': {
      const status = restStatus(body);
      const count = optional(body, 'count', () => integer(body, 'count', 1, 1_000_000));
      const path = optional(body, 'path', () => {
        const p = body.path;
        if (typeof p !== 'string' || p.length === 0 || p.length > 512)
          throw new Refusal(
            'path',
            `path: must be a non-empty string of at most 512 characters (a part of the path after /api/v10), got ${show(p)}`,
          );
        return p;
      });
      const retryAfter = optional(body, 'retryAfter', () => {
        const r = body.retryAfter;
        if (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r > 3600)
          throw new Refusal(
            'retryAfter',
            `retryAfter: must be a number of seconds from 0 to 3600, got ${show(r)}`,
          );
        return r;
      });
      const global = optional(body, 'global', () => boolean(body, 'global'));
      if (status !== 429 && (retryAfter !== undefined || global !== undefined)) {
        const field = retryAfter !== undefined ? 'retryAfter' : 'global';
        throw new Refusal(field, `${field}: only a 429 fault takes it (status is ${status})`);
      }
      return {
        type: t,
        status,
        ...(count === undefined ? {} : { count }),
        ...(path === undefined ? {} : { path }),
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(global === undefined ? {} : { global }),
      };
    }
  }
}

/**
 * Checks a fault request (a parsed JSON body) against the local Discord's shard count. Refusals name the
 * field, the value received and what is allowed; unknown fields are refused, not ignored.
 *
 * @example
 * parseSimFaultRequest({ type: 'close', shard: 3, code: 4000 }, 16); // { ok: true, fault: {...} }
 */
export function parseSimFaultRequest(input: unknown, shards: number): SimFaultParse {
  try {
    return { ok: true, fault: parse(input, shards) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, field: error.field, message: error.message };
    throw error;
  }
}
