// Posted calls (docs/architecture.md "The board's worker bridge", "Posted calls"): a TCP send, write or
// sendall that fits the socket's send ring now, and a close, need no answer, so the worker appends them to a
// ring in the shared buffer and goes on instead of blocking for a round trip. The main thread runs them in
// order before any later call (so their effects come in program order) and keeps, per socket, the room a
// send would find now (the room table), which tells the worker whether a send may be posted at all. A
// posted send that fails after all (a reset that arrived meanwhile) leaves its error for the socket's next
// call, as lwIP reports an error that came after a write was queued.
//
// Layout, after the call frames: the room table (ROOM_ENTRIES pairs of Int32: the socket id it holds, the
// bytes a send would queue now), then the post ring (POST_RING_BYTES). Entries are 32 bytes of header (op,
// socket id, data length, a UDP reply's address and port or 0, 0, 0, 0) and the data padded to 32 (so the
// space left before the end always holds a header); one that would cross the end is preceded by a PAD
// entry filling the rest. Two Int32 counters in the global slots count bytes written (worker) and consumed
// (main); they wrap at 2^32, and the ring's size divides 2^32, so position = counter mod size.

/** Sockets whose room the table keeps at once (a socket id maps to id mod ROOM_ENTRIES; the entry names its id). */
export const ROOM_ENTRIES = 256;
export const ROOM_BYTES = ROOM_ENTRIES * 8;
/** The post ring: a power of two, holding at least one largest entry (64 KiB of data). */
export const POST_RING_BYTES = 1 << 18;
const ENTRY_HEADER = 32;
/** An entry that fills the ring's end, so the next starts at 0. */
const PAD_OP = -1;

/** Where the room table and the post ring sit, and the two global counters' Int32 slots. */
export interface PostLayout {
  roomOffset: number;
  ringOffset: number;
  writtenSlot: number;
  readSlot: number;
}

const align = (n: number): number => (n + ENTRY_HEADER - 1) & ~(ENTRY_HEADER - 1);

/** The worker's side: appends entries and reads the room table. */
export class PostWriter {
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  /** Bytes written so far (mod 2^32), as published in writtenSlot. */
  private written = 0;

  constructor(
    shared: SharedArrayBuffer,
    private readonly at: PostLayout,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  /** Whether every posted entry has been run by the main thread. */
  isDrained(): boolean {
    return Atomics.load(this.i32, this.at.readSlot) === this.written;
  }

  /**
   * The bytes a send on `sid` would queue now, as the main thread last published (0: unknown socket).
   * Meaningful only while isDrained(): then every posted send is in the figure.
   */
  room(sid: number): number {
    const e = (this.at.roomOffset >> 2) + (sid % ROOM_ENTRIES) * 2;
    return Atomics.load(this.i32, e) === sid ? Atomics.load(this.i32, e + 1) : 0;
  }

  /**
   * Appends (op, sid, data) → "empty" when the ring was empty before (the main thread may be asleep: ring
   * its doorbell), "queued" otherwise, or "full" when it does not fit (nothing written).
   */
  append(op: number, sid: number, data: Uint8Array, ip = 0, port = 0): "empty" | "queued" | "full" {
    const size = ENTRY_HEADER + align(data.length);
    const before = this.written;
    const read = Atomics.load(this.i32, this.at.readSlot);
    const used = (this.written - read) >>> 0;
    const pos = (this.written >>> 0) & (POST_RING_BYTES - 1);
    const tail = POST_RING_BYTES - pos;
    const pad = tail < size ? tail : 0;
    if (used + pad + size > POST_RING_BYTES) return "full";
    let w = this.written;
    if (pad > 0) {
      this.header(pos, PAD_OP, 0, pad - ENTRY_HEADER, 0, 0);
      w = (w + pad) | 0;
    }
    const p = (w >>> 0) & (POST_RING_BYTES - 1);
    this.header(p, op, sid, data.length, ip, port);
    this.bytes.set(data, this.at.ringOffset + p + ENTRY_HEADER);
    this.written = (w + size) | 0;
    Atomics.store(this.i32, this.at.writtenSlot, this.written);
    // Read after publishing, not before: if the main thread had not yet consumed every older entry, its
    // re-check of writtenSlot after storing readSlot sees this one (all sequentially consistent), so no
    // doorbell is lost; if it had, it may be asleep.
    return Atomics.load(this.i32, this.at.readSlot) === before ? "empty" : "queued";
  }

  private header(pos: number, op: number, sid: number, length: number, ip: number, port: number): void {
    const i = (this.at.ringOffset + pos) >> 2;
    this.i32[i] = op;
    this.i32[i + 1] = sid;
    this.i32[i + 2] = length;
    this.i32[i + 3] = ip | 0;
    this.i32[i + 4] = port;
  }
}

/** The main thread's side: runs the posted entries in order and publishes rooms. */
export class PostReader {
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(
    shared: SharedArrayBuffer,
    private readonly at: PostLayout,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  /** Publishes the room of `sid` (0: a send must take the round trip). */
  publishRoom(sid: number, room: number): void {
    const e = (this.at.roomOffset >> 2) + (sid % ROOM_ENTRIES) * 2;
    Atomics.store(this.i32, e + 1, room);
    Atomics.store(this.i32, e, sid);
  }

  /**
   * Runs every posted entry, oldest first (`run` gets a view of the data, valid only during the call),
   * including those posted while it ran.
   */
  drain(run: (op: number, sid: number, data: Uint8Array, ip: number, port: number) => void): void {
    let read = Atomics.load(this.i32, this.at.readSlot);
    for (;;) {
      const written = Atomics.load(this.i32, this.at.writtenSlot);
      if (written === read) return;
      while (read !== written) {
        const pos = (read >>> 0) & (POST_RING_BYTES - 1);
        const i = (this.at.ringOffset + pos) >> 2;
        const op = this.i32[i] as number;
        const sid = this.i32[i + 1] as number;
        const length = this.i32[i + 2] as number;
        if (op !== PAD_OP) {
          const from = this.at.ringOffset + pos + ENTRY_HEADER;
          run(op, sid, this.bytes.subarray(from, from + length), (this.i32[i + 3] as number) >>> 0, this.i32[i + 4] as number);
        }
        read = (read + ENTRY_HEADER + align(length)) | 0;
      }
      Atomics.store(this.i32, this.at.readSlot, read);
    }
  }
}
