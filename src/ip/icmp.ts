// ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): answers echo requests of any size, sends echo requests for
// ping clients, generates rate-limited destination-unreachable and time-exceeded errors, and hands incoming
// errors to the transport whose datagram they quote. Sits on ip/ip as the handler for protocol 1.

import { checksum } from "../core/checksum.js";
import { makeCounters } from "../core/stats.js";
import { Err, type ErrCode } from "../core/errors.js";
import type { Scheduler } from "../core/scheduler.js";
import { DEFAULT_TTL, IpCast, type IcmpErrorInfo, type IpLayer, type IpProtocolHandler, type IpRx, PAYLOAD_OFFSET } from "./ip.js";
import { IPV4, IpProto } from "./ipv4.js";
import { writeEchoOptions, writeU32 } from "./echoOptions.js";

export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP_REQUEST: 13,
  TIMESTAMP_REPLY: 14,
} as const;

export const UnreachableCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAGMENTATION_NEEDED: 4,
} as const;

export const ICMP = { type: 0, code: 1, checksum: 2, id: 4, seq: 6, headerLength: 8 } as const;

/** RFC 1812 §4.3.2.3: an error message carries as much of the datagram as fits in 576 bytes. */
const MAX_ERROR_DATAGRAM = 576;

export interface IcmpOptions {
  /** Token bucket for generated errors: tokens per second and burst (Linux: 1000/s, burst 50). */
  errorRatePerSec: number;
  errorBurst: number;
  /**
   * Milliseconds since 1970-01-01 UT, for timestamp replies (RFC 792); null: this stack has no time of
   * day, and its replies say so (the high-order bit set, RFC 792 "Timestamp").
   */
  utcMs: (() => number) | null;
}

export const DEFAULT_ICMP_OPTIONS: IcmpOptions = { errorRatePerSec: 1000, errorBurst: 50, utcMs: null };

/** RFC 792 timestamp message: the 8-byte header, then originate, receive and transmit (32 bits each). */
const TIMESTAMP = { originate: 8, receive: 12, transmit: 16, length: 20 } as const;
const MS_PER_DAY = 86_400_000;
/** An echo reply with options goes out with the defaults otherwise (ip.send's). */
const ECHO_SEND = { ttl: DEFAULT_TTL, tos: 0, dontFragment: false } as const;

/** An echo reply as seen by a ping client; valid only during the call. */
export interface EchoReply {
  src: number;
  id: number;
  seq: number;
  bytes: Uint8Array;
  /** The echo data (after the 8-byte ICMP header). */
  dataOffset: number;
  dataLength: number;
  ttl: number;
  nowMs: number;
}

export class Icmp implements IpProtocolHandler {
  readonly stats = makeCounters([
    "rxMessages",
    "rxEchoRequests",
    "rxEchoReplies",
    "rxTimestampRequests",
    "rxErrors",
    "rxIgnored",
    "dropTruncated",
    "dropBadChecksum",
    "dropBroadcastEcho",
    "dropBroadcastTimestamp",
    "dropBadQuote",
    "txEchoReplies",
    "txEchoRequests",
    "txTimestampReplies",
    "txUnreachable",
    "txTimeExceeded",
    "txParameterProblem",
    "errorsRateLimited",
    "errorsSuppressed",
  ] as const);

  /** Echo replies go here (ping clients); raw sockets see all ICMP through the IP layer's taps. */
  readonly echoReplyListeners: ((reply: EchoReply) => void)[] = [];
  /** When false, echo requests are not answered (a raw socket user may answer them). */
  answerEcho = true;

  private readonly options: IcmpOptions;
  private tokens: number;
  private tokensAtMs = 0;
  private readonly reply: EchoReply = { src: 0, id: 0, seq: 0, bytes: new Uint8Array(0), dataOffset: 0, dataLength: 0, ttl: 0, nowMs: 0 };
  private readonly errorInfo: IcmpErrorInfo = {
    type: 0,
    code: 0,
    src: 0,
    dst: 0,
    protocol: 0,
    bytes: new Uint8Array(0),
    quoteOffset: 0,
    quoteLength: 0,
    nextHopMtu: 0,
    quotedTotalLength: 0,
    quotedSrcPort: 0,
    quotedDstPort: 0,
    quotedWord: 0,
  };

