// Sender-side SACK scoreboard (RFC 2018 blocks, RFC 6675 loss recovery): which bytes above SND.UNA the peer
// holds, and from that IsLost(), the pipe estimate and the next hole to retransmit.
// Call order: tcp/input → tcp/ack (advance to the new SND.UNA, then update with the ACK's blocks)
// → sack (pipe / nextSeg) and cc → tcp/output (retransmits what nextSeg names, or new data per rule 2).
// Ranges live sorted and merged in two preallocated arrays; nothing is allocated per ACK.

import { assert } from "../core/assert.js";
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt, seqMax, seqMin, toSeq, type Seq } from "./seq.js";

/** RFC 6675 §2 / RFC 5681 §3.2: DupThresh = 3. */
export const DUP_THRESH = 3;

/** Ranges kept when the constructor is not told: more than RFC 2018's 4 blocks per ACK, over many ACKs. */
export const DEFAULT_MAX_SACK_RANGES = 32;

/** Which NextSeg() rule the last nextSeg() call applied: 1 (a lost hole), 3 (an unSACKed hole), 0 (none). */
export type NextSegRule = 0 | 1 | 3;

export class SackScoreboard {
  private readonly maxBlocks: number;
  /** Left edges, ascending in sequence space; disjoint and non-adjacent: rights[i] < lefts[i + 1]. */
  private readonly lefts: Uint32Array;
  /** Right edges (exclusive), rights[i] > lefts[i]. One spare slot beyond maxBlocks absorbs an insertion. */
  private readonly rights: Uint32Array;
  private count = 0;
  private sacked = 0;
  /** Ranges dropped because more than maxBlocks were held (the smallest one goes: see dropSmallest). */
  overflows = 0;
  /** Blocks ignored as outside (SND.UNA, SND.NXT] or empty. */
  invalidBlocks = 0;
  /** First blocks recognised as D-SACK (RFC 2883) and ignored. */
  dsacks = 0;
  /**
   * Rule applied by the last successful nextSeg(). Rule (3) SHOULD only be used when rule (2), new data, is
   * impossible (RFC 6675 §4): a caller that has new data to send and sees 3 here sends the new data instead.
   */
  nextSegRule: NextSegRule = 0;

  constructor(maxBlocks: number = DEFAULT_MAX_SACK_RANGES) {
    assert(Number.isInteger(maxBlocks) && maxBlocks >= 1, `SACK scoreboard needs at least one range, got ${maxBlocks}`);
    this.maxBlocks = maxBlocks;
    this.lefts = new Uint32Array(maxBlocks + 1);
    this.rights = new Uint32Array(maxBlocks + 1);
  }

  /** Highest SACKed sequence number + 1, or null when nothing is SACKed. */
  get highSacked(): Seq | null {
    return this.count === 0 ? null : this.rightAt(this.count - 1);
  }

  /** Bytes currently marked SACKed. */
  get sackedBytes(): number {
    return this.sacked;
  }

  /** Disjoint SACKed ranges held. */
  get blockCount(): number {
    return this.count;
  }

  /**
   * Records the SACK blocks of one ACK ([left, right) pairs in blocks[0..2*count)). sndUna must already be
   * this ACK's cumulative acknowledgment: ranges below it are forgotten first. Ignores blocks not inside
   * (sndUna, sndNxt] and a first block that is a D-SACK (RFC 2883 §4: below the cumulative ACK, or inside
   * the second block). Returns true if newly SACKed bytes appeared (RFC 6675 §5's test for counting an ACK
   * towards DupThresh).
   */
  update(sndUna: Seq, sndNxt: Seq, blocks: Uint32Array, count: number): boolean {
    this.advance(sndUna);
    const n = Math.min(count, blocks.length >>> 1);
    let addedBytes = 0;
    for (let b = 0; b < n; b++) {
      const left = toSeq(blocks[2 * b] ?? 0);
      const right = toSeq(blocks[2 * b + 1] ?? 0);
      if (b === 0 && this.isDsack(sndUna, left, right, blocks, n)) {
        this.dsacks++;
        continue;
      }
      // RFC 2018 §3 / RFC 6675 §4 Update(): only bytes we sent and that are not yet cumulatively acked.
      if (!(seqLt(sndUna, left) && seqLt(left, right) && seqLeq(right, sndNxt))) {
        this.invalidBlocks++;
        continue;
      }
      addedBytes += this.insert(left, right);
      if (this.count > this.maxBlocks) this.dropSmallest();
    }
    return addedBytes > 0;
  }

