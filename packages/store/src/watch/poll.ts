import type { Versioned, WatchOptions } from '../store.ts';

/** How often a polling watch reads the key when `intervalMs` is not given. */
export const DefaultWatchIntervalMs = 250;

/**
 * One watch on one key: reads it, and calls `onChange` when the record differs from the last one seen
 * (by version and value, so that a key deleted and written again at the same version still counts).
 * `check()` reads now; a timer calls it every `intervalMs`; a store that knows when it wrote calls it
 * right away too.
 */
export class PollingWatch {
  private last: Versioned | undefined | null = null;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  public constructor(
    private readonly read: () => Promise<Versioned | undefined>,
    private readonly onChange: (record: Versioned | undefined) => void,
    private readonly options: WatchOptions = {},
  ) {
    this.timer = setInterval(() => void this.check(), options.intervalMs ?? DefaultWatchIntervalMs);
    // A watch alone does not keep a process alive: the process's own work does.
    this.timer.unref();
    void this.check();
  }

  /** Reads the key and reports a change; calls made while a read runs coalesce into one more read. */
  public check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.readOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.check();
      }
    });
    return this.running;
  }

  /** Stops the timer; no callback is made after this returns. */
  public stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async readOnce(): Promise<void> {
    let record: Versioned | undefined;
    try {
      record = await this.read();
    } catch (error) {
      if (!this.stopped) this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.stopped) return;
    const last = this.last;
    const same =
      last !== null &&
      (last === undefined
        ? record === undefined
        : record !== undefined && last.version === record.version && last.value === record.value);
    if (same) return;
    this.last = record;
    this.onChange(record);
  }
}

/**
 * The polling watches of one store, by key: a store that writes in this process tells it which key
 * changed (`changed`), so that its watches read at once instead of at their next poll.
 */
export class PollingWatches {
  private readonly byKey = new Map<string, Set<PollingWatch>>();

  /** Starts a watch on `key` reading with `read`; returns its stop function. */
  public add(
    key: string,
    read: () => Promise<Versioned | undefined>,
    onChange: (record: Versioned | undefined) => void,
    options: WatchOptions = {},
  ): () => void {
    const watch = new PollingWatch(read, onChange, options);
    let set = this.byKey.get(key);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(key, set);
    }
    set.add(watch);
    return () => {
      watch.stop();
      set.delete(watch);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    };
  }

  /** Makes the watches of `key` read now. */
  public changed(key: string): void {
    for (const watch of this.byKey.get(key) ?? []) void watch.check();
  }

  /** Makes every watch read now. */
  public async checkAll(): Promise<void> {
    await Promise.all([...this.byKey.values()].flatMap((set) => [...set].map((watch) => watch.check())));
  }

  /** Stops every watch. */
  public stopAll(): void {
    for (const set of this.byKey.values()) for (const watch of set) watch.stop();
    this.byKey.clear();
  }
}