  constructor(
    private readonly ip: IpLayer,
    private readonly scheduler: Scheduler,
    options: Partial<IcmpOptions> = {},
  ) {
    this.options = { ...DEFAULT_ICMP_OPTIONS, ...options };
    this.tokens = this.options.errorBurst;
    ip.register(IpProto.ICMP, this);
    ip.onUnknownProtocol = (rx) => this.sendUnreachable(rx, UnreachableCode.PROTOCOL);
    ip.onBadOptions = (rx, pointer) => this.sendParameterProblem(rx, pointer);
    ip.reassembler.onTimeout = (bytes, headerOffset, available) =>
      this.sendError(IcmpType.TIME_EXCEEDED, 1, 0, bytes, headerOffset, available, this.scheduler.now());
  }

  input(rx: IpRx): void {
    const stats = this.stats;
    stats.rxMessages++;
    const bytes = rx.bytes;
    const off = rx.payloadOffset;
    const len = rx.payloadLength;
    if (len < ICMP.headerLength) {
      stats.dropTruncated++;
      return;
    }
    if (checksum(bytes, off, len) !== 0) {
      stats.dropBadChecksum++;
      return;
    }
    const type = bytes[off + ICMP.type] as number;
    switch (type) {
      case IcmpType.ECHO_REQUEST:
        stats.rxEchoRequests++;
        // RFC 1122 §3.2.2.6: echo to a broadcast or multicast address MAY be discarded; Linux does by default.
        if (rx.cast !== IpCast.UNICAST) {
          stats.dropBroadcastEcho++;
          return;
        }
        if (this.answerEcho) this.answerEchoRequest(rx);
        return;
      case IcmpType.TIMESTAMP_REQUEST:
        stats.rxTimestampRequests++;
        // Linux treats broadcast timestamp requests as it does broadcast echoes (icmp_echo_ignore_broadcasts).
        if (rx.cast !== IpCast.UNICAST) {
          stats.dropBroadcastTimestamp++;
          return;
        }
        // The originate timestamp must be there to be returned; Linux asks for no more either.
        if (len < TIMESTAMP.receive) {
          stats.dropTruncated++;
          return;
        }
        this.answerTimestampRequest(rx);
        return;
      case IcmpType.ECHO_REPLY:
        stats.rxEchoReplies++;
        this.deliverEchoReply(rx);
        return;
      case IcmpType.DEST_UNREACHABLE:
      case IcmpType.TIME_EXCEEDED:
      case IcmpType.PARAMETER_PROBLEM:
        stats.rxErrors++;
        this.deliverError(rx);
        return;
      default:
        // Source quench is deprecated (RFC 6633); redirects are ignored by hosts without routing tables.
        stats.rxIgnored++;
    }
  }

  /**
   * RFC 792 echo reply: the request's identifier, sequence and data returned unchanged, with its Record
   * Route and Timestamp options updated (echoOptions.ts) when the reply fits one frame with them.
   */
  private answerEchoRequest(rx: IpRx): void {
    const len = rx.payloadLength;
    const frame = this.ip.txFrame;
    let optionsLength = 0;
    if (rx.headerLength > IPV4.minHeaderLength) {
      optionsLength = writeEchoOptions(rx.bytes, rx.headerOffset, rx.headerLength, rx.dst, this.timeOfDayStamp(), frame, PAYLOAD_OFFSET);
      if (IPV4.minHeaderLength + optionsLength + len > this.ip.netif.mtu) optionsLength = 0;
    }
    const o = PAYLOAD_OFFSET + optionsLength;
    frame.set(rx.bytes.subarray(rx.payloadOffset, rx.payloadOffset + len), o);
    frame[o + ICMP.type] = IcmpType.ECHO_REPLY;
    frame[o + ICMP.code] = 0;
    this.finish(len, o);
    const sendOptions = optionsLength === 0 ? undefined : { ...ECHO_SEND, optionsLength };
    if (this.ip.send(IpProto.ICMP, rx.dst, rx.src, len, sendOptions) === Err.OK) this.stats.txEchoReplies++;
  }

  /** RFC 791/792 timestamp: ms since midnight UT, or the high-order bit set without a time of day. */
  private timeOfDayStamp(): number {
    const utcMs = this.options.utcMs;
    return utcMs === null ? 0x80000000 : Math.floor(utcMs()) % MS_PER_DAY;
  }

