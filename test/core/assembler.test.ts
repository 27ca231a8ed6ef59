// Assembler: which byte ranges beyond the receive front have arrived, bounded in ranges, and the SACK blocks
// they give (RFC 2018 §4: the most recently changed first). Unit tests for the empty assembler, every way a
// new range can meet an existing one (disjoint, touching, overlapping either end, inside, around, identical,
// bridging several), the range bound, each way the front can advance, `covers` and the SACK order; then
// random sequences of add/advance against a model that marks each held byte in a set.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Assembler } from "../../src/core/assembler.js";

type Range = [number, number];

/** The held ranges in ascending order (sackRanges lists them all when asked for as many as there are). */
function rangesOf(a: Assembler): Range[] {
  const out: number[] = [];
  const count = a.sackRanges(out, a.rangeCount);
  expect(count).toBe(a.rangeCount);
  const pairs: Range[] = [];
  for (let i = 0; i < count; i++) pairs.push([out[2 * i] as number, out[2 * i + 1] as number]);
  return pairs.sort((x, y) => x[0] - y[0]);
}

/** SACK blocks in the order they would be sent, at most `max`. */
function sackOf(a: Assembler, max = 4): Range[] {
  const out: number[] = [];
  const count = a.sackRanges(out, max);
  return Array.from({ length: count }, (_, i): Range => [out[2 * i] as number, out[2 * i + 1] as number]);
}

function assemblerWith(maxRanges: number, ...ranges: Range[]): Assembler {
  const a = new Assembler(maxRanges);
  for (const [s, e] of ranges) expect(a.add(s, e)).toBe(true);
  return a;
}

