// Posted calls (docs/architecture.md "The board's worker bridge", "Posted calls"): a TCP send, write or
// sendall that fits the socket's send ring now, and a close, need no answer, so the worker appends them to a
// ring in the shared buffer and goes on instead of blocking for a round trip. The main thread runs them in
// order before any later call (so their effects come in program order) and keeps, per socket, the room a
// send would find now (the room table), which tells the worker whether a send may be posted at all. A
// posted send that fails after all (a reset that arrived meanwhile) leaves its error for the socket's next
// call, as lwIP reports an error that came after a write was queued.
//
// Sends may be posted while earlier posts are still waiting: each room entry says up to which ring position
// the posts it counts go (asOf), and the worker subtracts what it posted for that socket after it.
//
// Layout, after the call frames: the room table (ROOM_ENTRIES entries of 4 Int32: the socket id it holds,
// the bytes a send would queue now, asOf, and a version that is odd while the main thread writes), then the post ring (POST_RING_BYTES). Entries are 32 bytes of header (op,
// socket id, data length, a UDP reply's address and port or 0, 0, 0, 0) and the data padded to 32 (so the
// space left before the end always holds a header); one that would cross the end is preceded by a PAD
// entry filling the rest. Two Int32 counters in the global slots count bytes written (worker) and consumed
// (main); they wrap at 2^32, and the ring's size divides 2^32, so position = counter mod size.

/** Sockets whose room the table keeps at once (a socket id maps to id mod ROOM_ENTRIES; the entry names its id). */
export const ROOM_ENTRIES = 256;
export const ROOM_BYTES = ROOM_ENTRIES * 16;
/** The post ring: a power of two, holding at least one largest entry (64 KiB of data). */
export const POST_RING_BYTES = 1 << 18;
const ENTRY_HEADER = 32;
/** The worker's record of its posted sends not yet run: at most one per entry the ring holds. */
const SENT_RECORDS = POST_RING_BYTES / ENTRY_HEADER;
/** Int32 slots of a room entry. */
const RoomSlot = { SID: 0, ROOM: 1, AS_OF: 2, VERSION: 3 } as const;
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
  /** Posted sends not yet known to be run, oldest first (a ring of SENT_RECORDS). */
  private readonly sentSids = new Int32Array(SENT_RECORDS);
  private readonly sentLengths = new Int32Array(SENT_RECORDS);
  private readonly sentEnds = new Int32Array(SENT_RECORDS);
  private sentHead = 0;
  private sentTail = 0;

  constructor(
    shared: SharedArrayBuffer,
    private readonly at: PostLayout,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  /**
   * The bytes a send on `sid` may post now: the room the main thread last published for it, less what
   * the worker posted for it that the figure does not count yet (0: unknown socket, or the entry is being
   * written; for UDP the main thread publishes -1).
   */
  room(sid: number): number {
    const e = (this.at.roomOffset >> 2) + (sid % ROOM_ENTRIES) * 4;
    const version = Atomics.load(this.i32, e + RoomSlot.VERSION);
    if ((version & 1) !== 0 || Atomics.load(this.i32, e + RoomSlot.SID) !== sid) return 0;
    const room = Atomics.load(this.i32, e + RoomSlot.ROOM);
    const asOf = Atomics.load(this.i32, e + RoomSlot.AS_OF);
    if (Atomics.load(this.i32, e + RoomSlot.VERSION) !== version) return 0;
    if (room < 0) return room;
    this.forgetRun();
    let pending = 0;
    for (let k = this.sentHead; k !== this.sentTail; k = (k + 1) % SENT_RECORDS) {
      if (this.sentSids[k] === sid && (((this.sentEnds[k] as number) - asOf) | 0) > 0) pending += this.sentLengths[k] as number;
    }
    return room - pending;
  }

  /** Notes a posted send of `length` bytes on `sid` (its entry ends at the current write position). */
  private recordSend(sid: number, length: number): void {
    this.forgetRun();
    const next = (this.sentTail + 1) % SENT_RECORDS;
    if (next === this.sentHead) return; // cannot happen: one record per entry in the ring
    this.sentSids[this.sentTail] = sid;
    this.sentLengths[this.sentTail] = length;
    this.sentEnds[this.sentTail] = this.written;
    this.sentTail = next;
  }

  /** Drops the records of sends the main thread has run: every room it published since counts them. */
  private forgetRun(): void {
    const read = Atomics.load(this.i32, this.at.readSlot);
    while (this.sentHead !== this.sentTail && (((this.sentEnds[this.sentHead] as number) - read) | 0) <= 0) this.sentHead = (this.sentHead + 1) % SENT_RECORDS;
  }

  /**
   * Appends (op, sid, data) → "empty" when the ring was empty before (the main thread may be asleep: ring
   * its doorbell), "queued" otherwise, or "full" when it does not fit (nothing written).
   */
  append(op: number, sid: number, data: Uint8Array, ip = 0, port = 0, isSend = false): "empty" | "queued" | "full" {
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
    if (isSend) this.recordSend(sid, data.length);
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
  /** Inside drain (a nested drain returns: the outer one runs what was posted meanwhile). */
  private draining = false;
  /** While draining: the ring position through the entry being run, which a room published now counts. */
  private runThrough = 0;

  constructor(
    shared: SharedArrayBuffer,
    private readonly at: PostLayout,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  /** Publishes the room of `sid` (0: a send must take the round trip), counting every post run so far. */
  publishRoom(sid: number, room: number): void {
    const e = (this.at.roomOffset >> 2) + (sid % ROOM_ENTRIES) * 4;
    const asOf = this.draining ? this.runThrough : Atomics.load(this.i32, this.at.readSlot);
    // A version odd while the entry is written: the worker never uses a half-written entry.
    Atomics.add(this.i32, e + RoomSlot.VERSION, 1);
    Atomics.store(this.i32, e + RoomSlot.SID, sid);
    Atomics.store(this.i32, e + RoomSlot.ROOM, room);
    Atomics.store(this.i32, e + RoomSlot.AS_OF, asOf);
    Atomics.add(this.i32, e + RoomSlot.VERSION, 1);
  }


  /**
   * Runs every posted entry, oldest first (`run` gets a view of the data, valid only during the call),
   * including those posted while it ran.
   */
  drain(run: (op: number, sid: number, data: Uint8Array, ip: number, port: number) => void): void {
    if (this.draining) return;
    this.draining = true;
    try {
      this.drainAll(run);
    } finally {
      this.draining = false;
    }
  }

  private drainAll(run: (op: number, sid: number, data: Uint8Array, ip: number, port: number) => void): void {
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
        const end = (read + ENTRY_HEADER + align(length)) | 0;
        if (op !== PAD_OP) {
          const from = this.at.ringOffset + pos + ENTRY_HEADER;
          this.runThrough = end;
          run(op, sid, this.bytes.subarray(from, from + length), (this.i32[i + 3] as number) >>> 0, this.i32[i + 4] as number);
        }
        read = end;
      }
      Atomics.store(this.i32, this.at.readSlot, read);
    }
  }
}
