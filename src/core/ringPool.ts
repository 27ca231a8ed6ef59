// Reuse of byte-ring storage between connections and between a ring's growth steps. A TCP ring takes its
// store when bytes must be stored and gives it back when it grows past it, when the connection has been idle
// a while, or when the PCB is done (core/ring). Allocating and zero-filling a fresh store each time costs CPU
// and garbage; holding every store ever given back would keep a burst's memory for ever. So the pool keeps
// stores by size (powers of two) up to a cap in bytes, and leaves the rest to the garbage collector.

import { ByteRing, type RingStorage } from "./ring.js";

/** A ring of capacity 0: what a released PCB points at, so a stale reference reads and writes nothing. */
export const EMPTY_RING = new ByteRing(0);

/** Bytes of idle stores a pool keeps by default: 16 bulk-sized (256 KiB) stores, or 1 024 of 4 KiB. */
export const DEFAULT_RING_POOL_BYTES = 4 * 2 ** 20;

export class RingPool implements RingStorage {
  /** Idle stores by log2 of their size. */
  private readonly buckets: Uint8Array[][] = [];
  private held = 0;
  /** Stores handed out that the pool did not hold (fresh allocations). */
  allocated = 0;
  /** Stores handed out from the pool. */
  reused = 0;
  /** Stores given back that did not fit under the cap (left to the garbage collector). */
  dropped = 0;

  constructor(
    /** Most bytes of idle stores kept; more are left to the garbage collector. */
    readonly capBytes = DEFAULT_RING_POOL_BYTES,
  ) {}

  take(size: number): Uint8Array {
    const buf = this.buckets[log2(size)]?.pop();
    if (buf !== undefined) {
      this.held -= buf.length;
      this.reused++;
      return buf;
    }
    this.allocated++;
    return new Uint8Array(size);
  }

  give(buf: Uint8Array): void {
    const size = buf.length;
    // Only powers of two are taken from here; anything else is not ours to hand out again.
    if (size === 0 || (size & (size - 1)) !== 0 || this.held + size > this.capBytes) {
      if (size > 0) this.dropped++;
      return;
    }
    const i = log2(size);
    let list = this.buckets[i];
    if (list === undefined) {
      list = [];
      this.buckets[i] = list;
    }
    list.push(buf);
    this.held += size;
  }

  /** Bytes of idle stores held now (never above capBytes). */
  get heldBytes(): number {
    return this.held;
  }

  /** Idle stores held, for tests and leak checks. */
  get size(): number {
    let n = 0;
    for (const list of this.buckets) if (list !== undefined) n += list.length;
    return n;
  }

  /** Drops every idle store (to the garbage collector). */
  clear(): void {
    this.buckets.length = 0;
    this.held = 0;
  }
}

function log2(size: number): number {
  return 31 - Math.clz32(size);
}
