// select/uselect over usocket sockets: a poll object (register/unregister/modify/poll/ipoll) and select()
// on top of it. Readiness comes from Socket.readiness() (docs/usocket.md "select / uselect"); a waiting poll is woken by the
// registered sockets' PCB events and bounded by a scheduler Deadline. Call order: user → Poll.poll →
// Socket waiters ← PCB events.

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { Errno } from "../core/errors.js";
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from "./constants.js";
import { OSError } from "./oserror.js";
import type { Socket } from "./socket.js";

/** What a poll object can wait on: a socket, or anything with the same readiness and wake-up (the board's console). */
export interface Pollable {
  /** The POLL* events that hold now. */
  readiness(): number;
  /** `fn` is called whenever readiness may have changed, until removed. */
  addWaiter(fn: () => void): void;
  removeWaiter(fn: () => void): void;
}

/** Reported whether asked for or not. */
const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

export class Poll<T extends Pollable = Socket> {
  /** Registered sockets and the events asked for, in registration order. */
  private readonly masks = new Map<T, number>();

  constructor(private readonly scheduler: Scheduler) {}

  /** Registers `sock` for `mask` (default POLLIN|POLLOUT); registering again modifies. */
  register(sock: T, mask: number = POLLIN | POLLOUT): void {
    this.masks.set(sock, mask);
  }

  /** Forgets `sock` (not registered: nothing happens). */
  unregister(sock: T): void {
    this.masks.delete(sock);
  }

  /** Changes the mask of a registered socket; ENOENT if it is not registered. */
  modify(sock: T, mask: number): void {
    if (!this.masks.has(sock)) throw new OSError(Errno.ENOENT);
    this.masks.set(sock, mask);
  }

  /**
   * → [sock, events] for every ready socket; waits up to `timeoutMs` (-1: forever, 0: just look) for one
   * to become ready, and gives [] if none did.
   */
  poll(timeoutMs = -1): Promise<[T, number][]> {
    const ready = this.collect();
    if (ready.length > 0 || timeoutMs === 0) return Promise.resolve(ready);
    const sockets = [...this.masks.keys()];
    return new Promise((resolve) => {
      let deadline: Deadline | null = null;
      const finish = (result: [T, number][]): void => {
        for (const s of sockets) s.removeWaiter(waiter);
        if (deadline !== null) this.scheduler.cancel(deadline);
        resolve(result);
      };
      const waiter = (): void => {
        const r = this.collect();
        if (r.length > 0) finish(r);
      };
      for (const s of sockets) s.addWaiter(waiter);
      if (timeoutMs > 0) {
        deadline = new Deadline(() => finish([]), "usocket poll");
        this.scheduler.after(deadline, timeoutMs);
      }
    });
  }

  /** MicroPython's ipoll: the same answer (an array serves as the iterator). */
  ipoll(timeoutMs = -1, _flags = 0): Promise<[T, number][]> {
    return this.poll(timeoutMs);
  }

  private collect(): [T, number][] {
    const out: [T, number][] = [];
    for (const [sock, mask] of this.masks) {
      const ev = sock.readiness() & (mask | ALWAYS);
      if (ev !== 0) out.push([sock, ev]);
    }
    return out;
  }
}

/**
 * select.select(r, w, x[, timeout_s]) as MicroPython builds it on poll: a socket ready to read goes in the
 * first list, ready to write in the second, with ERR/HUP/NVAL in the third (asked for or not).
 */
export async function select(
  scheduler: Scheduler,
  r: readonly Socket[],
  w: readonly Socket[],
  x: readonly Socket[],
  timeoutS: number | null = null,
): Promise<[Socket[], Socket[], Socket[]]> {
  const masks = new Map<Socket, number>();
  for (const s of r) masks.set(s, (masks.get(s) ?? 0) | POLLIN);
  for (const s of w) masks.set(s, (masks.get(s) ?? 0) | POLLOUT);
  for (const s of x) masks.set(s, masks.get(s) ?? 0);
  const p = new Poll<Socket>(scheduler);
  for (const [s, m] of masks) p.register(s, m);
  const timeoutMs = timeoutS === null || timeoutS === undefined || timeoutS < 0 ? -1 : Math.round(timeoutS * 1000);
  const ready = await p.poll(timeoutMs);
  const out: [Socket[], Socket[], Socket[]] = [[], [], []];
  for (const [s, ev] of ready) {
    if (ev & POLLIN) out[0].push(s);
    if (ev & POLLOUT) out[1].push(s);
    if (ev & ~(POLLIN | POLLOUT)) out[2].push(s);
  }
  return out;
}
