// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4, RFC 1982). Every rule is checked mid-space and at
// the 2^32 wrap; properties cover any base, distances up to 2^31 − 1 either way, and the one distance where
// the order is undefined: exactly 2^31.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { seqAdd, seqDiff, seqGeq, seqGt, seqInWindow, seqLeq, seqLt, seqMax, seqMin, toSeq, type Seq } from "../../src/tcp/seq.js";

const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;

const u32 = fc.nat({ max: 0xffffffff });
/** Distances either way that the order is defined for: |d| < 2^31. */
const distance = fc.integer({ min: -(TWO_31 - 1), max: TWO_31 - 1 });

describe("toSeq", () => {
  it("wraps any integer into [0, 2^32)", () => {
    expect(toSeq(0)).toBe(0);
    expect(toSeq(0xffffffff)).toBe(0xffffffff);
    expect(toSeq(TWO_32)).toBe(0);
    expect(toSeq(TWO_32 + 5)).toBe(5);
    expect(toSeq(-1)).toBe(0xffffffff);
    expect(toSeq(-TWO_32)).toBe(0);
  });
});

describe.each([
  ["mid-space", 0x4000_0000],
  ["at the 2^32 wrap", 0xffff_fff0],
])("sequence arithmetic (%s)", (_label, base) => {
  const s = (offset: number): Seq => seqAdd(toSeq(base), offset);

  it("seqAdd wraps forwards and backwards", () => {
    expect(seqAdd(s(0), 0x20)).toBe((base + 0x20) % TWO_32);
    expect(seqAdd(s(0x20), -0x20)).toBe(base);
    expect(seqAdd(s(0), TWO_32)).toBe(base);
  });

  it("seqDiff is the signed distance, across the wrap", () => {
    expect(seqDiff(s(0x30), s(0))).toBe(0x30);
    expect(seqDiff(s(0), s(0x30))).toBe(-0x30);
    expect(seqDiff(s(5), s(5))).toBe(0);
    expect(seqDiff(s(TWO_31 - 1), s(0))).toBe(TWO_31 - 1);
    expect(seqDiff(s(0), s(TWO_31 - 1))).toBe(-(TWO_31 - 1));
  });

  it("compares by distance, not by value", () => {
    const [a, b] = [s(0x10), s(0x20)];
    expect([seqLt(a, b), seqLeq(a, b), seqGt(a, b), seqGeq(a, b)]).toEqual([true, true, false, false]);
    expect([seqLt(b, a), seqLeq(b, a), seqGt(b, a), seqGeq(b, a)]).toEqual([false, false, true, true]);
    expect([seqLt(a, a), seqLeq(a, a), seqGt(a, a), seqGeq(a, a)]).toEqual([false, true, false, true]);
    expect([seqMax(a, b), seqMin(a, b), seqMax(b, a), seqMin(b, a)]).toEqual([b, a, b, a]);
  });

  it("seqInWindow: start ≤ s < start + length; never for an empty window", () => {
    const start = s(0x08);
    expect(seqInWindow(s(0x07), start, 0x10)).toBe(false);
    expect(seqInWindow(s(0x08), start, 0x10)).toBe(true);
    expect(seqInWindow(s(0x17), start, 0x10)).toBe(true);
    expect(seqInWindow(s(0x18), start, 0x10)).toBe(false);
    expect(seqInWindow(start, start, 0)).toBe(false);
    expect(seqInWindow(start, start, 1)).toBe(true);
  });
});

