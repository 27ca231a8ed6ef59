// SACK scoreboard (RFC 2018, RFC 2883, RFC 6675 §4). Every scenario runs twice: mid-space and with SND.UNA
// at 0xffff_f000, where the ranges below cross 2^32. Offsets in the tests are bytes from SND.UNA; MSS is
// 1000 so segment k is [1000k, 1000k + 1000). The last part checks the scoreboard against a bitmap model.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SackScoreboard } from "../../src/tcp/sack.js";
import { seqAdd, seqDiff, toSeq, type Seq } from "../../src/tcp/seq.js";

const MSS = 1000;

describe.each([
  ["mid-space", 0x1000_0000],
  ["near the 2^32 wrap", 0xffff_f000],
])("SackScoreboard (%s)", (_label, base) => {
  const una = toSeq(base);
  const at = (offset: number): Seq => seqAdd(una, offset);
  const nxt = at(10 * MSS);
  const sack = (...pairs: [number, number][]): Uint32Array => Uint32Array.from(pairs.flatMap(([l, r]) => [at(l), at(r)]));
  const update = (sb: SackScoreboard, ...pairs: [number, number][]): boolean => sb.update(una, nxt, sack(...pairs), pairs.length);
  const ranges = (sb: SackScoreboard): [number, number][] => sb.blocks().map(([l, r]) => [seqDiff(toSeq(l), una), seqDiff(toSeq(r), una)]);
  const seg = () => ({ seq: toSeq(0), length: 0 });

  it("records a block: isSacked, sackedBytes, highSacked, blocks()", () => {
    const sb = new SackScoreboard();
    expect(sb.highSacked).toBeNull();
    expect(update(sb, [2000, 3000])).toBe(true);
    expect(sb.sackedBytes).toBe(1000);
    expect(sb.blockCount).toBe(1);
    expect(sb.highSacked).toBe(at(3000));
    expect(sb.blocks()).toEqual([[at(2000), at(3000)]]);
    expect([sb.isSacked(at(1999)), sb.isSacked(at(2000)), sb.isSacked(at(2999)), sb.isSacked(at(3000))]).toEqual([false, true, true, false]);
  });

  it("merges repeated, adjacent, overlapping and bridging blocks", () => {
    const sb = new SackScoreboard();
    update(sb, [2000, 3000]);
    expect(update(sb, [2000, 3000])).toBe(false); // nothing new: RFC 2018 receivers repeat blocks
    expect(update(sb, [2200, 2800])).toBe(false);
    expect(update(sb, [3000, 4000])).toBe(true); // adjacent → one range
    expect(ranges(sb)).toEqual([[2000, 4000]]);
    expect(update(sb, [6000, 7000])).toBe(true); // disjoint → two
    expect(update(sb, [8000, 9000])).toBe(true);
    expect(ranges(sb)).toEqual([[2000, 4000], [6000, 7000], [8000, 9000]]);
    expect(update(sb, [3500, 8500])).toBe(true); // bridges three ranges; new bytes are the two gaps
    expect(ranges(sb)).toEqual([[2000, 9000]]);
    expect(sb.sackedBytes).toBe(7000);
    expect(update(sb, [1500, 2500])).toBe(true); // extends to the left
    expect(ranges(sb)).toEqual([[1500, 9000]]);
    expect(sb.sackedBytes).toBe(7500);
  });

  it("keeps a block that falls in a gap separate, and takes several blocks from one ACK in any order", () => {
    const sb = new SackScoreboard();
    expect(update(sb, [7000, 8000], [1000, 2000], [4000, 5000])).toBe(true);
    expect(ranges(sb)).toEqual([[1000, 2000], [4000, 5000], [7000, 8000]]);
    expect(update(sb, [2500, 3500])).toBe(true);
    expect(ranges(sb)).toEqual([[1000, 2000], [2500, 3500], [4000, 5000], [7000, 8000]]);
    expect(sb.sackedBytes).toBe(4000);
    expect(sb.isSacked(at(2200))).toBe(false);
  });

  it("ignores a D-SACK below the cumulative ACK (RFC 2883 §4)", () => {
    const sb = new SackScoreboard();
    const blocks = Uint32Array.from([seqAdd(una, -1000), una, at(2000), at(3000)]);
    expect(sb.update(una, nxt, blocks, 2)).toBe(true);
    expect(ranges(sb)).toEqual([[2000, 3000]]);
    expect(sb.dsacks).toBe(1);
    // Straddling the cumulative ACK is below it too.
    expect(sb.update(una, nxt, Uint32Array.from([seqAdd(una, -500), at(500)]), 1)).toBe(false);
    expect(sb.dsacks).toBe(2);
    expect(sb.isSacked(una)).toBe(false);
  });

  it("ignores a D-SACK inside the second block (RFC 2883 §4) but keeps the second block", () => {
    const sb = new SackScoreboard();
    expect(update(sb, [2200, 2400], [2000, 3000])).toBe(true);
    expect(ranges(sb)).toEqual([[2000, 3000]]);
    expect(sb.dsacks).toBe(1);
  });

  it("ignores blocks outside (SND.UNA, SND.NXT] and empty or reversed ones", () => {
    const sb = new SackScoreboard();
    // Past SND.NXT, starting at SND.UNA (the ACK would have covered it), empty, reversed.
    expect(update(sb, [9000, 10_001], [0, 500], [3000, 3000], [5000, 4000])).toBe(false);
    expect(sb.blockCount).toBe(0);
    expect(sb.invalidBlocks).toBe(4);
    // `count` bounds what is read; a short array is not overrun.
    expect(sb.update(una, nxt, sack([2000, 3000]), 5)).toBe(true);
    expect(sb.blockCount).toBe(1);
  });

  it("advance() forgets what the cumulative ACK covers, trimming a range it cuts", () => {
    const sb = new SackScoreboard();
    update(sb, [2000, 3000], [5000, 6000]);
    sb.advance(at(2500));
    expect(ranges(sb)).toEqual([[2000 + 500, 3000], [5000, 6000]]);
    expect(sb.sackedBytes).toBe(1500);
    sb.advance(at(5000));
    expect(ranges(sb)).toEqual([[5000, 6000]]);
    expect(sb.sackedBytes).toBe(1000);
    sb.advance(at(6000));
    expect(sb.blockCount).toBe(0);
    expect(sb.sackedBytes).toBe(0);
    expect(sb.highSacked).toBeNull();
  });

  it("update() advances to its sndUna first", () => {
    const sb = new SackScoreboard();
    update(sb, [2000, 3000], [5000, 6000]);
    const later = at(4000);
    expect(sb.update(later, nxt, sack([7000, 8000]), 1)).toBe(true);
    expect(ranges(sb)).toEqual([[5000, 6000], [7000, 8000]]);
    expect(sb.sackedBytes).toBe(2000);
  });

  it("IsLost: three segments SACKed above, or DupThresh discontiguous ranges (RFC 6675 §4)", () => {
    const sb = new SackScoreboard();
    update(sb, [1000, 3000]);
    // Two segments above the hole: 2000 bytes is not more than (3 - 1) * 1000.
    expect(sb.isLost(at(0), MSS)).toBe(false);
    update(sb, [3000, 4000]);
    // Three segments: 3000 > 2000.
    expect(sb.isLost(at(0), MSS)).toBe(true);
    expect(sb.isLost(at(999), MSS)).toBe(true);
    // Per octet: above 1999 lie 2000 bytes (not lost), above 1998 lie 2001 (lost).
    expect(sb.isLost(at(1998), MSS)).toBe(true);
    expect(sb.isLost(at(1999), MSS)).toBe(false);
    expect(sb.isLost(at(5000), MSS)).toBe(false);
    // A lower DupThresh needs less evidence.
    expect(sb.isLost(at(2500), MSS, 2)).toBe(true);

    const sparse = new SackScoreboard();
    update(sparse, [1000, 1001], [2000, 2001], [3000, 3001]);
    // Three discontiguous ranges of one byte each.
    expect(sparse.isLost(at(0), MSS)).toBe(true);
    expect(sparse.isLost(at(1000), MSS)).toBe(false);
  });

  it("pipe follows SetPipe() on a hand-computed scoreboard (RFC 6675 §4)", () => {
    // 10 segments out. SACKed: 2, 3, 4 and 6. Holes: 0–1, 5, 7–9.
    const sb = new SackScoreboard();
    update(sb, [2000, 5000], [6000, 7000]);
    // IsLost per octet: below 2000, 4000 bytes are SACKed above (> 2000): lost. In segment 5 only segment 6
    // is above (1000 bytes, one range): not lost. Segments 7–9: nothing above: not lost.
    // (a) not lost and not SACKed: segment 5 + segments 7–9 = 4000. (b) nothing retransmitted yet.
    expect(sb.pipe(una, nxt, una, MSS)).toBe(4000);
    // Segment 0 retransmitted (HighRxt = 1000): (b) adds its 1000 octets.
    expect(sb.pipe(una, nxt, at(1000), MSS)).toBe(5000);
    expect(sb.pipe(una, nxt, at(2000), MSS)).toBe(6000);
    // Segment 5 retransmitted by rule (3) while not lost: counted twice, as the RFC notes. SACKed octets
    // below HighRxt (segments 2–4) add nothing.
    expect(sb.pipe(una, nxt, at(6000), MSS)).toBe(4000 + 2000 + 1000);
    // Partial segments count per octet.
    expect(sb.pipe(una, nxt, at(500), MSS)).toBe(4500);
    // Nothing outstanding, nothing in the pipe.
    expect(sb.pipe(una, una, una, MSS)).toBe(0);
    // Without SACK information everything outstanding is in the network.
    expect(new SackScoreboard().pipe(una, nxt, una, MSS)).toBe(10_000);
  });

  it("nextSeg() returns lost holes above HighRxt first, skipping SACKed data (rule 1)", () => {
    const sb = new SackScoreboard();
    update(sb, [2000, 5000], [6000, 7000]);
    const out = seg();
    expect(sb.nextSeg(una, nxt, una, MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([0, 1000, 1]);
    expect(sb.nextSeg(una, nxt, at(1000), MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([1000, 1000, 1]);
    // A partly retransmitted segment: the rest, stopping at the SACKed byte 2000.
    expect(sb.nextSeg(una, nxt, at(1500), MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([1500, 500, 1]);
    // A smaller MSS cuts the segment.
    expect(sb.nextSeg(una, nxt, una, 300, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length]).toEqual([0, 300]);
  });

  it("nextSeg() offers an unSACKed hole that is not yet lost under rule 3, never data above the highest SACK", () => {
    const sb = new SackScoreboard();
    update(sb, [2000, 5000], [6000, 7000]);
    const out = seg();
    // Above HighRxt = 2000, the first unSACKed octet is 5000; one range of 1000 bytes above it: not lost.
    expect(sb.nextSeg(una, nxt, at(2000), MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([5000, 1000, 3]);
    // Above 6000 the first unSACKed octet is 7000 = highSacked: that is rule (2)'s business, not ours.
    expect(sb.nextSeg(una, nxt, at(6000), MSS, out)).toBe(false);
    expect(sb.nextSegRule).toBe(0);
    // More SACKs make segment 5 lost (3000 bytes above it) and open a rule (3) hole at segment 7.
    update(sb, [8000, 10_000]);
    expect(sb.nextSeg(una, nxt, at(2000), MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([5000, 1000, 1]);
    expect(sb.nextSeg(una, nxt, at(6000), MSS, out)).toBe(true);
    expect([seqDiff(out.seq, una), out.length, sb.nextSegRule]).toEqual([7000, 1000, 3]);
    expect(new SackScoreboard().nextSeg(una, nxt, una, MSS, out)).toBe(false);
  });

  it("drops the smallest range beyond maxBlocks and counts it", () => {
    const sb = new SackScoreboard(3);
    update(sb, [1000, 1500], [2000, 2100], [3000, 3800]);
    expect(update(sb, [5000, 5300])).toBe(true);
    expect(ranges(sb)).toEqual([[1000, 1500], [3000, 3800], [5000, 5300]]);
    expect(sb.overflows).toBe(1);
    expect(sb.sackedBytes).toBe(500 + 800 + 300);
    // A new block smaller than all others is the one dropped.
    update(sb, [7000, 7010]);
    expect(ranges(sb)).toEqual([[1000, 1500], [3000, 3800], [5000, 5300]]);
    expect(sb.overflows).toBe(2);
    // Merging frees room without dropping anything.
    update(sb, [1500, 3000]);
    expect(ranges(sb)).toEqual([[1000, 3800], [5000, 5300]]);
    expect(sb.overflows).toBe(2);
  });

  it("clear() forgets every range but keeps the counters", () => {
    const sb = new SackScoreboard(1);
    update(sb, [1000, 2000], [3000, 3500]);
    sb.clear();
    expect([sb.blockCount, sb.sackedBytes, sb.highSacked, sb.overflows]).toEqual([0, 0, null, 1]);
    expect(sb.isSacked(at(1500))).toBe(false);
  });
});

describe("SackScoreboard against a bitmap model (property)", () => {
  /** Offsets are from the first SND.UNA; SND.NXT is fixed at `window`. */
  type Op = { kind: "sack"; blocks: [number, number][] } | { kind: "advance"; by: number };

  class Model {
    readonly bits: boolean[];
    una = 0;
    constructor(readonly window: number) {
      this.bits = new Array<boolean>(window).fill(false);
    }
    sacked(o: number): boolean {
      return o >= this.una && o < this.window && this.bits[o] === true;
    }
    update(blocks: [number, number][]): boolean {
      let added = false;
      blocks.forEach(([l, r], i) => {
        const second = blocks[1];
        if (i === 0 && (l < this.una || (second !== undefined && second[0] < second[1] && second[0] <= l && r <= second[1] && l < r))) return;
        if (!(this.una < l && l < r && r <= this.window)) return;
        for (let o = l; o < r; o++) {
          if (!this.bits[o]) added = true;
          this.bits[o] = true;
        }
      });
      return added;
    }
    advance(by: number): void {
      this.una = Math.min(this.una + by, this.window);
    }
    runs(): [number, number][] {
      const out: [number, number][] = [];
      for (let o = this.una; o < this.window; o++) {
        if (!this.sacked(o)) continue;
        const last = out[out.length - 1];
        if (last !== undefined && last[1] === o) last[1] = o + 1;
        else out.push([o, o + 1]);
      }
      return out;
    }
    isLost(s: number, mss: number, dupThresh: number): boolean {
      let ranges = 0;
      let bytes = 0;
      for (const [l, r] of this.runs()) {
        const above = r - Math.max(l, s + 1);
        if (above > 0) {
          ranges++;
          bytes += above;
        }
      }
      return ranges >= dupThresh || bytes > (dupThresh - 1) * mss;
    }
    pipe(highRxt: number, mss: number, dupThresh: number): number {
      let pipe = 0;
      for (let s = this.una; s < this.window; s++) {
        if (this.sacked(s)) continue;
        if (!this.isLost(s, mss, dupThresh)) pipe++;
        if (s < highRxt) pipe++;
      }
      return pipe;
    }
    nextSeg(highRxt: number, mss: number, dupThresh: number): { offset: number; length: number; rule: number } | null {
      const runs = this.runs();
      const last = runs[runs.length - 1];
      if (last === undefined) return null;
      for (let s = Math.max(this.una, highRxt); s < last[1]; s++) {
        if (this.sacked(s)) continue;
        let length = 0;
        while (length < mss && !this.sacked(s + length)) length++;
        return { offset: s, length, rule: this.isLost(s, mss, dupThresh) ? 1 : 3 };
      }
      return null;
    }
  }

  const blockArb = (window: number) =>
    fc.tuple(fc.integer({ min: -20, max: window + 20 }), fc.integer({ min: 0, max: 60 })).map(([l, len]): [number, number] => [l, l + len]);
  const opArb = (window: number): fc.Arbitrary<Op> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.array(blockArb(window), { minLength: 0, maxLength: 4 }).map((blocks): Op => ({ kind: "sack", blocks })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((by): Op => ({ kind: "advance", by })) },
    );
  const scenario = fc.integer({ min: 20, max: 240 }).chain((window) =>
    fc.record({
      base: fc.oneof(fc.constant(0xffff_ff80), fc.constant(0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff })),
      window: fc.constant(window),
      mss: fc.integer({ min: 1, max: 50 }),
      dupThresh: fc.integer({ min: 1, max: 4 }),
      ops: fc.array(opArb(window), { minLength: 1, maxLength: 25 }),
      highRxts: fc.array(fc.integer({ min: 0, max: window }), { minLength: 1, maxLength: 3 }),
    }),
  );

  it("agrees with per-octet definitions of SACKed, IsLost, SetPipe and NextSeg", () => {
    fc.assert(
      fc.property(scenario, ({ base, window, mss, dupThresh, ops, highRxts }) => {
        const b = toSeq(base);
        const seq = (o: number): Seq => seqAdd(b, o);
        const model = new Model(window);
        const sb = new SackScoreboard(1000);
        const out = { seq: toSeq(0), length: 0 };
        for (const op of ops) {
          if (op.kind === "sack") {
            const raw = Uint32Array.from(op.blocks.flatMap(([l, r]) => [seq(l), seq(r)]));
            const expected = model.update(op.blocks);
            expect(sb.update(seq(model.una), seq(window), raw, op.blocks.length)).toBe(expected);
          } else {
            model.advance(op.by);
            sb.advance(seq(model.una));
          }
          const una = seq(model.una);
          const runs = model.runs();
          expect(sb.blocks()).toEqual(runs.map(([l, r]) => [seq(l), seq(r)]));
          expect(sb.blockCount).toBe(runs.length);
          expect(sb.sackedBytes).toBe(runs.reduce((n, [l, r]) => n + r - l, 0));
          const last = runs[runs.length - 1];
          expect(sb.highSacked).toBe(last === undefined ? null : seq(last[1]));
          for (let o = model.una - 3; o < window + 3; o++) {
            expect(sb.isSacked(seq(o))).toBe(model.sacked(o));
            if (o >= model.una && o < window) expect(sb.isLost(seq(o), mss, dupThresh)).toBe(model.isLost(o, mss, dupThresh));
          }
          for (const h of highRxts) {
            const highRxt = seq(Math.max(h, model.una));
            expect(sb.pipe(una, seq(window), highRxt, mss, dupThresh)).toBe(model.pipe(Math.max(h, model.una), mss, dupThresh));
            const want = model.nextSeg(Math.max(h, model.una), mss, dupThresh);
            const got = sb.nextSeg(una, seq(window), highRxt, mss, out, dupThresh);
            expect(got ? { offset: seqDiff(out.seq, b), length: out.length, rule: sb.nextSegRule } : null).toEqual(want);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("only under-reports when ranges overflow: everything it holds the model holds too", () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 4 }), ({ base, window, ops }, maxBlocks) => {
        const b = toSeq(base);
        const seq = (o: number): Seq => seqAdd(b, o);
        const model = new Model(window);
        const sb = new SackScoreboard(maxBlocks);
        for (const op of ops) {
          if (op.kind === "sack") {
            model.update(op.blocks);
            sb.update(seq(model.una), seq(window), Uint32Array.from(op.blocks.flatMap(([l, r]) => [seq(l), seq(r)])), op.blocks.length);
          } else {
            model.advance(op.by);
            sb.advance(seq(model.una));
          }
          expect(sb.blockCount).toBeLessThanOrEqual(maxBlocks);
          let held = 0;
          for (const [l, r] of sb.blocks()) {
            held += seqDiff(toSeq(r), toSeq(l));
            for (let s = toSeq(l); s !== r; s = seqAdd(s, 1)) expect(model.sacked(seqDiff(s, b))).toBe(true);
          }
          expect(sb.sackedBytes).toBe(held);
        }
      }),
      { numRuns: 300 },
    );
  });
});
