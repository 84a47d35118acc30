import type { SessionInfo } from '@discordjs/ws';
import type { Lease, Store } from '@qsb/store';
import type { SessionCache } from '../gateway/shards.ts';
import type { AbortableSleep } from '../identify/throttlers.ts';

/** What is saved of a session at shutdown, under `sessions/<shard>`. */
export interface SavedSession {
  readonly sessionId: string;
  readonly sequence: number;
  readonly resumeURL: string;
  readonly shardCount: number;
  /** Store clock (ms since the epoch) when it was saved. */
  readonly savedAt: number;
}

/** Options of {@link SessionBook}. */
export interface SessionBookOptions {
  readonly store: Store;
  /** This process's identity, the owner of its leases. */
  readonly owner: string;
  readonly shardCount: number;
  /** A session lease lives this long unless renewed. @defaultValue 15000 */
  readonly leaseTtlMs?: number;
  /** A saved session older than this is not resumed (Discord would refuse it). @defaultValue 120000 */
  readonly maxAgeMs?: number;
  /** How often a waiting process looks whether a session lease is free. @defaultValue 100 */
  readonly pollMs?: number;
  readonly sleep: AbortableSleep;
  /** Called once when a lease is held by someone else, with its holder. */
  readonly onWait?: (shardId: number, holder: string) => void;
  /**
   * Called once when this process lost a lease it held, with why (`expired`, `held by <owner>`): it must
   * stop acting on the shard at once, since another process may hold it now.
   */
  readonly onLost: (shardId: number, reason: string) => void;
  /**
   * Called once when a renewal pass took longer than a third of the TTL (a store too slow for this many
   * leases), and again only after a pass kept up in between.
   */
  readonly onSlowRenewal?: (passMs: number, leases: number, ttlMs: number) => void;
  /** Monotonic clock in ms, to time renewal passes. @defaultValue `performance.now` */
  readonly now?: () => number;
  readonly onError: (error: unknown, what: string) => void;
  /**
   * Keeps this deployment's sessions apart from the other's (`session:canary:3`): under live routing
   * both deployments hold a session on a moving shard at once (make before break).
   */
  readonly namespace?: string;
}

/** The lease name of a shard's session (within `namespace`, when given). */
export const sessionLease = (shardId: number, namespace?: string) =>
  namespace === undefined ? `session:${shardId}` : `session:${namespace}:${shardId}`;
/** The key of a shard's saved session (within `namespace`, when given). */
export const sessionKey = (shardId: number, namespace?: string) =>
  namespace === undefined ? `sessions/${shardId}` : `sessions/${namespace}/${shardId}`;
/** The key a process waiting for a shard's session writes, so that the holder hands it over. */
export const successorKey = (shardId: number, namespace?: string) =>
  `${sessionKey(shardId, namespace)}/successor`;

function parseSaved(text: string): SavedSession | undefined {
  try {
    const value = JSON.parse(text) as Partial<SavedSession>;
    if (
      typeof value.sessionId === 'string' &&
      typeof value.sequence === 'number' &&
      typeof value.resumeURL === 'string' &&
      typeof value.shardCount === 'number' &&
      typeof value.savedAt === 'number'
    ) {
      return value as SavedSession;
    }
  } catch {
    // A corrupt record is ignored: the shard identifies.
  }
  return undefined;
}

/**
 * The sessions of this process's shards: the in-memory cache `@discordjs/ws` reads and writes on every
 * event, a lease per shard in the store so that no two live processes hold one session, and the saved
 * session a shutdown leaves for the next process to resume.
 *
 * Exactly once across processes: a process saves, per shard, the sequence of the last event it handed
 * to its handlers, after its shard is closed; it answers nothing after that sequence. The next process
 * resumes from that sequence, so Discord replays exactly the events the old one did not handle.
 */
export class SessionBook implements SessionCache {
  readonly #o: SessionBookOptions;
  readonly #ttlMs: number;
  readonly #sessions = new Map<number, SessionInfo>();
  readonly #handled = new Map<number, number>();
  readonly #leases = new Map<number, Lease>();
  /** Per lease, until when (this process's clock) it is surely still held: its TTL from the request. */
  readonly #validUntil = new Map<number, number>();
  #renewTimer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #slow = false;
  /** Shards being saved: the null `@discordjs/ws` writes while closing them must not erase their session. */
  readonly #keep = new Set<number>();

  public constructor(options: SessionBookOptions) {
    this.#o = options;
    this.#ttlMs = options.leaseTtlMs ?? 15_000;
  }