describe("Assembler", () => {
  it("starts empty", () => {
    const a = new Assembler(4);
    expect([a.isEmpty, a.rangeCount, a.bytesHeld, a.highestEnd]).toEqual([true, 0, 0, 0]);
    expect(sackOf(a)).toEqual([]);
    expect(a.covers(1, 2)).toBe(false);
    expect(a.advance(10)).toBe(0);
    expect(a.isEmpty).toBe(true);
  });

  it("ignores an empty or inverted range, even when full", () => {
    const a = assemblerWith(1, [10, 20]);
    expect(a.add(30, 30)).toBe(true);
    expect(a.add(40, 35)).toBe(true);
    expect(rangesOf(a)).toEqual([[10, 20]]);
  });

  it("holds one range: count, bytes, highest end", () => {
    const a = assemblerWith(4, [10, 20]);
    expect([a.isEmpty, a.rangeCount, a.bytesHeld, a.highestEnd]).toEqual([false, 1, 10, 20]);
  });

  it("keeps disjoint ranges sorted whatever order they arrive in", () => {
    const a = assemblerWith(4, [50, 60], [10, 20], [30, 40], [70, 80]);
    expect(rangesOf(a)).toEqual([[10, 20], [30, 40], [50, 60], [70, 80]]);
    expect([a.bytesHeld, a.highestEnd]).toEqual([40, 80]);
  });

  // Each case adds one range to an assembler holding [10, 20) (and [40, 50) to its right, which must be left
  // alone), then checks what is held.
  it.each<[string, Range, Range[]]>([
    ["identical", [10, 20], [[10, 20], [40, 50]]],
    ["inside", [12, 18], [[10, 20], [40, 50]]],
    ["same start, shorter", [10, 15], [[10, 20], [40, 50]]],
    ["same end, shorter", [15, 20], [[10, 20], [40, 50]]],
    ["around it", [5, 25], [[5, 25], [40, 50]]],
    ["same start, longer", [10, 25], [[10, 25], [40, 50]]],
    ["same end, longer", [5, 20], [[5, 20], [40, 50]]],
    ["overlapping its start", [5, 15], [[5, 20], [40, 50]]],
    ["overlapping its end", [15, 25], [[10, 25], [40, 50]]],
    ["touching its start (merged: ranges are never adjacent)", [5, 10], [[5, 20], [40, 50]]],
    ["touching its end (merged)", [20, 25], [[10, 25], [40, 50]]],
    ["one byte before, a gap of one", [5, 9], [[5, 9], [10, 20], [40, 50]]],
    ["one byte after, a gap of one", [21, 25], [[10, 20], [21, 25], [40, 50]]],
    ["disjoint before", [1, 5], [[1, 5], [10, 20], [40, 50]]],
    ["disjoint between", [25, 30], [[10, 20], [25, 30], [40, 50]]],
    ["disjoint after both", [60, 70], [[10, 20], [40, 50], [60, 70]]],
    ["filling the gap exactly (bridging)", [20, 40], [[10, 50]]],
    ["bridging with overlap at both ends", [15, 45], [[10, 50]]],
    ["around both", [5, 55], [[5, 55]]],
    ["from inside the first to beyond the second", [12, 60], [[10, 60]]],
    ["from before the first to the start of the second", [1, 40], [[1, 50]]],
  ])("a new range %s", (_name, added, expected) => {
    const a = assemblerWith(8, [10, 20], [40, 50]);
    expect(a.add(...added)).toBe(true);
    expect(rangesOf(a)).toEqual(expected);
    expect(a.bytesHeld).toBe(expected.reduce((n, [s, e]) => n + e - s, 0));
    expect(a.highestEnd).toBe(expected.at(-1)?.[1]);
  });

  it("bridges many ranges at once into one", () => {
    const a = assemblerWith(8, [10, 20], [30, 40], [50, 60], [70, 80], [90, 100]);
    expect(a.add(35, 75)).toBe(true);
    expect(rangesOf(a)).toEqual([[10, 20], [30, 80], [90, 100]]);
    expect(a.add(1, 200)).toBe(true);
    expect(rangesOf(a)).toEqual([[1, 200]]);
  });

  describe("the range bound", () => {
    it("refuses a range that would need one more, changing nothing", () => {
      const a = assemblerWith(3, [10, 20], [30, 40], [50, 60]);
      for (const r of [[1, 5], [25, 27], [70, 80]] as Range[]) {
        expect(a.add(...r)).toBe(false);
        expect(rangesOf(a)).toEqual([[10, 20], [30, 40], [50, 60]]);
      }
    });

    it("still takes, when full, a range that overlaps, touches, extends or bridges", () => {
      const a = assemblerWith(3, [10, 20], [30, 40], [50, 60]);
      expect(a.add(12, 14)).toBe(true);
      expect(a.add(60, 65)).toBe(true);
      expect(a.add(5, 10)).toBe(true);
      expect(rangesOf(a)).toEqual([[5, 20], [30, 40], [50, 65]]);
      expect(a.add(20, 30)).toBe(true); // bridging frees a slot …
      expect(a.add(70, 80)).toBe(true); // … which a disjoint range can then take
      expect(rangesOf(a)).toEqual([[5, 40], [50, 65], [70, 80]]);
    });

    it("a bound of 0 holds nothing, and a bound of 1 only one range", () => {
      const none = new Assembler(0);
      expect(none.add(10, 20)).toBe(false);
      expect(none.isEmpty).toBe(true);
      const one = assemblerWith(1, [10, 20]);
      expect(one.add(30, 40)).toBe(false);
      expect(one.add(15, 35)).toBe(true);
      expect(rangesOf(one)).toEqual([[10, 35]]);
    });

    it("advancing past a range frees its slot", () => {
      const a = assemblerWith(2, [10, 20], [30, 40]);
      expect(a.add(50, 60)).toBe(false);
      expect(a.advance(25)).toBe(0);
      expect(a.add(25, 35)).toBe(true); // [30, 40) is now [5, 15), and the freed slot takes [25, 35)
      expect(rangesOf(a)).toEqual([[5, 15], [25, 35]]);
    });
  });

  describe("advancing the front", () => {
    it("short of the first range: nothing more is contiguous, every range moves down", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(4)).toBe(0);
      expect(rangesOf(a)).toEqual([[6, 16], [26, 36]]);
    });

    it("up to the first range's start: the whole range is contiguous, and the front also moves past it", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(10)).toBe(10);
      expect(rangesOf(a)).toEqual([[10, 20]]); // [30, 40) less 10 + 10
      expect(a.bytesHeld).toBe(10);
    });

    it("into the first range: its rest is contiguous", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(14)).toBe(6);
      expect(rangesOf(a)).toEqual([[10, 20]]);
    });

    it("to the first range's end: it is dropped, nothing is contiguous", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(20)).toBe(0);
      expect(rangesOf(a)).toEqual([[10, 20]]);
    });

    it("past the first range into the gap: it is dropped", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(25)).toBe(0);
      expect(rangesOf(a)).toEqual([[5, 15]]);
    });

    it("past several ranges into a later one: the earlier are dropped, the later one's rest is contiguous", () => {
      const a = assemblerWith(4, [10, 20], [30, 40], [50, 60], [70, 80]);
      expect(a.advance(55)).toBe(5);
      expect(rangesOf(a)).toEqual([[10, 20]]);
    });

    it("past everything: empty", () => {
      const a = assemblerWith(4, [10, 20], [30, 40]);
      expect(a.advance(100)).toBe(0);
      expect([a.isEmpty, a.bytesHeld, a.highestEnd]).toEqual([true, 0, 0]);
    });

    it("by 0: nothing changes", () => {
      const a = assemblerWith(4, [10, 20]);
      expect(a.advance(0)).toBe(0);
      expect(rangesOf(a)).toEqual([[10, 20]]);
    });
  });

  it("covers a range only when one held range holds all of it", () => {
    const a = assemblerWith(4, [10, 20], [30, 40]);
    expect(a.covers(10, 20)).toBe(true);
    expect(a.covers(12, 18)).toBe(true);
    expect(a.covers(30, 31)).toBe(true);
    expect(a.covers(9, 12)).toBe(false);
    expect(a.covers(18, 21)).toBe(false);
    expect(a.covers(15, 35)).toBe(false); // spans the gap
    expect(a.covers(22, 28)).toBe(false);
    a.advance(5);
    expect(a.covers(5, 15)).toBe(true);
    expect(a.covers(10, 20)).toBe(false);
  });

  describe("SACK blocks (RFC 2018 §4)", () => {
    it("reports the most recently changed range first, then the others from the highest down", () => {
      const a = assemblerWith(8, [10, 20], [50, 60], [30, 40]);
      expect(sackOf(a)).toEqual([[30, 40], [50, 60], [10, 20]]);
      a.add(8, 12);
      expect(sackOf(a)).toEqual([[8, 20], [50, 60], [30, 40]]);
    });

    it("reports a range that a new one bridged into with its merged bounds", () => {
      const a = assemblerWith(8, [10, 20], [30, 40], [70, 80]);
      a.add(20, 30);
      expect(sackOf(a)).toEqual([[10, 40], [70, 80]]);
    });

    it("a repeated range counts as a change (the sender learns it arrived again)", () => {
      const a = assemblerWith(8, [10, 20], [30, 40]);
      expect(sackOf(a)[0]).toEqual([30, 40]);
      a.add(12, 14);
      expect(sackOf(a)[0]).toEqual([10, 20]);
    });

    it("a refused range changes nothing, the order included", () => {
      const a = assemblerWith(2, [10, 20], [30, 40]);
      a.add(10, 12);
      expect(a.add(50, 60)).toBe(false);
      expect(sackOf(a)).toEqual([[10, 20], [30, 40]]);
    });

    it("stops at `max`, keeping the most recent", () => {
      const a = assemblerWith(8, [10, 20], [30, 40], [50, 60], [70, 80], [90, 100]);
      a.add(32, 33);
      expect(sackOf(a, 3)).toEqual([[30, 40], [90, 100], [70, 80]]);
      expect(sackOf(a, 1)).toEqual([[30, 40]]);
      expect(sackOf(a, 0)).toEqual([]);
    });

    it("once the most recent range is consumed by the front, lists the rest from the highest down", () => {
      const a = assemblerWith(8, [30, 40], [50, 60], [10, 20]);
      a.advance(10); // [10, 20) became contiguous and went
      expect(sackOf(a)).toEqual([[30, 40], [10, 20]]);
      expect(a.advance(0)).toBe(0);
      expect(sackOf(a)).toEqual([[30, 40], [10, 20]]);
    });

    it("the most recent range keeps its place after the front moves (positions shift with it)", () => {
      const a = assemblerWith(8, [10, 20], [50, 60], [30, 40]);
      a.advance(5);
      expect(sackOf(a)).toEqual([[25, 35], [45, 55], [5, 15]]);
    });
  });

  it("clear forgets every range and the most recent one", () => {
    const a = assemblerWith(2, [10, 20], [30, 40]);
    a.clear();
    expect([a.isEmpty, a.bytesHeld, a.highestEnd]).toEqual([true, 0, 0]);
    expect(a.add(50, 60)).toBe(true);
    expect(a.add(70, 80)).toBe(true);
    expect(sackOf(a)).toEqual([[70, 80], [50, 60]]);
  });
});

