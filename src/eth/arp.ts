// ARP packets for IPv4 over Ethernet (RFC 826): the view netif input parses and the writer used for
// requests, replies and gratuitous announcements. Resolution logic is in eth/neighbor.ts.

import { PacketView } from "../core/view.js";
import { EtherType } from "./ethernet.js";

export const ARP = {
  htype: 0,
  ptype: 2,
  hlen: 4,
  plen: 5,
  oper: 6,
  sha: 8,
  spa: 14,
  tha: 18,
  tpa: 24,
  length: 28,
} as const;

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** Reasons `ArpView.check()` rejects a packet; 0 is ok. */
export const ArpCheck = { OK: 0, TRUNCATED: 1, UNSUPPORTED: 2 } as const;

const HTYPE_ETHERNET = 1;

export class ArpView extends PacketView {
  /** Accepts only Ethernet/IPv4 ARP (hlen 6, plen 4); anything else is counted as unsupported. */
  check(): number {
    if (this.length < ARP.length) return ArpCheck.TRUNCATED;
    const v = this.view;
    const o = this.offset;
    if (
      v.getUint16(o + ARP.htype) !== HTYPE_ETHERNET ||
      v.getUint16(o + ARP.ptype) !== EtherType.IPV4 ||
      v.getUint8(o + ARP.hlen) !== 6 ||
      v.getUint8(o + ARP.plen) !== 4
    ) {
      return ArpCheck.UNSUPPORTED;
    }
    return ArpCheck.OK;
  }

  get op(): number {
    return this.view.getUint16(this.offset + ARP.oper);
  }

  get senderMacOffset(): number {
    return this.offset + ARP.sha;
  }

  get senderIp(): number {
    return this.view.getUint32(this.offset + ARP.spa);
  }

  get targetMacOffset(): number {
    return this.offset + ARP.tha;
  }

  get targetIp(): number {
    return this.view.getUint32(this.offset + ARP.tpa);
  }
}

/** Writes a 28-byte ARP packet at `offset`. `targetMac` of null writes zeros (requests). */
export function writeArp(
  buf: Uint8Array,
  view: DataView,
  offset: number,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array | null,
  targetIp: number,
): void {
  view.setUint16(offset + ARP.htype, HTYPE_ETHERNET);
  view.setUint16(offset + ARP.ptype, EtherType.IPV4);
  view.setUint8(offset + ARP.hlen, 6);
  view.setUint8(offset + ARP.plen, 4);
  view.setUint16(offset + ARP.oper, op);
  buf.set(senderMac.subarray(0, 6), offset + ARP.sha);
  view.setUint32(offset + ARP.spa, senderIp >>> 0);
  if (targetMac === null) buf.fill(0, offset + ARP.tha, offset + ARP.tha + 6);
  else buf.set(targetMac.subarray(0, 6), offset + ARP.tha);
  view.setUint32(offset + ARP.tpa, targetIp >>> 0);
}