  public get(shardId: number): SessionInfo | null {
    return this.#sessions.get(shardId) ?? null;
  }

  public set(shardId: number, session: SessionInfo | null): void {
    if (session === null) {
      if (!this.#keep.has(shardId)) {
        this.#sessions.delete(shardId);
        this.#handled.delete(shardId);
      }
      return;
    }
    this.#sessions.set(shardId, session);
  }

  /** Records that the event `sequence` of `shardId` was handed to the handlers. */
  public handled(shardId: number, sequence: number | null): void {
    if (sequence !== null && sequence > (this.#handled.get(shardId) ?? 0))
      this.#handled.set(shardId, sequence);
  }

  /** Whether this process holds `shardId`'s lease. */
  public holds(shardId: number): boolean {
    return this.#leases.has(shardId);
  }

  /**
   * Whether this process may act on `shardId` now: it holds the lease and its TTL, counted from when the
   * last acquire or renewal was sent, has not run out. A renewal that is late (a slow store) stops the
   * answers before the store lets anyone else take the lease, not after this process hears of it.
   */
  public mayAct(shardId: number): boolean {
    return this.#leases.has(shardId) && this.#clock() < (this.#validUntil.get(shardId) ?? 0);
  }

  /**
   * Waits until this process holds the lease of `shardId`'s session, then loads the saved session (when
   * fresh and for the same shard count) so that the shard resumes it. Returns whether one was loaded.
   */
  public async claim(shardId: number, signal: AbortSignal): Promise<'resume' | 'identify'> {
    const { store, owner } = this.#o;
    let told = false;
    for (;;) {
      signal.throwIfAborted();
      const asked = this.#clock();
      const lease = await store.acquire(sessionLease(shardId, this.#o.namespace), owner, this.#ttlMs);
      if (lease) {
        this.#leases.set(shardId, lease);
        this.#validUntil.set(shardId, asked + this.#ttlMs);
        this.#startRenewing();
        break;
      }
      if (!told) {
        told = true;
        const holder = await store.holder(sessionLease(shardId, this.#o.namespace));
        this.#o.onWait?.(shardId, holder?.owner ?? 'unknown');
        // A holder that is shutting down hands the session over as soon as it sees a successor.
        await store.set(successorKey(shardId, this.#o.namespace), owner, { ttlMs: 30_000 });
      }
      await this.#o.sleep(this.#o.pollMs ?? 100, signal);
    }
    if (told) await store.delete(successorKey(shardId, this.#o.namespace));
    const record = await store.get(sessionKey(shardId, this.#o.namespace));
    if (!record) return 'identify';
    // Taken: whatever happens next, this session is not resumed twice.
    await store.delete(sessionKey(shardId, this.#o.namespace), record.version);
    const saved = parseSaved(record.value);
    const age = saved ? (await store.now()) - saved.savedAt : Number.POSITIVE_INFINITY;
    if (!saved || saved.shardCount !== this.#o.shardCount || age > (this.#o.maxAgeMs ?? 120_000)) {
      return 'identify';
    }
    this.#sessions.set(shardId, {
      sessionId: saved.sessionId,
      sequence: saved.sequence,
      resumeURL: saved.resumeURL,
      shardCount: saved.shardCount,
      shardId,
    });
    this.#handled.set(shardId, saved.sequence);
    return 'resume';
  }

  /**
   * Resolves once another process waits for `shardId`'s session (it wrote its successor key), or when
   * `timeoutMs` passed or `signal` aborted: until then this process keeps answering on the shard.
   */
  public async awaitSuccessor(shardId: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !signal.aborted) {
      const record = await this.#o.store.get(successorKey(shardId, this.#o.namespace));
      if (record && record.value !== this.#o.owner) return true;
      await this.#o.sleep(Math.min(50, Math.max(1, deadline - Date.now())), signal).catch(() => {});
    }
    return false;
  }

  /** Keeps `shardId`'s session in memory while its shard closes (see {@link SessionBook.save}). */
  public keep(shardId: number): void {
    this.#keep.add(shardId);
  }

  /**
   * Saves `shardId`'s session at the last handled sequence and gives its lease up. Call after its shard
   * is closed and {@link SessionBook.keep} before. Returns whether a session was saved.
   */
  public async save(shardId: number): Promise<boolean> {
    const { store } = this.#o;
    const session = this.#sessions.get(shardId);
    const lease = this.#leases.get(shardId);
    this.#keep.delete(shardId);
    this.#sessions.delete(shardId);
    let saved = false;
    try {
      if (session && lease) {
        const value: SavedSession = {
          sessionId: session.sessionId,
          sequence: this.#handled.get(shardId) ?? session.sequence,
          resumeURL: session.resumeURL,
          shardCount: session.shardCount,
          savedAt: await store.now(),
        };
        await store.set(sessionKey(shardId, this.#o.namespace), JSON.stringify(value), {
          ttlMs: this.#o.maxAgeMs ?? 120_000,
        });
        saved = true;
      }
    } finally {
      this.#handled.delete(shardId);
      await this.release(shardId);
    }
    return saved;
  }

  /**
   * Gives `shardId`'s lease up without saving anything, and forgets its session: a shard claimed again
   * later resumes only what the store offers, never a session another holder may have used since.
   */
  public async release(shardId: number): Promise<void> {
    const lease = this.#leases.get(shardId);
    this.#leases.delete(shardId);
    this.#validUntil.delete(shardId);
    this.#keep.delete(shardId);
    this.#sessions.delete(shardId);
    this.#handled.delete(shardId);
    if (lease) await this.#o.store.release(lease);
    if (this.#leases.size === 0) this.#stopRenewing();
  }

  /** Stops renewing; leases still held expire on their own. */
  public close(): void {
    this.#stopRenewing();
  }

  /**
   * One renewal pass over every lease held, in one store operation (`renewMany`): a pass takes one lock
   * and write of the file, or one round trip to Redis, rather than one per shard, so that 16 leases on a
   * slow file store still renew well inside their TTL. The timer
   * runs it every third of the TTL; a pass already running is joined, not doubled.
   */
  public renewAll(): Promise<void> {
    this.#renewing ??= this.#renewPass().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  get #intervalMs(): number {
    return Math.max(50, Math.floor(this.#ttlMs / 3));
  }

  #startRenewing(): void {
    if (this.#renewTimer) return;
    this.#schedule(this.#intervalMs);
  }

  /** The next pass starts one interval after the previous one started, or at once if that was slower. */
  #schedule(delayMs: number): void {
    const timer = setTimeout(() => {
      const started = this.#clock();
      void this.renewAll().then(() => {
        // Stopped (or stopped and started again) meanwhile: that other chain of passes goes on alone.
        if (this.#renewTimer !== timer) return;
        // Every lease gone (released or lost): the next claim starts a new chain.
        if (this.#leases.size === 0) {
          this.#renewTimer = undefined;
          return;
        }
        this.#schedule(Math.max(0, this.#intervalMs - (this.#clock() - started)));
      });
    }, delayMs);
    timer.unref();
    this.#renewTimer = timer;
  }

  #stopRenewing(): void {
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    this.#renewTimer = undefined;
  }

  #clock(): number {
    return (this.#o.now ?? performance.now.bind(performance))();
  }

  async #renewPass(): Promise<void> {
    const started = this.#clock();
    const held = [...this.#leases];
    if (held.length === 0) return;
    let renewed: (Lease | undefined)[];
    try {
      renewed = await this.#o.store.renewMany(
        held.map(([, lease]) => lease),
        this.#ttlMs,
      );
    } catch (error) {
      this.#o.onError(error, `renewing the leases of shards ${held.map(([id]) => id).join(', ')}`);
      return;
    }
    await Promise.all(held.map(([shardId, lease], i) => this.#settle(shardId, lease, renewed[i], started)));
    const passMs = this.#clock() - started;
    if (passMs > this.#ttlMs / 3) {
      if (!this.#slow) this.#o.onSlowRenewal?.(passMs, held.length, this.#ttlMs);
      this.#slow = true;
    } else {
      this.#slow = false;
    }
  }

  /** Applies one lease's renewal, sent at `sent`: kept, or lost and reported with who holds it now. */
  async #settle(shardId: number, lease: Lease, renewed: Lease | undefined, sent: number): Promise<void> {
    // Released or claimed again meanwhile: that newer lease is not this pass's to judge.
    if (this.#leases.get(shardId) !== lease) return;
    if (renewed) {
      this.#leases.set(shardId, renewed);
      this.#validUntil.set(shardId, sent + this.#ttlMs);
      return;
    }
    this.#leases.delete(shardId);
    this.#validUntil.delete(shardId);
    const holder = await this.#o.store.holder(lease.name).catch(() => undefined);
    this.#o.onLost(shardId, holder ? `held by ${holder.owner}` : 'expired');
  }
}
