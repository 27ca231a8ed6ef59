// A scripted entropy source for tests that must choose a draw (an IGMP report delay, a MAC of all ones)
// rather than replay one: every draw is the fraction `value`, which the test may change between steps.
// Tests that only need reproducibility give the Stack a seed instead (StackConfig.random).

import type { Random } from "../../src/core/random.js";

export class FixedRandom implements Random {
  /** @param value the fraction in [0, 1) every draw returns, scaled to the draw's range. */
  constructor(public value: number) {}

  nextU32(): number {
    return Math.floor(this.value * 0x100000000) >>> 0;
  }

  next(): number {
    return this.value;
  }

  below(n: number): number {
    return Math.floor(this.value * n);
  }

  fill(bytes: Uint8Array): void {
    bytes.fill(Math.floor(this.value * 256));
  }
}
