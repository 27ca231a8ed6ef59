// A usocket socket: MicroPython's socket object (docs/usocket.md "Socket methods", extmod/modlwip.c semantics)
// over one TCP, UDP or raw PCB, with Promise-returning calls where the board's would block. A blocked call
// is a waiter woken by the PCB's events (tcp/pcb TcpEvents, udp/raw `readable`), never a polling loop, and
// bounded by a scheduler Deadline. Call order: user → Socket → TcpLayer/UdpLayer/RawLayer PCB API; PCB
// events → Socket.wake → waiters (blocked calls, poll objects).

import { Deadline, type Scheduler } from "../core/scheduler.js";
import { Err, Errno, errnoOf, type ErrCode } from "../core/errors.js";
import { formatIpv4, parseIpv4 } from "../core/addr.js";
import type { Stack } from "../stack/stack.js";
import type { TcpEvents, TcpListener, TcpPcb } from "../tcp/pcb.js";
import { TcpState, canSendData } from "../tcp/state.js";
import { UDP_MAX_DATA, type UdpPcb } from "../udp/udp.js";
import type { RawPcb } from "../ip/raw.js";
import {
  AF_INET,
  IPPROTO_IP,
  IPPROTO_TCP,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  MSG_DONTWAIT,
  MSG_PEEK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_REUSEADDR,
  TCP_NODELAY,
} from "./constants.js";
import { OSError, ValueError, osErrorOf } from "./oserror.js";

/** What data arguments accept: bytes-likes and str (UTF-8), as MicroPython's buffer protocol does. */
export type BufferLike = string | ArrayBufferLike | ArrayBufferView;
/** An address tuple `(ip, port)`; '' and '0.0.0.0' mean any local address. */
export type SockAddr = readonly [ip: string, port: number];

export interface UsocketOptions {
  /** Datagrams a UDP or raw socket queues before it drops (the board queues 4; raise it for benchmarks). */
  maxQueuedDatagrams: number;
  /** A TCP close that has not finished by then is aborted with a reset (lwIP boards: 10 s). */
  closeAbortMs: number;
}

export const DEFAULT_USOCKET_OPTIONS: UsocketOptions = { maxQueuedDatagrams: 4, closeAbortMs: 10_000 };

/** State shared by the sockets of one stack. */
export class SocketContext {
  /** TCP ports taken by bind() on sockets not closed yet: the TCP layer knows a port only once it listens or connects. */
  readonly tcpBound = new Map<number, Socket>();
  /** Every socket not closed yet (closeAll, when a board's program ends without closing). */
  readonly open = new Set<Socket>();
  /** The 10 s abort deadlines of TCP closes still under way (cancelled by shutdown). */
  readonly closeDeadlines = new Set<Deadline>();
  private nextFd = 3;

  constructor(
    readonly stack: Stack,
    readonly options: UsocketOptions,
  ) {}

  get scheduler(): Scheduler {
    return this.stack.scheduler;
  }

  takeFd(): number {
    return this.nextFd++;
  }

  tcpPortBusy(port: number, reuseAddress: boolean): boolean {
    return this.tcpBound.has(port) || this.stack.tcp.portInUse(port, reuseAddress);
  }
}

/** An attempt's "not yet": the call blocks (or, non-blocking, fails with EAGAIN / returns None). */
const AGAIN: unique symbol = Symbol("again");
type Again = typeof AGAIN;

const Phase = { NEW: 0, LISTENING: 1, CONNECTING: 2, CONNECTED: 3 } as const;
type PhaseCode = (typeof Phase)[keyof typeof Phase];

const ENCODER = new TextEncoder();
const EMPTY = new Uint8Array(0);
const NEWLINE = 0x0a;
/** Largest IPv4 datagram: what read() without a size takes from a raw socket. */
const MAX_DATAGRAM = 65_535;

export function toBytes(data: BufferLike): Uint8Array {
  if (typeof data === "string") return ENCODER.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  throw new TypeError("object with buffer protocol required");
}