/** Reference: every held position in a set, relative to the front; the most recent add as one position in it. */
class AssemblerModel {
  held = new Set<number>();
  /** A position inside the range most recently added to, or null. */
  recent: number | null = null;

  constructor(readonly maxRanges: number) {}

  /** Maximal runs of held positions, ascending. */
  runs(): Range[] {
    const sorted = [...this.held].sort((a, b) => a - b);
    const out: Range[] = [];
    for (const p of sorted) {
      const last = out.at(-1);
      if (last !== undefined && last[1] === p) last[1] = p + 1;
      else out.push([p, p + 1]);
    }
    return out;
  }

  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const before = new Set(this.held);
    for (let p = start; p < end; p++) this.held.add(p);
    if (this.runs().length > this.maxRanges) {
      this.held = before;
      return false;
    }
    this.recent = start;
    return true;
  }

  advance(n: number): number {
    const shift = (by: number): void => {
      this.held = new Set([...this.held].filter((p) => p >= by).map((p) => p - by));
      if (this.recent !== null) this.recent = this.recent - by;
    };
    shift(n);
    let extra = 0;
    while (this.held.has(extra)) extra++;
    shift(extra);
    if (this.recent !== null && !this.held.has(this.recent)) this.recent = null;
    return extra;
  }

  /** Recent run first, then the others from the highest down. */
  sack(max: number): Range[] {
    const runs = this.runs();
    const recent = runs.find(([s, e]) => this.recent !== null && s <= this.recent && this.recent < e);
    const ordered = [...(recent !== undefined ? [recent] : []), ...runs.filter((r) => r !== recent).reverse()];
    return ordered.slice(0, max);
  }
}

