import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';
import { checkTtl, emptyState, ops, parseState, type StoreState, serializeState } from '../state/state.ts';
import type { Lease, Store, Versioned, WatchOptions, WriteOptions } from '../store.ts';
import { PollingWatches } from '../watch/poll.ts';
import { FileLock, type FileLockOptions } from './FileLock.ts';

/** Options of {@link FileStore}. */
export interface FileStoreOptions extends FileLockOptions {
  /** The store's clock, ms since the Unix epoch. All processes of one machine share `Date.now`. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * A store in one JSON file, shared by the processes of one machine. Every write is a read-modify-write
 * under a {@link FileLock}, written to a temporary file and renamed over the store, so that a reader
 * (without the lock) sees either the old or the new file, never half of one. Watches poll the file.
 * A lock held past `staleMs` (a stopped process) is broken by the next writer; the stopped one checks
 * that its lock is still its own just before its rename, and otherwise computes its change again from a
 * fresh read, so what others wrote meanwhile is kept. (Only a stop of more than `staleMs` between that
 * check and the rename itself could still publish an older state.)
 */
export class FileStore implements Store {
  public readonly kind = 'file' as const;
  public readonly description: string;
  private readonly lock: FileLock;
  private readonly clock: () => number;
  private readonly watches = new PollingWatches();
  private closed = false;

  public constructor(
    private readonly path: string,
    options: FileStoreOptions = {},
  ) {
    this.description = `file:${path}`;
    this.lock = new FileLock(`${path}.lock`, options);
    this.clock = options.now ?? Date.now;
  }

  /** Creates the file's folder, so that the first write does not fail on a fresh checkout. */
  public async open(): Promise<this> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
    } catch (error) {
      throw new StoreError(StoreErrorCodes.Unreachable, `${this.description}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return this;
  }

  public async get(key: string): Promise<Versioned | undefined> {
    return ops.get(await this.read(), key, this.clock());
  }

  public async list(prefix: string): Promise<Map<string, Versioned>> {
    return ops.list(await this.read(), prefix, this.clock());
  }

  public async compareAndSet(
    key: string,
    value: string,
    expectedVersion: number,
    options: WriteOptions = {},
  ): Promise<Versioned | undefined> {
    checkTtl(options.ttlMs);
    const written = await this.update((state, now) =>
      ops.write(state, key, value, expectedVersion, options.ttlMs, now),
    );
    if (written !== undefined) this.changed(key);
    return written;
  }

  public async set(key: string, value: string, options: WriteOptions = {}): Promise<Versioned> {
    checkTtl(options.ttlMs);
    const written = await this.update(
      (state, now) => ops.write(state, key, value, undefined, options.ttlMs, now) as Versioned,
    );
    this.changed(key);
    return written;
  }

  public async delete(key: string, expectedVersion?: number): Promise<boolean> {
    const deleted = await this.update((state, now) => ops.delete(state, key, expectedVersion, now));
    if (deleted) this.changed(key);
    return deleted;
  }

  public async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    return this.update((state, now) => ops.acquire(state, name, owner, ttlMs, now));
  }

  public async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    return this.update((state, now) => ops.renew(state, lease, ttlMs, now));
  }

  public async renewMany(leases: readonly Lease[], ttlMs: number): Promise<(Lease | undefined)[]> {
    checkTtl(ttlMs);
    if (leases.length === 0) return [];
    return this.update((state, now) => leases.map((lease) => ops.renew(state, lease, ttlMs, now)));
  }

  public async release(lease: Lease): Promise<boolean> {
    return this.update((state, now) => ops.release(state, lease, now));
  }

  public async holder(name: string): Promise<Lease | undefined> {
    return ops.holder(await this.read(), name, this.clock());
  }

  public async leases(prefix: string): Promise<Lease[]> {
    return ops.leases(await this.read(), prefix, this.clock());
  }

  public watch(
    key: string,
    onChange: (record: Versioned | undefined) => void,
    options: WatchOptions = {},
  ): () => void {
    this.ensureOpen();
    return this.watches.add(key, () => this.get(key), onChange, options);
  }

  public async now(): Promise<number> {
    return this.clock();
  }

  public async close(): Promise<void> {
    this.closed = true;
    this.watches.stopAll();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreErrorCodes.Closed, this.description);
  }

  private async read(): Promise<StoreState> {
    this.ensureOpen();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new StoreError(StoreErrorCodes.Unreachable, `${this.description}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return parseState(text, this.description);
  }

  private async update<T>(change: (state: StoreState, now: number) => T): Promise<T> {
    this.ensureOpen();
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.lock.run(async (held) => {
        const state = await this.read();
        const now = this.clock();
        const result = change(state, now);
        ops.purge(state, now);
        const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        try {
          await writeFile(temporary, serializeState(state));
          // Broken while this process was stopped: another may have written since the read.
          if (!(await held())) {
            await unlink(temporary).catch(() => undefined);
            return { lost: true } as const;
          }
          await rename(temporary, this.path);
        } catch (error) {
          await unlink(temporary).catch(() => undefined);
          throw error;
        }
        return { lost: false, result } as const;
      });
      if (!outcome.lost) return outcome.result;
      // Nothing was written: the change is computed again from a fresh read.
      if (attempt >= 3) {
        throw new StoreError(
          StoreErrorCodes.LockTimeout,
          `${this.path}.lock was broken by another process while this one wrote, ${attempt} times`,
        );
      }
    }
  }

  private changed(key: string): void {
    this.watches.changed(key);
  }
}
