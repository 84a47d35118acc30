import { type Stats, stat, statSync } from 'node:fs';

/** Tells the flags client that its file may have changed. Tests pass their own. */
export interface FileWatcher {
  /** Starts watching `path`; returns a function that stops. */
  watch(path: string, onChange: () => void): () => void;
}

function fingerprint(stats: Stats | undefined): string {
  return stats === undefined ? 'missing' : `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/**
 * Polls the file's `stat` every `intervalMs`. Editors and `git checkout` replace a file by renaming a
 * new one over it, which an inotify watch (`fs.watch`) on the old file no longer sees; a stat poll
 * follows the path and costs one system call per interval. The baseline is taken synchronously when
 * watching starts (`fs.watchFile` takes its first stat later, and misses an edit made before it).
 * The timer does not keep the process alive.
 */
export class PollingFileWatcher implements FileWatcher {
  public constructor(private readonly intervalMs: number = 1000) {}

  public watch(path: string, onChange: () => void): () => void {
    let last = fingerprint(statSync(path, { throwIfNoEntry: false }));
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      stat(path, (error, stats) => {
        busy = false;
        const now = fingerprint(error ? undefined : stats);
        if (now === last) return;
        last = now;
        onChange();
      });
    }, this.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