  /** RFC 2883 §4: the first block reports a duplicate if it lies below the ACK or within the second block. */
  private isDsack(sndUna: Seq, left: Seq, right: Seq, blocks: Uint32Array, n: number): boolean {
    if (seqLt(left, sndUna)) return true;
    if (n < 2) return false;
    const left1 = toSeq(blocks[2] ?? 0);
    const right1 = toSeq(blocks[3] ?? 0);
    return seqLt(left1, right1) && seqLeq(left1, left) && seqLeq(right, right1) && seqLt(left, right);
  }

  /** The cumulative ACK moved to sndUna: forget everything below it. */
  advance(sndUna: Seq): void {
    let drop = 0;
    while (drop < this.count && seqLeq(this.rightAt(drop), sndUna)) {
      this.sacked -= seqDiff(this.rightAt(drop), this.leftAt(drop));
      drop++;
    }
    if (drop > 0) {
      this.lefts.copyWithin(0, drop, this.count);
      this.rights.copyWithin(0, drop, this.count);
      this.count -= drop;
    }
    if (this.count > 0 && seqLt(this.leftAt(0), sndUna)) {
      // The ACK covers part of a SACKed range (legal after reneging, RFC 2018 §8).
      this.sacked -= seqDiff(sndUna, this.leftAt(0));
      this.lefts[0] = sndUna;
    }
  }

  isSacked(seq: Seq): boolean {
    for (let i = 0; i < this.count; i++) {
      if (seqLt(seq, this.leftAt(i))) return false;
      if (seqLt(seq, this.rightAt(i))) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): true when DupThresh discontiguous SACKed ranges hold bytes above seq, or more
   * than (DupThresh - 1) * SMSS bytes above seq are SACKed. A range that starts at or below seq counts with
   * its bytes above seq only.
   */
  isLost(seq: Seq, mssBytes: number, dupThresh: number = DUP_THRESH): boolean {
    const limitBytes = (dupThresh - 1) * mssBytes;
    const above = seqAdd(seq, 1);
    let ranges = 0;
    let bytes = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      const right = this.rightAt(i);
      if (seqLeq(right, above)) break;
      ranges++;
      bytes += seqDiff(right, seqMax(this.leftAt(i), above));
      if (ranges >= dupThresh || bytes > limitBytes) return true;
    }
    return false;
  }

