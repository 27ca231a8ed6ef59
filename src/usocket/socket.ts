// A usocket socket: MicroPython's socket object (docs/usocket.md "Socket methods", shaped like
// extmod/modlwip.c) — a facade over a TCP stream part or a datagram part (UDP or raw), with Promise-returning
// calls where the board's would block. A blocked call is a waiter woken by its PCB's events, bounded by
// the socket's timeout (wait.ts). Call order: user → Socket → StreamPart/DatagramPart → TCP/UDP/raw PCB
// API; PCB events → Waiters.wake → blocked calls and poll objects.

import { Err, Errno } from "../core/errors.js";
import { formatIpv4 } from "../core/addr.js";
import type { TcpPcb } from "../tcp/pcb.js";
import {
  AF_INET,
  IPPROTO_IP,
  IPPROTO_TCP,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  MSG_DONTWAIT,
  MSG_PEEK,
  POLLNVAL,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_LINGER,
  SO_REUSEADDR,
  TCP_NODELAY,
} from "./constants.js";
import {
  checkSize,
  intOption,
  lingerOption,
  membershipGroup,
  optionalSize,
  parseSockAddr,
  toBytes,
  type BufferLike,
  type OptionValue,
  type SockAddr,
} from "./args.js";
import type { SocketContext } from "./context.js";
import { DatagramPart, RawPart, UdpPart, type Datagram } from "./datagram.js";
import { StreamPart } from "./stream.js";
import { OSError, ValueError, osErrorOf } from "./oserror.js";
import { AGAIN, Waiters, throwAgain, type Again } from "./wait.js";

export type { BufferLike, SockAddr } from "./args.js";
export { DEFAULT_USOCKET_OPTIONS, SocketContext, type UsocketOptions } from "./context.js";

