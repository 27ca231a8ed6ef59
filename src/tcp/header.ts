// TCP header view, option parser and header writer (RFC 9293 §3.1, RFC 7323, RFC 2018). Input: ip →
// TcpLayer.input (tcp/tcp) → `TcpView.check()` + `parseTcpOptions()` → tcp/input. Output: tcp/output
// computes `tcpOptionsLength()`, calls `writeTcpHeader()` at PAYLOAD_OFFSET, copies the payload once, then
// `finishTcpChecksum()`. Nothing here allocates per segment.

import { PacketView } from "../core/view.js";
import { finishChecksum, foldSum, pseudoHeaderSum, sumWords } from "../core/checksum.js";
import type { Seq } from "./seq.js";

/** Field offsets in the fixed header (RFC 9293 §3.1). */
export const TCP = {
  srcPort: 0,
  dstPort: 2,
  seq: 4,
  ack: 8,
  dataOffset: 12,
  flags: 13,
  window: 14,
  checksum: 16,
  urgent: 18,
  minHeaderLength: 20,
} as const;

/** Largest header: data offset 15 words (RFC 9293 §3.1), so at most 40 bytes of options. */
export const TCP_MAX_HEADER_LENGTH = 60;
export const TCP_MAX_OPTIONS_LENGTH = TCP_MAX_HEADER_LENGTH - TCP.minHeaderLength;

/** IP protocol number used in the pseudo-header. */
const PROTO_TCP = 6;

/** Control bits in the flags byte (RFC 9293 §3.1; ECE/CWR from RFC 3168 §6.1). */
export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

/** Option kinds we understand (RFC 9293 §3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2/§3). */
export const TcpOptKind = { EOL: 0, NOP: 1, MSS: 2, WS: 3, SACK_PERMITTED: 4, SACK: 5, TIMESTAMPS: 8 } as const;

/** RFC 7323 §2.3: a shift above 14 is logged and treated as 14. */
export const TCP_MAX_WINDOW_SCALE = 14;

/** At most 4 SACK blocks fit in 40 bytes of options (RFC 2018 §3). */
export const TCP_MAX_SACK_BLOCKS = 4;

/**
 * Reasons `check()` drops a segment before the state machine; 0 is ok. Names index `TCP_CHECK_NAMES`.
 * Bad option syntax is found later, by `parseTcpOptions`, and counted by the layer as dropBadOptions.
 */
export const TcpCheck = { OK: 0, TRUNCATED: 1, BAD_DATA_OFFSET: 2, BAD_CHECKSUM: 3 } as const;

export const TCP_CHECK_NAMES = ["ok", "dropTruncated", "dropBadDataOffset", "dropBadChecksum"] as const;

export class TcpView extends PacketView {
  /**
   * Validates the data offset against the segment (`length` = the IP payload length) and, when asked, the
   * checksum over the pseudo-header and the whole segment (RFC 9293 §3.1 "Checksum"). `src`/`dst` are the
   * IP addresses as u32. Option syntax is checked separately by `parseTcpOptions`.
   */
  check(src: number, dst: number, verifyChecksum: boolean): number {
    if (this.length < TCP.minHeaderLength) return TcpCheck.TRUNCATED;
    const headerLength = this.headerLength;
    if (headerLength < TCP.minHeaderLength || headerLength > this.length) return TcpCheck.BAD_DATA_OFFSET;
    if (verifyChecksum) {
      const sum = sumWords(this.bytes, this.offset, this.length, pseudoHeaderSum(src, dst, PROTO_TCP, this.length));
      if (finishChecksum(sum) !== 0) return TcpCheck.BAD_CHECKSUM;
    }
    return TcpCheck.OK;
  }

  get srcPort(): number {
    return this.view.getUint16(this.offset + TCP.srcPort);
  }

  get dstPort(): number {
    return this.view.getUint16(this.offset + TCP.dstPort);
  }

  get seq(): Seq {
    return this.view.getUint32(this.offset + TCP.seq) as Seq;
  }

  get ack(): Seq {
    return this.view.getUint32(this.offset + TCP.ack) as Seq;
  }