describe("sequence arithmetic at the edges of the u32 range", () => {
  it("the last number before the wrap is just below 0", () => {
    expect(seqLt(toSeq(0xffffffff), toSeq(0))).toBe(true);
    expect(seqGt(toSeq(0), toSeq(0xffffffff))).toBe(true);
    expect(seqDiff(toSeq(0), toSeq(0xffffffff))).toBe(1);
    expect(seqAdd(toSeq(0xffffffff), 1)).toBe(0);
    expect(seqAdd(toSeq(0), -1)).toBe(0xffffffff);
    expect(seqMax(toSeq(0xffffffff), toSeq(1))).toBe(1);
    expect(seqMin(toSeq(0xffffffff), toSeq(1))).toBe(0xffffffff);
  });

  it("a window may cross 2^32", () => {
    expect(seqInWindow(toSeq(0xffffffff), toSeq(0xfffffff0), 0x20)).toBe(true);
    expect(seqInWindow(toSeq(0x0f), toSeq(0xfffffff0), 0x20)).toBe(true);
    expect(seqInWindow(toSeq(0x10), toSeq(0xfffffff0), 0x20)).toBe(false);
    expect(seqInWindow(toSeq(0xffffffef), toSeq(0xfffffff0), 0x20)).toBe(false);
  });

  it("2^31 − 1 ahead is still after; 2^31 ahead reads as before, from both sides (RFC 1982 §3.2: undefined)", () => {
    const a = toSeq(0x1234_5678);
    expect(seqGt(seqAdd(a, TWO_31 - 1), a)).toBe(true);
    expect(seqLt(seqAdd(a, -(TWO_31 - 1)), a)).toBe(true);
    const opposite = seqAdd(a, TWO_31);
    expect(seqDiff(opposite, a)).toBe(-TWO_31);
    expect(seqDiff(a, opposite)).toBe(-TWO_31);
    expect(seqLt(opposite, a) && seqLt(a, opposite)).toBe(true);
  });

  it("a window of 2^31 or more still answers by offset from its start", () => {
    const start = toSeq(0xc000_0000);
    expect(seqInWindow(seqAdd(start, TWO_31), start, TWO_31 + 1)).toBe(true);
    expect(seqInWindow(seqAdd(start, -1), start, TWO_32 - 1)).toBe(false);
    expect(seqInWindow(seqAdd(start, -2), start, TWO_32 - 1)).toBe(true);
  });
});

describe("sequence arithmetic properties", () => {
  const runs = { seed: 0x5e9, numRuns: 3000 };

  it("seqAdd then seqDiff gives back the distance, for any base", () => {
    fc.assert(
      fc.property(u32, distance, (a, d) => {
        const b = seqAdd(toSeq(a), d);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(TWO_32);
        expect(Number.isInteger(b)).toBe(true);
        expect(seqDiff(b, toSeq(a))).toBe(d);
        expect(seqDiff(toSeq(a), b)).toBe(0 - d);
      }),
      runs,
    );
  });

  it("seqAdd is addition mod 2^32 and composes", () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: -TWO_32, max: TWO_32 }), fc.integer({ min: -TWO_32, max: TWO_32 }), (a, x, y) => {
        expect(seqAdd(toSeq(a), x)).toBe((((a + x) % TWO_32) + TWO_32) % TWO_32);
        expect(seqAdd(seqAdd(toSeq(a), x), y)).toBe(seqAdd(toSeq(a), x + y));
      }),
      runs,
    );
  });

  it("the four comparisons agree with the sign of the distance, and are antisymmetric", () => {
    fc.assert(
      fc.property(u32, distance, (a, d) => {
        const x = toSeq(a);
        const y = seqAdd(x, d);
        expect([seqLt(x, y), seqLeq(x, y), seqGt(x, y), seqGeq(x, y)]).toEqual([d > 0, d >= 0, d < 0, d <= 0]);
        expect(seqLt(x, y)).toBe(seqGt(y, x));
        expect(seqLeq(x, y)).toBe(seqGeq(y, x));
        expect(seqLt(x, y) && seqLt(y, x)).toBe(false);
        expect(seqMax(x, y)).toBe(d >= 0 ? y : x);
        expect(seqMin(x, y)).toBe(d >= 0 ? x : y);
      }),
      runs,
    );
  });

  it("order is transitive within half the space, wherever the points sit", () => {
    fc.assert(
      fc.property(u32, fc.array(fc.nat({ max: TWO_31 - 1 }), { minLength: 3, maxLength: 3 }), (a, offsets) => {
        const [p, q, r] = [...offsets].sort((m, n) => m - n).map((o) => seqAdd(toSeq(a), o)) as [Seq, Seq, Seq];
        expect(seqLeq(p, q) && seqLeq(q, r)).toBe(true);
        expect(seqLeq(p, r)).toBe(true);
      }),
      runs,
    );
  });

  it("seqInWindow(s, start, len) is exactly 0 ≤ offset of s from start < len", () => {
    fc.assert(
      fc.property(u32, fc.nat({ max: 0xffffffff }), fc.nat({ max: TWO_32 }), (start, offset, len) => {
        const s = seqAdd(toSeq(start), offset);
        expect(seqInWindow(s, toSeq(start), len)).toBe(offset < len);
      }),
      runs,
    );
  });

  it("for windows under 2^31, seqInWindow agrees with the comparisons", () => {
    fc.assert(
      fc.property(u32, distance, fc.nat({ max: TWO_31 - 1 }), (start, d, len) => {
        const st = toSeq(start);
        const s = seqAdd(st, d);
        expect(seqInWindow(s, st, len)).toBe(seqLeq(st, s) && seqLt(s, seqAdd(st, len)));
      }),
      runs,
    );
  });
});
