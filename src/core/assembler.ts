// Out-of-order tracking for a receive ring: which byte ranges beyond the next expected byte have arrived.
// Positions are relative to the front (0 = the next in-order byte). Bounded in ranges: a segment that would
// need more is refused and counted by the caller. Also yields SACK blocks, most recently changed first
// (RFC 2018 §4).

export class Assembler {
  /** Sorted, disjoint, non-adjacent [start, end) pairs. */
  private readonly ranges: number[] = [];
  /** Start of the range most recently added to, for SACK ordering; -1 when none. */
  private recentStart = -1;

  constructor(readonly maxRanges: number) {}

  get rangeCount(): number {
    return this.ranges.length / 2;
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Bytes held beyond the front. */
  get bytesHeld(): number {
    let n = 0;
    for (let i = 0; i < this.ranges.length; i += 2) n += (this.ranges[i + 1] as number) - (this.ranges[i] as number);
    return n;
  }

  /** End of the highest range (0 when empty). */
  get highestEnd(): number {
    return this.ranges.length === 0 ? 0 : (this.ranges[this.ranges.length - 1] as number);
  }

  /** Records [start, end) (start > 0). Returns false, changing nothing, if it would exceed maxRanges. */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const r = this.ranges;
    // Find the first range whose end >= start (it may merge) and the last whose start <= end.
    let i = 0;
    while (i < r.length && (r[i + 1] as number) < start) i += 2;
    let j = i;
    let newStart = start;
    let newEnd = end;
    while (j < r.length && (r[j] as number) <= end) {
      newStart = Math.min(newStart, r[j] as number);
      newEnd = Math.max(newEnd, r[j + 1] as number);
      j += 2;
    }
    const removed = (j - i) / 2;
    if (removed === 0 && r.length / 2 >= this.maxRanges) return false;
    r.splice(i, j - i, newStart, newEnd);
    this.recentStart = newStart;
    return true;
  }

  /**
   * The front advanced by `n` in-order bytes. Drops what lies below the new front and returns how many
   * further bytes are now contiguous (a range that starts at or before the new front), which the caller
   * commits; the front then also moves past those.
   */
  advance(n: number): number {
    const r = this.ranges;
    for (let i = 0; i < r.length; i++) r[i] = (r[i] as number) - n;
    if (this.recentStart >= 0) this.recentStart -= n;
    let extra = 0;
    while (r.length > 0 && (r[0] as number) <= 0) {
      const end = r[1] as number;
      r.splice(0, 2);
      if (end > 0) {
        extra = end;
        for (let i = 0; i < r.length; i++) r[i] = (r[i] as number) - end;
        if (this.recentStart >= 0) this.recentStart -= end;
        break;
      }
    }
    return extra;
  }

  /** Whether [start, end) is wholly held already. */
  covers(start: number, end: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if ((r[i] as number) <= start && end <= (r[i + 1] as number)) return true;
    return false;
  }

  /**
   * Writes up to `max` SACK ranges as [start, end) pairs into `out` (relative to the front), the most
   * recently changed first, then the others from highest down (RFC 2018 §4). Returns the count.
   */
  sackRanges(out: number[], max: number): number {
    const r = this.ranges;
    let count = 0;
    let recentIndex = -1;
    for (let i = 0; i < r.length; i += 2) {
      const s = r[i] as number;
      if (s <= this.recentStart && this.recentStart < (r[i + 1] as number)) recentIndex = i;
    }
    if (recentIndex >= 0 && count < max) {
      out[0] = r[recentIndex] as number;
      out[1] = r[recentIndex + 1] as number;
      count = 1;
    }
    for (let i = r.length - 2; i >= 0 && count < max; i -= 2) {
      if (i === recentIndex) continue;
      out[count * 2] = r[i] as number;
      out[count * 2 + 1] = r[i + 1] as number;
      count++;
    }
    return count;
  }

  clear(): void {
    this.ranges.length = 0;
    this.recentStart = -1;
  }
}
