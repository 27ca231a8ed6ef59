// The base of every header view (smoltcp's Packet, gVisor's header): a window over frame bytes that is
// re-pointed at each packet instead of allocated. A DataView is built only when the backing array changes,
// so a device that reuses one slab costs no allocation per frame.

export class PacketView {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.bytes.buffer);
  /** Where the header starts in `bytes`. */
  offset = 0;
  /** Bytes available from `offset` (the header and everything after it that belongs to this packet). */
  length = 0;

  /** Re-points the view; returns `this` for chaining. */
  point(bytes: Uint8Array, offset: number, length: number): this {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.offset = offset;
    this.length = length;
    return this;
  }
}
