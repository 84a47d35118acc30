import { randomBytes } from 'node:crypto';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';

/** Options of {@link FileLock}. */
export interface FileLockOptions {
  /** Give up (`LOCK_TIMEOUT`) after waiting this long. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /**
   * A lock older than this is broken even if its process still runs (a stopped, hung or reused pid):
   * a critical section lasts a read and a rename. A lock whose process is gone is broken at once. A
   * holder whose lock was broken finds out before it renames (see {@link FileLock.run}).
   * @defaultValue 30000
   */
  readonly staleMs?: number;
}

const FileLockDefaults = { timeoutMs: 10_000, staleMs: 30_000 } as const satisfies Required<FileLockOptions>;

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return code(error) === 'EPERM';
  }
}

/**
 * A lock shared by the processes of one machine: a file linked into place (never over another) holding the owner's pid
 * and a nonce. A lock left by a process that died is detected (its pid is gone, or it is older than
 * `staleMs`) and broken by renaming it away first, so that two processes breaking the same stale lock
 * cannot both remove a fresh one. Calls within one process queue behind each other.
 */
export class FileLock {
  private readonly options: Required<FileLockOptions>;
  private queue: Promise<unknown> = Promise.resolve();

  public constructor(
    private readonly path: string,
    options: FileLockOptions = {},
  ) {
    this.options = { ...FileLockDefaults, ...options };
  }

  /**
   * Runs `critical` while holding the lock. `held()` says whether the lock is still this call's: a
   * holder stopped past `staleMs` (SIGSTOP, a frozen VM) has had it broken by another process, and must
   * not publish what it computed from an older read.
   */
  public run<T>(critical: (held: () => Promise<boolean>) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const content = await this.take();
      const held = async () => (await readFile(this.path, 'utf8').catch(() => undefined)) === content;
      try {
        return await critical(held);
      } finally {
        await this.give(content);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async take(): Promise<string> {
    const content = `${process.pid} ${randomBytes(8).toString('hex')}`;
    const deadline = Date.now() + this.options.timeoutMs;
    // The lock appears with its owner already written (a file of our own, then link, which fails on an
    // existing lock): a process that dies while taking it never leaves an empty lock, which others
    // would take for one being written and wait on until `staleMs`.
    const draft = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
    await writeFile(draft, content);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          // The lock's age is its file's: stamped now, not when this process began to wait for it,
          // or others would take a lock just taken after a long wait for a stale one.
          const now = new Date();
          await utimes(draft, now, now);
          await link(draft, this.path);
          return content;
        } catch (error) {
          if (code(error) !== 'EEXIST') throw error;
        }
        await this.breakIfStale();
        if (Date.now() > deadline) {
          throw new StoreError(
            StoreErrorCodes.LockTimeout,
            `${this.path} held by another process for more than ${this.options.timeoutMs} ms`,
          );
        }
        // Short, jittered waits: a critical section lasts a read and a rename.
        const wait = Math.min(1 + attempt, 20) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  }

  private async breakIfStale(): Promise<void> {
    let seen: string;
    let age: number;
    try {
      seen = await readFile(this.path, 'utf8');
      age = Date.now() - (await stat(this.path)).mtimeMs;
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    const pid = Number(seen.split(' ')[0]);
    // An empty lock is one being written right now: give its writer time.
    const stale = (seen !== '' && Number.isInteger(pid) && !alive(pid)) || age > this.options.staleMs;
    if (!stale) return;
    const aside = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
    try {
      await rename(this.path, aside);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    const moved = await readFile(aside, 'utf8').catch(() => seen);
    if (moved !== seen) {
      // Someone broke it before us and took it fresh: put their lock back (link does not overwrite).
      await link(aside, this.path).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }

  private async give(content: string): Promise<void> {
    // Remove only our own lock: if it was broken as stale, it is someone else's now.
    const current = await readFile(this.path, 'utf8').catch(() => undefined);
    if (current === content) await unlink(this.path).catch(() => undefined);
  }
}
