// A small seeded PRNG (SplitMix32-style mixing) so runs are reproducible from a seed: fault injection and,
// when a Stack is built with `random: seed`, every random choice of the stack (core/random). Predictable by
// design: a seeded stack suits tests and benchmarks, not a network where peers must not guess its ISNs.

import type { Random } from "./random.js";

export class Prng implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniformly distributed u32. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 0x100000000;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fills `bytes` four at a time from `nextU32`, big-endian. */
  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      const v = this.nextU32();
      for (let j = 0; j < 4 && i + j < bytes.length; j++) bytes[i + j] = (v >>> (24 - 8 * j)) & 0xff;
    }
  }
}
