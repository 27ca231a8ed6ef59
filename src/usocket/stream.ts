// The TCP half of a usocket socket, as modlwip.c's SOCK_STREAM paths: a bound port, then a listener or one
// connection PCB, the connection's failure (raised once, after the data that arrived before it), the
// readiness bits select/poll report, and the close rules (graceful with an abort deadline, or SO_LINGER 0).

import { Deadline } from "../core/scheduler.js";
import { Errno, errnoOf, type ErrCode } from "../core/errors.js";
import type { TcpEvents, TcpListener, TcpPcb } from "../tcp/pcb.js";
import { TcpState } from "../tcp/state.js";
import { available, peek, sendSpace, spanThrough } from "../tcp/query.js";
import { POLLERR, POLLHUP, POLLIN, POLLOUT } from "./constants.js";
import type { SocketContext } from "./context.js";
import { OSError, osErrorOf } from "./oserror.js";
import { AGAIN, type Again } from "./wait.js";

const Phase = { NEW: 0, LISTENING: 1, CONNECTING: 2, CONNECTED: 3 } as const;
type PhaseCode = (typeof Phase)[keyof typeof Phase];

const NEWLINE = 0x0a;

export class StreamPart {
  private phase: PhaseCode = Phase.NEW;
  private localIp = 0;
  private localPort = 0;
  private isBound = false;
  private listener: TcpListener | null = null;
  private pcb: TcpPcb | null = null;
  /** errno of the connection's failure (reset, refused, timeout, unreachable), 0 while none. */
  private failure = 0;
  /** The failure was raised once: reads then drain what is left and return b'' (lwIP boards). */
  private isFailureReported = false;
  noDelay = false;
  /** SO_LINGER: null = a graceful close (aborted after the context's closeAbortMs); 0 = abort at once; n s = abort after n s. */
  lingerS: number | null = null;
  private readonly events: TcpEvents;

  constructor(
    private readonly ctx: SocketContext,
    wake: () => void,
    accepted: TcpPcb | null,
  ) {
    this.events = {
      connected: () => {
        if (this.phase === Phase.CONNECTING) this.phase = Phase.CONNECTED;
        wake();
      },
      readable: wake,
      writable: wake,
      peerClosed: wake,
      error: (_pcb, err) => {
        this.failure = errnoOf(err);
        wake();
      },
    };
    if (accepted !== null) {
      this.pcb = accepted;
      this.phase = Phase.CONNECTED;
      this.noDelay = accepted.noDelay;
      accepted.events = this.events;
    }
  }

  /** Reserves `port` (0: an ephemeral one) for a later listen or connect. EINVAL if bound already. */
  bind(owner: object, ip: number, port: number, reuseAddress: boolean): void {
    if (this.isBound || this.phase !== Phase.NEW) throw new OSError(Errno.EINVAL);
    const ctx = this.ctx;
    let chosen = port;
    if (chosen === 0) {
      chosen = ctx.stack.tcp.ports.choose(ip, 0, 0, (p) => !ctx.tcpPortBusy(p, false));
      if (chosen === 0) throw new OSError(Errno.EADDRINUSE);
    } else if (ctx.tcpPortBusy(chosen, reuseAddress)) {
      throw new OSError(Errno.EADDRINUSE);
    }
    this.localIp = ip;
    this.localPort = chosen;
    this.isBound = true;
    ctx.tcpBound.set(chosen, owner);
  }

  listen(backlog: number, reuseAddress: boolean, wake: () => void): void {
    const l = this.listener;
    if (l !== null) {
      l.backlog = Math.max(1, backlog);
      return;
    }
    if (this.phase !== Phase.NEW) throw new OSError(Errno.EINVAL);
    const r = this.ctx.stack.tcp.listen(this.localIp, this.localPort, backlog, { acceptable: wake }, { noDelay: this.noDelay }, reuseAddress);
    if (typeof r === "number") throw osErrorOf(r);
    this.listener = r;
    this.localPort = r.localPort;
    this.phase = Phase.LISTENING;
  }

  /** A connection from the accept queue, or AGAIN. EINVAL when not listening. */
  takeConnection(): TcpPcb | Again {
    const listener = this.listener;
    if (listener === null) throw new OSError(Errno.EINVAL);
    return this.ctx.stack.tcp.accept(listener) ?? AGAIN;
  }

