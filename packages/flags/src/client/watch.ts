import { type Stats, unwatchFile, watchFile } from 'node:fs';

/** Tells the flags client that its file may have changed. Tests pass their own. */
export interface FileWatcher {
  /** Starts watching `path`; returns a function that stops. */
  watch(path: string, onChange: () => void): () => void;
}

/**
 * Polls the file's `stat` every `intervalMs`. Editors and `git checkout` replace a file by renaming a
 * new one over it, which an inotify watch (`fs.watch`) on the old file no longer sees; a stat poll
 * follows the path and costs one system call per interval. The timer does not keep the process alive.
 */
export class PollingFileWatcher implements FileWatcher {
  public constructor(private readonly intervalMs: number = 1000) {}

  public watch(path: string, onChange: () => void): () => void {
    const listener = (current: Stats, previous: Stats) => {
      if (
        current.mtimeMs !== previous.mtimeMs ||
        current.size !== previous.size ||
        current.ino !== previous.ino
      ) {
        onChange();
      }
    };
    watchFile(path, { interval: this.intervalMs, persistent: false }, listener);
    return () => unwatchFile(path, listener);
  }
}
