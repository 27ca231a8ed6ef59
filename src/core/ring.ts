// A byte ring: the buffer of each TCP direction. Send side: bytes from SND.UNA on (peek to cut segments,
// discard when acknowledged). Receive side: in-order bytes for the application, and out-of-order data
// written beyond the tail (writeAt) until the gap fills (commit).
// Capacity and storage are apart: `capacity` is the limit (what TCP may advertise and queue), while the
// backing store starts empty, doubles when bytes must be stored (up to the capacity rounded up to a power of
// two) and shrinks again on compact() — so an idle connection holds no buffer however large its window.
// Storage comes from, and goes back to, a RingStorage (a capped pool for TCP, the heap otherwise).

/** Where a ring's backing stores come from and go back to. */
export interface RingStorage {
  /** A buffer of `size` bytes (a power of two); its contents are undefined (a ring never reads unwritten bytes). */
  take(size: number): Uint8Array;
  /** A buffer no ring uses any more. */
  give(buf: Uint8Array): void;
}

/** Storage straight from the heap, left to the garbage collector when given back. */
export const HEAP_STORAGE: RingStorage = {
  take: (size) => new Uint8Array(size),
  give: () => undefined,
};

/** The first store a ring takes: a full-sized Ethernet segment fits, and short exchanges never grow it. */
export const MIN_RING_STORAGE = 4096;

const NO_STORAGE = new Uint8Array(0);

export class ByteRing {
  private buf: Uint8Array = NO_STORAGE;
  /** buf.length − 1 (0 without storage). */
  private mask = 0;
  private head = 0;
  private used = 0;
  /**
   * Bytes from the head that may hold data: the readable ones and any out-of-order ones parked beyond the
   * tail (an upper bound: ranges the caller gave up on still count). What growing and compacting must keep.
   */
  private reach = 0;
  /** Largest store: the capacity rounded up to a power of two. */
  private readonly maxStorage: number;
  /** Bytes usable (the limit), whatever the store holds now. */
  readonly capacity: number;

  constructor(
    capacity: number,
    private readonly storage: RingStorage = HEAP_STORAGE,
    /** The smallest store taken (a power of two); tests lower it to exercise growth. */
    private readonly minStorage = MIN_RING_STORAGE,
  ) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.maxStorage = size;
    this.capacity = capacity;
  }

  /** Readable bytes. */
  get length(): number {
    return this.used;
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** Bytes of backing store held now (0 for an idle ring). */
  get storageBytes(): number {
    return this.buf.length;
  }

  /** Appends up to `length` bytes; returns how many fit. */
  write(src: Uint8Array, offset: number, length: number): number {
    const n = Math.min(length, this.free);
    if (n <= 0) return 0;
    const end = this.used + n;
    if (end > this.buf.length) this.grow(end);
    this.copyIn(this.used, src, offset, n);
    this.used = end;
    if (end > this.reach) this.reach = end;
    return n;
  }

  /** Copies bytes into position `length + at` (beyond the readable tail) without making them readable. */
  writeAt(at: number, src: Uint8Array, offset: number, length: number): void {
    const end = this.used + at + length;
    if (at < 0 || end > this.capacity) throw new RangeError("ByteRing.writeAt out of range");
    if (length <= 0) return;
    if (end > this.buf.length) this.grow(end);
    this.copyIn(this.used + at, src, offset, length);
    if (end > this.reach) this.reach = end;
  }

  /** Makes `n` bytes after the tail readable (they were filled by writeAt). */
  commit(n: number): void {
    const end = this.used + n;
    if (n < 0 || end > this.capacity) throw new RangeError("ByteRing.commit out of range");
    // Committed bytes were stored by writeAt, so the store covers them; bytes never written still need room.
    if (end > this.buf.length) this.grow(end);
    this.used = end;
    if (end > this.reach) this.reach = end;
  }

  /** Copies `length` readable bytes starting `at` bytes after the head into `dst`, without consuming. */
  peek(at: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (at < 0 || at + length > this.used) throw new RangeError("ByteRing.peek out of range");
    this.copyOut(at, dst, dstOffset, length);
  }

  /** Reads and consumes up to `length` bytes; returns the count. */
  read(dst: Uint8Array, dstOffset: number, length: number): number {
    const n = Math.min(length, this.used);
    if (n <= 0) return 0;
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
    this.reach -= n;
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

  /** Empties the ring (parked bytes too); the store stays for the next bytes. */
  clear(): void {
    this.head = 0;
    this.used = 0;
    this.reach = 0;
  }

  /** Empties the ring and gives its store back: what a connection nobody reads any more does. */
  release(): void {
    this.clear();
    this.setStorage(0);
  }

  /**
   * Shrinks the store to the smallest that holds what the ring keeps (at least the first size), or to none
   * when it keeps nothing. Off the data path: called when the connection has been idle or is closing.
   */
  compact(): void {
    if (this.reach === 0) {
      this.head = 0;
      this.setStorage(0);
      return;
    }
    const size = this.sizeFor(this.reach);
    if (size < this.buf.length) this.setStorage(size);
  }

  /** The store needs `end` bytes from the head: double it (or more) up to the largest. */
  private grow(end: number): void {
    let size = Math.max(this.buf.length * 2, this.sizeFor(end));
    if (size > this.maxStorage) size = this.maxStorage;
    this.setStorage(size);
  }

  /** Smallest store size, at least minStorage, holding `bytes`, within maxStorage. */
  private sizeFor(bytes: number): number {
    let size = this.minStorage;
    while (size < bytes) size *= 2;
    return Math.min(size, this.maxStorage);
  }

  /** Moves the kept bytes (readable and parked) to a store of `size` bytes, head at 0; the old one goes back. */
  private setStorage(size: number): void {
    const old = this.buf;
    if (size === old.length) return;
    const next = size === 0 ? NO_STORAGE : this.storage.take(size);
    if (this.reach > 0) this.copyOut(0, next, 0, this.reach);
    this.buf = next;
    this.mask = size === 0 ? 0 : size - 1;
    this.head = 0;
    if (old.length > 0) this.storage.give(old);
  }

  private copyOut(at: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (length <= 0) return;
    const size = this.mask + 1;
    const start = (this.head + at) & this.mask;
    const first = Math.min(length, size - start);
    dst.set(this.buf.subarray(start, start + first), dstOffset);
    if (first < length) dst.set(this.buf.subarray(0, length - first), dstOffset + first);
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