  /** Data offset in bytes (the 4-bit word count times 4). */
  get headerLength(): number {
    return (this.view.getUint8(this.offset + TCP.dataOffset) >>> 4) * 4;
  }

  /** The eight control bits; the reserved bits in the data-offset byte are ignored (RFC 9293 §3.1). */
  get flags(): number {
    return this.view.getUint8(this.offset + TCP.flags);
  }

  /** The raw 16-bit window field; RFC 7323 §2.3 scaling is the PCB's job (never applied to SYNs). */
  get window(): number {
    return this.view.getUint16(this.offset + TCP.window);
  }

  get checksum(): number {
    return this.view.getUint16(this.offset + TCP.checksum);
  }

  get urgent(): number {
    return this.view.getUint16(this.offset + TCP.urgent);
  }

  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  get payloadLength(): number {
    return this.length - this.headerLength;
  }
}

/**
 * The options of the segment being processed: one instance per stack, refilled by `parseTcpOptions` for each
 * segment, so input allocates nothing. Copy what must outlive the segment (SYN options) into a Repr.
 */
export class TcpOptions {
  /** RFC 9293 §3.7.1 MSS option value; 0 when absent (the caller applies the 536 default). */
  mss = 0;
  /** RFC 7323 §2.3 shift count, clamped to 14; -1 when absent. */
  windowScale = -1;
  /** RFC 2018 §2 SACK-permitted seen. */
  sackPermitted = false;
  /** RFC 7323 §3.2 timestamps option seen; `tsVal`/`tsEcr` are meaningful only then. */
  hasTimestamps = false;
  tsVal = 0;
  tsEcr = 0;
  /** RFC 2018 §3 blocks as (left, right) edge pairs: block i is [2i] .. [2i+1]. */
  readonly sackBlocks = new Uint32Array(2 * TCP_MAX_SACK_BLOCKS);
  /** Number of valid pairs in `sackBlocks` (0–4). */
  sackCount = 0;

  reset(): void {
    this.mss = 0;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamps = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
  }
}

/**
 * Parses the options of a segment whose `check()` passed into `out` (reset first). Returns false when the
 * option list is malformed — a length below 2 or an option running past the data offset — and the caller
 * counts dropBadOptions. Never throws and never reads past the header, even on a view that failed check().
 * An option with the wrong length for its kind is skipped by its length, as Linux's tcp_parse_options does.
 */
export function parseTcpOptions(view: TcpView, out: TcpOptions): boolean {
  out.reset();
  if (view.length < TCP.minHeaderLength) return false;
  const dv = view.view;
  const end = view.offset + Math.min(view.headerLength, view.length);
  let i = view.offset + TCP.minHeaderLength;
  while (i < end) {
    const kind = dv.getUint8(i);
    // RFC 9293 §3.2: End of Option List ends parsing; what follows is padding.
    if (kind === TcpOptKind.EOL) return true;
    if (kind === TcpOptKind.NOP) {
      i++;
      continue;
    }
    // RFC 9293 §3.2: every other kind has a length octet that counts kind and length themselves.
    if (i + 1 >= end) return false;
    const length = dv.getUint8(i + 1);
    if (length < 2 || i + length > end) return false;
    switch (kind) {
      case TcpOptKind.MSS:
        if (length === 4) out.mss = dv.getUint16(i + 2);
        break;
      case TcpOptKind.WS:
        if (length === 3) out.windowScale = Math.min(dv.getUint8(i + 2), TCP_MAX_WINDOW_SCALE);
        break;
      case TcpOptKind.SACK_PERMITTED:
        if (length === 2) out.sackPermitted = true;
        break;
      case TcpOptKind.TIMESTAMPS:
        if (length === 10) {
          out.hasTimestamps = true;
          out.tsVal = dv.getUint32(i + 2);
          out.tsEcr = dv.getUint32(i + 6);
        }
        break;
      case TcpOptKind.SACK: {
        // RFC 2018 §3: length 2 + 8n; n ≤ 4 is implied by the 40-byte option space.
        const n = (length - 2) >>> 3;
        if (n >= 1 && n <= TCP_MAX_SACK_BLOCKS && length === 2 + 8 * n) {
          for (let b = 0; b < n; b++) {
            out.sackBlocks[2 * b] = dv.getUint32(i + 2 + 8 * b);
            out.sackBlocks[2 * b + 1] = dv.getUint32(i + 6 + 8 * b);
          }
          out.sackCount = n;
        }
        break;
      }
      default:
        // Unknown kinds are skipped by their length (RFC 9293 §3.2, RFC 1122 §4.2.2.5).
        break;
    }
    i += length;
  }
  return true;
}

