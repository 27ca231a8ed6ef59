// Reuse of byte rings between connections. A TCP PCB needs two rings (256 KiB each by default); allocating
// and zero-filling them per connection was a quarter of the CPU a short connection cost. Rings of a PCB
// the application has released go back here, bounded per size, and the next PCB takes them.

import { ByteRing } from "./ring.js";

/** A ring of capacity 0: what a released PCB points at, so a stale reference reads and writes nothing. */
export const EMPTY_RING = new ByteRing(0);

export class RingPool {
  private readonly bySize = new Map<number, ByteRing[]>();

  constructor(
    /** Rings kept per capacity; more are left to the garbage collector. */
    private readonly maxPerSize = 32,
  ) {}

  take(capacity: number): ByteRing {
    const ring = this.bySize.get(capacity)?.pop();
    return ring ?? new ByteRing(capacity);
  }

  give(ring: ByteRing): void {
    if (ring === EMPTY_RING) return;
    let list = this.bySize.get(ring.capacity);
    if (list === undefined) {
      list = [];
      this.bySize.set(ring.capacity, list);
    }
    if (list.length >= this.maxPerSize) return;
    ring.clear();
    list.push(ring);
  }

  /** Rings held, for tests and leak checks. */
  get size(): number {
    let n = 0;
    for (const list of this.bySize.values()) n += list.length;
    return n;
  }
}
