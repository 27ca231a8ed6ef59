// The netif over one end of a MemLink, the test playing the other end with raw frames: ARP (RFC 826) replies
// and the merge rule, RFC 5227 announcements, probes and conflicts, resolution with retries and failure,
// the pending queue, ageing and refresh, and Ethernet input filtering with a drop counter per reason.
// Expected frames are scapy vectors (test/helpers/vectors.ts, cross-checked with scapy 2.x).

import { afterEach, describe, expect, it } from "vitest";
import { LinkCast, Netif, type LinkCastCode, type NetifUpper } from "../../src/eth/netif.js";
import type { NeighborOptions } from "../../src/eth/neighbor.js";
import { ArpOp } from "../../src/eth/arp.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { Prng } from "../../src/core/prng.js";
import { IP_A, IP_B, IP_C, MAC_A, MAC_B, MAC_BCAST, MAC_C, MAC_ZERO, MASK_24, Wire, arp, ether } from "../helpers/wire.js";
import { ARP_ANNOUNCE_B, ARP_PROBE_REPLY, ARP_REFRESH_B_TO_A, ARP_REPLY, ARP_REQUEST, ARP_REQUEST_B_FOR_5, u8 } from "../helpers/vectors.js";

const IP_5 = parseIpv4("10.0.0.5");

class RecordingUpper implements NetifUpper {
  readonly input: { bytes: number[]; cast: LinkCastCode; nowMs: number }[] = [];
  readonly batches: number[] = [];
  readonly unreachable: { ip: number; dropped: number; atMs: number }[] = [];
  constructor(private readonly wire: Wire) {}
  ipv4Input(bytes: Uint8Array, offset: number, length: number, cast: LinkCastCode, nowMs: number): void {
    this.input.push({ bytes: [...bytes.subarray(offset, offset + length)], cast, nowMs });
  }
  endBatch(nowMs: number): void {
    this.batches.push(nowMs);
  }
  neighborUnreachable(ip: number, dropped: number): void {
    this.unreachable.push({ ip, dropped, atMs: this.wire.now });
  }
}

let wire: Wire;
let netif: Netif;
let upper: RecordingUpper;

/** Netif B (10.0.0.2/24) on a fresh wire, up, with its two announcements already taken off the wire. */
function start(neighbor: Partial<NeighborOptions> = {}, startMs = 0): void {
  wire = new Wire(startMs);
  netif = new Netif(wire.stackSide, { mac: MAC_B, ip: IP_B, netmask: MASK_24, gateway: 0, mtu: 1500 }, wire.scheduler, new Prng(1), neighbor);
  upper = new RecordingUpper(wire);
  netif.setUpper(upper);
  netif.up();
  wire.advance(2000);
  expect(wire.take()).toEqual([u8(ARP_ANNOUNCE_B), u8(ARP_ANNOUNCE_B)]);
}

/** An IPv4-carrying frame as IP output would hand it to sendIpv4: header space, then a marker payload. */
function ipFrame(marker: number): Uint8Array {
  const f = new Uint8Array(14 + 20);
  f[14] = 0x45;
  f[33] = marker;
  return f;
}

function arpFrame(dst: Uint8Array, src: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): Uint8Array {
  return ether(dst, src, EtherType.ARP, arp(op, sha, spa, tha, tpa));
}

afterEach(() => {
  netif.down();
  wire.peer.close();
  expect(wire.scheduler.armedLabels()).toEqual([]);
});

describe("ARP announcements (RFC 5227 §2.3)", () => {
  it("announces twice at up(), 2 s apart, with the exact scapy bytes", () => {
    wire = new Wire(500);
    netif = new Netif(wire.stackSide, { mac: MAC_B, ip: IP_B, netmask: MASK_24, gateway: 0, mtu: 1500 }, wire.scheduler, new Prng(1));
    netif.up();
    wire.advance(10_000);
    expect(wire.sent.map((c) => c.atMs)).toEqual([500, 2500]);
    expect(wire.take()).toEqual([u8(ARP_ANNOUNCE_B), u8(ARP_ANNOUNCE_B)]);
    expect(netif.stats.arpTxRequests).toBe(2);
  });

  it("announces nothing without an address, and announces a newly set one", () => {
    wire = new Wire(0);
    netif = new Netif(wire.stackSide, { mac: MAC_B, ip: 0, netmask: 0, gateway: 0, mtu: 1500 }, wire.scheduler, new Prng(1));
    netif.up();
    wire.advance(5000);
    expect(wire.take()).toEqual([]);
    netif.setAddress(IP_B, MASK_24, 0);
    wire.advance(5000);
    expect(wire.sent.map((c) => c.atMs)).toEqual([5000, 7000]);
    expect(wire.take()).toEqual([u8(ARP_ANNOUNCE_B), u8(ARP_ANNOUNCE_B)]);
  });
});

