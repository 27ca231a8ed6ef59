// The send log: one record per transmitted segment still outstanding ([start, end) in sequence space, its
// last transmission time and its RACK flags), for RACK-TLP (RFC 8985 §5.2: per-segment transmit
// timestamps). tcp/output reports every data-bearing segment (onSend); recovery/rack marks records SACKed,
// lost and delivered, and drops them as the cumulative ACK passes. Records are kept in sequence order in
// preallocated typed arrays (head..tail); the arrays grow by doubling, so nothing is allocated per segment
// once a connection's flight has been seen.

import { seqAdd, seqDiff, seqGt, seqLeq, seqLt, toSeq, type Seq } from "./seq.js";

/** Per-record flags. */
export const TxFlag = {
  /** The peer holds it (a SACK block covered it). */
  SACKED: 1,
  /** RACK (or an RTO) deemed it lost and it has not been retransmitted since. */
  LOST: 2,
  /** Sent more than once; its time is that of the latest transmission. */
  RETRANS: 4,
} as const;

const INITIAL_RECORDS = 16;
/** Records one connection may hold; beyond it new data joins the last record (coarser, never wrong). */
const MAX_RECORDS = 1 << 16;

export class TxLog {
  private starts = new Uint32Array(INITIAL_RECORDS);
  private ends = new Uint32Array(INITIAL_RECORDS);
  private times = new Float64Array(INITIAL_RECORDS);
  private marks = new Uint8Array(INITIAL_RECORDS);
  private head = 0;
  private tail = 0;
  /** Records with SACKED set (RFC 8985 §6.2's RACK.segs_sacked). */
  sackedCount = 0;
  /**
   * Records with RETRANS set. The others that are neither SACKED nor LOST keep their first transmission's
   * time, so their times rise with their sequence numbers: with none retransmitted, a scan in sequence order
   * may stop at the first one sent after a given moment.
   */
  retransCount = 0;

  /** Records held; indexes below are 0..length-1 from the lowest sequence number. */
  get length(): number {
    return this.tail - this.head;
  }

  start(i: number): Seq {
    return toSeq(this.starts[this.head + i] ?? 0);
  }

  end(i: number): Seq {
    return toSeq(this.ends[this.head + i] ?? 0);
  }

  /** Time of the record's latest transmission (ms). */
  time(i: number): number {
    return this.times[this.head + i] ?? 0;
  }

  flags(i: number): number {
    return this.marks[this.head + i] ?? 0;
  }

  setFlags(i: number, flags: number): void {
    const old = this.marks[this.head + i] ?? 0;
    if ((old & TxFlag.SACKED) !== (flags & TxFlag.SACKED)) this.sackedCount += (flags & TxFlag.SACKED) !== 0 ? 1 : -1;
    if ((old & TxFlag.RETRANS) !== (flags & TxFlag.RETRANS)) this.retransCount += (flags & TxFlag.RETRANS) !== 0 ? 1 : -1;
    this.marks[this.head + i] = flags;
  }

  /** Array slots held now (records the log can take before it grows again). */
  get capacity(): number {
    return this.starts.length;
  }

  /**
   * An empty log gives back arrays a bulk transfer grew (up to 65536 records, ~1.1 MiB): called with the
   * idle ring trim (tcp/ringTrim), so an idle connection keeps only the initial arrays.
   */
  shrink(): void {
    if (this.head !== this.tail || this.starts.length === INITIAL_RECORDS) return;
    this.starts = new Uint32Array(INITIAL_RECORDS);
    this.ends = new Uint32Array(INITIAL_RECORDS);
    this.times = new Float64Array(INITIAL_RECORDS);
    this.marks = new Uint8Array(INITIAL_RECORDS);
    this.clear();
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
    this.sackedCount = 0;
    this.retransCount = 0;
  }

