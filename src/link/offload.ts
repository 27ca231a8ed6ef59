// Offloads between the stack and its device, in the terms of the virtio-net header (struct virtio_net_hdr,
// virtio 1.x §5.1.6; Linux include/uapi/linux/virtio_net.h) that a TAP opened with IFF_VNET_HDR puts before
// every frame. On input a frame may be a TCP super-frame (gso_type TCPV4: up to 64 KiB standing for
// gso_size-byte segments) and may carry a partial checksum (NEEDS_CSUM) or a verified one (DATA_VALID); on
// output TCP may hand the device such frames when the device says it takes them (`Device.offloads`).
// The helpers at the end turn an offloaded frame back into wire frames (full checksums, MSS-sized
// segments) for whatever must see the wire: fault injection, the ARP queue, a capture.

import { finishChecksum, pseudoHeaderSum, sumWords } from "../core/checksum.js";

/** What a device accepts from the stack on transmit. Fixed for the device's lifetime. */
export interface DeviceOffloads {
  /** TCPv4 super-frames up to 64 KiB with gso_type TCPV4, cut by the device into gso_size segments (TSO). */
  readonly tso: boolean;
  /** A partial L4 checksum (NEEDS_CSUM: the field holds the pseudo-header sum) that the device completes. */
  readonly csum: boolean;
}

export const NO_OFFLOADS: DeviceOffloads = Object.freeze({ tso: false, csum: false });
export const ALL_OFFLOADS: DeviceOffloads = Object.freeze({ tso: true, csum: true });

/** virtio_net_hdr.flags (virtio 1.x §5.1.6). */
export const VnetFlag = {
  /** The checksum over [csum_start, end) still has to be computed and stored at csum_start + csum_offset. */
  NEEDS_CSUM: 1,
  /** Input only: the checksum was verified before the frame reached us. */
  DATA_VALID: 2,
} as const;

/** virtio_net_hdr.gso_type; ECN is a bit or-ed onto the type (the frame carries CWR). */
export const VnetGso = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, ECN: 0x80 } as const;

/**
 * Field offsets of struct virtio_net_hdr_mrg_rxbuf, the 12-byte header the addon sets with TUNSETVNETHDRSZ.
 * The 16-bit fields are little-endian: virtio 1.x is, and a legacy TAP uses the host's order (little-endian
 * on every machine walnut runs on; TUNSETVNETLE is not set).
 */
export const VNET_HDR = {
  flags: 0,
  gsoType: 1,
  hdrLen: 2,
  gsoSize: 4,
  csumStart: 6,
  csumOffset: 8,
  numBuffers: 10,
  length: 12,
} as const;

/**
 * The offload facts of one frame. Devices and senders keep one instance and refill it per frame; receivers
 * must copy what they keep beyond the frame's call. Offsets count from the start of the Ethernet header.
 */
export class FrameOffload {
  /** VnetFlag bits. */
  flags = 0;
  /** VnetGso type (NONE for a plain frame). */
  gsoType: number = VnetGso.NONE;
  /** Bytes of headers (Ethernet + IP + TCP) a device copies in front of each segment. */
  hdrLen = 0;
  /** Payload bytes per segment of a super-frame; 0 when the frame is not one. */
  gsoSize = 0;
  /** With NEEDS_CSUM: where the checksummed range starts (the L4 header) and the field's offset in it. */
  csumStart = 0;
  csumOffset = 0;

  get needsCsum(): boolean {
    return (this.flags & VnetFlag.NEEDS_CSUM) !== 0;
  }

  /** The L4 checksum need not be verified: it was (DATA_VALID), or the frame never crossed a wire (NEEDS_CSUM). */
  get isChecksumTrusted(): boolean {
    return (this.flags & (VnetFlag.NEEDS_CSUM | VnetFlag.DATA_VALID)) !== 0;
  }

  get isGso(): boolean {
    return (this.gsoType & ~VnetGso.ECN) !== VnetGso.NONE && this.gsoSize > 0;
  }

