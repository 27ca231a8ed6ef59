// IPv4 header view and writer (RFC 791 §3.1). `check()` validates every length field against the buffer
// once (RFC 1122 §3.2.1.1–3.2.1.2); after it passes, no getter reads outside the frame.

import { PacketView } from "../core/view.js";
import { checksum } from "../core/checksum.js";

export const IPV4 = {
  versionIhl: 0,
  tos: 1,
  totalLength: 2,
  id: 4,
  flagsFragment: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  src: 12,
  dst: 16,
  minHeaderLength: 20,
  maxTotalLength: 65535,
} as const;

export const IpProto = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17 } as const;

/** Flag bits in the 16-bit flags/fragment-offset field. */
export const IpFlag = { DF: 0x4000, MF: 0x2000, OFFSET_MASK: 0x1fff } as const;

/** Reasons `Ipv4View.check()` rejects a packet; 0 is ok. Names index `IPV4_CHECK_NAMES`. */
export const Ipv4Check = {
  OK: 0,
  TRUNCATED: 1,
  BAD_VERSION: 2,
  BAD_HEADER_LENGTH: 3,
  BAD_TOTAL_LENGTH: 4,
  BAD_CHECKSUM: 5,
} as const;

export const IPV4_CHECK_NAMES = [
  "ok",
  "dropTruncated",
  "dropBadVersion",
  "dropBadHeaderLength",
  "dropBadTotalLength",
  "dropBadChecksum",
] as const;

export class Ipv4View extends PacketView {
  /** Validates version, IHL, total length against the buffer, and the header checksum. */
  check(): number {
    if (this.length < IPV4.minHeaderLength) return Ipv4Check.TRUNCATED;
    const vi = this.view.getUint8(this.offset);
    if (vi >> 4 !== 4) return Ipv4Check.BAD_VERSION;
    const headerLength = (vi & 0xf) * 4;
    if (headerLength < IPV4.minHeaderLength || headerLength > this.length) return Ipv4Check.BAD_HEADER_LENGTH;
    const total = this.totalLength;
    // The frame may carry Ethernet padding after the datagram, never less than the datagram.
    if (total < headerLength || total > this.length) return Ipv4Check.BAD_TOTAL_LENGTH;
    if (checksum(this.bytes, this.offset, headerLength) !== 0) return Ipv4Check.BAD_CHECKSUM;
    return Ipv4Check.OK;
  }

  get headerLength(): number {
    return (this.view.getUint8(this.offset) & 0xf) * 4;
  }

  get tos(): number {
    return this.view.getUint8(this.offset + IPV4.tos);
  }

  get totalLength(): number {
    return this.view.getUint16(this.offset + IPV4.totalLength);
  }

  get id(): number {
    return this.view.getUint16(this.offset + IPV4.id);
  }

  get flagsFragment(): number {
    return this.view.getUint16(this.offset + IPV4.flagsFragment);
  }

  /** Fragment offset in bytes. */
  get fragmentOffsetBytes(): number {
    return (this.flagsFragment & IpFlag.OFFSET_MASK) * 8;
  }

  get hasMoreFragments(): boolean {
    return (this.flagsFragment & IpFlag.MF) !== 0;
  }

  get isFragment(): boolean {
    return (this.flagsFragment & (IpFlag.MF | IpFlag.OFFSET_MASK)) !== 0;
  }

  get ttl(): number {
    return this.view.getUint8(this.offset + IPV4.ttl);
  }

  get protocol(): number {
    return this.view.getUint8(this.offset + IPV4.protocol);
  }

  get src(): number {
    return this.view.getUint32(this.offset + IPV4.src);
  }

  get dst(): number {
    return this.view.getUint32(this.offset + IPV4.dst);
  }
}

/** RFC 791 §3.1 option types that are one octet long; every other option has a length octet. */
export const Ipv4Option = { END_OF_LIST: 0, NO_OPERATION: 1 } as const;

/**
 * Walks the options of the header at `headerOffset` (RFC 791 §3.1): End of Option List and No Operation are
 * single octets; every other option is type, length (≥ 2, counting type and length), data, and must end
 * inside the header. After End of Option List the rest is padding. Returns -1 when the list parses, else the
 * offset from the header's start of the option that does not — its type octet, the pointer Linux puts in
 * ICMP parameter problem (ip_options_compile). Unknown options that parse are not errors (RFC 1122
 * §3.2.1.8: ignored); the contents of known ones are not checked here (echoOptions.ts reads Record Route
 * and Timestamp defensively).
 * Call only after `check()` passed, so `headerLength` lies inside `bytes`.
 */
export function ipv4OptionsError(bytes: Uint8Array, headerOffset: number, headerLength: number): number {
  let at = IPV4.minHeaderLength;
  while (at < headerLength) {
    const type = bytes[headerOffset + at] as number;
    if (type === Ipv4Option.END_OF_LIST) return -1;
    if (type === Ipv4Option.NO_OPERATION) {
      at++;
      continue;
    }
    // No room for the length octet, a length below 2 (which would never advance), or one past the header.
    if (at + 1 >= headerLength) return at;
    const length = bytes[headerOffset + at + 1] as number;
    if (length < 2 || at + length > headerLength) return at;
    at += length;
  }
  return -1;
}

export interface Ipv4HeaderFields {
  tos: number;
  totalLength: number;
  id: number;
  flagsFragment: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/**
 * Writes the header at `offset`, checksum included: 20 bytes, or `headerLength` when options (already in
 * place after the first 20 bytes, a multiple of 4 octets) follow.
 */
export function writeIpv4Header(buf: Uint8Array, view: DataView, offset: number, h: Ipv4HeaderFields, headerLength: number = IPV4.minHeaderLength): void {
  view.setUint8(offset, 0x40 | (headerLength >>> 2));
  view.setUint8(offset + IPV4.tos, h.tos);
  view.setUint16(offset + IPV4.totalLength, h.totalLength);
  view.setUint16(offset + IPV4.id, h.id);
  view.setUint16(offset + IPV4.flagsFragment, h.flagsFragment);
  view.setUint8(offset + IPV4.ttl, h.ttl);
  view.setUint8(offset + IPV4.protocol, h.protocol);
  view.setUint16(offset + IPV4.checksum, 0);
  view.setUint32(offset + IPV4.src, h.src >>> 0);
  view.setUint32(offset + IPV4.dst, h.dst >>> 0);
  view.setUint16(offset + IPV4.checksum, checksum(buf, offset, headerLength));
}

/** Recomputes the header checksum of the header at `offset` in place. */
export function refreshIpv4Checksum(buf: Uint8Array, view: DataView, offset: number, headerLength: number): void {
  view.setUint16(offset + IPV4.checksum, 0);
  view.setUint16(offset + IPV4.checksum, checksum(buf, offset, headerLength));
}
