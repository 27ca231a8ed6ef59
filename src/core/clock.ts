// Time for the whole stack. Protocol code never reads a host clock: it is handed `now` (milliseconds, a
// float) by the core loop, which reads one of these once per batch or timer wake-up.

export interface Clock {
  /** Milliseconds since an arbitrary origin, monotonic. */
  now(): number;
}

/** The host's monotonic clock. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
}

/** A clock that moves only when told to; the scheduler advances it in simulated runs. */
export class SimClock implements Clock {
  private timeMs: number;

  constructor(startMs = 0) {
    this.timeMs = startMs;
  }

  now(): number {
    return this.timeMs;
  }

  /** Moves time forward to `ms`. Time never runs backwards. */
  set(ms: number): void {
    if (ms > this.timeMs) this.timeMs = ms;
  }
}