  /**
   * RFC 792 timestamp reply: the request's identifier, sequence and originate timestamp, and our receive
   * and transmit times (both now: the reply leaves in the same pass), in milliseconds since midnight UT.
   * RFC 1122 §3.2.2.8 lets a host implement this; Linux does, so the board answers as a Linux host would.
   */
  private answerTimestampRequest(rx: IpRx): void {
    const frame = this.ip.txFrame;
    const o = PAYLOAD_OFFSET;
    frame.set(rx.bytes.subarray(rx.payloadOffset, rx.payloadOffset + TIMESTAMP.receive), o);
    frame[o + ICMP.type] = IcmpType.TIMESTAMP_REPLY;
    frame[o + ICMP.code] = 0;
    const stamp = this.timeOfDayStamp();
    writeU32(frame, o + TIMESTAMP.receive, stamp);
    writeU32(frame, o + TIMESTAMP.transmit, stamp);
    this.finish(TIMESTAMP.length);
    if (this.ip.send(IpProto.ICMP, rx.dst, rx.src, TIMESTAMP.length) === Err.OK) this.stats.txTimestampReplies++;
  }

  private deliverEchoReply(rx: IpRx): void {
    if (this.echoReplyListeners.length === 0) return;
    const r = this.reply;
    const off = rx.payloadOffset;
    const b = rx.bytes;
    r.src = rx.src;
    r.id = ((b[off + ICMP.id] as number) << 8) | (b[off + ICMP.id + 1] as number);
    r.seq = ((b[off + ICMP.seq] as number) << 8) | (b[off + ICMP.seq + 1] as number);
    r.bytes = b;
    r.dataOffset = off + ICMP.headerLength;
    r.dataLength = rx.payloadLength - ICMP.headerLength;
    r.ttl = rx.ttl;
    r.nowMs = rx.nowMs;
    for (const l of this.echoReplyListeners) l(r);
  }

  /** RFC 1122 §3.2.2.1: pass the error to the transport named in the quoted header. */
  private deliverError(rx: IpRx): void {
    const b = rx.bytes;
    const off = rx.payloadOffset + ICMP.headerLength;
    const available = rx.payloadLength - ICMP.headerLength;
    // The quote must hold a plausible IPv4 header sent by us.
    if (available < IPV4.minHeaderLength || (b[off] as number) >> 4 !== 4) {
      this.stats.dropBadQuote++;
      return;
    }
    const qhl = ((b[off] as number) & 0xf) * 4;
    if (qhl < IPV4.minHeaderLength || qhl > available) {
      this.stats.dropBadQuote++;
      return;
    }
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const info = this.errorInfo;
    info.type = b[rx.payloadOffset + ICMP.type] as number;
    info.code = b[rx.payloadOffset + ICMP.code] as number;
    info.src = view.getUint32(off + IPV4.src);
    info.dst = view.getUint32(off + IPV4.dst);
    info.protocol = b[off + IPV4.protocol] as number;
    info.bytes = b;
    info.quoteOffset = off + qhl;
    info.quoteLength = available - qhl;
    info.nextHopMtu =
      info.type === IcmpType.DEST_UNREACHABLE && info.code === UnreachableCode.FRAGMENTATION_NEEDED
        ? view.getUint16(rx.payloadOffset + 6)
        : 0;
    info.quotedTotalLength = view.getUint16(off + IPV4.totalLength);
    const q = info.quoteOffset;
    info.quotedSrcPort = info.quoteLength >= 4 ? view.getUint16(q) : 0;
    info.quotedDstPort = info.quoteLength >= 4 ? view.getUint16(q + 2) : 0;
    info.quotedWord = info.quoteLength >= 8 ? view.getUint32(q + 4) : 0;
    this.ip.handlerFor(info.protocol)?.icmpError?.(info);
  }

  /** Sends an echo request (for ping clients) with `dataLength` bytes of data made by `fill`. */
  sendEcho(dst: number, id: number, seq: number, dataLength: number, fill?: (buf: Uint8Array, offset: number, length: number) => void): ErrCode {
    const frame = this.ip.txFrame;
    const o = PAYLOAD_OFFSET;
    const len = ICMP.headerLength + dataLength;
    if (len > frame.length - o) return Err.MSGSIZE;
    frame[o + ICMP.type] = IcmpType.ECHO_REQUEST;
    frame[o + ICMP.code] = 0;
    frame[o + ICMP.id] = id >>> 8;
    frame[o + ICMP.id + 1] = id & 0xff;
    frame[o + ICMP.seq] = seq >>> 8;
    frame[o + ICMP.seq + 1] = seq & 0xff;
    if (fill !== undefined) fill(frame, o + ICMP.headerLength, dataLength);
    else for (let i = 0; i < dataLength; i++) frame[o + ICMP.headerLength + i] = i & 0xff;
    this.finish(len);
    const err = this.ip.send(IpProto.ICMP, 0, dst, len);
    if (err === Err.OK) this.stats.txEchoRequests++;
    return err;
  }

