// Ethernet II framing: the header writer against a scapy vector (test/helpers/vectors.ts, cross-checked with
// scapy 2.x), the view's getters and check(), multicast MAC mapping (RFC 1112 §6.4) and parse(emit(x)).

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ETH, EthCheck, EtherType, EthernetView, writeEthernetHeader, writeMulticastMac } from "../../src/eth/ethernet.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { MAC_A, MAC_B, prefilled } from "../helpers/wire.js";
import { ARP_REQUEST, ETH_HEADER, u8 } from "../helpers/vectors.js";

describe("writeEthernetHeader", () => {
  it("writes exactly the 14 scapy bytes and nothing else", () => {
    // scapy: Ether(dst=B, src=A, type=0x0800)
    const buf = prefilled(18);
    writeEthernetHeader(buf, 2, MAC_B, MAC_A, EtherType.IPV4);
    expect(buf).toEqual(u8([0xa5, 0xa5, ...ETH_HEADER, 0xa5, 0xa5]));
  });
});

describe("EthernetView", () => {
  it("reads the vector's fields at an offset", () => {
    const bytes = u8([0, 0, 0, ...ETH_HEADER, 0x45, 0x00]);
    const eth = new EthernetView().point(bytes, 3, 16);
    expect(eth.check()).toBe(EthCheck.OK);
    expect(eth.etherType).toBe(EtherType.IPV4);
    expect(eth.dstOffset).toBe(3);
    expect(eth.srcOffset).toBe(9);
    expect([...bytes.subarray(eth.dstOffset, eth.dstOffset + 6)]).toEqual([...MAC_B]);
    expect([...bytes.subarray(eth.srcOffset, eth.srcOffset + 6)]).toEqual([...MAC_A]);
    expect(eth.isBroadcast).toBe(false);
    expect(eth.isGroup).toBe(false);
    expect(eth.payloadOffset).toBe(17);
    expect(eth.payloadLength).toBe(2);
  });

  it("classifies broadcast and multicast destinations", () => {
    const eth = new EthernetView();
    expect(eth.point(u8(ARP_REQUEST), 0, 42).isBroadcast).toBe(true);
    expect(eth.isGroup).toBe(true);
    const mcast = u8([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb, ...MAC_A, 0x08, 0x00]);
    expect(eth.point(mcast, 0, 14).isBroadcast).toBe(false);
    expect(eth.isGroup).toBe(true);
    // All ones but the last byte: group, not broadcast.
    const almost = u8([0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, ...MAC_A, 0x08, 0x06]);
    expect(eth.point(almost, 0, 14).isBroadcast).toBe(false);
  });

  it("check() rejects every length below 14 as truncated", () => {
    const bytes = u8(ETH_HEADER);
    const eth = new EthernetView();
    for (let len = 0; len < ETH.headerLength; len++) expect(eth.point(bytes, 0, len).check()).toBe(EthCheck.TRUNCATED);
    expect(eth.point(bytes, 0, 14).check()).toBe(EthCheck.OK);
    expect(eth.payloadLength).toBe(0);
  });

  it("parse(emit(x)) round trips", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.nat({ max: 0xffff }),
        fc.nat({ max: 8 }),
        (dst, src, type, at) => {
          const buf = prefilled(at + 14);
          writeEthernetHeader(buf, at, dst, src, type);
          const eth = new EthernetView().point(buf, at, 14);
          expect(eth.check()).toBe(EthCheck.OK);
          expect(eth.etherType).toBe(type);
          expect(buf.subarray(eth.dstOffset, eth.dstOffset + 6)).toEqual(dst);
          expect(buf.subarray(eth.srcOffset, eth.srcOffset + 6)).toEqual(src);
          expect(eth.isGroup).toBe(((dst[0] as number) & 1) === 1);
          expect(buf.subarray(0, at)).toEqual(prefilled(at));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe("writeMulticastMac (RFC 1112 §6.4)", () => {
  it.each([
    ["224.0.0.1", [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]],
    ["224.0.0.251", [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]],
    ["239.255.255.250", [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa]],
    // Only the low 23 bits map: 224.128.0.1 shares 224.0.0.1's MAC.
    ["224.128.0.1", [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]],
  ])("maps %s", (group, mac) => {
    const buf = prefilled(8);
    writeMulticastMac(buf, 1, parseIpv4(group));
    expect(buf).toEqual(u8([0xa5, ...mac, 0xa5]));
  });
});
