// An iperf3 control connection on a TCP PCB: received bytes go into a ControlReader for the state machine
// (server.ts or client.ts) to take off, and messages it sends are written to the PCB, the rest queued until
// `writable` (control messages are small; the queue is bounded all the same). Call order: tcp events →
// ControlChannel → onInput / onClosed upcalls → the state machine → send().

import { Err, type ErrCode } from "../../core/errors.js";
import type { TcpLayer } from "../../tcp/tcp.js";
import type { TcpPcb } from "../../tcp/pcb.js";
import { ControlReader } from "./protocol.js";

/** Most bytes a channel queues beyond its send ring before it gives up on a peer that does not read. */
const MAX_QUEUED_BYTES = 1024 * 1024;

export interface ControlEvents {
  /** New bytes are in `reader`. */
  onInput(channel: ControlChannel): void;
  /** The peer closed (err OK) or the connection failed (RST, timeout); nothing more will arrive. */
  onClosed(channel: ControlChannel, err: ErrCode): void;
}

export class ControlChannel {
  readonly reader = new ControlReader();
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private queueOffset = 0;
  /** Nothing more is read or sent. */
  private isClosed = false;
  /** The PCB is closed, aborted or failed: the channel holds it no more. */
  private isReleased = false;
  private readonly scratch = new Uint8Array(16 * 1024);

  constructor(
    private readonly tcp: TcpLayer,
    readonly pcb: TcpPcb,
    private readonly events: ControlEvents,
  ) {
    // Nagle would hold TEST_START behind an unacknowledged CREATE_STREAMS for the peer's delayed ACK
    // (40 ms on Linux), and the server's clock starts when it sends it: control messages go at once.
    tcp.setNoDelay(pcb, true);
    pcb.events = {
      readable: () => this.onReadable(),
      writable: () => this.flush(),
      error: (_p, err) => this.closed(err),
    };
  }

  /** Reads what has arrived (the PCB may already hold bytes when the channel is made). */
  start(): void {
    this.onReadable();
  }

  /** Still reading and sending: neither side has closed, nothing failed. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  private onReadable(): void {
    if (this.isClosed) return;
    const pcb = this.pcb;
    let got = false;
    for (let n = this.tcp.read(pcb, this.scratch, 0, this.scratch.length); n > 0; n = this.tcp.read(pcb, this.scratch, 0, this.scratch.length)) {
      if (!this.reader.push(this.scratch, 0, n)) {
        // A message beyond any iperf3 would send: not a peer to keep talking to.
        this.fail(Err.VAL);
        return;
      }
      got = true;
    }
    if (got) this.events.onInput(this);
    if (!this.isClosed && pcb.finReceived && pcb.recvRing.length === 0) this.closed(Err.OK);
  }

  /** Sends `bytes` (queued behind anything not yet taken by the send ring). */
  send(bytes: Uint8Array): void {
    if (this.isReleased) return;
    if (this.queuedBytes + bytes.length > MAX_QUEUED_BYTES) {
      this.fail(Err.MEM);
      return;
    }
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.isReleased) {
      const head = this.queue[0] as Uint8Array;
      const n = this.tcp.write(this.pcb, head, this.queueOffset, head.length - this.queueOffset);
      if (n < 0) {
        // Our side can no longer send (the PCB is closing): the conversation is over.
        this.fail(Err.CONN);
        return;
      }
      if (n === 0) return;
      this.queueOffset += n;
      this.queuedBytes -= n;
      if (this.queueOffset === head.length) {
        this.queue.shift();
        this.queueOffset = 0;
      }
    }
  }

  /** Aborts the connection for a reason of ours and tells the owner (once). */
  private fail(err: ErrCode): void {
    const notify = !this.isClosed;
    this.abort();
    if (notify) this.events.onClosed(this, err);
  }

  private closed(err: ErrCode): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // A failed connection is freed already; a peer's FIN leaves ours to send when the owner closes.
    if (err !== Err.OK) this.isReleased = true;
    this.events.onClosed(this, err);
  }

  /** Closes gracefully once what is queued has been sent (a FIN follows it). */
  close(): void {
    if (this.isReleased) return;
    this.flush();
    this.isClosed = true;
    this.isReleased = true;
    this.tcp.consume(this.pcb, this.pcb.recvRing.length);
    this.tcp.close(this.pcb);
  }

  abort(): void {
    if (this.isReleased) return;
    this.isClosed = true;
    this.isReleased = true;
    this.tcp.abort(this.pcb);
  }
}