  /** Destination unreachable about `rx` (protocol or port), e.g. from UDP for a closed port. */
  sendUnreachable(rx: IpRx, code: number): void {
    if (rx.cast !== IpCast.UNICAST) {
      this.stats.errorsSuppressed++;
      return;
    }
    if (this.sendError(IcmpType.DEST_UNREACHABLE, code, 0, rx.bytes, rx.headerOffset, rx.totalLength, rx.nowMs)) {
      this.stats.txUnreachable++;
    }
  }

  /**
   * Parameter problem (RFC 792: type 12, code 0) about `rx`, whose header is bad at octet `pointer` (RFC
   * 1122 §3.2.2.5: a host SHOULD send it). The pointer is the first octet of the 4-byte rest of the header.
   */
  sendParameterProblem(rx: IpRx, pointer: number): void {
    if (rx.cast !== IpCast.UNICAST) {
      this.stats.errorsSuppressed++;
      return;
    }
    const rest = (pointer & 0xff) * 0x1000000;
    if (this.sendError(IcmpType.PARAMETER_PROBLEM, 0, rest, rx.bytes, rx.headerOffset, rx.totalLength, rx.nowMs)) {
      this.stats.txParameterProblem++;
    }
  }

  /**
   * Sends an ICMP error quoting the datagram at `bytes[offset, offset + available)`, `rest` (u32) in the
   * header's second word. RFC 1122 §3.2.2: never about an ICMP error, a non-initial fragment, or a datagram
   * from a non-unicast source. Rate-limited.
   */
  private sendError(type: number, code: number, rest: number, bytes: Uint8Array, offset: number, available: number, nowMs: number): boolean {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = ((bytes[offset] as number) & 0xf) * 4;
    const src = view.getUint32(offset + IPV4.src);
    const dst = view.getUint32(offset + IPV4.dst);
    const flagsFragment = view.getUint16(offset + IPV4.flagsFragment);
    const protocol = bytes[offset + IPV4.protocol] as number;
    if ((flagsFragment & 0x1fff) !== 0 || src === 0 || src === 0xffffffff || src >>> 28 === 0xe) {
      this.stats.errorsSuppressed++;
      return false;
    }
    // RFC 1122 §3.2.2: nor about a datagram sent to a broadcast or multicast address. Callers with an IpRx
    // check its cast; reassembly timeouts (Time Exceeded) only have the quoted header, so check it here.
    if (dst === 0xffffffff || dst >>> 28 === 0xe || (dst === this.ip.netif.directedBroadcast && this.ip.netif.ip !== 0)) {
      this.stats.errorsSuppressed++;
      return false;
    }
    if (protocol === IpProto.ICMP) {
      const quotedType = bytes[offset + headerLength];
      const isQuery = quotedType === IcmpType.ECHO_REQUEST || quotedType === IcmpType.ECHO_REPLY;
      if (!isQuery) {
        this.stats.errorsSuppressed++;
        return false;
      }
    }
    if (!this.takeToken(nowMs)) {
      this.stats.errorsRateLimited++;
      return false;
    }
    const quote = Math.min(available, MAX_ERROR_DATAGRAM - IPV4.minHeaderLength - ICMP.headerLength);
    const frame = this.ip.txFrame;
    const o = PAYLOAD_OFFSET;
    frame[o + ICMP.type] = type;
    frame[o + ICMP.code] = code;
    frame[o + 4] = rest >>> 24;
    frame[o + 5] = (rest >>> 16) & 0xff;
    frame[o + 6] = (rest >>> 8) & 0xff;
    frame[o + 7] = rest & 0xff;
    frame.set(bytes.subarray(offset, offset + quote), o + ICMP.headerLength);
    const len = ICMP.headerLength + quote;
    this.finish(len);
    if (type === IcmpType.TIME_EXCEEDED) this.stats.txTimeExceeded++;
    return this.ip.send(IpProto.ICMP, 0, src, len) === Err.OK;
  }

  private takeToken(nowMs: number): boolean {
    const o = this.options;
    this.tokens = Math.min(o.errorBurst, this.tokens + ((nowMs - this.tokensAtMs) * o.errorRatePerSec) / 1000);
    this.tokensAtMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Fills in the checksum of the `len`-byte message at `o` in the transmit frame. */
  private finish(len: number, o: number = PAYLOAD_OFFSET): void {
    const frame = this.ip.txFrame;
    frame[o + ICMP.checksum] = 0;
    frame[o + ICMP.checksum + 1] = 0;
    const sum = checksum(frame, o, len);
    frame[o + ICMP.checksum] = sum >>> 8;
    frame[o + ICMP.checksum + 1] = sum & 0xff;
  }
}
