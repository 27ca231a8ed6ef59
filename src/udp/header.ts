// UDP header view and writer (RFC 768). The checksum covers the IPv4 pseudo-header; zero means "none" on
// input (RFC 768, RFC 1122 §4.1.3.4) and is always computed on output (0 sent as 0xffff).

import { PacketView } from "../core/view.js";
import { finishChecksum, pseudoHeaderSum, sumWords } from "../core/checksum.js";
import { IpProto } from "../ip/ipv4.js";

export const UDP = { srcPort: 0, dstPort: 2, length: 4, checksum: 6, headerLength: 8 } as const;

export const UdpCheck = { OK: 0, TRUNCATED: 1, BAD_LENGTH: 2, BAD_CHECKSUM: 3 } as const;

export const UDP_CHECK_NAMES = ["ok", "dropTruncated", "dropBadLength", "dropBadChecksum"] as const;

export class UdpView extends PacketView {
  /**
   * Validates the length field against the IP payload and, when present and not `isChecksumTrusted` (the
   * device verified it, or it is a host-made partial checksum: IpRx.isChecksumTrusted), the checksum.
   */
  check(src: number, dst: number, isChecksumTrusted = false): number {
    if (this.length < UDP.headerLength) return UdpCheck.TRUNCATED;
    const len = this.udpLength;
    if (len < UDP.headerLength || len > this.length) return UdpCheck.BAD_LENGTH;
    if (this.checksum !== 0 && !isChecksumTrusted) {
      const sum = sumWords(this.bytes, this.offset, len, pseudoHeaderSum(src, dst, IpProto.UDP, len));
      if (finishChecksum(sum) !== 0) return UdpCheck.BAD_CHECKSUM;
    }
    return UdpCheck.OK;
  }

  get srcPort(): number {
    return this.view.getUint16(this.offset + UDP.srcPort);
  }

  get dstPort(): number {
    return this.view.getUint16(this.offset + UDP.dstPort);
  }

  /** The length field: header plus data (the IP payload may be longer; the rest is ignored). */
  get udpLength(): number {
    return this.view.getUint16(this.offset + UDP.length);
  }

  get checksum(): number {
    return this.view.getUint16(this.offset + UDP.checksum);
  }

  get dataOffset(): number {
    return this.offset + UDP.headerLength;
  }

  get dataLength(): number {
    return this.udpLength - UDP.headerLength;
  }
}

/** Writes the 8-byte header at `offset` and the checksum over header + `dataLength` bytes already in place. */
export function writeUdpHeader(
  buf: Uint8Array,
  view: DataView,
  offset: number,
  srcPort: number,
  dstPort: number,
  dataLength: number,
  src: number,
  dst: number,
): void {
  const len = UDP.headerLength + dataLength;
  view.setUint16(offset + UDP.srcPort, srcPort);
  view.setUint16(offset + UDP.dstPort, dstPort);
  view.setUint16(offset + UDP.length, len);
  view.setUint16(offset + UDP.checksum, 0);
  const sum = finishChecksum(sumWords(buf, offset, len, pseudoHeaderSum(src, dst, IpProto.UDP, len)));
  // RFC 768: a computed zero is sent as all ones; zero on the wire means "no checksum".
  view.setUint16(offset + UDP.checksum, sum === 0 ? 0xffff : sum);
}
