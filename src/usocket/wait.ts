// How a usocket call blocks: an attempt run now and again after every event of its socket until it stops
// saying AGAIN, bounded by a scheduler Deadline (ETIMEDOUT). Nothing polls: the PCB's events wake the
// waiters (blocked calls and poll objects), as lwIP's callbacks wake modlwip's blocked calls.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { Errno } from "../core/errors.js";
import { OSError } from "./oserror.js";

/** An attempt's "not yet": the call blocks (or, non-blocking, fails with EAGAIN / returns None). */
export const AGAIN: unique symbol = Symbol("again");
export type Again = typeof AGAIN;

export function throwAgain(): never {
  throw new OSError(Errno.EAGAIN);
}

/** The waiters of one socket and the blocking rule. */
export class Waiters {
  private readonly fns = new Set<() => void>();
  /** A copy taken per wake: a waiter may remove itself, or add another, while the set is walked. */
  private snapshot: (() => void)[] = [];

  constructor(private readonly scheduler: Scheduler) {}

  add(fn: () => void): void {
    this.fns.add(fn);
  }

  remove(fn: () => void): void {
    this.fns.delete(fn);
  }

  /** Calls every waiter (a PCB event, or the socket's close). */
  wake(): void {
    if (this.fns.size === 0) return;
    const list = this.snapshot;
    list.length = 0;
    for (const w of this.fns) list.push(w);
    // Walked by index and cleared after, so the array is reused rather than allocated per event; a wake
    // from inside a waiter is rare and gets its own copy.
    this.snapshot = [];
    for (let i = 0; i < list.length; i++) (list[i] as () => void)();
    list.length = 0;
    this.snapshot = list;
  }

  /**
   * Runs `attempt` now and, while it says AGAIN, after every wake; settles with its result or error.
   * Non-blocking (`timeoutMs` 0 or `dontWait`): `wouldBlock` decides (EAGAIN, or None for stream methods).
   * A finite timeout arms a Deadline: ETIMEDOUT. null blocks without a bound.
   */
  wait<T>(attempt: () => T | Again, wouldBlock: () => T, timeoutMs: number | null, dontWait = false): Promise<T> {
    let first: T | Again;
    try {
      first = attempt();
      if (first === AGAIN && (dontWait || timeoutMs === 0)) first = wouldBlock();
    } catch (e) {
      return Promise.reject(e);
    }
    if (first !== AGAIN) return Promise.resolve(first);
    const scheduler = this.scheduler;
    return new Promise<T>((resolve, reject) => {
      let deadline: Deadline | null = null;
      const finish = (): void => {
        this.fns.delete(waiter);
        if (deadline !== null) scheduler.cancel(deadline);
      };
      const waiter = (): void => {
        let r: T | Again;
        try {
          r = attempt();
        } catch (e) {
          finish();
          reject(e);
          return;
        }
        if (r !== AGAIN) {
          finish();
          resolve(r);
        }
      };
      this.fns.add(waiter);
      if (timeoutMs !== null) {
        deadline = new Deadline(() => {
          finish();
          reject(new OSError(Errno.ETIMEDOUT));
        }, "usocket timeout");
        scheduler.after(deadline, timeoutMs);
      }
    });
  }
}