/** Header fields of a segment to send. */
export interface TcpSegmentFields {
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  flags: number;
  /** Raw 16-bit field, already scaled down by the caller (RFC 7323 §2.3). */
  window: number;
  urgent: number;
}

/** Options to send. Which options belong on which segment (MSS/WS/SACK-permitted only on SYNs) is the caller's call. */
export interface TcpOptionsOut {
  /** 0 = none. */
  mss: number;
  /** -1 = none. */
  windowScale: number;
  sackPermitted: boolean;
  timestamps: boolean;
  tsVal: number;
  tsEcr: number;
  /** (left, right) edge pairs; null = none. */
  sackBlocks: Uint32Array | null;
  sackCount: number;
}

// Aligned sizes, as Linux lays options out (net/ipv4/tcp_output.c, tcp_options_write): every option is
// padded with leading NOPs to a 4-byte boundary, so the total never needs trailing padding.
const MSS_ALIGNED = 4; // 02 04 mss
const TS_ALIGNED = 12; // 01 01 08 0a tsval tsecr, or 04 02 08 0a … when SACK-permitted rides along
const SACK_PERM_ALIGNED = 4; // 01 01 04 02
const WS_ALIGNED = 4; // 01 03 03 shift
const SACK_BASE_ALIGNED = 4; // 01 01 05 len
const SACK_PER_BLOCK = 8;

/** Bytes of options before any SACK blocks. */
function fixedOptionsLength(o: TcpOptionsOut): number {
  let n = 0;
  if (o.mss !== 0) n += MSS_ALIGNED;
  if (o.timestamps) n += TS_ALIGNED;
  else if (o.sackPermitted) n += SACK_PERM_ALIGNED;
  if (o.windowScale >= 0) n += WS_ALIGNED;
  return n;
}

/**
 * SACK blocks that will be sent: as many of `sackCount` as fit in the space left, like Linux's
 * tcp_established_options (3 with timestamps, 4 without; RFC 2018 §3).
 */
function sackBlocksToSend(o: TcpOptionsOut, fixedLength: number): number {
  if (o.sackBlocks === null || o.sackCount <= 0) return 0;
  const room = Math.floor((TCP_MAX_OPTIONS_LENGTH - fixedLength - SACK_BASE_ALIGNED) / SACK_PER_BLOCK);
  return Math.max(0, Math.min(o.sackCount, room, TCP_MAX_SACK_BLOCKS, o.sackBlocks.length >>> 1));
}

/** The length of the options `writeTcpHeader` writes for `o` (a multiple of 4, at most 40). */
export function tcpOptionsLength(o: TcpOptionsOut): number {
  const fixed = fixedOptionsLength(o);
  const blocks = sackBlocksToSend(o, fixed);
  return fixed + (blocks > 0 ? SACK_BASE_ALIGNED + SACK_PER_BLOCK * blocks : 0);
}

/**
 * Writes the fixed header and options at `offset` with the checksum field 0, and returns the header length.
 * Every header byte is written. `view` must index the same bytes as `buf`. Option layout follows Linux:
 * MSS; SACK-permitted+timestamps as `04 02 08 0a` (or `01 01 08 0a` / `01 01 04 02` alone); `01 03 03 ws`;
 * then `01 01 05 len` SACK blocks.
 */