type AsmOp = { op: "add"; start: number; length: number } | { op: "advance"; n: number } | { op: "covers"; start: number; length: number };

describe("Assembler against a model", () => {
  const opArb: fc.Arbitrary<AsmOp> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("add" as const), start: fc.integer({ min: 1, max: 60 }), length: fc.integer({ min: -2, max: 15 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("advance" as const), n: fc.nat({ max: 25 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("covers" as const), start: fc.integer({ min: 1, max: 60 }), length: fc.integer({ min: 1, max: 15 }) }) },
  );

  it("holds exactly the model's bytes, as sorted, disjoint, non-adjacent ranges, and orders SACK blocks like it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 50 }), fc.nat({ max: 5 }), (maxRanges, ops, sackMax) => {
        const a = new Assembler(maxRanges);
        const m = new AssemblerModel(maxRanges);
        for (const o of ops) {
          if (o.op === "add") expect(a.add(o.start, o.start + o.length), `add ${o.start}+${o.length}`).toBe(m.add(o.start, o.start + o.length));
          else if (o.op === "advance") expect(a.advance(o.n), `advance ${o.n}`).toBe(m.advance(o.n));
          else {
            const all = Array.from({ length: o.length }, (_, i) => o.start + i).every((p) => m.held.has(p));
            expect(a.covers(o.start, o.start + o.length)).toBe(all);
          }
          const runs = m.runs();
          // The model's maximal runs are sorted, disjoint and non-adjacent by construction.
          expect(rangesOf(a)).toEqual(runs);
          expect(a.rangeCount).toBeLessThanOrEqual(maxRanges);
          expect([a.isEmpty, a.bytesHeld, a.highestEnd]).toEqual([m.held.size === 0, m.held.size, runs.at(-1)?.[1] ?? 0]);
          expect(sackOf(a, sackMax)).toEqual(m.sack(sackMax));
        }
      }),
      { seed: 0xa55e, numRuns: 1500 },
    );
  });
});