  /**
   * Offset from sndUna below which IsLost() holds: IsLost(s) ⇔ seqDiff(s, sndUna) < boundary. IsLost is
   * monotone (lower sequence numbers have at least as much SACKed above them), so one number describes it.
   */
  private lostBoundary(sndUna: Seq, mssBytes: number, dupThresh: number): number {
    let boundary = Number.NEGATIVE_INFINITY;
    // Range count: the dupThresh-th highest range has a byte above s iff s < its right edge - 1.
    const k = this.count - dupThresh;
    if (dupThresh >= 1 && k >= 0) boundary = seqDiff(this.rightAt(k), sndUna) - 1;
    // Byte count: walk down until the ranges above hold more than the limit; within range i, bytes above s
    // are right - max(left, s + 1), so "more than need" holds iff s < right - need - 1.
    const limitBytes = (dupThresh - 1) * mssBytes;
    let cumulative = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      const length = seqDiff(this.rightAt(i), this.leftAt(i));
      if (cumulative + length > limitBytes) {
        const b = seqDiff(this.rightAt(i), sndUna) - (limitBytes - cumulative) - 1;
        if (b > boundary) boundary = b;
        break;
      }
      cumulative += length;
    }
    return boundary;
  }

  /** SACKed bytes with offsets (from sndUna) in [from, to). */
  private sackedBetween(sndUna: Seq, from: number, to: number): number {
    let bytes = 0;
    for (let i = 0; i < this.count; i++) {
      const lo = Math.max(seqDiff(this.leftAt(i), sndUna), from);
      const hi = Math.min(seqDiff(this.rightAt(i), sndUna), to);
      if (hi > lo) bytes += hi - lo;
    }
    return bytes;
  }

  /**
   * RFC 6675 §4 SetPipe(): for each unSACKed octet in [sndUna, sndNxt), +1 if it is not lost (still in the
   * network) and +1 if it is below highRxt (its retransmission is). highRxt is the highest retransmitted
   * sequence number + 1, or sndUna if nothing was retransmitted. Computed per range, not per octet.
   */
  pipe(sndUna: Seq, sndNxt: Seq, highRxt: Seq, mssBytes: number, dupThresh: number = DUP_THRESH): number {
    const end = seqDiff(sndNxt, sndUna);
    if (end <= 0) return 0;
    const lost = Math.min(Math.max(this.lostBoundary(sndUna, mssBytes, dupThresh), 0), end);
    const rxt = Math.min(Math.max(seqDiff(highRxt, sndUna), 0), end);
    const notLost = end - lost - this.sackedBetween(sndUna, lost, end);
    const retransmitted = rxt - this.sackedBetween(sndUna, 0, rxt);
    return notLost + retransmitted;
  }

  /**
   * RFC 6675 §4 NextSeg() rules (1) and (3); rule (2), new data, is the caller's, and nextSegRule says which
   * rule matched. The candidate is the smallest unSACKed sequence number at or above highRxt (RFC 6675's
   * "greater than HighRxt", with our highRxt one past the highest retransmitted byte) and below the highest
   * SACKed byte; it is rule (1) if IsLost() holds for it, else rule (3). The segment is at most mssBytes long
   * and stops at the next SACKed byte. Returns false when no hole qualifies.
   */
  nextSeg(
    sndUna: Seq,
    sndNxt: Seq,
    highRxt: Seq,
    mssBytes: number,
    out: { seq: Seq; length: number },
    dupThresh: number = DUP_THRESH,
  ): boolean {
    this.nextSegRule = 0;
    const end = seqDiff(sndNxt, sndUna);
    if (this.count === 0 || end <= 0 || mssBytes <= 0) return false;
    let s = Math.max(seqDiff(highRxt, sndUna), 0);
    let i = 0;
    // Skip ranges wholly below s, then step over the one containing s (ranges are non-adjacent, so the byte
    // after a range is unSACKed).
    while (i < this.count && seqDiff(this.rightAt(i), sndUna) <= s) i++;
    if (i < this.count && seqDiff(this.leftAt(i), sndUna) <= s) {
      s = seqDiff(this.rightAt(i), sndUna);
      i++;
    }
    // (1.b) / (3): below the highest SACKed octet, so some range i lies above the hole.
    if (i >= this.count || s >= end) return false;
    const holeEnd = Math.min(seqDiff(this.leftAt(i), sndUna), end);
    out.seq = seqAdd(sndUna, s);
    out.length = Math.min(mssBytes, holeEnd - s);
    this.nextSegRule = s < this.lostBoundary(sndUna, mssBytes, dupThresh) ? 1 : 3;
    return true;
  }

  /** Forgets every range (RFC 6675 §5.1: after an RTO the scoreboard SHOULD be cleared). Counters stay. */
  clear(): void {
    this.count = 0;
    this.sacked = 0;
    this.nextSegRule = 0;
  }

  /** [left, right) pairs for the debugging view. Allocates: not for the ACK path. */
  blocks(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.leftAt(i), this.rightAt(i)]);
    return out;
  }

  private leftAt(i: number): Seq {
    return toSeq(this.lefts[i] ?? 0);
  }

  private rightAt(i: number): Seq {
    return toSeq(this.rights[i] ?? 0);
  }

  /** Adds [left, right), merging with every range it overlaps or touches. Returns the bytes newly covered. */
  private insert(left: Seq, right: Seq): number {
    const n = this.count;
    let i = 0;
    while (i < n && seqLt(this.rightAt(i), left)) i++;
    let j = i;
    while (j < n && seqLeq(this.leftAt(j), right)) j++;
    let added: number;
    if (i === j) {
      this.lefts.copyWithin(i + 1, i, n);
      this.rights.copyWithin(i + 1, i, n);
      this.lefts[i] = left;
      this.rights[i] = right;
      this.count = n + 1;
      added = seqDiff(right, left);
    } else {
      // Ranges i..j-1 touch [left, right); the gaps between them lie inside it, so the union is one range.
      const newLeft = seqMin(left, this.leftAt(i));
      const newRight = seqMax(right, this.rightAt(j - 1));
      let covered = 0;
      for (let k = i; k < j; k++) covered += seqDiff(this.rightAt(k), this.leftAt(k));
      added = seqDiff(newRight, newLeft) - covered;
      this.lefts[i] = newLeft;
      this.rights[i] = newRight;
      const removed = j - i - 1;
      if (removed > 0) {
        this.lefts.copyWithin(i + 1, j, n);
        this.rights.copyWithin(i + 1, j, n);
        this.count = n - removed;
      }
    }
    this.sacked += added;
    return added;
  }

  /**
   * Over the bound: drop the range with the fewest bytes (the lowest of equals). Dropping only under-reports
   * SACKed data, which costs a needless retransmission at worst; merging across a gap would claim bytes the
   * peer never got and stall recovery until an RTO.
   */
  private dropSmallest(): void {
    let victim = 0;
    let victimLength = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.count; i++) {
      const length = seqDiff(this.rightAt(i), this.leftAt(i));
      if (length < victimLength) {
        victim = i;
        victimLength = length;
      }
    }
    this.sacked -= victimLength;
    this.lefts.copyWithin(victim, victim + 1, this.count);
    this.rights.copyWithin(victim, victim + 1, this.count);
    this.count--;
    this.overflows++;
  }
}
