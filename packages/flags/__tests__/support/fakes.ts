import type { FlagsLogger } from '../../src/index.ts';

/** One log call as a test sees it. */
export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

/** A logger that keeps every call, for assertions. */
export class RecordingLogger implements FlagsLogger {
  public readonly entries: LogEntry[] = [];

  public info(obj: object, msg: string): void {
    this.entries.push({ level: 'info', obj, msg });
  }

  public warn(obj: object, msg: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }

  public error(obj: object, msg: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }

  public at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((e) => e.level === level);
  }
}

/** A timer the test fires by hand: no real waiting. */
export class ManualTimers {
  private readonly pending = new Set<{ callback: () => void; ms: number }>();

  public readonly setTimer = (callback: () => void, ms: number): (() => void) => {
    const entry = { callback, ms };
    this.pending.add(entry);
    return () => this.pending.delete(entry);
  };

  /** Fires every pending timer of `ms` milliseconds (all of them without an argument). */
  public fire(ms?: number): number {
    let fired = 0;
    for (const entry of [...this.pending]) {
      if (ms !== undefined && entry.ms !== ms) continue;
      this.pending.delete(entry);
      entry.callback();
      fired++;
    }
    return fired;
  }

  public get size(): number {
    return this.pending.size;
  }
}