describe("ARP input (RFC 826)", () => {
  it("answers a request for our address with the exact reply and learns the requester", () => {
    start();
    wire.inject(u8(ARP_REQUEST));
    expect(wire.take()).toEqual([u8(ARP_REPLY)]);
    expect(netif.stats).toMatchObject({ arpRxRequests: 1, arpTxReplies: 1 });
    expect(netif.neighbors.list(wire.now)).toMatchObject([{ ip: IP_A, mac: MAC_A, state: "REACHABLE" }]);
  });

  it("answers a request padded to the Ethernet minimum", () => {
    start();
    wire.inject(u8([...ARP_REQUEST, ...new Array<number>(18).fill(0)]));
    expect(wire.take()).toEqual([u8(ARP_REPLY)]);
  });

  it("does not answer, nor learn from, a request for another address", () => {
    start();
    wire.inject(arpFrame(MAC_BCAST, MAC_A, ArpOp.REQUEST, MAC_A, IP_A, MAC_ZERO, IP_C));
    expect(wire.take()).toEqual([]);
    expect(netif.stats.arpIgnored).toBe(1);
    expect(netif.neighbors.size).toBe(0);
  });

  it("merges: an existing entry is updated by any ARP packet, even one not for us", () => {
    start();
    netif.neighbors.learn(IP_A, MAC_A, wire.now);
    wire.inject(arpFrame(MAC_BCAST, MAC_C, ArpOp.REQUEST, MAC_C, IP_A, MAC_ZERO, IP_C));
    expect(wire.take()).toEqual([]);
    expect(netif.neighbors.list(wire.now)).toMatchObject([{ ip: IP_A, mac: MAC_C }]);
    expect(netif.neighbors.stats.updated).toBe(1);
  });

  it("learns an unknown sender from a reply addressed to us", () => {
    start();
    wire.inject(arpFrame(MAC_B, MAC_A, ArpOp.REPLY, MAC_A, IP_A, MAC_B, IP_B));
    expect(wire.take()).toEqual([]);
    expect(netif.stats.arpRxReplies).toBe(1);
    expect(netif.neighbors.list(wire.now)).toMatchObject([{ ip: IP_A, mac: MAC_A }]);
  });

  it("does not learn from an ARP probe (sender 0.0.0.0, RFC 5227 §2.1.1) but answers it", () => {
    start();
    wire.inject(arpFrame(MAC_BCAST, MAC_A, ArpOp.REQUEST, MAC_A, 0, MAC_ZERO, IP_B));
    expect(netif.neighbors.size).toBe(0);
    // The reply tells the prober the address is taken; it goes to its MAC with target 0.0.0.0.
    expect(wire.take()).toEqual([u8(ARP_PROBE_REPLY)]);
  });

  it("counts an address conflict (another MAC claims our address) and neither learns nor answers", () => {
    start();
    wire.inject(arpFrame(MAC_BCAST, MAC_C, ArpOp.REQUEST, MAC_C, IP_B, MAC_ZERO, IP_B));
    wire.inject(arpFrame(MAC_BCAST, MAC_C, ArpOp.REQUEST, MAC_C, IP_B, MAC_ZERO, IP_A));
    expect(netif.stats.arpConflicts).toBe(2);
    expect(netif.neighbors.size).toBe(0);
    expect(wire.take()).toEqual([]);
  });

  it("neither learns nor answers a sender no neighbour can be: loopback, 0/8, group or broadcast addresses", () => {
    start();
    const groupMac = Uint8Array.from([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
    const senders: [Uint8Array, number][] = [
      [MAC_A, parseIpv4("127.0.0.1")],
      [MAC_A, parseIpv4("0.0.0.9")],
      [MAC_A, parseIpv4("224.0.0.5")],
      [MAC_A, 0xffffffff],
      [MAC_A, parseIpv4("10.0.0.255")],
      [groupMac, IP_A],
      [MAC_BCAST, IP_A],
    ];
    for (const [mac, ip] of senders) wire.inject(arpFrame(MAC_BCAST, MAC_A, ArpOp.REQUEST, mac, ip, MAC_ZERO, IP_B));
    expect(netif.stats.arpDropBadSender).toBe(senders.length);
    expect(netif.neighbors.size).toBe(0);
    expect(wire.take()).toEqual([]);
    // An ordinary request still gets its answer.
    wire.inject(arpFrame(MAC_BCAST, MAC_A, ArpOp.REQUEST, MAC_A, IP_A, MAC_ZERO, IP_B));
    expect(wire.take()).toHaveLength(1);
    expect(netif.neighbors.size).toBe(1);
  });

  it("counts other opcodes, merging their sender but never answering (RFC 826 merges before the opcode)", () => {
    start();
    netif.neighbors.learn(IP_A, MAC_C, wire.now);
    wire.inject(arpFrame(MAC_B, MAC_A, 8 /* InARP request */, MAC_A, IP_A, MAC_ZERO, IP_B));
    wire.inject(arpFrame(MAC_BCAST, MAC_A, 0, MAC_A, parseIpv4("10.0.0.8"), MAC_ZERO, IP_B));
    expect(netif.stats.arpRxOtherOps).toBe(2);
    expect(netif.stats.arpTxReplies).toBe(0);
    expect(wire.take()).toEqual([]);
    expect(netif.neighbors.list(wire.now).map((n) => [n.ip, n.mac && [...n.mac]])).toEqual([
      [IP_A, [...MAC_A]],
      [parseIpv4("10.0.0.8"), [...MAC_A]],
    ]);
  });

  it("shows every valid ARP packet to its conflict detection first (eth/acd: probes and our address)", () => {
    start();
    const conflicts: [number, number][] = [];
    netif.acd.addConflictListener((ip) => conflicts.push([ip, wire.now]));
    const probeConflicts: number[] = [];
    // A PROBE_WAIT long enough that no probe goes out during the test.
    const timing = { probeWaitMs: 600_000, probeCount: 3, probeMinMs: 1000, probeMaxMs: 2000, announceWaitMs: 2000 };
    netif.acd.probe(IP_C, { probeSent: () => {}, free: () => {}, conflict: (now) => probeConflicts.push(now) }, timing);
    // A request for our address, answered as usual, concerns neither.
    wire.inject(u8(ARP_REQUEST));
    expect(wire.take()).toEqual([u8(ARP_REPLY)]);
    // C uses the address we probe for: the netif ignores the packet (not for us), the probe ends in a conflict.
    wire.inject(arpFrame(MAC_BCAST, MAC_C, ArpOp.REQUEST, MAC_C, IP_C, MAC_ZERO, IP_A));
    expect(probeConflicts).toEqual([wire.now]);
    expect(netif.acd.probing).toBe(0);
    // C claims our address: the netif drops it, the conflict listener hears it.
    wire.inject(arpFrame(MAC_BCAST, MAC_C, ArpOp.REQUEST, MAC_C, IP_B, MAC_ZERO, IP_B));
    expect(conflicts).toEqual([[IP_B, wire.now]]);
    expect(netif.stats.arpConflicts).toBe(1);
    expect(wire.take()).toEqual([]);
  });

  it("counts truncated and unsupported ARP", () => {
    start();
    wire.inject(u8(ARP_REQUEST.slice(0, 14 + 27)));
    const ieee = arp(ArpOp.REQUEST, MAC_A, IP_A, MAC_ZERO, IP_B, { htype: 6 });
    wire.inject(ether(MAC_BCAST, MAC_A, EtherType.ARP, ieee));
    expect(netif.stats).toMatchObject({ arpDropTruncated: 1, arpDropUnsupported: 1, arpTxReplies: 0 });
    expect(wire.take()).toEqual([]);
  });
});

describe("resolution on output", () => {
  it("sends 3 requests 1 s apart, then drops the queued frames and reports the neighbour unreachable", () => {
    start();
    const t0 = wire.now;
    expect(netif.sendIpv4(ipFrame(1), 34, IP_5)).toBe(true);
    expect(netif.sendIpv4(ipFrame(2), 34, IP_5)).toBe(true);
    wire.advance(5000);
    expect(wire.sent.map((c) => c.atMs - t0)).toEqual([0, 1000, 2000]);
    expect(wire.take()).toEqual([u8(ARP_REQUEST_B_FOR_5), u8(ARP_REQUEST_B_FOR_5), u8(ARP_REQUEST_B_FOR_5)]);
    expect(upper.unreachable).toEqual([{ ip: IP_5, dropped: 2, atMs: t0 + 3000 }]);
    expect(netif.neighbors.stats).toMatchObject({ requestsSent: 3, resolveFailed: 1, pendingDropped: 2 });
  });

  it("sends the queued frames in order, with the resolved MAC, when the reply comes", () => {
    start();
    netif.sendIpv4(ipFrame(1), 34, IP_A);
    netif.sendIpv4(ipFrame(2), 34, IP_A);
    wire.advance(0);
    expect(wire.take()).toHaveLength(1); // the broadcast request
    wire.inject(arpFrame(MAC_B, MAC_A, ArpOp.REPLY, MAC_A, IP_A, MAC_B, IP_B));
    const out = wire.take();
    expect(out).toHaveLength(2);
    for (const [i, f] of out.entries()) {
      expect([...f.subarray(0, 14)]).toEqual([...MAC_A, ...MAC_B, 0x08, 0x00]);
      expect(f[33]).toBe(i + 1);
    }
    wire.advance(5000);
    expect(upper.unreachable).toEqual([]);
  });

  it("bounds the queue per neighbour and counts the overflow", () => {
    start({ maxPendingFrames: 2 });
    expect(netif.sendIpv4(ipFrame(1), 34, IP_A)).toBe(true);
    expect(netif.sendIpv4(ipFrame(2), 34, IP_A)).toBe(true);
    expect(netif.sendIpv4(ipFrame(3), 34, IP_A)).toBe(false);
    expect(netif.neighbors.stats.pendingDropped).toBe(1);
  });

  it("sends at once to a known neighbour, to broadcast and to multicast MACs", () => {
    start();
    netif.neighbors.learn(IP_A, MAC_A, wire.now);
    netif.sendIpv4(ipFrame(1), 34, IP_A);
    netif.sendIpv4(ipFrame(2), 34, 0xffffffff);
    netif.sendIpv4(ipFrame(3), 34, parseIpv4("10.0.0.255"));
    netif.sendIpv4(ipFrame(4), 34, parseIpv4("239.255.255.250"));
    wire.advance(0);
    expect(wire.take().map((f) => [...f.subarray(0, 6)])).toEqual([
      [...MAC_A],
      [...MAC_BCAST],
      [...MAC_BCAST],
      [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa],
    ]);
    expect(netif.stats.txFrames).toBe(2 + 4);
  });

  it("counts frames the device refuses", () => {
    start();
    netif.neighbors.learn(IP_A, MAC_A, wire.now);
    wire.peer.close();
    expect(netif.sendIpv4(ipFrame(1), 34, IP_A)).toBe(false);
    expect(netif.stats.txDeviceDrops).toBe(1);
  });
});

describe("ageing", () => {
  it("expires an entry after reachableMs; the next use resolves again", () => {
    start({ reachableMs: 10_000 });
    wire.inject(u8(ARP_REQUEST));
    wire.take();
    wire.advance(10_000);
    expect(netif.neighbors.size).toBe(0);
    expect(netif.neighbors.stats.expired).toBe(1);
    netif.sendIpv4(ipFrame(1), 34, IP_A);
    wire.advance(0);
    const out = wire.take();
    expect(out).toHaveLength(1);
    expect([...(out[0] as Uint8Array).subarray(0, 6)]).toEqual([...MAC_BCAST]);
  });

  it("refreshes a used entry with a unicast request before it expires, and keeps it", () => {
    start({ reachableMs: 10_000, refreshBeforeMs: 2000 });
    wire.inject(u8(ARP_REQUEST));
    wire.take();
    wire.advance(8500);
    netif.sendIpv4(ipFrame(1), 34, IP_A);
    wire.advance(0);
    const out = wire.take();
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(u8(ARP_REFRESH_B_TO_A));
    expect(out[1]?.[33]).toBe(1);
    // A answers; the entry lives on past its first expiry.
    wire.inject(arpFrame(MAC_B, MAC_A, ArpOp.REPLY, MAC_A, IP_A, MAC_B, IP_B));
    wire.advance(5000);
    expect(netif.neighbors.list(wire.now)).toMatchObject([{ ip: IP_A, state: "REACHABLE" }]);
  });
});

describe("Ethernet input", () => {
  function ipv4To(dst: Uint8Array): Uint8Array {
    return ether(dst, MAC_A, EtherType.IPV4, new Uint8Array(20));
  }

  it("hands IPv4 to the upper layer with its link-layer cast and the batch time", () => {
    start();
    netif.joinMulticast(parseIpv4("239.1.2.3"));
    const t = wire.now;
    wire.inject(ipv4To(MAC_B));
    wire.inject(ipv4To(MAC_BCAST));
    wire.inject(ipv4To(u8([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])));
    expect(upper.input.map((i) => [i.cast, i.bytes.length, i.nowMs])).toEqual([
      [LinkCast.UNICAST, 20, t],
      [LinkCast.BROADCAST, 20, t],
      [LinkCast.MULTICAST, 20, t],
    ]);
    expect(upper.batches).toEqual([t, t, t]);
  });

  it("counts frames not for our MAC: other unicast, unjoined multicast, non-IPv4 group", () => {
    start();
    wire.inject(ipv4To(MAC_C));
    wire.inject(ipv4To(u8([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])));
    wire.inject(ipv4To(u8([0x33, 0x33, 0x00, 0x00, 0x00, 0x01])));
    wire.inject(ipv4To(u8([0x01, 0x00, 0x5e, 0x80, 0x00, 0x01]))); // bit 24 set: outside the IPv4 block
    expect(netif.stats.dropNotForUs).toBe(4);
    expect(upper.input).toEqual([]);
  });

  it("accepts all-hosts (01:00:5e:00:00:01) without joining, and stops accepting a group after the last leave", () => {
    start();
    const group = parseIpv4("239.1.2.3");
    const mac = u8([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    wire.inject(ipv4To(u8([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])));
    netif.joinMulticast(group);
    netif.joinMulticast(group);
    netif.leaveMulticast(group);
    wire.inject(ipv4To(mac));
    netif.leaveMulticast(group);
    wire.inject(ipv4To(mac));
    expect(upper.input).toHaveLength(2);
    expect(netif.stats.dropNotForUs).toBe(1);
  });

  it("counts truncated frames and unknown EtherTypes", () => {
    start();
    wire.inject(u8([...MAC_B, ...MAC_A, 0x08]));
    wire.inject(new Uint8Array(0));
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV6, new Uint8Array(40)));
    expect(netif.stats).toMatchObject({ dropTruncated: 2, dropUnknownType: 1, rxFrames: 3 + 0 });
  });
});

describe("address changes", () => {
  it("tells every address listener after the address, mask or gateway changed, and only then", () => {
    start();
    const heard: [number, number, number][] = [];
    const removedHeard: number[] = [];
    const removed = (ip: number): void => void removedHeard.push(ip);
    netif.addAddressListener((ip, mask, gw) => heard.push([ip, mask, gw]));
    netif.addAddressListener(removed);
    netif.removeAddressListener(removed);
    netif.setAddress(IP_B, MASK_24, 0);
    netif.setAddress(IP_B, 0xffff0000, 0);
    netif.setAddress(IP_B, 0xffff0000, IP_A);
    netif.setAddress(IP_C, 0xffff0000, IP_A);
    netif.setAddress(0, 0, 0);
    expect(heard).toEqual([
      [IP_B, 0xffff0000, 0],
      [IP_B, 0xffff0000, IP_A],
      [IP_C, 0xffff0000, IP_A],
      [0, 0, 0],
    ]);
    expect(removedHeard).toEqual([]);
    // Only the new address was announced (once, before it was cleared).
    wire.advance(5000);
    expect(wire.take()).toEqual([arpFrame(MAC_BCAST, MAC_B, ArpOp.REQUEST, MAC_B, IP_C, MAC_ZERO, IP_C)]);
  });
});

describe("configuration", () => {
  it("computes on-link and the directed broadcast", () => {
    start();
    expect(netif.isOnLink(IP_A)).toBe(true);
    expect(netif.isOnLink(parseIpv4("10.0.1.1"))).toBe(false);
    expect(netif.directedBroadcast).toBe(parseIpv4("10.0.0.255"));
  });

  it("forgets neighbours when the address changes (pending resolution included; afterEach checks no timer is left)", () => {
    start();
    netif.neighbors.learn(IP_A, MAC_A, wire.now);
    netif.sendIpv4(ipFrame(1), 34, IP_C);
    netif.setAddress(parseIpv4("10.0.0.9"), MASK_24, 0);
    expect(netif.neighbors.size).toBe(0);
    wire.advance(10_000);
    expect(upper.unreachable).toEqual([]);
  });
});