  clear(): void {
    this.flags = 0;
    this.gsoType = VnetGso.NONE;
    this.hdrLen = 0;
    this.gsoSize = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
  }

  copyFrom(o: FrameOffload): this {
    this.flags = o.flags;
    this.gsoType = o.gsoType;
    this.hdrLen = o.hdrLen;
    this.gsoSize = o.gsoSize;
    this.csumStart = o.csumStart;
    this.csumOffset = o.csumOffset;
    return this;
  }
}

/**
 * Reads the virtio-net header at `offset` into `out`. Returns `out`, or null for a plain frame (no flags, no
 * GSO), so the common case hands the stack nothing to look at.
 */
export function decodeVnetHdr(view: DataView, offset: number, out: FrameOffload): FrameOffload | null {
  const flags = view.getUint8(offset + VNET_HDR.flags);
  const gsoType = view.getUint8(offset + VNET_HDR.gsoType);
  if (flags === 0 && gsoType === VnetGso.NONE) return null;
  out.flags = flags;
  out.gsoType = gsoType;
  out.hdrLen = view.getUint16(offset + VNET_HDR.hdrLen, true);
  out.gsoSize = view.getUint16(offset + VNET_HDR.gsoSize, true);
  out.csumStart = view.getUint16(offset + VNET_HDR.csumStart, true);
  out.csumOffset = view.getUint16(offset + VNET_HDR.csumOffset, true);
  return out;
}

/** Writes the 12-byte header at `offset`: all zero (no offload) for null. num_buffers is 0 on transmit. */
export function encodeVnetHdr(view: DataView, offset: number, o: FrameOffload | null): void {
  if (o === null) {
    view.setUint32(offset, 0);
    view.setUint32(offset + 4, 0);
    view.setUint32(offset + 8, 0);
    return;
  }
  view.setUint8(offset + VNET_HDR.flags, o.flags);
  view.setUint8(offset + VNET_HDR.gsoType, o.gsoType);
  view.setUint16(offset + VNET_HDR.hdrLen, o.hdrLen, true);
  view.setUint16(offset + VNET_HDR.gsoSize, o.gsoSize, true);
  view.setUint16(offset + VNET_HDR.csumStart, o.csumStart, true);
  view.setUint16(offset + VNET_HDR.csumOffset, o.csumOffset, true);
  view.setUint16(offset + VNET_HDR.numBuffers, 0, true);
}

/** UDP's checksum field offset: a computed 0 is sent as 0xffff (RFC 768), as Linux's UDP does. */
const UDP_CHECKSUM_OFFSET = 6;

/**
 * Completes a NEEDS_CSUM frame in place: the ones'-complement sum of [csumStart, end), whose checksum field
 * holds the pseudo-header sum, stored at csumStart + csumOffset (what the kernel's skb_checksum_help does).
 * Returns false when the offsets do not fit the frame.
 */
export function completeChecksum(bytes: Uint8Array, offset: number, length: number, o: FrameOffload): boolean {
  const start = o.csumStart;
  const field = start + o.csumOffset;
  if (start >= length || field + 2 > length) return false;
  let value = finishChecksum(sumWords(bytes, offset + start, length - start));
  if (value === 0 && o.csumOffset === UDP_CHECKSUM_OFFSET) value = 0xffff;
  bytes[offset + field] = value >>> 8;
  bytes[offset + field + 1] = value & 0xff;
  return true;
}

// Layout facts software segmentation needs (Ethernet II, IPv4, TCP); the link layer imports no protocol.
const ETH_BYTES = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTO_TCP = 6;
const TCP_FLAG_FIN = 0x01;
const TCP_FLAG_PSH = 0x08;
const TCP_FLAG_CWR = 0x80;

/** Receives one wire frame; its bytes are valid only during the call. */
export type WireFrameSink = (bytes: Uint8Array, offset: number, length: number) => void;

