// IGMP host side (src/ip/igmp.ts: RFC 2236 v2, v3 queries answered as RFC 3376 §7 asks, v1 fallback per
// RFC 2236 §4). First the test plays the querier on a raw Wire (simulated clock, random delays pinned):
// byte-exact reports and leaves, the join's repeated report, delayed answers to queries, suppression, the
// query versions, reference-counted joins and malformed input. Then two stacks over a MemLink: multicast
// UDP from A reaches B only while B is joined, with TTL 1.

import { afterEach, describe, expect, it } from "vitest";
import { Err } from "../../src/core/errors.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { IpProto } from "../../src/ip/ipv4.js";
import { V1_ROUTER_PRESENT_TIMEOUT_MS, decodeV3MaxRespCode } from "../../src/ip/igmp.js";
import type { Stack } from "../../src/stack/stack.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import type { RawPcb } from "../../src/ip/raw.js";
import { IP_A, IP_C, MAC_A, MAC_C, Wire, ether, ipv4, stackOn } from "../helpers/wire.js";
import { FixedRandom } from "../helpers/random.js";
import { A_IP, B_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";

/** Joins hex fields into bytes. */
function hex(...fields: string[]): Uint8Array {
  const text = fields.join("").replace(/\s+/g, "");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const GROUP = parseIpv4("239.1.2.3");
const OTHER_GROUP = parseIpv4("239.1.2.4");
const ALL_SYSTEMS = parseIpv4("224.0.0.1");
const MAC_ALL_SYSTEMS = hex("01005e000001");
const MAC_GROUP = hex("01005e010203");

// ---- Vectors, cross-checked with scapy 2.5.0 (`from scapy.contrib.igmp import IGMP`,
// `from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mq`): bytes(…).hex(). B = 02:00:00:00:00:02 / 10.0.0.2.
// The stack's first IP ID is 0x8000 (its FixedRandom draws 0.5 while the stack is built). ----

// Ether(dst="01:00:5e:01:02:03", src=B)/IP(src="10.0.0.2", dst="239.1.2.3", ttl=1, tos=0xc0, flags="DF",
//   id=0x8000)/IGMP(type=0x16, mrcode=0, gaddr="239.1.2.3")
const REPORT_FRAME = hex(
  "01005e010203", // Ethernet destination: the group's MAC (RFC 1112 §6.4: 01:00:5e + low 23 bits)
  "020000000002", // Ethernet source: B
  "0800", // EtherType IPv4
  "45", // version 4, IHL 5: no Router Alert option (see src/ip/igmp.ts)
  "c0", // TOS 0xc0, internetwork control, as Linux sends IGMP
  "001c", // total length 28
  "8000", // identification
  "4000", // DF, offset 0
  "01", // TTL 1 (RFC 2236 §2)
  "02", // protocol IGMP
  "fe19", // header checksum
  "0a000002", // source 10.0.0.2
  "ef010203", // destination: the group
  "16", // type: v2 Membership Report
  "00", // max resp time: 0 in reports
  "f8fa", // checksum
  "ef010203", // group address 239.1.2.3
);

// Ether(dst="01:00:5e:00:00:02", src=B)/IP(src="10.0.0.2", dst="224.0.0.2", ttl=1, tos=0xc0, flags="DF",
//   id=0x8002)/IGMP(type=0x17, mrcode=0, gaddr="239.1.2.3")
const LEAVE_FRAME = hex(
  "01005e000002", // Ethernet destination: all-routers' MAC
  "020000000002", // Ethernet source: B
  "0800", // EtherType IPv4
  "45c0001c", // version/IHL, TOS 0xc0, total length 28
  "8002", // identification (third datagram: after the join's two reports)
  "4000", // DF
  "0102", // TTL 1, protocol IGMP
  "0f1a", // header checksum
  "0a000002", // source 10.0.0.2
  "e0000002", // destination 224.0.0.2, all routers (RFC 2236 §3)
  "17", // type: Leave Group
  "00", // max resp time 0
  "f7fa", // checksum
  "ef010203", // group address
);

// IGMP(type=0x11, mrcode=100, gaddr="0.0.0.0"): v2 General Query, Max Resp Time 10 s.
const GENERAL_QUERY_10S = hex("11", "64", "ee9b", "00000000");
// IGMP(type=0x11, mrcode=20, gaddr="239.1.2.3"): v2 Group-Specific Query, 2 s.
const GROUP_QUERY_2S = hex("11", "14", "fde6", "ef010203");
// IGMP(type=0x11, mrcode=0, gaddr="0.0.0.0"): a v1 query (8 bytes, max resp 0; RFC 2236 §4: 10 s).
const V1_QUERY = hex("11", "00", "eeff", "00000000");
// IGMP(type=0x16, mrcode=0, gaddr="239.1.2.3"): another host's v2 report.
const V2_REPORT = hex("16", "00", "f8fa", "ef010203");
// IGMP(type=0x12, mrcode=0, gaddr="239.1.2.3"): a v1 report.
const V1_REPORT = hex("12", "00", "fcfa", "ef010203");
// IGMPv3(type=0x11, mrcode=100)/IGMPv3mq(gaddr="0.0.0.0", qrv=2, qqic=125): v3 General Query, 12 bytes.
const V3_GENERAL_QUERY = hex("11", "64", "ec1e", "00000000", "02", "7d", "0000");
// IGMPv3(type=0x11, mrcode=0x8a)/IGMPv3mq(gaddr="239.1.2.3", qrv=2, qqic=125, srcaddrs=["10.0.0.1"]):
// a v3 group-and-source query; Max Resp Code 0x8a = (0x1a << 3) tenths = 20.8 s (RFC 3376 §4.1.1).
const V3_SOURCE_QUERY = hex("11", "8a", "f0f1", "ef010203", "02", "7d", "0001", "0a000001");

// ---- the querier on a Wire ----

let wire: Wire | null = null;
let stack: Stack | null = null;
let net: TwoStacks | null = null;
const udpOpened: { s: Stack; pcb: UdpPcb }[] = [];
const rawOpened: { s: Stack; pcb: RawPcb }[] = [];

afterEach(() => {
  if (wire !== null && stack !== null) {
    stack.stop();
    wire.peer.close();
    expect(wire.scheduler.armedLabels()).toEqual([]);
  }
  for (const { s, pcb } of udpOpened.splice(0)) s.udp.close(pcb);
  for (const { s, pcb } of rawOpened.splice(0)) s.raw.close(pcb);
  if (net !== null) {
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  wire = null;
  stack = null;
  net = null;
});

/**
 * Stack B on a fresh Wire, its entropy a FixedRandom: 0.5 while the stack is built (first IP ID 0x8000), then
 * `random`, the fraction of Max Resp Time its report delays take; tests move it through `entropy.value`.
 */
function start(random = 0.5): { w: Wire; s: Stack; entropy: FixedRandom } {
  const w = new Wire();
  const entropy = new FixedRandom(0.5);
  const s = stackOn(w, { random: entropy });
  entropy.value = random;
  wire = w;
  stack = s;
  return { w, s, entropy };
}

/** An IGMP message from `src` (A unless told) to `dst`, on the wire to B. */
function igmpFrame(message: Uint8Array, dst = ALL_SYSTEMS, dstMac = MAC_ALL_SYSTEMS, src = IP_A, srcMac = MAC_A): Uint8Array {
  return ether(dstMac, srcMac, EtherType.IPV4, ipv4({ src, dst, protocol: IpProto.IGMP, ttl: 1, payload: message }));
}

/** The IGMP messages in frames sent so far (type, group, IP destination), clearing the list. */
function sentIgmp(w: Wire): { type: number; group: string; dst: string; ttl: number }[] {
  const fmt = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  // Frames reach the far end through the MemLink's delivery deadline: run it for 0 ms first.
  w.advance(0);
  return w
    .take()
    .filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === IpProto.IGMP)
    .map((f) => ({ type: f[34] ?? -1, group: fmt(f, 38), dst: fmt(f, 30), ttl: f[22] ?? -1 }));
}

const REPORT = { type: 0x16, group: "239.1.2.3", dst: "239.1.2.3", ttl: 1 };
const V1_REPORT_SENT = { type: 0x12, group: "239.1.2.3", dst: "239.1.2.3", ttl: 1 };

describe("join and leave (RFC 2236 §3)", () => {
  it("join sends a v2 report at once, byte for byte, and repeats it once after a random delay ≤ 10 s", () => {
    const { w, s } = start(0.5);
    expect(s.igmp.join(GROUP)).toBe(Err.OK);
    w.advance(0);
    expect(w.take()).toEqual([REPORT_FRAME]);
    expect(s.ip.isMemberOf(GROUP)).toBe(true);
    // random 0.5 of [0, 10 000] ms.
    w.advance(4999);
    expect(sentIgmp(w)).toEqual([]);
    w.advance(1);
    expect(sentIgmp(w)).toEqual([REPORT]);
    w.advance(120_000);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.igmp.stats.txReports).toBe(2);
  });

  it("leave sends Leave Group to 224.0.0.2, byte for byte, and stops accepting the group", () => {
    const { w, s } = start();
    s.igmp.join(GROUP);
    w.advance(20_000);
    w.take();
    expect(s.igmp.leave(GROUP)).toBe(Err.OK);
    w.advance(0);
    expect(w.take()).toEqual([LEAVE_FRAME]);
    expect(s.ip.isMemberOf(GROUP)).toBe(false);
    expect(s.igmp.stats.txLeaves).toBe(1);
    expect(s.igmp.joinedGroups()).toEqual([]);
  });

  it("a leave before the repeat cancels it", () => {
    const { w, s } = start();
    s.igmp.join(GROUP);
    s.igmp.leave(GROUP);
    expect(sentIgmp(w)).toEqual([REPORT, { type: 0x17, group: "239.1.2.3", dst: "224.0.0.2", ttl: 1 }]);
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([]);
  });

  it("counts joins: the second join sends nothing, the group stays until the last leave", () => {
    const { w, s } = start();
    expect(s.igmp.join(GROUP)).toBe(Err.OK);
    expect(s.igmp.join(GROUP)).toBe(Err.OK);
    expect(s.igmp.refsOf(GROUP)).toBe(2);
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([REPORT, REPORT]);
    expect(s.igmp.leave(GROUP)).toBe(Err.OK);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.ip.isMemberOf(GROUP)).toBe(true);
    expect(s.igmp.leave(GROUP)).toBe(Err.OK);
    expect(sentIgmp(w)).toHaveLength(1);
    expect(s.ip.isMemberOf(GROUP)).toBe(false);
    expect(s.igmp.leave(GROUP)).toBe(Err.VAL);
  });

  it("refuses a non-multicast group", () => {
    const { s } = start();
    expect(s.igmp.join(parseIpv4("10.0.0.9"))).toBe(Err.VAL);
    expect(s.igmp.join(0xffffffff)).toBe(Err.VAL);
  });

  it("never reports 224.0.0.1, the all-systems group (RFC 2236 §6)", () => {
    const { w, s } = start();
    expect(s.igmp.join(ALL_SYSTEMS)).toBe(Err.OK);
    w.inject(igmpFrame(GENERAL_QUERY_10S));
    w.advance(20_000);
    expect(s.igmp.leave(ALL_SYSTEMS)).toBe(Err.OK);
    expect(sentIgmp(w)).toEqual([]);
    // Still a member: every host always is (RFC 1112 §4).
    expect(s.ip.isMemberOf(ALL_SYSTEMS)).toBe(true);
  });
});

