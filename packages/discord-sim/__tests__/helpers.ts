import { GatewayOpcodes } from 'discord-api-types/v10';
import WebSocket from 'ws';
import type { DiscordSimHandle, SimTimer, SimTimers } from '../src/index.ts';

/** A gateway payload as received. */
export interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/**
 * A plain WebSocket client for protocol tests: it records every payload and the close code, and sends
 * exactly what the test tells it to (no heartbeats of its own).
 */
export class RawGateway {
  public readonly received: Payload[] = [];
  public closeCode: number | null = null;
  readonly #ws: WebSocket;
  readonly #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      this.received.push(JSON.parse(String(data)) as Payload);
      this.#wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  public static async connect(url: string, query = '?v=10&encoding=json'): Promise<RawGateway> {
    const ws = new WebSocket(`${url}${query}`);
    const client = new RawGateway(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  public send(op: number, d: unknown): void {
    this.#ws.send(JSON.stringify({ op, d }));
  }

  public sendRaw(data: string): void {
    this.#ws.send(data);
  }

  public identify(
    token: string,
    shard: [number, number],
    intents = 1,
    properties = { os: 'linux', browser: 'raw', device: 'raw' },
  ): void {
    this.send(GatewayOpcodes.Identify, { token, shard, intents, properties });
  }

  /** Resolves when `check` holds over what was received (or the close), rejects after `timeoutMs`. */
  public async until<T>(
    check: () => T | undefined | null | false,
    what: string,
    timeoutMs = 5_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; received ${JSON.stringify(this.received.map((p) => [p.op, p.t]))}, close ${this.closeCode}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  public nextOp(op: number, after = 0): Promise<Payload> {
    return this.until(() => this.received.slice(after).find((p) => p.op === op), `op ${op}`);
  }

  public dispatches(t: string): Payload[] {
    return this.received.filter((p) => p.op === 0 && p.t === t);
  }

  public closed(): Promise<number> {
    return this.until(() => this.closeCode ?? undefined, 'close');
  }

  public close(code = 1000): Promise<number> {
    if (this.closeCode === null) this.#ws.close(code);
    return this.closed();
  }

  /** Drops the TCP connection without a close frame (a network failure; the session stays resumable). */
  public terminate(): Promise<number> {
    this.#ws.terminate();
    return this.closed();
  }
}

/** Connects, identifies and waits for READY; returns the client and its session id. */
export async function identified(
  sim: DiscordSimHandle,
  shard: [number, number],
  intents = 1,
): Promise<{ gw: RawGateway; sessionId: string }> {
  const gw = await RawGateway.connect(sim.gatewayUrl);
  await gw.nextOp(GatewayOpcodes.Hello);
  gw.identify(sim.token, shard, intents);
  const ready = await gw.until(() => gw.dispatches('READY')[0], 'READY');
  return { gw, sessionId: (ready.d as { session_id: string }).session_id };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/**
 * A clock and timers that move only when the test says so: `advance(ms)` moves the clock and fires every
 * timer that is due, in order.
 */
export function manualTime(start = Date.UTC(2026, 0, 1)): {
  now: () => number;
  timers: SimTimers;
  advance: (ms: number) => void;
  pending: () => number;
} {
  let t = start;
  const timers = new Set<{ dueAt: number; ms: number; callback: () => void }>();
  return {
    now: () => t,
    timers: {
      setTimeout(callback, ms): SimTimer {
        const entry = { dueAt: t + ms, ms, callback };
        timers.add(entry);
        return {
          refresh: () => {
            entry.dueAt = t + entry.ms;
            timers.add(entry);
          },
          cancel: () => void timers.delete(entry),
        };
      },
    },
    advance(ms) {
      t += ms;
      const due = [...timers].filter((e) => e.dueAt <= t).sort((a, b) => a.dueAt - b.dueAt);
      for (const e of due) {
        timers.delete(e);
        e.callback();
      }
    },
    pending: () => timers.size,
  };
}
