// Ethernet II framing (IEEE 802.3 with EtherType, RFC 894): the view used by netif input and the header
// writer used by netif output. Frames arrive without the FCS (TAP and MemLink strip it).

import { PacketView } from "../core/view.js";

export const ETH = { dst: 0, src: 6, type: 12, headerLength: 14 } as const;

export const EtherType = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd, VLAN: 0x8100 } as const;

/** Reasons `EthernetView.check()` rejects a frame; 0 is ok. */
export const EthCheck = { OK: 0, TRUNCATED: 1 } as const;

export class EthernetView extends PacketView {
  check(): number {
    return this.length < ETH.headerLength ? EthCheck.TRUNCATED : EthCheck.OK;
  }

  get etherType(): number {
    return this.view.getUint16(this.offset + ETH.type);
  }

  get dstOffset(): number {
    return this.offset + ETH.dst;
  }

  get srcOffset(): number {
    return this.offset + ETH.src;
  }

  /** ff:ff:ff:ff:ff:ff */
  get isBroadcast(): boolean {
    const v = this.view;
    const o = this.offset;
    return v.getUint32(o) === 0xffffffff && v.getUint16(o + 4) === 0xffff;
  }

  /** Group bit (I/G) of the destination set: multicast or broadcast. */
  get isGroup(): boolean {
    return (this.view.getUint8(this.offset) & 1) === 1;
  }

  get payloadOffset(): number {
    return this.offset + ETH.headerLength;
  }

  get payloadLength(): number {
    return this.length - ETH.headerLength;
  }
}

/** Writes a 14-byte Ethernet header at `offset`. */
export function writeEthernetHeader(
  buf: Uint8Array,
  offset: number,
  dst: Uint8Array,
  src: Uint8Array,
  etherType: number,
): void {
  buf.set(dst.subarray(0, 6), offset + ETH.dst);
  buf.set(src.subarray(0, 6), offset + ETH.src);
  buf[offset + ETH.type] = etherType >>> 8;
  buf[offset + ETH.type + 1] = etherType & 0xff;
}

/** RFC 1112 §6.4: the Ethernet multicast address of an IPv4 group is 01:00:5e + the group's low 23 bits. */
export function writeMulticastMac(buf: Uint8Array, offset: number, group: number): void {
  buf[offset] = 0x01;
  buf[offset + 1] = 0x00;
  buf[offset + 2] = 0x5e;
  buf[offset + 3] = (group >>> 16) & 0x7f;
  buf[offset + 4] = (group >>> 8) & 0xff;
  buf[offset + 5] = group & 0xff;
}