describe("queries (RFC 2236 §3)", () => {
  /** Stack B joined to GROUP with the join's reports already sent; the random delay fraction is `r`. */
  function joined(r: number): { w: Wire; s: Stack; entropy: FixedRandom } {
    const env = start(0.5);
    env.s.igmp.join(GROUP);
    env.w.advance(20_000);
    env.w.take();
    env.entropy.value = r;
    return env;
  }

  it("answers a General Query after a random delay in [0, Max Resp Time]", () => {
    const { w, s } = joined(0.25);
    w.inject(igmpFrame(GENERAL_QUERY_10S));
    // 0.25 of [0, 10 000] ms → 2500 ms.
    w.advance(2499);
    expect(sentIgmp(w)).toEqual([]);
    w.advance(1);
    expect(sentIgmp(w)).toEqual([REPORT]);
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.igmp.stats.rxQueries).toBe(1);
  });

  it("answers a Group-Specific Query for our group only", () => {
    const { w, s } = joined(0.999);
    w.inject(igmpFrame(GROUP_QUERY_2S, GROUP, MAC_GROUP));
    w.advance(2000);
    expect(sentIgmp(w)).toEqual([REPORT]);
    // A query for a group we are not in (sent to all-systems here so that we hear it) gets nothing.
    const otherQuery = GROUP_QUERY_2S.slice();
    otherQuery[7] = 4; // 239.1.2.4
    otherQuery[3] = (otherQuery[3] ?? 0) - 1; // checksum: the group's last byte went up by one
    w.inject(igmpFrame(otherQuery));
    w.advance(5000);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.igmp.stats.dropBadChecksum).toBe(0);
    expect(s.igmp.stats.rxQueries).toBe(2);
  });

  it("keeps a running timer that is already sooner, and shortens one that is later", () => {
    const { w, entropy } = joined(0.5);
    w.inject(igmpFrame(GENERAL_QUERY_10S)); // timer at +5000
    w.advance(1000);
    entropy.value = 0;
    w.inject(igmpFrame(GENERAL_QUERY_10S)); // 4000 left < 10 000: kept
    w.advance(3999);
    expect(sentIgmp(w)).toEqual([]);
    w.advance(1);
    expect(sentIgmp(w)).toEqual([REPORT]);
    entropy.value = 0.5;
    w.inject(igmpFrame(GENERAL_QUERY_10S)); // timer at +5000
    w.advance(100);
    w.inject(igmpFrame(GROUP_QUERY_2S, GROUP, MAC_GROUP)); // 4900 left > 2000: reset to 0.5 × 2000
    w.advance(1000);
    expect(sentIgmp(w)).toEqual([REPORT]);
    w.advance(10_000);
    expect(sentIgmp(w)).toEqual([]);
  });

  it("suppresses its report when another host reports the group first (v2 and v1 reports)", () => {
    const { w, s } = joined(0.5);
    w.inject(igmpFrame(GENERAL_QUERY_10S));
    w.advance(1000);
    w.inject(igmpFrame(V2_REPORT, GROUP, MAC_GROUP, IP_C, MAC_C));
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([]);
    w.inject(igmpFrame(GENERAL_QUERY_10S));
    w.inject(igmpFrame(V1_REPORT, GROUP, MAC_GROUP, IP_C, MAC_C));
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.igmp.stats.reportsSuppressed).toBe(2);
    // Not the last reporter any more: RFC 2236 §3 lets the leave be skipped, and we skip it.
    s.igmp.leave(GROUP);
    expect(sentIgmp(w)).toEqual([]);
  });

  it("answers a v3 General Query (12 bytes) with a v2 report (RFC 3376 §7.2.1)", () => {
    const { w, s } = joined(0.5);
    w.inject(igmpFrame(V3_GENERAL_QUERY));
    w.advance(5000);
    expect(sentIgmp(w)).toEqual([REPORT]);
    expect(s.igmp.stats.rxV3Queries).toBe(1);
  });

  it("treats a v3 group-and-source query as a group query, decoding its Max Resp Code (RFC 3376 §4.1.1)", () => {
    const { w } = joined(0.5);
    expect(decodeV3MaxRespCode(0x8a)).toBe(208);
    expect(decodeV3MaxRespCode(0x7f)).toBe(127);
    expect(decodeV3MaxRespCode(0xff)).toBe(31744);
    w.inject(igmpFrame(V3_SOURCE_QUERY, GROUP, MAC_GROUP));
    // 0.5 of [0, 20 800] ms.
    w.advance(10_399);
    expect(sentIgmp(w)).toEqual([]);
    w.advance(1);
    expect(sentIgmp(w)).toEqual([REPORT]);
  });

  it("answers a v1 query with v1 reports within 10 s and sends no leave while a v1 querier is present (RFC 2236 §4)", () => {
    const { w, s } = joined(0.999);
    w.inject(igmpFrame(V1_QUERY));
    w.advance(10_000);
    expect(sentIgmp(w)).toEqual([V1_REPORT_SENT]);
    expect(s.igmp.stats.rxV1Queries).toBe(1);
    s.igmp.leave(GROUP);
    expect(sentIgmp(w)).toEqual([]);
    // After the Version 1 Router Present Timeout, v2 again.
    w.advance(V1_ROUTER_PRESENT_TIMEOUT_MS);
    s.igmp.join(GROUP);
    expect(sentIgmp(w)).toEqual([REPORT]);
  });
});

