// The stack's one timer. Layers keep their timeouts as `Deadline` objects (data: a time and a callback made
// once at construction); re-arming is `scheduler.set(d, at)`. The scheduler keeps armed deadlines in a binary
// min-heap and holds at most one host timer, for the earliest. With a SimClock nothing is armed on the host:
// tests call `advance()` and minutes of protocol time run in milliseconds.

import { SimClock, type Clock } from "./clock.js";

export class Deadline {
  /** When it fires (ms on the scheduler's clock); Infinity when not armed. */
  at = Infinity;
  /** Position in the scheduler's heap, -1 when not armed. Owned by the scheduler. */
  heapIndex = -1;

  constructor(
    /** What to call when due; receives the current time. May re-arm this deadline. */
    readonly fire: (nowMs: number) => void,
    /** For debugging and leak reports. */
    readonly label: string,
  ) {}

  get isArmed(): boolean {
    return this.heapIndex >= 0;
  }
}

export class Scheduler {
  private readonly heap: Deadline[] = [];
  private hostTimer: ReturnType<typeof setTimeout> | null = null;
  private hostTimerAt = Infinity;
  private running = false;

  constructor(readonly clock: Clock) {}

  get isSimulated(): boolean {
    return this.clock instanceof SimClock;
  }

  now(): number {
    return this.clock.now();
  }

  /** Arms (or moves) `d` to fire at `atMs`. */
  set(d: Deadline, atMs: number): void {
    if (d.heapIndex >= 0) {
      const old = d.at;
      d.at = atMs;
      if (atMs < old) this.siftUp(d.heapIndex);
      else this.siftDown(d.heapIndex);
    } else {
      d.at = atMs;
      d.heapIndex = this.heap.length;
      this.heap.push(d);
      this.siftUp(d.heapIndex);
    }
    this.armHost();
  }

  /** Arms `d` at now + `delayMs`. */
  after(d: Deadline, delayMs: number): void {
    this.set(d, this.clock.now() + delayMs);
  }

  cancel(d: Deadline): void {
    const i = d.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop() as Deadline;
    d.heapIndex = -1;
    d.at = Infinity;
    if (last !== d) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftDown(i);
      this.siftUp(last.heapIndex);
    }
    this.armHost();
  }

  /** Number of armed deadlines (a quiescent stack has none of its own). */
  get armedCount(): number {
    return this.heap.length;
  }

  /** Labels of armed deadlines, for leak reports. */
  armedLabels(): string[] {
    return this.heap.map((d) => d.label);
  }

  /** The earliest armed time, or Infinity. */
  get nextAt(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  /**
   * Fires every deadline due at `nowMs` (including ones armed by the callbacks for `nowMs` or earlier), at
   * most `maxFires` of them: the bound must be checked here, since a callback that keeps re-arming at the
   * same instant never lets this loop end on its own.
   * Not re-entrant: called from inside a callback (a frame input that runs due timers first, while a timer
   * is delivering frames) it returns 0, and the outer loop fires what is due in order.
   */
  runDue(nowMs: number, maxFires = Infinity): number {
    if (this.running) return 0;
    const first = this.heap[0];
    if (first === undefined || first.at > nowMs) {
      // Nothing due — but the host timer may just have fired a little early for this clock (setTimeout
      // counts whole milliseconds): it must be armed again, or no deadline would ever fire.
      this.armHost();
      return 0;
    }
    let fired = 0;
    this.running = true;
    try {
      for (let top = this.heap[0]; top !== undefined && top.at <= nowMs && fired < maxFires; top = this.heap[0]) {
        this.cancelTop(top);
        top.fire(nowMs);
        fired++;
      }
    } finally {
      this.running = false;
    }
    this.armHost();
    return fired;
  }

  /**
   * Simulated runs only: moves the clock forward by `ms`, firing every deadline on the way at its own time.
   * `maxFires` bounds a run that keeps re-arming at the same instant (a bug), which then throws.
   */
  advance(ms: number, maxFires = 10_000_000): void {
    const clock = this.simClock();
    const target = clock.now() + ms;
    let budget = maxFires;
    for (let next = this.nextAt; next <= target; next = this.nextAt) {
      // A deadline armed in the past fires now, and its callback is told now, not its stale `at`.
      const at = Math.max(next, clock.now());
      clock.set(at);
      budget -= this.runDue(at, budget);
      if (budget <= 0) throw new Error(`scheduler: more than ${maxFires} timer firings in ${ms} ms`);
    }
    clock.set(target);
  }

  /** Simulated runs only: advances until `done()` is true or `limitMs` passes; returns whether done. */
  advanceUntil(done: () => boolean, limitMs: number, stepMs = 1): boolean {
    const clock = this.simClock();
    const end = clock.now() + limitMs;
    while (!done()) {
      if (clock.now() >= end) return false;
      this.advance(Math.min(stepMs, end - clock.now()));
    }
    return true;
  }

  /** Cancels the host timer (for shutdown). Armed deadlines stay armed but will not fire on their own. */
  stopHostTimer(): void {
    if (this.hostTimer !== null) clearTimeout(this.hostTimer);
    this.hostTimer = null;
    this.hostTimerAt = Infinity;
  }

  private simClock(): SimClock {
    if (!(this.clock instanceof SimClock)) throw new Error("scheduler: advance() needs a SimClock");
    return this.clock;
  }

  private armHost(): void {
    if (this.running || this.isSimulated) return;
    const next = this.nextAt;
    if (next === this.hostTimerAt) return;
    if (this.hostTimer !== null) clearTimeout(this.hostTimer);
    this.hostTimer = null;
    this.hostTimerAt = next;
    if (next === Infinity) return;
    const delay = Math.max(0, next - this.clock.now());
    this.hostTimer = setTimeout(this.onHostTimer, Math.ceil(delay));
    // Timers alone never keep the process alive; an open device or a pending user call does.
    this.hostTimer.unref();
  }

  private readonly onHostTimer = (): void => {
    this.hostTimer = null;
    this.hostTimerAt = Infinity;
    this.runDue(this.clock.now());
  };

  private cancelTop(d: Deadline): void {
    const last = this.heap.pop() as Deadline;
    d.heapIndex = -1;
    if (last !== d) {
      this.heap[0] = last;
      last.heapIndex = 0;
      this.siftDown(0);
    }
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const d = heap[index] as Deadline;
    let i = index;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as Deadline;
      if (parent.at <= d.at) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    heap[i] = d;
    d.heapIndex = i;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    const d = heap[index] as Deadline;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (heap[right] as Deadline).at < (heap[left] as Deadline).at) child = right;
      const c = heap[child] as Deadline;
      if (c.at >= d.at) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = d;
    d.heapIndex = i;
  }
}
