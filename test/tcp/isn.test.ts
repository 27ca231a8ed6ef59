// RFC 6528 initial sequence numbers (src/tcp/isn.ts): clock component, keyed per-tuple offset, determinism.

import { describe, expect, it } from "vitest";
import { IsnGenerator } from "../../src/tcp/isn.js";
import { seqDiff, seqGt } from "../../src/tcp/seq.js";
import { CryptoRandom, randomSecret } from "../../src/core/random.js";

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i * 17 + 3);
const LOCAL = 0xc0a83242; // 192.168.50.66
const REMOTE = 0xc0a83201; // 192.168.50.1

/** A generator with a fixed secret whose M stands at `originMs` (in ticks: 250 per ms) at stack time 0. */
function fixed(originMs = 0): IsnGenerator {
  return new IsnGenerator(SECRET, originMs * 250);
}

describe("IsnGenerator", () => {
  it("RFC 6528 §3: M advances 250 per millisecond (one tick per 4 µs) for the same tuple", () => {
    const g = fixed();
    const a = g.next(LOCAL, 80, REMOTE, 49152, 1000);
    const b = g.next(LOCAL, 80, REMOTE, 49152, 1001);
    const c = g.next(LOCAL, 80, REMOTE, 49152, 1000.5);
    expect(seqDiff(b, a)).toBe(250);
    expect(seqDiff(c, a)).toBe(125);
    expect(seqGt(g.next(LOCAL, 80, REMOTE, 49152, 61_000), b)).toBe(true);
  });

  it("keeps increasing across the 2^32 wrap of M", () => {
    // 2^32 ticks of 4 µs is about 4.77 hours; start just below a wrap of M.
    const wrapMs = 0x100000000 / 250;
    const g = fixed(wrapMs - 1);
    const before = g.next(LOCAL, 80, REMOTE, 49152, 0);
    const after = g.next(LOCAL, 80, REMOTE, 49152, 2);
    expect(seqDiff(after, before)).toBe(500);
    expect(seqGt(after, before)).toBe(true);
  });

  it("RFC 6528 §3: F separates tuples at the same instant", () => {
    const g = fixed();
    const seen = new Set<number>();
    for (let port = 49152; port < 49152 + 200; port++) seen.add(g.next(LOCAL, 80, REMOTE, port, 5000));
    seen.add(g.next(LOCAL, 81, REMOTE, 49152, 5000));
    seen.add(g.next(LOCAL, 80, REMOTE + 1, 49152, 5000));
    seen.add(g.next(REMOTE, 80, LOCAL, 49152, 5000));
    expect(seen.size).toBe(203);
  });

  it("is deterministic for a fixed secret and clock", () => {
    expect(fixed().next(LOCAL, 80, REMOTE, 49152, 1234)).toBe(fixed().next(LOCAL, 80, REMOTE, 49152, 1234));
  });

  it("depends on the secret", () => {
    const other = new IsnGenerator(Uint8Array.from(SECRET, (b) => b ^ 1), 0);
    expect(other.next(LOCAL, 80, REMOTE, 49152, 1234)).not.toBe(fixed().next(LOCAL, 80, REMOTE, 49152, 1234));
    // Secrets drawn from the default (crypto) source differ per generator.
    const random = new CryptoRandom();
    const a = new IsnGenerator(randomSecret(random), 0).next(LOCAL, 80, REMOTE, 49152, 0);
    const b = new IsnGenerator(randomSecret(random), 0).next(LOCAL, 80, REMOTE, 49152, 0);
    expect(a).not.toBe(b);
  });

  it("returns u32 values", () => {
    const random = new CryptoRandom();
    const g = new IsnGenerator(randomSecret(random), random.nextU32());
    for (let i = 0; i < 100; i++) {
      const isn = g.next(LOCAL, 80, REMOTE, 49152 + i, i * 7.3);
      expect(Number.isInteger(isn) && isn >= 0 && isn <= 0xffffffff).toBe(true);
    }
  });
});