describe("malformed input", () => {
  it("counts a bad checksum and a short message, ignores odd query lengths and router-only types", () => {
    const { w, s } = start();
    s.igmp.join(GROUP);
    w.advance(20_000);
    w.take();
    const bad = GENERAL_QUERY_10S.slice();
    bad[2] = (bad[2] ?? 0) ^ 0x01;
    w.inject(igmpFrame(bad));
    w.inject(igmpFrame(GENERAL_QUERY_10S.subarray(0, 7)));
    // A 10-byte query is neither v2 nor v3: RFC 3376 §7.1 says ignore it. Its checksum is right.
    const ten = new Uint8Array(10);
    ten.set(GENERAL_QUERY_10S);
    w.inject(igmpFrame(ten));
    // A Leave Group from another host is for routers.
    w.inject(igmpFrame(hex("17", "00", "f7fa", "ef010203"), parseIpv4("224.0.0.2"), hex("01005e000002")));
    w.advance(20_000);
    expect(sentIgmp(w)).toEqual([]);
    expect(s.igmp.stats).toMatchObject({ dropBadChecksum: 1, dropTruncated: 1, dropBadQueryLength: 1 });
    // 224.0.0.2 is not joined: the IP layer dropped the leave before IGMP saw it.
    expect(s.igmp.stats.rxIgnored).toBe(0);
    // IGMP is a known protocol now: no protocol unreachable for any of it.
    expect(s.icmp.stats.txUnreachable).toBe(0);
  });
});