/**
 * Turns an offloaded frame into the frames a wire would carry, each with full checksums, handed to `sink`:
 * a TCPv4 super-frame is cut into gso_size segments the way Linux's tcp_gso_segment cuts it (headers copied,
 * sequence numbers advanced, IP identification +1 per segment, FIN and PSH on the last segment only, CWR on
 * the first only); a NEEDS_CSUM frame gets its checksum; anything else passes as it is. `scratch` must hold
 * the largest frame (65 535 + 14 bytes). Returns the frames handed on, or 0 for a frame too malformed to cut
 * (a device would reject it: the caller counts and drops it).
 */
export function toWireFrames(
  bytes: Uint8Array,
  offset: number,
  length: number,
  o: FrameOffload | null,
  scratch: Uint8Array,
  sink: WireFrameSink,
): number {
  if (o === null || (!o.isGso && !o.needsCsum)) {
    sink(bytes, offset, length);
    return 1;
  }
  if (!o.isGso) {
    if (length > scratch.length) return 0;
    scratch.set(bytes.subarray(offset, offset + length), 0);
    if (!completeChecksum(scratch, 0, length, o)) return 0;
    sink(scratch, 0, length);
    return 1;
  }
  return segmentTcpv4(bytes, offset, length, o.gsoSize, scratch, sink);
}

function segmentTcpv4(
  bytes: Uint8Array,
  offset: number,
  length: number,
  mss: number,
  scratch: Uint8Array,
  sink: WireFrameSink,
): number {
  // Two views per super-frame: this runs only where offloads are undone (faults, ARP queue), not per segment sent.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (length < ETH_BYTES + 40 || view.getUint16(offset + 12) !== ETHERTYPE_IPV4) return 0;
  const ip = offset + ETH_BYTES;
  const ihl = (view.getUint8(ip) & 0x0f) * 4;
  const totalLength = view.getUint16(ip + 2);
  if (ihl < 20 || view.getUint8(ip + 9) !== IP_PROTO_TCP || ETH_BYTES + totalLength > length) return 0;
  const tcp = ip + ihl;
  const tcpHeader = (view.getUint8(tcp + 12) >>> 4) * 4;
  const headers = ETH_BYTES + ihl + tcpHeader;
  const payload = ETH_BYTES + totalLength - headers;
  if (tcpHeader < 20 || payload <= 0 || headers + mss > scratch.length) return 0;
  const out = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  const id = view.getUint16(ip + 4);
  const seq = view.getUint32(tcp + 4);
  const flags = view.getUint8(tcp + 13);
  const src = view.getUint32(ip + 12);
  const dst = view.getUint32(ip + 16);
  let count = 0;
  for (let at = 0; at < payload; at += mss) {
    const size = Math.min(mss, payload - at);
    const isLast = at + size >= payload;
    scratch.set(bytes.subarray(offset, offset + headers), 0);
    scratch.set(bytes.subarray(offset + headers + at, offset + headers + at + size), headers);
    const oIp = ETH_BYTES;
    const oTcp = ETH_BYTES + ihl;
    out.setUint16(oIp + 2, ihl + tcpHeader + size);
    out.setUint16(oIp + 4, (id + count) & 0xffff);
    out.setUint16(oIp + 10, 0);
    out.setUint16(oIp + 10, finishChecksum(sumWords(scratch, oIp, ihl)));
    out.setUint32(oTcp + 4, (seq + at) >>> 0);
    let f = flags;
    if (!isLast) f &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
    if (count > 0) f &= ~TCP_FLAG_CWR;
    out.setUint8(oTcp + 13, f);
    const tcpLength = tcpHeader + size;
    out.setUint16(oTcp + 16, 0);
    out.setUint16(oTcp + 16, finishChecksum(sumWords(scratch, oTcp, tcpLength, pseudoHeaderSum(src, dst, IP_PROTO_TCP, tcpLength))));
    sink(scratch, 0, headers + size);
    count++;
  }
  return count;
}
