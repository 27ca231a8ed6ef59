// A byte ring: the buffer of each TCP direction. Send side: bytes from SND.UNA on (peek to cut segments,
// discard when acknowledged). Receive side: in-order bytes for the application, and out-of-order data
// written beyond the tail (writeAt) until the gap fills (commit). Capacity is rounded up to a power of two.

export class ByteRing {
  private readonly buf: Uint8Array;
  private readonly mask: number;
  private head = 0;
  private used = 0;
  /** Bytes usable; the backing store may be larger (power of two). */
  readonly capacity: number;

  constructor(capacity: number) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.buf = new Uint8Array(size);
    this.mask = size - 1;
    this.capacity = capacity;
  }

  /** Readable bytes. */
  get length(): number {
    return this.used;
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** Appends up to `length` bytes; returns how many fit. */
  write(src: Uint8Array, offset: number, length: number): number {
    const n = Math.min(length, this.free);
    this.copyIn(this.used, src, offset, n);
    this.used += n;
    return n;
  }

  /** Copies bytes into position `length + at` (beyond the readable tail) without making them readable. */
  writeAt(at: number, src: Uint8Array, offset: number, length: number): void {
    if (at < 0 || this.used + at + length > this.capacity) throw new RangeError("ByteRing.writeAt out of range");
    this.copyIn(this.used + at, src, offset, length);
  }

  /** Makes `n` bytes after the tail readable (they were filled by writeAt). */
  commit(n: number): void {
    if (n < 0 || this.used + n > this.capacity) throw new RangeError("ByteRing.commit out of range");
    this.used += n;
  }

  /** Copies `length` readable bytes starting `at` bytes after the head into `dst`, without consuming. */
  peek(at: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (at < 0 || at + length > this.used) throw new RangeError("ByteRing.peek out of range");
    const size = this.mask + 1;
    const start = (this.head + at) & this.mask;
    const first = Math.min(length, size - start);
    dst.set(this.buf.subarray(start, start + first), dstOffset);
    if (first < length) dst.set(this.buf.subarray(0, length - first), dstOffset + first);
  }

  /** Reads and consumes up to `length` bytes; returns the count. */
  read(dst: Uint8Array, dstOffset: number, length: number): number {
    const n = Math.min(length, this.used);
    this.peek(0, dst, dstOffset, n);
    this.discard(n);
    return n;
  }

  /** Drops `n` bytes from the head. */
  discard(n: number): void {
    if (n < 0 || n > this.used) throw new RangeError("ByteRing.discard out of range");
    this.head = (this.head + n) & this.mask;
    // The head is never reset to 0 when empty: out-of-order bytes may be parked beyond the tail.
    this.used -= n;
  }

  /** The byte `at` positions after the head. */
  byteAt(at: number): number {
    return this.buf[(this.head + at) & this.mask] as number;
  }

  /** Position (from the head) of the first `value` at or after `from` among readable bytes, or -1. */
  indexOf(value: number, from = 0): number {
    for (let i = from; i < this.used; i++) if (this.buf[(this.head + i) & this.mask] === value) return i;
    return -1;
  }

  clear(): void {
    this.head = 0;
    this.used = 0;
  }

  private copyIn(at: number, src: Uint8Array, offset: number, length: number): void {
    if (length <= 0) return;
    const size = this.mask + 1;
    const start = (this.head + at) & this.mask;
    const first = Math.min(length, size - start);
    this.buf.set(src.subarray(offset, offset + first), start);
    if (first < length) this.buf.set(src.subarray(offset + first, offset + length), 0);
  }
}