describe("multicast UDP between two stacks", () => {
  function udpOn(s: Stack, port: number, localIp = 0): UdpPcb {
    const pcb = s.udp.open();
    udpOpened.push({ s, pcb });
    pcb.reuseAddress = true;
    expect(s.udp.bind(pcb, localIp, port)).toBe(Err.OK);
    return pcb;
  }

  function sendText(s: Stack, pcb: UdpPcb, text: string, dst: number, port: number): void {
    const d = new TextEncoder().encode(text);
    expect(s.udp.sendTo(pcb, d, 0, d.length, dst, port)).toBe(Err.OK);
  }

  function drain(s: Stack, pcb: UdpPcb): string[] {
    const out: string[] = [];
    const buf = new Uint8Array(2048);
    for (let n = s.udp.receive(pcb, buf, 0, buf.length); n >= 0; n = s.udp.receive(pcb, buf, 0, buf.length)) {
      out.push(new TextDecoder().decode(buf.subarray(0, n)));
    }
    return out;
  }

  it("reaches B only while B is joined, with TTL 1 and the group's Ethernet address", () => {
    net = twoStacks();
    const { a, b, scheduler } = net;
    const rx = udpOn(b, 5000);
    const tap = b.raw.open(IpProto.UDP);
    rawOpened.push({ s: b, pcb: tap });
    const tx = udpOn(a, 6000);
    const arpBefore = a.netif.stats.arpTxRequests;
    sendText(a, tx, "before join", GROUP, 5000);
    scheduler.advance(10);
    expect(drain(b, rx)).toEqual([]);
    expect(b.netif.stats.dropNotForUs).toBeGreaterThan(0);

    expect(b.igmp.join(GROUP)).toBe(Err.OK);
    sendText(a, tx, "while joined", GROUP, 5000);
    scheduler.advance(10);
    expect(drain(b, rx)).toEqual(["while joined"]);
    // The whole datagram as a raw PCB sees it: TTL 1 (RFC 1112 §6.1 default), to the group.
    const buf = new Uint8Array(100);
    expect(b.raw.receive(tap, buf, 0, buf.length)).toBe(20 + 8 + 12);
    expect(buf[8]).toBe(1);
    expect([...buf.subarray(16, 20)]).toEqual([239, 1, 2, 3]);
    // No ARP for a multicast destination: the MAC is derived from the group (RFC 1112 §6.4).
    expect(a.netif.stats.arpTxRequests - arpBefore).toBe(0);

    expect(b.igmp.leave(GROUP)).toBe(Err.OK);
    sendText(a, tx, "after leave", GROUP, 5000);
    scheduler.advance(10);
    expect(drain(b, rx)).toEqual([]);
    // B's report and leave went to groups A is not in: A's netif dropped them, A's IGMP saw nothing.
    expect(a.igmp.stats.rxMessages).toBe(0);
  });

  it("a PCB bound to a group hears that group only — not other groups, not unicast to the port", () => {
    net = twoStacks();
    const { a, b, scheduler } = net;
    b.igmp.join(GROUP);
    b.igmp.join(OTHER_GROUP);
    const onGroup = udpOn(b, 5000, GROUP);
    const wildcard = udpOn(b, 5000);
    const tx = udpOn(a, 6000);
    sendText(a, tx, "to group", GROUP, 5000);
    sendText(a, tx, "to other group", OTHER_GROUP, 5000);
    sendText(a, tx, "unicast", B_IP, 5000);
    scheduler.advance(10);
    expect(drain(b, onGroup)).toEqual(["to group"]);
    expect(drain(b, wildcard)).toEqual(["to group", "to other group", "unicast"]);
    b.igmp.leave(GROUP);
    b.igmp.leave(OTHER_GROUP);
  });

  it("two joins on one stack (two sockets): the group stays until both leave", () => {
    net = twoStacks();
    const { a, b, scheduler } = net;
    const rx = udpOn(b, 5000);
    const tx = udpOn(a, 6000);
    b.igmp.join(GROUP);
    b.igmp.join(GROUP);
    b.igmp.leave(GROUP);
    sendText(a, tx, "one left", GROUP, 5000);
    scheduler.advance(10);
    expect(drain(b, rx)).toEqual(["one left"]);
    b.igmp.leave(GROUP);
    sendText(a, tx, "none left", GROUP, 5000);
    scheduler.advance(10);
    expect(drain(b, rx)).toEqual([]);
    expect(A_IP).not.toBe(B_IP);
  });
});