const NEWLINE = 0x0a;
/** Largest IPv4 datagram: what read() without a size takes from a raw socket. */
const MAX_DATAGRAM = 65_535;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export class Socket {
  readonly family = AF_INET;
  private readonly fd: number;
  /** null = blocking; 0 = non-blocking; > 0 = each blocking call bounded by this many ms. */
  private timeoutMs: number | null = null;
  private isClosed = false;
  private readonly waiters: Waiters;
  private readonly wake = (): void => this.waiters.wake();
  private reuseAddress = false;
  /** IPv4 multicast groups this socket joined (left again on close). */
  private readonly groups: number[] = [];
  private readonly stream: StreamPart | null = null;
  private readonly datagram: DatagramPart | null = null;

  /** Use `usocketFor(stack).socket(...)`; `accepted` wraps a connection taken from a listener. */
  constructor(
    private readonly ctx: SocketContext,
    readonly type: number,
    readonly proto: number,
    accepted: TcpPcb | null = null,
  ) {
    this.fd = ctx.takeFd();
    this.waiters = new Waiters(ctx.scheduler);
    const stack = ctx.stack;
    const queued = { maxQueuedDatagrams: ctx.options.maxQueuedDatagrams };
    if (type === SOCK_DGRAM) {
      const pcb = stack.udp.open(queued);
      pcb.events = { readable: this.wake };
      this.datagram = new UdpPart(stack, pcb);
    } else if (type === SOCK_RAW) {
      const pcb = stack.raw.open(proto, queued);
      pcb.events = { readable: this.wake };
      this.datagram = new RawPart(stack, pcb);
    } else {
      this.stream = new StreamPart(ctx, this.wake, accepted);
    }
    ctx.open.add(this);
  }

  /** What print(sock) shows on the board. */
  toString(): string {
    return "<socket>";
  }

  /** Compact in JSON, test diffs and console.log (the object graph behind a socket is the whole stack). */
  toJSON(): string {
    return `<socket fd=${this.fd}>`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toJSON();
  }

  // ================= addresses =================

  /** Binds to `(ip, port)`; port 0 picks an ephemeral port. EINVAL if already bound, EADDRINUSE unless SO_REUSEADDR lets it. */
  bind(addr: SockAddr): void {
    this.checkOpen();
    const [ip, port] = parseSockAddr(addr);
    if (this.datagram !== null) this.datagram.bind(ip, port);
    else this.tcp().bind(this, ip, port, this.reuseAddress);
  }

  /** Starts accepting connections; backlog defaults to 2, as on the board. */
  listen(backlog = 2): void {
    this.tcp().listen(backlog, this.reuseAddress, this.wake);
  }

  /** → [conn, [ip, port]]; `conn` inherits this socket's timeout. */
  async accept(): Promise<[Socket, [string, number]]> {
    const stream = this.tcp();
    return this.block((): [Socket, [string, number]] | Again => {
      this.checkOpen();
      const pcb = stream.takeConnection();
      if (pcb === AGAIN) return AGAIN;
      const conn = new Socket(this.ctx, SOCK_STREAM, this.proto, pcb);
      conn.timeoutMs = this.timeoutMs;
      return [conn, [formatIpv4(pcb.remoteIp), pcb.remotePort]];
    }, throwAgain);
  }

  /**
   * TCP: the three-way handshake (non-blocking: EINPROGRESS, then poll for POLLOUT). UDP/raw: sets the
   * default peer, no packet sent.
   */
  async connect(addr: SockAddr): Promise<void> {
    this.checkOpen();
    const [ip, port] = parseSockAddr(addr);
    if (this.datagram !== null) {
      this.datagram.connect(ip, port);
      return;
    }
    const stream = this.tcp();
    stream.startConnect(ip, port);
    if (this.timeoutMs === 0) throw new OSError(Errno.EINPROGRESS);
    return this.block(() => {
      this.checkOpen();
      return stream.connectOutcome();
    }, throwAgain);
  }

  // ================= sending =================

  /** → bytes queued, possibly fewer than given. */
  async send(data: BufferLike): Promise<number> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.datagram !== null) return this.sendDatagram(bytes, null);
    const stream = this.tcp();
    return this.block(() => stream.put(bytes, 0, bytes.length), throwAgain);
  }

  /** Sends everything (blocking); non-blocking and not all fits: EAGAIN with nothing sent. */
  async sendall(data: BufferLike): Promise<void> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.datagram !== null) {
      this.sendDatagram(bytes, null);
      return;
    }
    if (this.timeoutMs === 0 && !this.tcp().fits(bytes.length)) throw new OSError(Errno.EAGAIN);
    await this.writeStream(bytes, throwAgain);
  }

  /** UDP/raw: one datagram to `addr` → bytes sent. TCP: as send. */
  async sendto(data: BufferLike, addr: SockAddr): Promise<number> {
    this.checkOpen();
    const bytes = toBytes(data);
    const to = parseSockAddr(addr);
    if (this.datagram === null) return this.send(bytes);
    return this.sendDatagram(bytes, to);
  }

  /** Blocking: writes everything → its length. Non-blocking: the count written, or null when nothing fit. */
  async write(data: BufferLike): Promise<number | null> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.datagram !== null) return this.sendDatagram(bytes, null);
    return this.writeStream(bytes, (sent) => (sent > 0 ? sent : null));
  }

  // ================= receiving =================

  /** → up to `bufsize` bytes; b'' (empty) at end of stream. Flags: MSG_PEEK, MSG_DONTWAIT. */
  async recv(bufsize: number, flags = 0): Promise<Uint8Array> {
    if (this.datagram === null) return this.receiveStream(bufsize, flags);
    const [bytes] = await this.receiveDatagram(bufsize, flags);
    return bytes;
  }

  /** → [bytes, [ip, port]]: one datagram, truncated to `bufsize` (raw sockets: port 0); TCP: the peer's address. */
  async recvfrom(bufsize: number, flags = 0): Promise<[Uint8Array, [string, number]]> {
    if (this.datagram === null) {
      const bytes = await this.receiveStream(bufsize, flags);
      const [ip, port] = (this.stream as StreamPart).remote;
      return [bytes, [formatIpv4(ip), port]];
    }
    const [bytes, ip, port] = await this.receiveDatagram(bufsize, flags);
    return [bytes, [formatIpv4(ip), port]];
  }

  /** With `size`: blocks until `size` bytes or EOF; without: reads to EOF. Non-blocking and nothing there: null. */
  async read(size?: number | null): Promise<Uint8Array | null> {
    this.checkOpen();
    const want = optionalSize(size, "size");
    if (this.datagram !== null) return this.readDatagram(want === Infinity ? MAX_DATAGRAM : want);
    return this.readStream(want, false, null);
  }

  /** As read, into `buf` (at most `nbytes` or its length) → count, or null. */
  async readinto(buf: ArrayBufferView | ArrayBufferLike, nbytes?: number): Promise<number | null> {
    this.checkOpen();
    if (typeof buf === "string") throw new TypeError("object with buffer protocol required");
    const dst = toBytes(buf);
    const want = nbytes === undefined ? dst.length : Math.min(checkSize(nbytes, "nbytes"), dst.length);
    if (this.datagram !== null) {
      const d = await this.readDatagram(want);
      if (d === null) return null;
      dst.set(d);
      return d.length;
    }
    return this.readStream(want, false, dst);
  }

  /** Up to and including '\n', or to EOF; non-blocking: null if nothing, else the partial line. */
  async readline(limit?: number): Promise<Uint8Array | null> {
    this.checkOpen();
    const want = optionalSize(limit, "size");
    if (this.datagram !== null) return this.readDatagram(want === Infinity ? MAX_DATAGRAM : want);
    return this.readStream(want, true, null);
  }

  // ================= options =================

  /** Seconds: null blocks, 0 is non-blocking, t > 0 bounds each blocking call (then ETIMEDOUT). */
  settimeout(value: number | null): void {
    if (value === null || value === undefined) {
      this.timeoutMs = null;
      return;
    }
    if (typeof value !== "number" || !(value >= 0)) throw new ValueError("timeout must be a non-negative number or None");
    this.timeoutMs = value === Infinity ? null : value * 1000;
  }

  setblocking(flag: boolean): void {
    this.timeoutMs = flag ? null : 0;
  }

  /**
   * SO_REUSEADDR, SO_BROADCAST, TCP_NODELAY (ints), IP_ADD/DROP_MEMBERSHIP (8 bytes: group, interface),
   * SO_LINGER (struct.pack('ii', onoff, seconds)). Unknown options print a warning and succeed, as the board does.
   */
  setsockopt(level: number, opt: number, value: OptionValue): void {
    this.checkOpen();
    if (level === SOL_SOCKET && opt === SO_REUSEADDR) {
      this.reuseAddress = intOption(value) !== 0;
      if (this.datagram !== null) this.datagram.reuseAddress = this.reuseAddress;
      return;
    }
    if (level === SOL_SOCKET && opt === SO_BROADCAST) {
      const on = intOption(value) !== 0;
      if (this.datagram !== null) this.datagram.broadcast = on;
      return;
    }
    if (level === SOL_SOCKET && opt === SO_LINGER) {
      const seconds = lingerOption(value);
      if (this.stream !== null) this.stream.lingerS = seconds;
      return;
    }
    if (level === IPPROTO_TCP && opt === TCP_NODELAY) {
      const on = intOption(value) !== 0;
      if (this.stream !== null) this.stream.setNoDelay(on);
      return;
    }
    if (level === IPPROTO_IP && (opt === IP_ADD_MEMBERSHIP || opt === IP_DROP_MEMBERSHIP)) {
      this.changeMembership(membershipGroup(value), opt === IP_ADD_MEMBERSHIP);
      return;
    }
    console.warn("Warning: lwip.setsockopt() not implemented");
  }

  /** The board returns the socket itself; binary modes only. */
  makefile(mode = "rb", _buffering = 0): this {
    if (!mode.includes("b")) throw new ValueError(`mode '${mode}' not supported: binary modes only`);
    return this;
  }

  fileno(): number {
    return this.fd;
  }

  /**
   * Releases the socket. TCP closes gracefully (FIN) and is aborted if that has not finished within 10 s
   * (SO_LINGER 0: at once, with a RST); a listening socket resets its unaccepted connections. Closing twice
   * is harmless; later calls raise EBADF.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const ctx = this.ctx;
    ctx.open.delete(this);
    for (const g of this.groups.splice(0)) ctx.stack.igmp.leave(g);
    this.stream?.close(this);
    this.datagram?.close();
    // Calls blocked on this socket now fail with EBADF; poll objects see POLLNVAL.
    this.wake();
  }

  // ================= for poll/select =================

  /** Readiness bits (POLLIN/OUT/ERR/HUP/NVAL) per docs/usocket.md "select / uselect", before masking by what was asked. */
  readiness(): number {
    if (this.isClosed) return POLLNVAL;
    return this.datagram !== null ? this.datagram.readiness() : (this.stream as StreamPart).readiness();
  }

  /**
   * The bytes a TCP send would queue now without waiting or failing (0 otherwise, and for other sockets),
   * and for an open UDP socket -1 (a datagram never waits): the board's bridge posts a send that fits
   * without waiting for its answer.
   */
  sendRoom(): number {
    if (this.isClosed) return 0;
    if (this.stream !== null) return this.stream.sendRoom();
    return this.type === SOCK_DGRAM ? -1 : 0;
  }

  // ================= for a reader that moves input out as it arrives (the board's inboxes) =================

  /** TCP: received bytes a read could take now (0 for other sockets, closed ones, or before a connection). */
  receivable(): number {
    return this.isClosed || this.stream === null ? 0 : this.stream.receivable();
  }

  /** TCP: moves at most `max` received bytes into dst[offset…] now → how many (never blocks or raises). */
  takeReceived(dst: Uint8Array, offset: number, max: number): number {
    return this.isClosed || this.stream === null ? 0 : this.stream.takeReceived(dst, offset, max);
  }

  /** TCP: nothing more will arrive (end of stream, a failure the next read raises, no connection, closed). */
  isInputEnded(): boolean {
    return this.isClosed || this.stream === null || this.stream.isInputEnded();
  }

  /** TCP: a read with nothing queued returns b'' now (a FIN, or a failure raised already). */
  readsEnd(): boolean {
    return !this.isClosed && this.stream !== null && this.stream.readsEnd();
  }

  /** UDP/raw: the next queued datagram's length, or -1 when none. */
  nextDatagramLength(): number {
    return this.isClosed || this.datagram === null ? -1 : this.datagram.nextLength();
  }

  /** UDP/raw: moves the next datagram (one is queued), whole, into dst[offset…]; `source` gets its [ip, port]. */
  takeDatagram(dst: Uint8Array, offset: number, source: [number, number]): void {
    (this.datagram as DatagramPart).takeInto(dst, offset, source);
  }

  /** UDP/raw: one datagram to a numeric address (a reply to a source takeDatagram gave) → bytes sent. */
  sendDatagramTo(bytes: Uint8Array, ip: number, port: number): number {
    if (this.datagram === null) throw new OSError(Errno.EOPNOTSUPP);
    return this.sendDatagram(bytes, [ip, port]);
  }

  /** UDP/raw: datagrams such a reader holds count against the socket's queue limit. */
  holdDatagramsElsewhere(count: () => number): void {
    if (this.datagram !== null) this.datagram.heldElsewhere = count;
  }

  /** Calls `fn` on every event of this socket until removed. */
  addWaiter(fn: () => void): void {
    this.waiters.add(fn);
  }

  removeWaiter(fn: () => void): void {
    this.waiters.remove(fn);
  }

  // ================= internals =================

  private checkOpen(): void {
    if (this.isClosed) throw new OSError(Errno.EBADF);
  }

  /** The stream part, after checking the socket is open and is TCP (EOPNOTSUPP otherwise). */
  private tcp(): StreamPart {
    this.checkOpen();
    if (this.stream === null) throw new OSError(Errno.EOPNOTSUPP);
    return this.stream;
  }

  private block<T>(attempt: () => T | Again, wouldBlock: () => T, dontWait = false): Promise<T> {
    return this.waiters.wait(attempt, wouldBlock, this.timeoutMs, dontWait);
  }

  /** recv and recvfrom on UDP/raw: one datagram, truncated to `bufsize`, with its source. */
  private receiveDatagram(bufsize: number, flags: number): Promise<Datagram> {
    this.checkOpen();
    const max = checkSize(bufsize, "bufsize");
    const datagram = this.datagram as DatagramPart;
    return this.block(() => {
      this.checkOpen();
      return datagram.take(max, (flags & MSG_PEEK) !== 0);
    }, throwAgain, (flags & MSG_DONTWAIT) !== 0);
  }

  /** recv and recvfrom on TCP: at most `bufsize` of what has arrived (MSG_PEEK leaves it queued). */
  private receiveStream(bufsize: number, flags: number): Promise<Uint8Array> {
    const stream = this.tcp();
    const max = checkSize(bufsize, "bufsize");
    const isPeek = (flags & MSG_PEEK) !== 0;
    return this.block((): Uint8Array | Again => {
      this.checkOpen();
      const n = stream.takeable(max, false);
      if (n === AGAIN) return AGAIN;
      const out = new Uint8Array(n);
      stream.takeInto(out, 0, n, isPeek);
      return out;
    }, throwAgain, (flags & MSG_DONTWAIT) !== 0);
  }

  /**
   * read, readinto and readline on TCP: takes up to `want` bytes (through the first '\n' when `toNewline`)
   * into `dst`, or into chunks when dst is null, until done or end of stream. A failure after some bytes
   * is raised by the next call, so nothing that arrived is lost. Non-blocking with nothing there: null.
   */
  private readStream(want: number, toNewline: boolean, dst: null): Promise<Uint8Array | null>;
  private readStream(want: number, toNewline: boolean, dst: Uint8Array): Promise<number | null>;
  private readStream(want: number, toNewline: boolean, dst: Uint8Array | null): Promise<Uint8Array | number | null> {
    const stream = this.tcp();
    const chunks: Uint8Array[] = [];
    let got = 0;
    const result = (): Uint8Array | number => (dst !== null ? got : concat(chunks, got));
    return this.block((): Uint8Array | number | Again => {
      this.checkOpen();
      while (got < want) {
        const n = stream.takeable(want - got, toNewline, got === 0);
        if (n === AGAIN) return AGAIN;
        if (n === 0) break;
        let last: number;
        if (dst !== null) {
          stream.takeInto(dst, got, n, false);
          last = dst[got + n - 1] as number;
        } else {
          const c = new Uint8Array(n);
          stream.takeInto(c, 0, n, false);
          chunks.push(c);
          last = c[n - 1] as number;
        }
        got += n;
        if (toNewline && last === NEWLINE) break;
      }
      return result();
    }, () => (got > 0 ? result() : null));
  }

  /** write and sendall on TCP: queues all of `bytes`, blocking for room; non-blocking, `wouldBlock(sent)` decides. */
  private writeStream<T>(bytes: Uint8Array, wouldBlock: (sent: number) => T): Promise<number | T> {
    const stream = this.tcp();
    let sent = 0;
    return this.block((): number | T | Again => {
      this.checkOpen();
      while (sent < bytes.length) {
        const n = stream.put(bytes, sent, bytes.length - sent);
        if (n === AGAIN) return AGAIN;
        sent += n;
      }
      return sent;
    }, () => wouldBlock(sent));
  }

  /** One UDP or raw datagram to `to`, or to the connected peer when null → its length. Never blocks. */
  private sendDatagram(bytes: Uint8Array, to: [number, number] | null): number {
    this.checkOpen();
    (this.datagram as DatagramPart).send(bytes, to);
    return bytes.length;
  }

  private readDatagram(max: number): Promise<Uint8Array | null> {
    const datagram = this.datagram as DatagramPart;
    return this.block(() => {
      this.checkOpen();
      const d = datagram.take(max, false);
      return d === AGAIN ? AGAIN : d[0];
    }, () => null);
  }

  private changeMembership(group: number, isJoin: boolean): void {
    const igmp = this.ctx.stack.igmp;
    if (isJoin) {
      const err = igmp.join(group);
      if (err !== Err.OK) throw osErrorOf(err);
      this.groups.push(group);
      return;
    }
    const i = this.groups.indexOf(group);
    if (i < 0) throw new OSError(Errno.EINVAL);
    this.groups.splice(i, 1);
    igmp.leave(group);
  }
}
