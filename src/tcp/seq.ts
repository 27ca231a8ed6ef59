// TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). `Seq` is a branded u32 so that sequence
// numbers are never compared with `<` by accident: every comparison in the TCP code goes through here.

export type Seq = number & { readonly __seq: unique symbol };

/** Wraps any integer into a Seq (mod 2^32). */
export function toSeq(n: number): Seq {
  return (n >>> 0) as Seq;
}

/** a + n (mod 2^32); n may be negative. */
export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/**
 * Signed distance a - b in [-2^31, 2^31): positive when a is after b. Two numbers exactly 2^31 apart read as
 * -2^31 from both sides, so each is "before" the other there (RFC 1982 §3.2 leaves that order undefined).
 */
export function seqDiff(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLeq(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGeq(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: Seq, b: Seq): Seq {
  return seqGt(a, b) ? a : b;
}

export function seqMin(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? a : b;
}

/** start <= s < start + length (RFC 9293 §3.4's window test); false for an empty window. */
export function seqInWindow(s: Seq, start: Seq, length: number): boolean {
  const d = (s - start) >>> 0;
  return d < length;
}

/** RFC 7323 §5.3: timestamp comparison modulo 2^32 (timestamps are not sequence numbers, but wrap alike). */
export function tsLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