export function writeTcpHeader(
  buf: Uint8Array,
  view: DataView,
  offset: number,
  f: TcpSegmentFields,
  o: TcpOptionsOut | null,
): number {
  const optionsLength = o === null ? 0 : tcpOptionsLength(o);
  const headerLength = TCP.minHeaderLength + optionsLength;
  view.setUint16(offset + TCP.srcPort, f.srcPort);
  view.setUint16(offset + TCP.dstPort, f.dstPort);
  view.setUint32(offset + TCP.seq, f.seq >>> 0);
  view.setUint32(offset + TCP.ack, f.ack >>> 0);
  // Reserved bits zero (RFC 9293 §3.1).
  view.setUint8(offset + TCP.dataOffset, (headerLength >>> 2) << 4);
  view.setUint8(offset + TCP.flags, f.flags);
  view.setUint16(offset + TCP.window, f.window);
  view.setUint16(offset + TCP.checksum, 0);
  view.setUint16(offset + TCP.urgent, f.urgent);
  if (o === null) return headerLength;

  let i = offset + TCP.minHeaderLength;
  if (o.mss !== 0) {
    view.setUint32(i, (TcpOptKind.MSS << 24) | (4 << 16) | (o.mss & 0xffff));
    i += MSS_ALIGNED;
  }
  if (o.timestamps) {
    // SACK-permitted fills the two bytes that would otherwise be NOPs (Linux's OPTION_SACK_ADVERTISE).
    const lead = o.sackPermitted ? (TcpOptKind.SACK_PERMITTED << 8) | 2 : (TcpOptKind.NOP << 8) | TcpOptKind.NOP;
    view.setUint32(i, ((lead << 16) | (TcpOptKind.TIMESTAMPS << 8) | 10) >>> 0);
    view.setUint32(i + 4, o.tsVal >>> 0);
    view.setUint32(i + 8, o.tsEcr >>> 0);
    i += TS_ALIGNED;
  } else if (o.sackPermitted) {
    view.setUint32(i, (TcpOptKind.NOP << 24) | (TcpOptKind.NOP << 16) | (TcpOptKind.SACK_PERMITTED << 8) | 2);
    i += SACK_PERM_ALIGNED;
  }
  if (o.windowScale >= 0) {
    view.setUint32(i, (TcpOptKind.NOP << 24) | (TcpOptKind.WS << 16) | (3 << 8) | (o.windowScale & 0xff));
    i += WS_ALIGNED;
  }
  const blocks = sackBlocksToSend(o, i - offset - TCP.minHeaderLength);
  if (blocks > 0 && o.sackBlocks !== null) {
    const sack = o.sackBlocks;
    view.setUint32(i, (TcpOptKind.NOP << 24) | (TcpOptKind.NOP << 16) | (TcpOptKind.SACK << 8) | (2 + 8 * blocks));
    i += SACK_BASE_ALIGNED;
    for (let b = 0; b < blocks; b++) {
      view.setUint32(i, sack[2 * b] ?? 0);
      view.setUint32(i + 4, sack[2 * b + 1] ?? 0);
      i += SACK_PER_BLOCK;
    }
  }
  return headerLength;
}

/**
 * Computes the checksum over the pseudo-header and `buf[tcpOffset, tcpOffset + tcpLength)` (header and
 * payload, RFC 9293 §3.1) and stores it. Call after the payload is in place.
 */
export function finishTcpChecksum(
  buf: Uint8Array,
  view: DataView,
  tcpOffset: number,
  tcpLength: number,
  src: number,
  dst: number,
): void {
  view.setUint16(tcpOffset + TCP.checksum, 0);
  const sum = sumWords(buf, tcpOffset, tcpLength, pseudoHeaderSum(src, dst, PROTO_TCP, tcpLength));
  view.setUint16(tcpOffset + TCP.checksum, finishChecksum(sum));
}

/**
 * For a device that completes the checksum (checksum offload, NEEDS_CSUM): stores only the folded
 * pseudo-header sum over `tcpLength` (not complemented), as Linux's tcp_v4_send_check does for
 * CHECKSUM_PARTIAL; the device sums the segment on top of it and stores the complement. For a super-frame
 * `tcpLength` is the whole super-segment's: the kernel's GSO adjusts it per segment.
 */
export function writeTcpPartialChecksum(view: DataView, tcpOffset: number, tcpLength: number, src: number, dst: number): void {
  view.setUint16(tcpOffset + TCP.checksum, foldSum(pseudoHeaderSum(src, dst, PROTO_TCP, tcpLength)));
}
