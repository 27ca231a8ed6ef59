// Inboxes (docs/architecture.md "Inboxes"): what arrives on a socket the script reads from is moved by the
// main thread, as it arrives, into a ring in the shared buffer, so the script's recv takes it (or waits for
// it on an Atomics.wait of the ring's signal) without a round trip to the main thread. The main thread
// fills, the worker empties; a TCP inbox holds bytes, a UDP inbox whole datagrams (a 16-byte header: length,
// source address, source port — and an entry that would cross the end is preceded by a PAD header).
//
// Who may touch a ring: the main thread writes only between FILLING and OPEN (a compare-and-swap from OPEN),
// the worker reads only while it runs Python (never while one of its calls is served). A read call the
// worker still makes on a socket with an inbox (at end of stream, readline, read beyond what is there) is
// made HELD: the main thread does not fill while it serves that call from the stack, and fills (and
// reopens) just before it answers, so what the call returns comes before what the inbox gets after it.
//
// FLAGS: ASK — nothing more will arrive (end of stream, a failure): an empty inbox means "make the call",
// whose answer is the stack's own (b'', the error, raised once), unless END says that answer is b'' (a FIN,
// or a failure raised already), which the worker then gives itself; WANT_ROOM — the stack holds data the inbox
// had no room for: the worker, having made room, posts a REFILL. The main thread sets WANT_ROOM before it
// looks at the room a last time, and the worker looks at WANT_ROOM after it frees room, so one of them
// always sees the other (sequentially consistent atomics). SIGNAL counts the main thread's changes; the
// worker waits on it.

/** Sockets that can have an inbox at once (more read through calls). */
export const INBOXES = 32;
/** Ring bytes per inbox: a power of two, holding the largest UDP datagram with its header. */
export const INBOX_BYTES = 1 << 17;
const HEADER_BYTES = 64;
export const INBOX_REGION_BYTES = INBOXES * (HEADER_BYTES + INBOX_BYTES);
const ENTRY_HEADER = 16;
const PAD = -1;

/** PUT and TAKEN count datagrams (a UDP inbox's entries count against the socket's queue of datagrams). */
const InboxSlot = { SID: 0, STATE: 1, WRITTEN: 2, READ: 3, FLAGS: 4, KIND: 5, SIGNAL: 6, PUT: 7, TAKEN: 8 } as const;
const InboxState = { OPEN: 0, FILLING: 1, HELD: 2 } as const;
export const InboxFlag = { ASK: 1, WANT_ROOM: 2, END: 4 } as const;
export const InboxKind = { STREAM: 0, DATAGRAM: 1 } as const;
export type InboxKindCode = (typeof InboxKind)[keyof typeof InboxKind];

const align = (n: number): number => (n + 15) & ~15;

/** The slots and ring of each inbox, as both threads see them. */
class InboxViews {
  protected readonly i32: Int32Array;
  protected readonly bytes: Uint8Array;

  constructor(
    shared: SharedArrayBuffer,
    private readonly offset: number,
  ) {
    this.i32 = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  protected slot(i: number, s: number): number {
    return (this.offset + i * HEADER_BYTES) / 4 + s;
  }

  protected ringAt(i: number): number {
    return this.offset + INBOXES * HEADER_BYTES + i * INBOX_BYTES;
  }

  protected load(i: number, s: number): number {
    return Atomics.load(this.i32, this.slot(i, s));
  }

  /** Bytes in the ring not yet taken. */
  unreadBytes(i: number): number {
    return (this.load(i, InboxSlot.WRITTEN) - this.load(i, InboxSlot.READ)) >>> 0;
  }

  flags(i: number): number {
    return this.load(i, InboxSlot.FLAGS);
  }

  /** Copies n ring bytes from stream position `pos` (mod the ring) to dst[at…]. */
  protected copyOut(i: number, pos: number, dst: Uint8Array, at: number, n: number): void {
    const base = this.ringAt(i);
    const p = pos & (INBOX_BYTES - 1);
    const first = Math.min(n, INBOX_BYTES - p);
    dst.set(this.bytes.subarray(base + p, base + p + first), at);
    if (first < n) dst.set(this.bytes.subarray(base, base + n - first), at + first);
  }
}

/** What a fill takes from: a usocket Socket (these are its methods of the same names). */
export interface InboxSource {
  /** TCP: received bytes a read could take now. */
  receivable(): number;
  /** TCP: moves at most `max` received bytes into dst[at…] → how many (0: none now). */
  takeReceived(dst: Uint8Array, at: number, max: number): number;
  /** TCP: whether nothing more will arrive (end of stream or a failure). */
  isInputEnded(): boolean;
  /** TCP: whether a read with nothing queued returns b'' now (a FIN, or a failure raised already). */
  readsEnd(): boolean;
  /** UDP: the next datagram's length, or -1 when none. */
  nextDatagramLength(): number;
  /** UDP: moves the next datagram into dst[at…]; `source` gets its [ip, port]. */
  takeDatagram(dst: Uint8Array, at: number, source: [number, number]): void;
}

/** The main thread's side: attaches inboxes to sockets and fills them. */
export class InboxWriter extends InboxViews {
  private readonly bySid = new Map<number, number>();
  /** A datagram's source, reused per datagram. */
  private readonly source: [number, number] = [0, 0];

