// One DNS exchange over TCP (RFC 7766, RFC 1035 §4.2.2): connect to the server's port 53, send one query with
// its two-byte length prefix, read one length-prefixed response, close. The resolver (apps/dns) uses it when a
// UDP answer comes back truncated (TC=1). Call order: DnsResolver.onResponse → DnsTcpExchange.start →
// TcpLayer.connect/write → TCP events (readable, peerClosed, error) → DnsTcpEvents.response/failed.

import { Err, type ErrCode } from "../core/errors.js";
import type { TcpLayer } from "../tcp/tcp.js";
import type { TcpPcb } from "../tcp/pcb.js";

/** What an exchange tells the resolver; exactly one of the two, at most once. */
export interface DnsTcpEvents {
  /** The whole response message, prefix removed; `bytes` is the exchange's own and valid during the call. */
  response(bytes: Uint8Array, length: number): void;
  /** The connection was refused, reset or timed out, or the server closed before a whole response. */
  failed(err: ErrCode): void;
}

/** Ring sizes for the connection: a query is at most 2 + 271 bytes; the response is copied out as it comes. */
const SEND_BUFFER_BYTES = 1024;
const RECV_BUFFER_BYTES = 16 * 1024;

export class DnsTcpExchange {
  private pcb: TcpPcb | null = null;
  /** Set once the response or a failure was reported: later TCP events are ignored. */
  private isOver = false;
  /** The length prefix, then the message it announces (allocated once the prefix is in). */
  private readonly prefix = new Uint8Array(2);
  private prefixFilled = 0;
  private message: Uint8Array | null = null;
  private messageFilled = 0;

  constructor(
    private readonly tcp: TcpLayer,
    private readonly events: DnsTcpEvents,
  ) {}

  /**
   * Connects to (server, port) and queues `query` (already prefixed by its length, RFC 1035 §4.2.2). Sent in
   * one write so prefix and message leave in one segment (RFC 7766 §8). A returned error means nothing is held.
   */
  start(server: number, port: number, query: Uint8Array, length: number): ErrCode {
    const pcb = this.tcp.connect(
      server,
      port,
      {
        readable: () => this.drain(),
        peerClosed: () => {
          this.drain();
          // RFC 7766 §6.2.4 lets a server close between messages; before ours is whole, the exchange failed.
          if (!this.isOver) this.fail(Err.CLSD);
        },
        error: (_p, err) => {
          this.pcb = null;
          this.fail(err);
        },
      },
      // TCP_NODELAY: the query is the whole of what we send (RFC 7766 §8).
      { sendBufferBytes: SEND_BUFFER_BYTES, recvBufferBytes: RECV_BUFFER_BYTES, noDelay: true },
    );
    if (typeof pcb === "number") return pcb;
    this.pcb = pcb;
    const n = this.tcp.write(pcb, query, 0, length);
    if (n !== length) {
      this.tcp.abort(pcb);
      this.pcb = null;
      // A fresh connection's ring always has room for a query, so this is a write refused outright.
      return n < 0 ? (n as ErrCode) : Err.MEM;
    }
    return Err.OK;
  }

  /** Drops the connection (a reset if it got that far) without reporting anything. */
  cancel(): void {
    this.isOver = true;
    if (this.pcb !== null) this.tcp.abort(this.pcb);
    this.pcb = null;
  }

  private drain(): void {
    const pcb = this.pcb;
    if (this.isOver || pcb === null) return;
    while (this.prefixFilled < 2) {
      const n = this.tcp.read(pcb, this.prefix, this.prefixFilled, 2 - this.prefixFilled);
      if (n <= 0) return;
      this.prefixFilled += n;
    }
    if (this.message === null) {
      const length = (this.prefix[0]! << 8) | this.prefix[1]!;
      // A message is at least its 12-byte header; anything shorter cannot be an answer.
      if (length < 12) {
        this.fail(Err.VAL);
        return;
      }
      this.message = new Uint8Array(length);
    }
    const message = this.message;
    while (this.messageFilled < message.length) {
      const n = this.tcp.read(pcb, message, this.messageFilled, message.length - this.messageFilled);
      if (n <= 0) return;
      this.messageFilled += n;
    }
    // Whole: close gracefully (everything was read, so this is a FIN, not a reset), then report.
    this.isOver = true;
    this.pcb = null;
    this.tcp.close(pcb);
    this.events.response(message, message.length);
  }

  private fail(err: ErrCode): void {
    if (this.isOver) return;
    this.isOver = true;
    if (this.pcb !== null) this.tcp.abort(this.pcb);
    this.pcb = null;
    this.events.failed(err);
  }
}
