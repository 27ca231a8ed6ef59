// A bounded queue of datagrams for one UDP (or raw) PCB: payload bytes in one byte ring, per-datagram
// metadata in fixed arrays. Bounded in datagrams and bytes; the caller counts what did not fit.

import { ByteRing } from "./ring.js";

export class PacketRing {
  private readonly data: ByteRing;
  private readonly lengths: Uint32Array;
  private readonly srcIps: Uint32Array;
  private readonly srcPorts: Uint16Array;
  private readonly dstIps: Uint32Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly maxPackets: number,
    maxBytes: number,
  ) {
    this.data = new ByteRing(maxBytes);
    this.lengths = new Uint32Array(maxPackets);
    this.srcIps = new Uint32Array(maxPackets);
    this.srcPorts = new Uint16Array(maxPackets);
    this.dstIps = new Uint32Array(maxPackets);
  }

  get length(): number {
    return this.count;
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** Length of the oldest datagram, or -1 when empty. */
  get nextLength(): number {
    return this.count === 0 ? -1 : (this.lengths[this.head] as number);
  }

  get nextSrcIp(): number {
    return this.srcIps[this.head] as number;
  }

  get nextSrcPort(): number {
    return this.srcPorts[this.head] as number;
  }

  get nextDstIp(): number {
    return this.dstIps[this.head] as number;
  }

  /** Queues a copy of bytes[offset, offset+length); false (nothing queued) when full. */
  /** Datagrams taken out of this ring but not yet read by the application (a board's inbox): they count against maxPackets. */
  heldElsewhere: () => number = () => 0;

  push(bytes: Uint8Array, offset: number, length: number, srcIp: number, srcPort: number, dstIp: number): boolean {
    if (this.count + this.heldElsewhere() >= this.maxPackets || length > this.data.free) return false;
    const slot = (this.head + this.count) % this.maxPackets;
    this.data.write(bytes, offset, length);
    this.lengths[slot] = length;
    this.srcIps[slot] = srcIp >>> 0;
    this.srcPorts[slot] = srcPort;
    this.dstIps[slot] = dstIp >>> 0;
    this.count++;
    return true;
  }

  /**
   * Copies up to `max` bytes of the oldest datagram into dst and, unless `peek`, removes the whole
   * datagram (the rest of a truncated one is discarded, as recvfrom does). Returns the bytes copied.
   */
  pop(dst: Uint8Array, dstOffset: number, max: number, peek = false): number {
    if (this.count === 0) return 0;
    const len = this.lengths[this.head] as number;
    const n = Math.min(len, max);
    this.data.peek(0, dst, dstOffset, n);
    if (!peek) {
      this.data.discard(len);
      this.head = (this.head + 1) % this.maxPackets;
      this.count--;
    }
    return n;
  }

  clear(): void {
    this.data.clear();
    this.head = 0;
    this.count = 0;
  }
}