  /** The inbox of `sid`, or -1. */
  find(sid: number): number {
    return this.bySid.get(sid) ?? -1;
  }

  /** Bytes in the inbox of `sid` not yet taken (0 without one). */
  unread(sid: number): number {
    const i = this.find(sid);
    return i < 0 ? 0 : this.unreadBytes(i);
  }

  /** Datagrams in the inbox of `sid` not yet taken. */
  unreadDatagrams(sid: number): number {
    const i = this.find(sid);
    return i < 0 ? 0 : (this.load(i, InboxSlot.PUT) - this.load(i, InboxSlot.TAKEN)) >>> 0;
  }

  /** Gives `sid` a free inbox (empty, OPEN) → its index, or -1 when all are taken. */
  attach(sid: number, kind: InboxKindCode): number {
    const have = this.find(sid);
    if (have >= 0) return have;
    for (let i = 0; i < INBOXES; i++) {
      if (this.load(i, InboxSlot.SID) !== 0) continue;
      for (const s of [InboxSlot.STATE, InboxSlot.WRITTEN, InboxSlot.READ, InboxSlot.FLAGS, InboxSlot.PUT, InboxSlot.TAKEN]) Atomics.store(this.i32, this.slot(i, s), 0);
      Atomics.store(this.i32, this.slot(i, InboxSlot.KIND), kind);
      // The socket id last: the worker uses the inbox only once it names the socket.
      Atomics.store(this.i32, this.slot(i, InboxSlot.SID), sid);
      this.bySid.set(sid, i);
      return i;
    }
    return -1;
  }

  /** Frees the inbox of `sid` (its socket closed); a worker waiting on it looks again. */
  detach(sid: number): void {
    const i = this.find(sid);
    if (i < 0) return;
    this.bySid.delete(sid);
    Atomics.store(this.i32, this.slot(i, InboxSlot.SID), 0);
    this.signal(i);
  }

  /** Wakes a worker waiting on any inbox (an interrupt). */
  wakeAll(): void {
    for (let i = 0; i < INBOXES; i++) this.signal(i);
  }

  /** A call the worker made HELD is being answered: open again (the caller fills next). */
  reopen(sid: number): void {
    const i = this.find(sid);
    if (i >= 0) Atomics.compareExchange(this.i32, this.slot(i, InboxSlot.STATE), InboxState.HELD, InboxState.OPEN);
  }

  /**
   * Moves what `src` has into the inbox of `sid` while it fits (not while the worker holds it) and tells
   * a waiting worker. → whether the inbox was filled (false: none, or held).
   */
  fill(sid: number, src: InboxSource): boolean {
    const i = this.find(sid);
    if (i < 0) return false;
    const state = this.slot(i, InboxSlot.STATE);
    if (Atomics.compareExchange(this.i32, state, InboxState.OPEN, InboxState.FILLING) !== InboxState.OPEN) return false;
    const flags = this.slot(i, InboxSlot.FLAGS);
    let changed = false;
    try {
      // Bounded: each round follows room the worker made meanwhile.
      for (let round = 0; round < 4; round++) {
        changed = (this.load(i, InboxSlot.KIND) === InboxKind.STREAM ? this.moveStream(i, src) : this.moveDatagrams(i, src)) || changed;
        if (!this.hasMore(i, src)) {
          Atomics.and(this.i32, flags, ~InboxFlag.WANT_ROOM);
          break;
        }
        // Room may have been made since it was measured: say so first, then look once more.
        Atomics.or(this.i32, flags, InboxFlag.WANT_ROOM);
        if (!this.hasRoomFor(i, src)) break;
      }
      if (this.load(i, InboxSlot.KIND) === InboxKind.STREAM && src.isInputEnded() && !this.hasMore(i, src)) {
        // Set again after every event: a reset after the FIN takes END away (the read must raise it).
        const end = InboxFlag.ASK | (src.readsEnd() ? InboxFlag.END : 0);
        if ((Atomics.load(this.i32, flags) & (InboxFlag.ASK | InboxFlag.END)) !== end) {
          Atomics.and(this.i32, flags, ~InboxFlag.END);
          Atomics.or(this.i32, flags, end);
          changed = true;
        }
      }
    } finally {
      Atomics.store(this.i32, state, InboxState.OPEN);
      if (changed) this.signal(i);
    }
    return true;
  }