  /**
   * A segment covering [seq, end) went out at nowMs (end includes a FIN). Beyond the last record it is new
   * data, recorded in pieces of `pieceBytes` (the segments a TSO device cuts it into); over recorded data it
   * is a retransmission: the records it covers (split at its edges) take its time and lose LOST.
   */
  onSend(seq: Seq, end: Seq, pieceBytes: number, nowMs: number): void {
    if (!seqLt(seq, end)) return;
    const n = this.length;
    const logEnd = n > 0 ? this.end(n - 1) : seq;
    if (n > 0 && seqLt(seq, logEnd)) {
      let i = this.indexOf(seq);
      if (i >= 0 && seqLt(this.start(i), seq) && this.split(i, seq)) i++;
      for (; i >= 0 && i < this.length && seqLt(this.start(i), end); i++) {
        if (seqLt(end, this.end(i))) this.split(i, end);
        this.times[this.head + i] = nowMs;
        this.setFlags(i, (this.flags(i) & ~TxFlag.LOST) | TxFlag.RETRANS);
      }
      if (!seqGt(end, logEnd)) return;
      seq = logEnd;
    }
    const piece = pieceBytes > 0 ? pieceBytes : seqDiff(end, seq);
    while (seqLt(seq, end)) {
      // A FIN's sequence number stays with the data it follows.
      let pieceEnd = seqAdd(seq, piece);
      if (seqDiff(end, pieceEnd) <= 1) pieceEnd = end;
      this.append(seq, pieceEnd, nowMs);
      seq = pieceEnd;
    }
  }

  /** Index of the first record ending after `seq` (the one holding it, records being contiguous), or -1. */
  indexOf(seq: Seq): number {
    const n = this.length;
    for (let i = 0; i < n; i++) if (seqLt(seq, this.end(i))) return i;
    return -1;
  }

  /** Cuts record i at `at` (inside it) into two with the same time and flags; false when the log is full. */
  split(i: number, at: Seq): boolean {
    if (!(seqLt(this.start(i), at) && seqLt(at, this.end(i)))) return false;
    if (!this.room()) return false;
    const k = this.head + i;
    this.starts.copyWithin(k + 2, k + 1, this.tail);
    this.ends.copyWithin(k + 2, k + 1, this.tail);
    this.times.copyWithin(k + 2, k + 1, this.tail);
    this.marks.copyWithin(k + 2, k + 1, this.tail);
    this.tail++;
    this.starts[k + 1] = at;
    this.ends[k + 1] = this.ends[k] ?? 0;
    this.times[k + 1] = this.times[k] ?? 0;
    const flags = this.marks[k] ?? 0;
    this.marks[k + 1] = flags;
    if ((flags & TxFlag.SACKED) !== 0) this.sackedCount++;
    if ((flags & TxFlag.RETRANS) !== 0) this.retransCount++;
    this.ends[k] = at;
    return true;
  }

  /** Forgets records wholly below the cumulative ACK and trims one it cuts. */
  dropBelow(ack: Seq): void {
    while (this.head < this.tail && seqLeq(this.end(0), ack)) {
      const flags = this.flags(0);
      if ((flags & TxFlag.SACKED) !== 0) this.sackedCount--;
      if ((flags & TxFlag.RETRANS) !== 0) this.retransCount--;
      this.head++;
    }
    if (this.head === this.tail) this.clear();
    else if (seqLt(this.start(0), ack)) this.starts[this.head] = ack;
  }

  private append(seq: Seq, end: Seq, nowMs: number): void {
    if (!this.room()) {
      // Full at the bound: the newest record grows to cover this one (its time moves forward).
      const k = this.tail - 1;
      this.ends[k] = end;
      this.times[k] = nowMs;
      return;
    }
    const k = this.tail++;
    this.starts[k] = seq;
    this.ends[k] = end;
    this.times[k] = nowMs;
    this.marks[k] = 0;
  }

  /** Makes room for one more record at the tail: compacts, else doubles the arrays (up to MAX_RECORDS). */
  private room(): boolean {
    if (this.tail < this.starts.length) return true;
    const n = this.length;
    if (this.head > 0) {
      this.starts.copyWithin(0, this.head, this.tail);
      this.ends.copyWithin(0, this.head, this.tail);
      this.times.copyWithin(0, this.head, this.tail);
      this.marks.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = n;
      return true;
    }
    const capacity = this.starts.length * 2;
    if (capacity > MAX_RECORDS) return false;
    const starts = new Uint32Array(capacity);
    const ends = new Uint32Array(capacity);
    const times = new Float64Array(capacity);
    const marks = new Uint8Array(capacity);
    starts.set(this.starts);
    ends.set(this.ends);
    times.set(this.times);
    marks.set(this.marks);
    this.starts = starts;
    this.ends = ends;
    this.times = times;
    this.marks = marks;
    return true;
  }
}
