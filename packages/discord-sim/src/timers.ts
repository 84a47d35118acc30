/** A pending timer: it can be pushed back to its full delay or cancelled. */
export interface SimTimer {
  refresh(): void;
  cancel(): void;
}

/**
 * Where the local Discord's timers come from (the heartbeat deadline, delayed dispatches). Tests pass
 * a fake and fire timers by hand instead of waiting.
 */
export interface SimTimers {
  setTimeout(callback: () => void, ms: number): SimTimer;
}

/** Node's timers. */
export const nodeTimers: SimTimers = {
  setTimeout(callback, ms) {
    const t = setTimeout(callback, ms);
    return {
      refresh: () => void t.refresh(),
      cancel: () => clearTimeout(t),
    };
  },
};