  /** Sends the SYN. A second connect raises the failure not yet reported, else EISCONN or EALREADY. */
  startConnect(ip: number, port: number): void {
    if (this.phase !== Phase.NEW) {
      this.raiseFailureOnce();
      throw new OSError(this.phase === Phase.CONNECTED ? Errno.EISCONN : Errno.EALREADY);
    }
    // CONNECTING first: the `connected` event must find it even if the handshake completed inside connect.
    this.phase = Phase.CONNECTING;
    const r = this.ctx.stack.tcp.connect(ip, port, this.events, { noDelay: this.noDelay }, this.localPort);
    if (typeof r === "number") {
      this.phase = Phase.NEW;
      throw osErrorOf(r);
    }
    this.pcb = r;
  }

  /** The handshake's outcome: done, its failure (raised once), or AGAIN. */
  connectOutcome(): undefined | Again {
    if (this.failure !== 0) {
      this.isFailureReported = true;
      throw new OSError(this.failure);
    }
    return this.phase === Phase.CONNECTED ? undefined : AGAIN;
  }

  /** The connected peer's [ip, port]. */
  get remote(): [number, number] {
    const pcb = this.pcb;
    return pcb === null ? [0, 0] : [pcb.remoteIp, pcb.remotePort];
  }

  /** Checks that data may be queued now: ENOTCONN before a connection; a failure, every time it is asked. */
  checkWritable(): TcpPcb {
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING) throw new OSError(Errno.ENOTCONN);
    if (this.failure !== 0) {
      this.isFailureReported = true;
      throw new OSError(this.failure);
    }
    return this.pcb as TcpPcb;
  }

  /** What a send would queue now: the send ring's room on a connection without a failure, else 0. */
  sendRoom(): number {
    const pcb = this.pcb;
    return this.phase !== Phase.CONNECTED || this.failure !== 0 || pcb === null || pcb.freed ? 0 : sendSpace(pcb);
  }

  /** Whether `length` bytes fit the send ring now (a non-blocking sendall sends all or nothing). */
  fits(length: number): boolean {
    return sendSpace(this.checkWritable()) >= length;
  }

  /** Queues what fits of bytes[offset, offset + length) → count, or AGAIN when the send ring is full. */
  put(bytes: Uint8Array, offset: number, length: number): number | Again {
    const pcb = this.checkWritable();
    if (length === 0) return 0;
    const n = this.ctx.stack.tcp.write(pcb, bytes, offset, length);
    if (n < 0) throw osErrorOf(n as ErrCode);
    return n === 0 ? AGAIN : n;
  }

  /**
   * How many received bytes a read of at most `max` takes now (through the first '\n' when `toNewline`):
   * 0 at end of stream, AGAIN when nothing is there yet. Data that arrived before a reset comes first; the
   * read after the last byte raises the reset (once), later reads see end of stream. With `mayRaise`
   * false (a read that has bytes already) a pending failure reads as end of stream and stays pending.
   */
  takeable(max: number, toNewline: boolean, mayRaise = true): number | Again {
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING) throw new OSError(Errno.ENOTCONN);
    const pcb = this.pcb as TcpPcb;
    if (max === 0) return 0;
    if (available(pcb) > 0) return toNewline ? spanThrough(pcb, NEWLINE, max) : Math.min(max, available(pcb));
    // A read that already has bytes returns them; the failure is the next call's.
    if (!mayRaise) return this.failure !== 0 || pcb.finReceived ? 0 : AGAIN;
    this.raiseFailureOnce();
    if (pcb.finReceived || this.failure !== 0) return 0;
    return AGAIN;
  }

  /** Moves (or, peeking, copies) `n` takeable bytes into dst[offset…]. */
  takeInto(dst: Uint8Array, offset: number, n: number, isPeek: boolean): void {
    const pcb = this.pcb as TcpPcb;
    if (isPeek) peek(pcb, dst, offset, n);
    else this.ctx.stack.tcp.read(pcb, dst, offset, n);
  }

  /** Received bytes a read could take now (0 before a connection). */
  receivable(): number {
    const pcb = this.pcb;
    return this.phase === Phase.CONNECTED && pcb !== null ? available(pcb) : 0;
  }

  /** Moves at most `max` received bytes into dst[offset…] now → how many (never blocks or raises). */
  takeReceived(dst: Uint8Array, offset: number, max: number): number {
    const n = Math.min(max, this.receivable());
    if (n > 0) this.ctx.stack.tcp.read(this.pcb as TcpPcb, dst, offset, n);
    return n;
  }

  /** Nothing more will arrive: the peer's FIN, a failure (the next read raises it), or no connection to read. */
  isInputEnded(): boolean {
    const pcb = this.pcb;
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING || pcb === null) return true;
    return this.failure !== 0 || pcb.finReceived;
  }

  /** A read with nothing queued returns b'' now: the peer's FIN, or a failure raised already (takeable). */
  readsEnd(): boolean {
    const pcb = this.pcb;
    if (this.phase === Phase.NEW || this.phase === Phase.LISTENING || pcb === null || available(pcb) > 0) return false;
    return this.failure === 0 ? pcb.finReceived : this.isFailureReported;
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
    const pcb = this.pcb;
    if (pcb !== null && !pcb.freed) this.ctx.stack.tcp.setNoDelay(pcb, on);
  }

  /** Readiness bits per docs/usocket.md "select / uselect" (modlwip's lwip_socket_ioctl). */
  readiness(): number {
    if (this.failure !== 0) return this.isFailureReported ? POLLIN | POLLHUP : POLLIN | POLLERR | POLLHUP;
    switch (this.phase) {
      case Phase.NEW:
        // Never connected: writable and hung up, as MicroPython on lwIP reports a fresh socket (20).
        return POLLOUT | POLLHUP;
      case Phase.LISTENING:
        return (this.listener as TcpListener).acceptQueue.length > 0 ? POLLIN : 0;
      case Phase.CONNECTING:
        return 0;
      default: {
        const pcb = this.pcb as TcpPcb;
        // Peer FIN: readable (EOF) and writable (we may still send), as modlwip's STATE_PEER_CLOSED.
        if (pcb.finReceived) return POLLIN | POLLOUT;
        return (available(pcb) > 0 ? POLLIN : 0) | (sendSpace(pcb) > 0 ? POLLOUT : 0);
      }
    }
  }

  /** Releases the port, the listener (its unaccepted connections are reset) and the connection. */
  close(owner: object): void {
    const ctx = this.ctx;
    if (this.isBound && ctx.tcpBound.get(this.localPort) === owner) ctx.tcpBound.delete(this.localPort);
    if (this.listener !== null) ctx.stack.tcp.closeListener(this.listener);
    if (this.pcb !== null) this.closeConnection(this.pcb);
  }

  /** Raises a connection failure not yet reported (once). */
  private raiseFailureOnce(): void {
    if (this.failure !== 0 && !this.isFailureReported) {
      this.isFailureReported = true;
      throw new OSError(this.failure);
    }
  }

  private closeConnection(pcb: TcpPcb): void {
    const tcp = this.ctx.stack.tcp;
    if (pcb.freed) {
      // Failed before the close: nobody reads its rings again.
      tcp.releaseRings(pcb);
      return;
    }
    if (this.lingerS === 0) {
      // SO_LINGER on with 0 s: an abortive close, a RST instead of a FIN (RFC 9293 §3.10.5 ABORT).
      tcp.abort(pcb);
      return;
    }
    tcp.close(pcb);
    if (pcb.freed) return;
    // lwIP boards abort a close that cannot finish (peer gone, window shut) within 10 s (or the SO_LINGER
    // time). Done means our FIN is acknowledged: FIN-WAIT-2 (timed out by the TCP layer) or TIME-WAIT.
    const closing = this.ctx.closeDeadlines;
    const scheduler = this.ctx.scheduler;
    const deadline = new Deadline(() => {
      closing.delete(deadline);
      if (!pcb.freed && pcb.state !== TcpState.FIN_WAIT_2 && pcb.state !== TcpState.TIME_WAIT) tcp.abort(pcb);
    }, "usocket close");
    closing.add(deadline);
    scheduler.after(deadline, this.lingerS === null ? this.ctx.options.closeAbortMs : this.lingerS * 1000);
    // Finished early (FIN acknowledged, or the PCB freed): no abort needed, and nothing left armed.
    pcb.closeDone = () => {
      closing.delete(deadline);
      scheduler.cancel(deadline);
    };
  }
}