  private signal(i: number): void {
    const s = this.slot(i, InboxSlot.SIGNAL);
    Atomics.add(this.i32, s, 1);
    Atomics.notify(this.i32, s);
  }

  private room(i: number): number {
    return INBOX_BYTES - this.unreadBytes(i);
  }

  private hasMore(i: number, src: InboxSource): boolean {
    return this.load(i, InboxSlot.KIND) === InboxKind.DATAGRAM ? src.nextDatagramLength() >= 0 : src.receivable() > 0;
  }

  private hasRoomFor(i: number, src: InboxSource): boolean {
    if (this.load(i, InboxSlot.KIND) === InboxKind.STREAM) return this.room(i) > 0;
    const length = src.nextDatagramLength();
    return length >= 0 && this.datagramSpace(i, length) <= this.room(i);
  }

  /** Ring bytes a datagram of `length` takes at the write position now (a PAD before it when it would cross the end). */
  private datagramSpace(i: number, length: number): number {
    const size = ENTRY_HEADER + align(length);
    const tail = INBOX_BYTES - (this.load(i, InboxSlot.WRITTEN) & (INBOX_BYTES - 1));
    return tail < size ? tail + size : size;
  }

  private moveStream(i: number, src: InboxSource): boolean {
    const wSlot = this.slot(i, InboxSlot.WRITTEN);
    let w = Atomics.load(this.i32, wSlot);
    let moved = false;
    // Up to two copies: to the ring's end, then from its start.
    for (let k = 0; k < 2; k++) {
      const room = this.room(i);
      if (room === 0) break;
      const p = w & (INBOX_BYTES - 1);
      const n = src.takeReceived(this.bytes, this.ringAt(i) + p, Math.min(room, INBOX_BYTES - p));
      if (n === 0) break;
      w = (w + n) | 0;
      Atomics.store(this.i32, wSlot, w);
      moved = true;
    }
    return moved;
  }

  private moveDatagrams(i: number, src: InboxSource): boolean {
    const wSlot = this.slot(i, InboxSlot.WRITTEN);
    let moved = false;
    for (;;) {
      const length = src.nextDatagramLength();
      if (length < 0) break;
      const size = ENTRY_HEADER + align(length);
      const space = this.datagramSpace(i, length);
      if (this.room(i) < space) break;
      let w = Atomics.load(this.i32, wSlot);
      const p = w & (INBOX_BYTES - 1);
      const pad = space - size;
      const base = this.ringAt(i);
      if (pad > 0) {
        this.i32[(base + p) >> 2] = PAD;
        w = (w + pad) | 0;
      }
      const q = w & (INBOX_BYTES - 1);
      const source = this.source;
      src.takeDatagram(this.bytes, base + q + ENTRY_HEADER, source);
      const h = (base + q) >> 2;
      this.i32[h] = length;
      this.i32[h + 1] = source[0] | 0;
      this.i32[h + 2] = source[1];
      Atomics.store(this.i32, wSlot, (w + size) | 0);
      Atomics.add(this.i32, this.slot(i, InboxSlot.PUT), 1);
      moved = true;
    }
    return moved;
  }
}

/** The next datagram of an inbox: its length and source. */
export interface InboxDatagram {
  length: number;
  ip: number;
  port: number;
}

/** The worker's side: finds a socket's inbox, waits on it, takes from it. */
export class InboxReader extends InboxViews {
  /** The inbox found last (a recv looks its socket up two or three times). */
  private lastFound = 0;
  /** The next datagram's header, reused (nextDatagram's answer is valid until its next call). */
  private readonly next: InboxDatagram = { length: 0, ip: 0, port: 0 };

  /** The inbox of `sid`, or -1 (looked up by name: the main thread attaches and detaches). */
  find(sid: number): number {
    if (this.load(this.lastFound, InboxSlot.SID) === sid) return this.lastFound;
    for (let i = 0; i < INBOXES; i++) {
      if (this.load(i, InboxSlot.SID) === sid) {
        this.lastFound = i;
        return i;
      }
    }
    return -1;
  }

