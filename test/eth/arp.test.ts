// ARP packets (RFC 826): the writer against scapy vectors (test/helpers/vectors.ts, cross-checked with
// scapy 2.x), the view's getters, check() for truncated and unsupported packets, and parse(emit(x)).

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ARP, ArpCheck, ArpOp, ArpView, writeArp } from "../../src/eth/arp.js";
import { EtherType, writeEthernetHeader } from "../../src/eth/ethernet.js";
import { IP_A, IP_B, MAC_A, MAC_B, MAC_BCAST, arp, prefilled } from "../helpers/wire.js";
import { ARP_REPLY, ARP_REQUEST, u8 } from "../helpers/vectors.js";

function emitFrame(dst: Uint8Array, src: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array | null, tpa: number): Uint8Array {
  // Two spare bytes after the 42-byte frame must stay 0xa5.
  const buf = prefilled(44);
  const view = new DataView(buf.buffer);
  writeEthernetHeader(buf, 0, dst, src, EtherType.ARP);
  writeArp(buf, view, 14, op, sha, spa, tha, tpa);
  return buf;
}

describe("writeArp", () => {
  it("writes the scapy request (target MAC null → zeros over the 0xa5 fill)", () => {
    // scapy: Ether(dst="ff:ff:ff:ff:ff:ff", src=A)/ARP(op=1, hwsrc=A, psrc=AI, hwdst="00:00:00:00:00:00", pdst=BI)
    const buf = emitFrame(MAC_BCAST, MAC_A, ArpOp.REQUEST, MAC_A, IP_A, null, IP_B);
    expect(buf).toEqual(u8([...ARP_REQUEST, 0xa5, 0xa5]));
  });

  it("writes the scapy reply", () => {
    // scapy: Ether(dst=A, src=B)/ARP(op=2, hwsrc=B, psrc=BI, hwdst=A, pdst=AI)
    const buf = emitFrame(MAC_A, MAC_B, ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A);
    expect(buf).toEqual(u8([...ARP_REPLY, 0xa5, 0xa5]));
  });
});

describe("ArpView", () => {
  it("reads the request vector", () => {
    const bytes = u8(ARP_REQUEST);
    const v = new ArpView().point(bytes, 14, 28);
    expect(v.check()).toBe(ArpCheck.OK);
    expect(v.op).toBe(ArpOp.REQUEST);
    expect(v.senderIp).toBe(IP_A);
    expect(v.targetIp).toBe(IP_B);
    expect(bytes.subarray(v.senderMacOffset, v.senderMacOffset + 6)).toEqual(MAC_A);
    expect(bytes.subarray(v.targetMacOffset, v.targetMacOffset + 6)).toEqual(new Uint8Array(6));
  });

  it("reads the reply vector", () => {
    const bytes = u8(ARP_REPLY);
    const v = new ArpView().point(bytes, 14, 28);
    expect(v.check()).toBe(ArpCheck.OK);
    expect(v.op).toBe(ArpOp.REPLY);
    expect(v.senderIp).toBe(IP_B);
    expect(v.targetIp).toBe(IP_A);
    expect(bytes.subarray(v.senderMacOffset, v.senderMacOffset + 6)).toEqual(MAC_B);
    expect(bytes.subarray(v.targetMacOffset, v.targetMacOffset + 6)).toEqual(MAC_A);
  });

  it("accepts trailing Ethernet padding", () => {
    const padded = u8([...ARP_REQUEST, ...new Array<number>(18).fill(0)]);
    expect(new ArpView().point(padded, 14, padded.length - 14).check()).toBe(ArpCheck.OK);
  });

  it("check() rejects every length below 28 as truncated", () => {
    const bytes = u8(ARP_REQUEST);
    const v = new ArpView();
    for (let len = 0; len < ARP.length; len++) expect(v.point(bytes, 14, len).check()).toBe(ArpCheck.TRUNCATED);
  });

  it.each([
    ["htype 6 (IEEE 802)", { htype: 6 }],
    ["ptype IPv6", { ptype: 0x86dd }],
    ["hlen 8", { hlen: 8 }],
    ["plen 16", { plen: 16 }],
  ])("check() rejects %s as unsupported", (_name, o) => {
    const p = arp(ArpOp.REQUEST, MAC_A, IP_A, new Uint8Array(6), IP_B, o);
    expect(new ArpView().point(p, 0, p.length).check()).toBe(ArpCheck.UNSUPPORTED);
  });

  it("parse(emit(x)) round trips", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffff }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.nat({ max: 0xffffffff }),
        fc.option(fc.uint8Array({ minLength: 6, maxLength: 6 })),
        fc.nat({ max: 0xffffffff }),
        (op, sha, spa, tha, tpa) => {
          const buf = prefilled(30);
          writeArp(buf, new DataView(buf.buffer), 1, op, sha, spa, tha, tpa);
          const v = new ArpView().point(buf, 1, 28);
          expect(v.check()).toBe(ArpCheck.OK);
          expect(v.op).toBe(op);
          expect(v.senderIp).toBe(spa);
          expect(v.targetIp).toBe(tpa);
          expect(buf.subarray(v.senderMacOffset, v.senderMacOffset + 6)).toEqual(sha);
          expect(buf.subarray(v.targetMacOffset, v.targetMacOffset + 6)).toEqual(tha ?? new Uint8Array(6));
          expect([buf[0], buf[29]]).toEqual([0xa5, 0xa5]);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
