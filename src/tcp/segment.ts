// The segment being processed: TcpLayer.input (tcp/tcp) fills one TcpSegment per arriving segment from its
// header view and parsed options, and the input modules (tcp/input, tcp/listen, tcp/ack, tcp/receive) read
// it, trimming it in place as RFC 9293 §3.10.7.4 processes it. Nothing is allocated per segment.

import type { IpRx } from "../ip/ip.js";
import { TcpFlag, type TcpOptions, type TcpView } from "./header.js";
import { toSeq, type Seq } from "./seq.js";

/** One object, refilled per segment (nothing allocated on input). */
export class TcpSegment {
  srcPort = 0;
  dstPort = 0;
  seq: Seq = toSeq(0);
  ack: Seq = toSeq(0);
  flags = 0;
  /** Raw (unscaled) window field. */
  window = 0;
  bytes: Uint8Array = new Uint8Array(0);
  dataOffset = 0;
  dataLength = 0;
  src = 0;
  dst = 0;
  /** For a super-frame (GRO/GSO input): payload bytes per segment it stands for; 0 for one segment. */
  gsoSize = 0;
  nowMs = 0;
  options!: TcpOptions;

  fill(view: TcpView, options: TcpOptions, rx: IpRx): void {
    this.srcPort = view.srcPort;
    this.dstPort = view.dstPort;
    this.seq = view.seq;
    this.ack = view.ack;
    this.flags = view.flags;
    this.window = view.window;
    this.bytes = view.bytes;
    this.dataOffset = view.payloadOffset;
    this.dataLength = view.payloadLength;
    this.src = rx.src;
    this.dst = rx.dst;
    this.gsoSize = rx.gsoSize;
    this.nowMs = rx.nowMs;
    this.options = options;
  }

  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** How many segments `bytes` of this segment's data stand for: more than one only in a super-frame. */
  segmentsIn(bytes: number): number {
    return this.gsoSize > 0 && bytes > this.gsoSize ? Math.ceil(bytes / this.gsoSize) : 1;
  }

  /** Sequence space the segment occupies: data plus SYN and FIN (RFC 9293 §3.4 SEG.LEN). */
  get seqLength(): number {
    return this.dataLength + (this.flags & TcpFlag.SYN ? 1 : 0) + (this.flags & TcpFlag.FIN ? 1 : 0);
  }
}