  /** The socket id inbox i serves now (0: free). */
  sidOf(i: number): number {
    return this.load(i, InboxSlot.SID);
  }

  isDatagram(i: number): boolean {
    return this.load(i, InboxSlot.KIND) === InboxKind.DATAGRAM;
  }

  signalValue(i: number): number {
    return this.load(i, InboxSlot.SIGNAL);
  }

  /** Sleeps until the main thread changes inbox i (or `ms` pass). */
  wait(i: number, seen: number, ms: number): void {
    Atomics.wait(this.i32, this.slot(i, InboxSlot.SIGNAL), seen, ms);
  }

  /** The next datagram (skipping a PAD), or null when none; the object is reused by the next call. */
  nextDatagram(i: number): InboxDatagram | null {
    if (this.unreadBytes(i) === 0) return null;
    const rSlot = this.slot(i, InboxSlot.READ);
    const r = Atomics.load(this.i32, rSlot);
    const p = r & (INBOX_BYTES - 1);
    const h = (this.ringAt(i) + p) >> 2;
    if (this.i32[h] === PAD) {
      Atomics.store(this.i32, rSlot, (r + INBOX_BYTES - p) | 0);
      return this.nextDatagram(i);
    }
    const d = this.next;
    d.length = this.i32[h] as number;
    d.ip = (this.i32[h + 1] as number) >>> 0;
    d.port = this.i32[h + 2] as number;
    return d;
  }

  /** Copies up to n stream bytes to dst[at…] and, unless peeking, takes them → whether the main thread wants a REFILL. */
  takeStream(i: number, dst: Uint8Array, at: number, n: number, peek: boolean): boolean {
    const rSlot = this.slot(i, InboxSlot.READ);
    const r = Atomics.load(this.i32, rSlot);
    this.copyOut(i, r, dst, at, n);
    if (peek) return false;
    Atomics.store(this.i32, rSlot, (r + n) | 0);
    return this.tookRoom(i);
  }

  /** Copies up to n bytes of the next datagram to dst[at…] and, unless peeking, takes all of it → as takeStream. */
  takeDatagram(i: number, d: InboxDatagram, dst: Uint8Array, at: number, n: number, peek: boolean): boolean {
    const rSlot = this.slot(i, InboxSlot.READ);
    const r = Atomics.load(this.i32, rSlot);
    this.copyOut(i, r + ENTRY_HEADER, dst, at, Math.min(n, d.length));
    if (peek) return false;
    Atomics.store(this.i32, rSlot, (r + ENTRY_HEADER + align(d.length)) | 0);
    Atomics.add(this.i32, this.slot(i, InboxSlot.TAKEN), 1);
    return this.tookRoom(i);
  }

  /** Bytes of the stream up to and including the first `byte` within `max`, or -1 when none is there. */
  spanThrough(i: number, byte: number, max: number): number {
    const r = this.load(i, InboxSlot.READ);
    const base = this.ringAt(i);
    const n = Math.min(max, this.unreadBytes(i));
    for (let k = 0; k < n; k++) if (this.bytes[base + ((r + k) & (INBOX_BYTES - 1))] === byte) return k + 1;
    return -1;
  }

  /**
   * Before a read call on the socket of inbox i: holds it (waits out a fill under way) → "held";
   * "retry", and the hold undone, when bytes came in meanwhile (the caller takes them first and tries
   * again); "nested" when a call further out holds it already (a timer callback reading the same socket).
   */
  hold(i: number): "held" | "retry" | "nested" {
    const state = this.slot(i, InboxSlot.STATE);
    let was: number;
    do was = Atomics.compareExchange(this.i32, state, InboxState.OPEN, InboxState.HELD);
    while (was === InboxState.FILLING); // a fill takes microseconds
    if (was === InboxState.HELD) return "nested";
    if (this.unreadBytes(i) === 0) return "held";
    this.release(i);
    return "retry";
  }

  /** Ends a hold the main thread did not end (the call was not made) → whether it was still held. */
  release(i: number): boolean {
    return Atomics.compareExchange(this.i32, this.slot(i, InboxSlot.STATE), InboxState.HELD, InboxState.OPEN) === InboxState.HELD;
  }

  private tookRoom(i: number): boolean {
    const flags = this.slot(i, InboxSlot.FLAGS);
    if ((Atomics.load(this.i32, flags) & InboxFlag.WANT_ROOM) === 0) return false;
    Atomics.and(this.i32, flags, ~InboxFlag.WANT_ROOM);
    return true;
  }
}