/** Validates an address tuple at the edge (ip-num via parseIpv4) and returns [ip as u32, port]. */
export function parseSockAddr(addr: SockAddr): [number, number] {
  if (!Array.isArray(addr) || addr.length !== 2) throw new TypeError("address must be an (ip, port) tuple");
  const [text, port] = addr as unknown[];
  if (typeof text !== "string" || typeof port !== "number") throw new TypeError("address must be an (ip: str, port: int) tuple");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValueError(`port ${port} out of range 0-65535`);
  if (text === "") return [0, port];
  try {
    return [parseIpv4(text), port];
  } catch (e) {
    throw new ValueError(e instanceof Error ? e.message : String(e));
  }
}

function checkSize(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`${what} must be a non-negative integer`);
  return n;
}

function intOption(value: number | boolean | BufferLike): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new TypeError("can't convert to int");
}

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
  /** Blocked calls and poll objects, called on every PCB event (and on close). */
  private readonly waiters = new Set<() => void>();
  private reuseAddress = false;
  private noDelay = false;
  private isBound = false;
  /** IPv4 multicast groups this socket joined (left again on close). */
  private readonly groups: number[] = [];

  // ---- SOCK_STREAM ----
  private phase: PhaseCode = Phase.NEW;
  private localIp = 0;
  private localPort = 0;
  private listener: TcpListener | null = null;
  private pcb: TcpPcb | null = null;
  /** errno of the connection's failure (reset, refused, timeout, unreachable), 0 while none. */
  private failure = 0;
  /** The failure was raised once: recv then drains what is left and returns b'' (lwIP boards). */
  private isFailureReported = false;
  private readonly tcpEvents: TcpEvents = {
    connected: () => {
      if (this.phase === Phase.CONNECTING) this.phase = Phase.CONNECTED;
      this.wake();
    },
    readable: () => this.wake(),
    writable: () => this.wake(),
    peerClosed: () => this.wake(),
    error: (_pcb, err) => {
      this.failure = errnoOf(err);
      this.wake();
    },
  };

  // ---- SOCK_DGRAM / SOCK_RAW ----
  private readonly udpPcb: UdpPcb | null = null;
  private readonly rawPcb: RawPcb | null = null;

  /** Use `usocketFor(stack).socket(...)`; `accepted` wraps a connection taken from a listener. */
  constructor(
    private readonly ctx: SocketContext,
    readonly type: number,
    readonly proto: number,
    accepted: TcpPcb | null = null,
  ) {
    this.fd = ctx.takeFd();
    const stack = ctx.stack;
    if (type === SOCK_DGRAM) {
      this.udpPcb = stack.udp.open({ maxQueuedDatagrams: ctx.options.maxQueuedDatagrams });
      this.udpPcb.events = { readable: () => this.wake() };
    } else if (type === SOCK_RAW) {
      this.rawPcb = stack.raw.open(proto, { maxQueuedDatagrams: ctx.options.maxQueuedDatagrams });
      this.rawPcb.events = { readable: () => this.wake() };
    } else if (accepted !== null) {
      this.pcb = accepted;
      this.phase = Phase.CONNECTED;
      this.noDelay = accepted.noDelay;
      accepted.events = this.tcpEvents;
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
    const stack = this.ctx.stack;
    if (this.udpPcb !== null) {
      const err = stack.udp.bind(this.udpPcb, ip, port);
      if (err !== Err.OK) throw osErrorOf(err);
      this.isBound = true;
      return;
    }
    if (this.rawPcb !== null) {
      if (this.isBound) throw new OSError(Errno.EINVAL);
      stack.raw.bind(this.rawPcb, ip);
      this.isBound = true;
      return;
    }
    if (this.isBound || this.phase !== Phase.NEW) throw new OSError(Errno.EINVAL);
    let chosen = port;
    if (chosen === 0) {
      chosen = stack.tcp.ports.choose(ip, 0, 0, (p) => !this.ctx.tcpPortBusy(p, false));
      if (chosen === 0) throw new OSError(Errno.EADDRINUSE);
    } else if (this.ctx.tcpPortBusy(chosen, this.reuseAddress)) {
      throw new OSError(Errno.EADDRINUSE);
    }
    this.localIp = ip;
    this.localPort = chosen;
    this.isBound = true;
    this.ctx.tcpBound.set(chosen, this);
  }

  /** Starts accepting connections; backlog defaults to 2, as on the board. */
  listen(backlog = 2): void {
    this.checkOpen();
    if (this.type !== SOCK_STREAM) throw new OSError(Errno.EOPNOTSUPP);
    const l = this.listener;
    if (l !== null) {
      l.backlog = Math.max(1, backlog);
      return;
    }
    if (this.phase !== Phase.NEW) throw new OSError(Errno.EINVAL);
    const tcp = this.ctx.stack.tcp;
    const r = tcp.listen(this.localIp, this.localPort, backlog, { acceptable: () => this.wake() }, { noDelay: this.noDelay }, this.reuseAddress);
    if (typeof r === "number") throw osErrorOf(r);
    this.listener = r;
    this.localPort = r.localPort;
    this.phase = Phase.LISTENING;
  }

  /** → [conn, [ip, port]]; `conn` inherits this socket's timeout. */
  async accept(): Promise<[Socket, [string, number]]> {
    this.checkOpen();
    if (this.type !== SOCK_STREAM) throw new OSError(Errno.EOPNOTSUPP);
    const listener = this.listener;
    if (listener === null) throw new OSError(Errno.EINVAL);
    return this.wait((): [Socket, [string, number]] | Again => {
      this.checkOpen();
      const pcb = this.ctx.stack.tcp.accept(listener);
      if (pcb === null) return AGAIN;
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
    const stack = this.ctx.stack;
    if (this.udpPcb !== null) {
      const err = stack.udp.connect(this.udpPcb, ip, port);
      if (err !== Err.OK) throw osErrorOf(err);
      this.isBound = true;
      return;
    }
    if (this.rawPcb !== null) {
      stack.raw.connect(this.rawPcb, ip);
      return;
    }
    if (this.phase !== Phase.NEW) {
      this.raiseFailureOnce();
      throw new OSError(this.phase === Phase.CONNECTED ? Errno.EISCONN : Errno.EALREADY);
    }
    // CONNECTING first: the `connected` event must find it even if the handshake completed inside connect.
    this.phase = Phase.CONNECTING;
    const r = stack.tcp.connect(ip, port, this.tcpEvents, { noDelay: this.noDelay }, this.localPort);
    if (typeof r === "number") {
      this.phase = Phase.NEW;
      throw osErrorOf(r);
    }
    this.pcb = r;
    if (this.timeoutMs === 0) throw new OSError(Errno.EINPROGRESS);
    return this.wait((): undefined | Again => {
      this.checkOpen();
      if (this.failure !== 0) {
        this.isFailureReported = true;
        throw new OSError(this.failure);
      }
      return this.phase === Phase.CONNECTED ? undefined : AGAIN;
    }, throwAgain);
  }

  // ================= sending =================

  /** → bytes queued, possibly fewer than given. */
  async send(data: BufferLike): Promise<number> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.type !== SOCK_STREAM) return this.sendDatagram(bytes, null);
    return this.wait(() => this.tcpPut(bytes, 0, bytes.length), throwAgain);
  }

  /** Sends everything (blocking); non-blocking and not all fits: EAGAIN with nothing sent. */
  async sendall(data: BufferLike): Promise<void> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.type !== SOCK_STREAM) {
      await this.sendDatagram(bytes, null);
      return;
    }
    if (this.timeoutMs === 0) {
      this.tcpWritable();
      const pcb = this.pcb as TcpPcb;
      if (pcb.sendRing.free < bytes.length) throw new OSError(Errno.EAGAIN);
    }
    let sent = 0;
    await this.wait((): undefined | Again => {
      while (sent < bytes.length) {
        const n = this.tcpPut(bytes, sent, bytes.length - sent);
        if (n === AGAIN) return AGAIN;
        sent += n;
      }
      return undefined;
    }, throwAgain);
  }

  /** UDP/raw: one datagram to `addr` → bytes sent. TCP: as send. */
  async sendto(data: BufferLike, addr: SockAddr): Promise<number> {
    this.checkOpen();
    const bytes = toBytes(data);
    const to = parseSockAddr(addr);
    if (this.type === SOCK_STREAM) return this.send(bytes);
    return this.sendDatagram(bytes, to);
  }

  // ================= receiving =================

  /** → up to `bufsize` bytes; b'' (empty) at end of stream. Flags: MSG_PEEK, MSG_DONTWAIT. */
  async recv(bufsize: number, flags = 0): Promise<Uint8Array> {
    this.checkOpen();
    const max = checkSize(bufsize, "bufsize");
    const isPeek = (flags & MSG_PEEK) !== 0;
    const dontWait = (flags & MSG_DONTWAIT) !== 0;
    if (this.type === SOCK_STREAM) return this.wait(() => this.tcpTake(max, isPeek, false), throwAgain, dontWait);
    return this.wait(() => {
      const d = this.datagramTake(max, isPeek);
      return d === AGAIN ? AGAIN : d[0];
    }, throwAgain, dontWait);
  }

  /** → [bytes, [ip, port]]: one datagram, truncated to `bufsize` (raw sockets: port 0). */
  async recvfrom(bufsize: number, flags = 0): Promise<[Uint8Array, [string, number]]> {
    this.checkOpen();
    const max = checkSize(bufsize, "bufsize");
    const isPeek = (flags & MSG_PEEK) !== 0;
    const dontWait = (flags & MSG_DONTWAIT) !== 0;
    if (this.type === SOCK_STREAM) {
      return this.wait((): [Uint8Array, [string, number]] | Again => {
        const d = this.tcpTake(max, isPeek, false);
        if (d === AGAIN) return AGAIN;
        const pcb = this.pcb as TcpPcb;
        return [d, [formatIpv4(pcb.remoteIp), pcb.remotePort]];
      }, throwAgain, dontWait);
    }
    return this.wait((): [Uint8Array, [string, number]] | Again => {
      const d = this.datagramTake(max, isPeek);
      return d === AGAIN ? AGAIN : [d[0], [formatIpv4(d[1]), d[2]]];
    }, throwAgain, dontWait);
  }

  // ================= stream methods (None instead of EAGAIN) =================

  /** With `size`: blocks until `size` bytes or EOF; without: reads to EOF. Non-blocking and nothing there: null. */
  async read(size?: number | null): Promise<Uint8Array | null> {
    this.checkOpen();
    const want = size === undefined || size === null || size < 0 ? Infinity : checkSize(size, "size");
    if (this.type !== SOCK_STREAM) return this.readDatagram(want === Infinity ? MAX_DATAGRAM : want);
    const chunks: Uint8Array[] = [];
    let got = 0;
    return this.wait((): Uint8Array | Again => {
      while (got < want) {
        const c = this.tcpTake(want - got, false, false);
        if (c === AGAIN) return AGAIN;
        if (c.length === 0) break;
        chunks.push(c);
        got += c.length;
      }
      return concat(chunks, got);
    }, () => (got > 0 ? concat(chunks, got) : null));
  }

  /** As read, into `buf` (at most `nbytes` or its length) → count, or null. */
  async readinto(buf: ArrayBufferView | ArrayBufferLike, nbytes?: number): Promise<number | null> {
    this.checkOpen();
    if (typeof buf === "string") throw new TypeError("object with buffer protocol required");
    const dst = toBytes(buf);
    const want = nbytes === undefined ? dst.length : Math.min(checkSize(nbytes, "nbytes"), dst.length);
    if (this.type !== SOCK_STREAM) {
      const d = await this.readDatagram(want);
      if (d === null) return null;
      dst.set(d);
      return d.length;
    }
    let got = 0;
    return this.wait((): number | Again => {
      while (got < want) {
        const c = this.tcpTake(want - got, false, false);
        if (c === AGAIN) return AGAIN;
        if (c.length === 0) break;
        dst.set(c, got);
        got += c.length;
      }
      return got;
    }, () => (got > 0 ? got : null));
  }

  /** Up to and including '\n', or to EOF; non-blocking: null if nothing, else the partial line. */
  async readline(limit?: number): Promise<Uint8Array | null> {
    this.checkOpen();
    const want = limit === undefined || limit < 0 ? Infinity : checkSize(limit, "size");
    if (this.type !== SOCK_STREAM) return this.readDatagram(want === Infinity ? MAX_DATAGRAM : want);
    const chunks: Uint8Array[] = [];
    let got = 0;
    return this.wait((): Uint8Array | Again => {
      while (got < want) {
        const c = this.tcpTake(want - got, false, true);
        if (c === AGAIN) return AGAIN;
        if (c.length === 0) break;
        chunks.push(c);
        got += c.length;
        if (c[c.length - 1] === NEWLINE) break;
      }
      return concat(chunks, got);
    }, () => (got > 0 ? concat(chunks, got) : null));
  }

  /** Blocking: writes everything → its length. Non-blocking: the count written, or null when nothing fit. */
  async write(data: BufferLike): Promise<number | null> {
    this.checkOpen();
    const bytes = toBytes(data);
    if (this.type !== SOCK_STREAM) return this.sendDatagram(bytes, null);
    let sent = 0;
    return this.wait((): number | Again => {
      while (sent < bytes.length) {
        const n = this.tcpPut(bytes, sent, bytes.length - sent);
        if (n === AGAIN) return AGAIN;
        sent += n;
      }
      return sent;
    }, () => (sent > 0 ? sent : null));
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
   * SO_REUSEADDR, SO_BROADCAST, TCP_NODELAY (ints), IP_ADD/DROP_MEMBERSHIP (8 bytes: group, interface).
   * Unknown options print a warning and succeed, as the board does.
   */
  setsockopt(level: number, opt: number, value: number | boolean | BufferLike): void {
    this.checkOpen();
    if (level === SOL_SOCKET && opt === SO_REUSEADDR) {
      this.reuseAddress = intOption(value) !== 0;
      if (this.udpPcb !== null) this.udpPcb.reuseAddress = this.reuseAddress;
      return;
    }
    if (level === SOL_SOCKET && opt === SO_BROADCAST) {
      const on = intOption(value) !== 0;
      if (this.udpPcb !== null) this.udpPcb.broadcast = on;
      if (this.rawPcb !== null) this.rawPcb.broadcast = on;
      return;
    }
    if (level === IPPROTO_TCP && opt === TCP_NODELAY) {
      this.noDelay = intOption(value) !== 0;
      const pcb = this.pcb;
      if (pcb !== null && !pcb.freed) this.ctx.stack.tcp.setNoDelay(pcb, this.noDelay);
      return;
    }
    if (level === IPPROTO_IP && (opt === IP_ADD_MEMBERSHIP || opt === IP_DROP_MEMBERSHIP)) {
      if (typeof value === "number" || typeof value === "boolean") throw new TypeError("object with buffer protocol required");
      const b = toBytes(value);
      if (b.length !== 8) throw new ValueError("membership value must be 8 bytes: group address, then interface address");
      const group = ((b[0] as number) * 0x1000000 + (((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number))) >>> 0;
      this.changeMembership(group, opt === IP_ADD_MEMBERSHIP);
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
   * Releases the socket. TCP closes gracefully (FIN) and is aborted if that has not finished within 10 s; a
   * listening socket resets its unaccepted connections. Closing twice is harmless; later calls raise EBADF.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const ctx = this.ctx;
    const stack = ctx.stack;
    ctx.open.delete(this);
    if (this.isBound && ctx.tcpBound.get(this.localPort) === this) ctx.tcpBound.delete(this.localPort);
    for (const g of this.groups.splice(0)) stack.igmp.leave(g);
    if (this.listener !== null) stack.tcp.closeListener(this.listener);
    if (this.pcb !== null) this.closeConnection(this.pcb);
    if (this.udpPcb !== null) stack.udp.close(this.udpPcb);
    if (this.rawPcb !== null) stack.raw.close(this.rawPcb);
    // Calls blocked on this socket now fail with EBADF; poll objects see POLLNVAL.
    this.wake();
  }

  // ================= for poll/select =================

  /** Readiness bits (POLLIN/OUT/ERR/HUP/NVAL) per docs/usocket.md "select / uselect", before masking by what was asked. */
  readiness(): number {
    if (this.isClosed) return POLLNVAL;
    if (this.udpPcb !== null) return POLLOUT | (this.udpPcb.queue.isEmpty ? 0 : POLLIN);
    if (this.rawPcb !== null) return POLLOUT | (this.rawPcb.queue.isEmpty ? 0 : POLLIN);
    if (this.failure !== 0) return POLLERR | POLLHUP | POLLIN | POLLOUT;
    switch (this.phase) {
      case Phase.NEW:
        // Not connected: modlwip reports HUP.
        return POLLHUP;
      case Phase.LISTENING:
        return (this.listener as TcpListener).acceptQueue.length > 0 ? POLLIN : 0;
      case Phase.CONNECTING:
        return 0;
      default: {
        const pcb = this.pcb as TcpPcb;
        // Peer FIN: readable (EOF) and writable (we may still send), as modlwip's STATE_PEER_CLOSED.
        if (pcb.finReceived) return POLLIN | POLLOUT;
        let r = pcb.recvRing.length > 0 ? POLLIN : 0;
        if (pcb.sendRing.free > 0 && canSendData(pcb.state)) r |= POLLOUT;
        return r;
      }
    }
  }

  /** Calls `fn` on every event of this socket until removed. */
  addWaiter(fn: () => void): void {
    this.waiters.add(fn);
  }

  removeWaiter(fn: () => void): void {
    this.waiters.delete(fn);
  }

  // ================= internals =================

  private wake(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }

  private checkOpen(): void {
    if (this.isClosed) throw new OSError(Errno.EBADF);
  }

  /** Raises a connection failure not yet reported (once). */
  private raiseFailureOnce(): void {
    if (this.failure !== 0 && !this.isFailureReported) {
      this.isFailureReported = true;
      throw new OSError(this.failure);
    }
  }

  /**
   * Runs `attempt` now and, while it says AGAIN, after every event of this socket; settles with its result
   * or error. Non-blocking (timeout 0 or MSG_DONTWAIT): `wouldBlock` decides (EAGAIN, or None for stream
   * methods). A finite timeout arms a scheduler Deadline: ETIMEDOUT.
   */
  private wait<T>(attempt: () => T | Again, wouldBlock: () => T, dontWait = false): Promise<T> {
    let first: T | Again;
    try {
      first = attempt();
      if (first === AGAIN && (dontWait || this.timeoutMs === 0)) first = wouldBlock();
    } catch (e) {
      return Promise.reject(e);
    }
    if (first !== AGAIN) return Promise.resolve(first);
    const timeoutMs = this.timeoutMs;
    const scheduler = this.ctx.scheduler;
    return new Promise<T>((resolve, reject) => {
      let deadline: Deadline | null = null;
      const finish = (): void => {
        this.waiters.delete(waiter);
        if (deadline !== null) scheduler.cancel(deadline);
      };
      const waiter = (): void => {
        let r: T | Again;
        try {
          r = attempt();
        } catch (e) {
          finish();
          reject(e);
          return;
        }
        if (r !== AGAIN) {
          finish();
          resolve(r);
        }
      };
      this.waiters.add(waiter);
      if (timeoutMs !== null) {
        deadline = new Deadline(() => {
          finish();
          reject(new OSError(Errno.ETIMEDOUT));
        }, "usocket timeout");
        scheduler.after(deadline, timeoutMs);
      }
    });
  }

  /** Checks that a TCP socket can take data now (raises ENOTCONN, EBADF or its failure). */
  private tcpWritable(): void {
    this.checkOpen();
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING) throw new OSError(Errno.ENOTCONN);
    if (this.failure !== 0) {
      // Sending on a failed connection fails every time, not only once.
      this.isFailureReported = true;
      throw new OSError(this.failure);
    }
  }

  /** Queues what fits of bytes[offset, offset + length) → count, or AGAIN when the send ring is full. */
  private tcpPut(bytes: Uint8Array, offset: number, length: number): number | Again {
    this.tcpWritable();
    const pcb = this.pcb as TcpPcb;
    if (length === 0) return 0;
    if (pcb.sendRing.free === 0) return AGAIN;
    const n = this.ctx.stack.tcp.write(pcb, bytes, offset, length);
    if (n < 0) throw osErrorOf(n as ErrCode);
    return n === 0 ? AGAIN : n;
  }

  /**
   * Takes up to `max` received bytes (stopping after a '\n' when `toNewline`); an empty array at end of
   * stream; AGAIN when nothing is there yet. The first call after a failure raises it; later ones drain.
   */
  private tcpTake(max: number, isPeek: boolean, toNewline: boolean): Uint8Array | Again {
    this.checkOpen();
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING) throw new OSError(Errno.ENOTCONN);
    this.raiseFailureOnce();
    const pcb = this.pcb as TcpPcb;
    const ring = pcb.recvRing;
    if (max === 0) return EMPTY;
    if (ring.length > 0) {
      let n = Math.min(max, ring.length);
      if (toNewline) {
        const i = ring.indexOf(NEWLINE);
        if (i >= 0 && i < n) n = i + 1;
      }
      const out = new Uint8Array(n);
      if (isPeek) ring.peek(0, out, 0, n);
      else this.ctx.stack.tcp.read(pcb, out, 0, n);
      return out;
    }
    if (pcb.finReceived || this.failure !== 0) return EMPTY;
    return AGAIN;
  }

  /** The next datagram (truncated to `max`) with its source address, or AGAIN. */
  private datagramTake(max: number, isPeek: boolean): [Uint8Array, number, number] | Again {
    this.checkOpen();
    const stack = this.ctx.stack;
    const udp = this.udpPcb;
    if (udp !== null) {
      const q = udp.queue;
      if (q.isEmpty) return AGAIN;
      const src = q.nextSrcIp;
      const srcPort = q.nextSrcPort;
      const out = new Uint8Array(Math.min(max, q.nextLength));
      stack.udp.receive(udp, out, 0, out.length, isPeek);
      return [out, src, srcPort];
    }
    const raw = this.rawPcb as RawPcb;
    const q = raw.queue;
    if (q.isEmpty) return AGAIN;
    const src = q.nextSrcIp;
    const out = new Uint8Array(Math.min(max, q.nextLength));
    stack.raw.receive(raw, out, 0, out.length, isPeek);
    return [out, src, 0];
  }

  private readDatagram(max: number): Promise<Uint8Array | null> {
    return this.wait(() => {
      const d = this.datagramTake(max, false);
      return d === AGAIN ? AGAIN : d[0];
    }, () => null);
  }

  /** One UDP or raw datagram to `to`, or to the connected peer when null → its length. Never blocks. */
  private async sendDatagram(bytes: Uint8Array, to: [number, number] | null): Promise<number> {
    this.checkOpen();
    const stack = this.ctx.stack;
    let err: ErrCode;
    if (this.udpPcb !== null) {
      if (bytes.length > UDP_MAX_DATA) throw new OSError(Errno.EMSGSIZE);
      err = stack.udp.sendTo(this.udpPcb, bytes, 0, bytes.length, to === null ? null : to[0], to === null ? 0 : to[1]);
      this.isBound = true;
    } else {
      err = stack.raw.sendTo(this.rawPcb as RawPcb, bytes, 0, bytes.length, to === null ? null : to[0]);
    }
    if (err !== Err.OK) throw osErrorOf(err);
    return bytes.length;
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

  private closeConnection(pcb: TcpPcb): void {
    const tcp = this.ctx.stack.tcp;
    if (pcb.freed) {
      // Failed before the close: nobody reads its rings again.
      tcp.releaseRings(pcb);
      return;
    }
    tcp.close(pcb);
    if (pcb.freed) return;
    // lwIP boards abort a close that cannot finish (peer gone, window shut) within 10 s. Done means our FIN
    // is acknowledged: FIN-WAIT-2 (timed out by the TCP layer) or TIME-WAIT.
    const closing = this.ctx.closeDeadlines;
    const deadline = new Deadline(() => {
      closing.delete(deadline);
      if (!pcb.freed && pcb.state !== TcpState.FIN_WAIT_2 && pcb.state !== TcpState.TIME_WAIT) tcp.abort(pcb);
    }, "usocket close");
    closing.add(deadline);
    this.ctx.scheduler.after(deadline, this.ctx.options.closeAbortMs);
    // Finished early (FIN acknowledged, or the PCB freed): no abort needed, and nothing left armed.
    pcb.closeDone = () => {
      closing.delete(deadline);
      this.ctx.scheduler.cancel(deadline);
    };
  }
}

function throwAgain(): never {
  throw new OSError(Errno.EAGAIN);
}
