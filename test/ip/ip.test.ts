// The IPv4 layer in a stack over a MemLink, the test playing the peer: every input drop reason counted,
// acceptance by destination (unicast, directed and limited broadcast, joined multicast — RFC 1122 §3.2.1.3,
// §3.3.6), ICMP protocol unreachable for unknown protocols, option lists that do not parse (RFC 791 §3.1:
// dropped, counted, ICMP parameter problem as Linux sends it), and output: routing, loopback, fragmentation
// checked frame by frame (RFC 791 §3.2) and DF. Expected frames are scapy vectors (test/helpers/vectors.ts).

import { afterEach, describe, expect, it } from "vitest";
import { Err } from "../../src/core/errors.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { LinkCast } from "../../src/eth/netif.js";
import { IpCast, MAX_PAYLOAD, PAYLOAD_OFFSET, type IpProtocolHandler, type IpRx } from "../../src/ip/ip.js";
import { IpFlag, Ipv4View } from "../../src/ip/ipv4.js";
import type { Stack, StackConfig } from "../../src/stack/stack.js";
import { IP_A, IP_B, MAC_A, MAC_B, MAC_BCAST, MASK_24, Wire, arp, ether, icmp, ipv4, stackOn, type Ipv4Spec } from "../helpers/wire.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { ALL_OFFLOADS, FrameOffload, VnetFlag, VnetGso } from "../../src/link/offload.js";
import { ECHO_FRAGMENTS, PROTOCOL_UNREACHABLE, PROTO_253_DATAGRAM, u8 } from "../helpers/vectors.js";

const PROTO_TEST = 200;

class RecordingHandler implements IpProtocolHandler {
  readonly rx: { src: number; dst: number; cast: number; ttl: number; payload: number[]; totalLength: number; wasReassembled: boolean }[] = [];
  /** What the link said of each datagram: [isChecksumTrusted, gsoSize]. */
  readonly offloads: [boolean, number][] = [];
  readonly unreachableIps: number[] = [];
  readonly batches: number[] = [];
  input(rx: IpRx): void {
    this.rx.push({
      src: rx.src,
      dst: rx.dst,
      cast: rx.cast,
      ttl: rx.ttl,
      payload: [...rx.bytes.subarray(rx.payloadOffset, rx.payloadOffset + rx.payloadLength)],
      totalLength: rx.totalLength,
      wasReassembled: rx.wasReassembled,
    });
    this.offloads.push([rx.isChecksumTrusted, rx.gsoSize]);
  }
  unreachable(ip: number): void {
    this.unreachableIps.push(ip);
  }
  endBatch(nowMs: number): void {
    this.batches.push(nowMs);
  }
}

let wire: Wire;
let stack: Stack;
let handler: RecordingHandler;

function start(config: Partial<StackConfig> = {}, w: Wire = new Wire()): void {
  wire = w;
  stack = stackOn(wire, config);
  handler = new RecordingHandler();
  stack.ip.register(PROTO_TEST, handler);
}

afterEach(() => {
  stack.stop();
  wire.peer.close();
  expect(wire.scheduler.armedLabels()).toEqual([]);
});

/** An IPv4 frame from A to our MAC (or `dstMac`) carrying `spec`. */
function frameOf(spec: Partial<Ipv4Spec>, dstMac: Uint8Array = MAC_B): Uint8Array {
  return ether(dstMac, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: PROTO_TEST, payload: Uint8Array.from([1, 2, 3, 4]), ...spec }));
}

describe("input drop reasons", () => {
  it.each([
    ["dropTruncated", ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: 1, payload: new Uint8Array(0) }).subarray(0, 19))],
    ["dropBadVersion", frameOf({ versionIhl: 0x65 })],
    ["dropBadHeaderLength", frameOf({ versionIhl: 0x44 })],
    ["dropBadHeaderLength", frameOf({ versionIhl: 0x4f })],
    ["dropBadTotalLength", frameOf({ totalLength: 19 })],
    ["dropBadTotalLength", frameOf({ totalLength: 25 })],
    ["dropBadChecksum", frameOf({ checksum: 0x1234 })],
    ["dropBadSource", frameOf({ src: 0xffffffff })],
    ["dropBadSource", frameOf({ src: parseIpv4("224.0.0.1") })],
    ["dropBadSource", frameOf({ src: parseIpv4("10.0.0.255") })],
    // RFC 1122 §3.2.1.3: loopback, "this network" and our own address never arrive from the wire.
    ["dropBadSource", frameOf({ src: parseIpv4("127.0.0.1") })],
    ["dropBadSource", frameOf({ src: parseIpv4("0.1.2.3") })],
    ["dropBadSource", frameOf({ src: 0 })],
    ["dropBadSource", frameOf({ src: IP_B })],
    ["dropNotForUs", frameOf({ dst: parseIpv4("10.0.0.7") })],
    ["dropNotForUs", frameOf({ dst: parseIpv4("10.0.1.255") }, MAC_BCAST)],
    ["dropNotForUs", frameOf({ dst: parseIpv4("239.1.2.3") }, MAC_BCAST)],
    ["dropUnknownProtocol", frameOf({ protocol: 253 })],
  ] as const)("counts %s", (counter, frame) => {
    start();
    wire.inject(frame);
    expect(stack.ip.stats.rxPackets).toBe(1);
    const nonZeroDrops = Object.entries(stack.ip.stats).filter(([k, v]) => k.startsWith("drop") && v !== 0);
    expect(nonZeroDrops).toEqual([[counter, 1]]);
    expect(handler.rx).toEqual([]);
  });

  it("ipv4Input can be driven directly, at any offset", () => {
    start();
    const datagram = ipv4({ src: IP_A, dst: IP_B, protocol: PROTO_TEST, payload: Uint8Array.from([9, 8, 7]) });
    const buf = new Uint8Array(datagram.length + 5);
    buf.set(datagram, 5);
    stack.ip.ipv4Input(buf, 5, datagram.length, LinkCast.UNICAST, wire.now);
    stack.ip.ipv4Input(buf, 5, datagram.length - 1, LinkCast.UNICAST, wire.now);
    expect(handler.rx.map((r) => r.payload)).toEqual([[9, 8, 7]]);
    expect(stack.ip.stats).toMatchObject({ rxPackets: 2, rxDelivered: 1, dropBadTotalLength: 1 });
  });
});

describe("acceptance by destination", () => {
  it("delivers unicast with its fields, ignoring Ethernet padding", () => {
    start();
    const f = frameOf({ ttl: 17 });
    wire.inject(new Uint8Array([...f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).subarray(0, 60));
    expect(handler.rx).toEqual([{ src: IP_A, dst: IP_B, cast: IpCast.UNICAST, ttl: 17, payload: [1, 2, 3, 4], totalLength: 24, wasReassembled: false }]);
    expect(handler.batches).toEqual([wire.now]);
  });

  it("accepts the directed (10.0.0.255) and limited (255.255.255.255) broadcasts", () => {
    start();
    wire.inject(frameOf({ dst: parseIpv4("10.0.0.255") }, MAC_BCAST));
    wire.inject(frameOf({ dst: 0xffffffff }, MAC_BCAST));
    expect(handler.rx.map((r) => r.cast)).toEqual([IpCast.BROADCAST, IpCast.BROADCAST]);
  });

  it("accepts multicast only for joined groups (and all-hosts 224.0.0.1 always)", () => {
    start();
    const group = parseIpv4("239.1.2.3");
    const groupMac = u8([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    wire.inject(frameOf({ dst: group }, groupMac));
    expect(stack.netif.stats.dropNotForUs).toBe(1);
    wire.inject(frameOf({ dst: parseIpv4("224.0.0.1") }, u8([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])));
    stack.ip.joinGroup(group);
    wire.inject(frameOf({ dst: group }, groupMac));
    stack.ip.leaveGroup(group);
    wire.inject(frameOf({ dst: group }, groupMac));
    expect(handler.rx.map((r) => [r.dst, r.cast])).toEqual([
      [parseIpv4("224.0.0.1"), IpCast.MULTICAST],
      [group, IpCast.MULTICAST],
    ]);
    expect(stack.netif.stats.dropNotForUs).toBe(2);
  });

  it("without an address, accepts unicast IP sent to our MAC (DHCP) but not via link broadcast", () => {
    start({ ip: 0, netmask: 0 });
    wire.inject(frameOf({ dst: parseIpv4("10.0.0.99") }));
    wire.inject(frameOf({ dst: parseIpv4("10.0.0.99") }, MAC_BCAST));
    wire.inject(frameOf({ src: 0, dst: 0xffffffff }, MAC_BCAST));
    expect(handler.rx.map((r) => r.cast)).toEqual([IpCast.UNICAST, IpCast.BROADCAST]);
    expect(stack.ip.stats.dropNotForUs).toBe(1);
  });

  it("on a /31 point-to-point link (RFC 3021) the peer's address is unicast, not a broadcast", () => {
    // 10.0.0.2/31: the peer is 10.0.0.3, and there is no directed broadcast address.
    start({ netmask: 0xfffffffe });
    stack.netif.neighbors.learn(parseIpv4("10.0.0.3"), MAC_A, wire.now);
    wire.inject(frameOf({ src: parseIpv4("10.0.0.3") }));
    expect(handler.rx.map((r) => r.cast)).toEqual([IpCast.UNICAST]);
    expect(stack.ip.send(PROTO_TEST, 0, parseIpv4("10.0.0.3"), 4)).toBe(Err.OK);
    wire.advance(0);
    expect([...(wire.take()[0] as Uint8Array).subarray(0, 6)]).toEqual([...MAC_A]);
  });

  it("shows accepted datagrams to taps, even for unknown protocols", () => {
    start();
    const seen: number[] = [];
    stack.ip.taps.push((rx) => seen.push(rx.protocol));
    wire.inject(frameOf({}));
    wire.inject(frameOf({ protocol: 253 }));
    wire.inject(frameOf({ dst: parseIpv4("10.0.0.7") }));
    expect(seen).toEqual([PROTO_TEST, 253]);
  });
});

describe("unknown protocols", () => {
  it("answer with ICMP protocol unreachable quoting the datagram (exact scapy bytes)", () => {
    start();
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, u8(PROTO_253_DATAGRAM)));
    expect(wire.take()).toEqual([u8(PROTOCOL_UNREACHABLE)]);
    expect(stack.icmp.stats.txUnreachable).toBe(1);
  });

  it("sent to a broadcast address get no answer", () => {
    start();
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    wire.inject(frameOf({ protocol: 253, dst: parseIpv4("10.0.0.255") }, MAC_BCAST));
    expect(wire.take()).toEqual([]);
    expect(stack.ip.stats.dropUnknownProtocol).toBe(1);
  });
});

describe("IPv4 options (RFC 791 §3.1, RFC 1122 §3.2.1.8)", () => {
  const ECHO = icmp(8, 0, 0x00050001, Uint8Array.from([0x77, 0x77, 0x77, 0x77]));

  /** An echo request from A to B with `options` (and `spec`), as a datagram. */
  function echoWith(options: readonly number[], spec: Partial<Ipv4Spec> = {}): Uint8Array {
    return ipv4({ src: IP_A, dst: IP_B, protocol: 1, payload: ECHO, options: Uint8Array.from(options), id: 0x4242, ...spec });
  }

  /**
   * What Linux sends back (checked against a 6.x kernel with scapy: type 12, code 0, the pointer in the first
   * octet after the checksum, the whole datagram quoted), from B with B's first IP identification.
   */
  function parameterProblem(pointer: number, datagram: Uint8Array): Uint8Array {
    const message = icmp(12, 0, pointer * 0x1000000, datagram);
    return ether(MAC_A, MAC_B, EtherType.IPV4, ipv4({ src: IP_B, dst: IP_A, protocol: 1, payload: message, id: 0x8000 }));
  }

  function startKnowingA(): void {
    start();
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
  }

  it.each([
    ["a length of 0", [7, 0, 0, 0], 20],
    ["a length of 1", [0x44, 1, 0, 0], 20],
    ["a length past the header", [7, 9, 4, 0], 20],
    ["a length past the header after NOPs", [1, 0x9e, 4, 0], 21],
    ["no room for the length octet", [1, 1, 1, 0x44], 23],
  ] as const)("drop an option with %s, count it and answer parameter problem pointing at it", (_what, options, pointer) => {
    startKnowingA();
    const datagram = echoWith(options);
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, datagram));
    expect(wire.take()).toEqual([parameterProblem(pointer, datagram)]);
    expect(stack.ip.stats).toMatchObject({ rxPackets: 1, dropBadOptions: 1, rxDelivered: 0 });
    expect(stack.icmp.stats).toMatchObject({ txParameterProblem: 1, rxEchoRequests: 0, txEchoReplies: 0 });
  });

  it("ignores a well-formed unknown option and NOPs, and EOL's padding: the echo is answered", () => {
    startKnowingA();
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, echoWith([0x9e, 4, 0x12, 0x34, 1, 1, 0, 0x55])));
    const sent = wire.take();
    expect(sent).toHaveLength(1);
    // Echo reply (type 0) with the request's id, seq and data.
    expect([...(sent[0] as Uint8Array).subarray(34)]).toEqual([...icmp(0, 0, 0x00050001, Uint8Array.from([0x77, 0x77, 0x77, 0x77]))]);
    expect(stack.ip.stats.dropBadOptions).toBe(0);
    expect(stack.icmp.stats).toMatchObject({ txEchoReplies: 1, txParameterProblem: 0 });
  });

  it("delivers a datagram with good options to its handler with the payload after them", () => {
    start();
    wire.inject(frameOf({ options: Uint8Array.from([0x9e, 4, 0x12, 0x34]) }));
    expect(handler.rx.map((r) => r.payload)).toEqual([[1, 2, 3, 4]]);
  });

  it("drops bad options sent to a broadcast, in a non-first fragment or on an ICMP error, with no answer (RFC 1122 §3.2.2)", () => {
    startKnowingA();
    const bad = Uint8Array.from([7, 0, 0, 0]);
    wire.inject(frameOf({ dst: parseIpv4("10.0.0.255"), options: bad }, MAC_BCAST));
    wire.inject(frameOf({ dst: 0xffffffff, options: bad }, MAC_BCAST));
    wire.inject(frameOf({ options: bad, fragmentOffsetBytes: 8, flags: IpFlag.MF }));
    const unreachable = icmp(3, 3, 0, ipv4({ src: IP_B, dst: IP_A, protocol: 17, payload: new Uint8Array(8) }));
    wire.inject(frameOf({ options: bad, protocol: 1, payload: unreachable }));
    expect(wire.take()).toEqual([]);
    expect(stack.ip.stats).toMatchObject({ dropBadOptions: 4, rxFragments: 0, rxDelivered: 0 });
    expect(stack.icmp.stats).toMatchObject({ txParameterProblem: 0, errorsSuppressed: 4 });
    expect(stack.ip.reassembler.stats.fragmentsIn).toBe(0);
  });

  it("drops bad options in a first fragment before reassembly, answering it", () => {
    startKnowingA();
    const datagram = echoWith([0x44, 1, 0, 0], { flags: IpFlag.MF });
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, datagram));
    expect(wire.take()).toEqual([parameterProblem(20, datagram)]);
    expect(stack.ip.stats).toMatchObject({ dropBadOptions: 1, rxFragments: 0 });
  });

  it("still answers ordinary echo requests after bad ones, the answers rate-limited with the other errors", () => {
    startKnowingA();
    for (let i = 0; i < 60; i++) wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, echoWith([7, 0, 0, 0], { id: i })));
    expect(wire.take()).toHaveLength(50);
    expect(stack.icmp.stats).toMatchObject({ txParameterProblem: 50, errorsRateLimited: 10 });
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: 1, payload: ECHO })));
    expect(wire.take()).toHaveLength(1);
    expect(stack.icmp.stats.txEchoReplies).toBe(1);
  });
});

describe("output", () => {
  function payload(length: number): void {
    for (let i = 0; i < length; i++) stack.ip.txFrame[PAYLOAD_OFFSET + i] = (i * 13 + 5) & 0xff;
  }

  it("fragments a 100-byte echo for a 68-byte MTU exactly as scapy does", () => {
    // Stack A, MTU 68 (8-byte-aligned chunks of 48); scapy: fragment(IP(...)/ICMP(...)/bytes(range(100)), fragsize=48)
    start({ mac: MAC_A, ip: IP_A, mtu: 68 });
    stack.netif.neighbors.learn(IP_B, MAC_B, wire.now);
    expect(stack.icmp.sendEcho(IP_B, 0x5700, 1, 100)).toBe(Err.OK);
    wire.advance(0);
    expect(wire.take()).toEqual(ECHO_FRAGMENTS.map(u8));
    expect(stack.ip.stats).toMatchObject({ txPackets: 1, txFragments: 3 });
  });

  it("fragments a 4000-byte payload for a 1500-byte MTU: offsets ×8, MF on all but the last, lengths add up", () => {
    start();
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    payload(4000);
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, 4000, { ttl: 9, tos: 0x10, dontFragment: false })).toBe(Err.OK);
    wire.advance(0);
    const frames = wire.take();
    const ip = new Ipv4View();
    const rows = frames.map((f) => {
      ip.point(f, 14, f.length - 14);
      expect(ip.check()).toBe(0);
      expect([ip.ttl, ip.tos, ip.protocol, ip.src, ip.dst]).toEqual([9, 0x10, PROTO_TEST, IP_B, IP_A]);
      return [f.length, ip.totalLength, ip.fragmentOffsetBytes, ip.hasMoreFragments, ip.id];
    });
    const id = rows[0]?.[4];
    expect(rows).toEqual([
      [1514, 1500, 0, true, id],
      [1514, 1500, 1480, true, id],
      [14 + 20 + 1040, 1060, 2960, false, id],
    ]);
    const joined = frames.flatMap((f) => [...f.subarray(34)]);
    expect(joined).toEqual(Array.from({ length: 4000 }, (_, i) => (i * 13 + 5) & 0xff));
  });

  it("refuses DF datagrams over the MTU with MSGSIZE, sending and counting nothing as sent", () => {
    start();
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    payload(1481);
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, 1481, { ttl: 64, tos: 0, dontFragment: true })).toBe(Err.MSGSIZE);
    expect(stack.ip.stats).toMatchObject({ txDropTooBig: 1, txPackets: 0, txFragments: 0 });
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, 1480, { ttl: 64, tos: 0, dontFragment: true })).toBe(Err.OK);
    wire.advance(0);
    const out = wire.take();
    expect(out).toHaveLength(1);
    expect(new Ipv4View().point(out[0] as Uint8Array, 14, 1500).flagsFragment).toBe(IpFlag.DF);
  });

  it("refuses a payload over 65 515 bytes", () => {
    start();
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, MAX_PAYLOAD + 1)).toBe(Err.MSGSIZE);
    expect(stack.ip.stats.txDropTooBig).toBe(1);
  });

  it("has no route off-link without a gateway, and uses the gateway's MAC with one", () => {
    start();
    const far = parseIpv4("192.0.2.1");
    expect(stack.ip.send(PROTO_TEST, 0, far, 4)).toBe(Err.RTE);
    expect(stack.ip.stats.txDropNoRoute).toBe(1);
    stack.netif.gateway = IP_A;
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    expect(stack.ip.send(PROTO_TEST, 0, far, 4)).toBe(Err.OK);
    wire.advance(0);
    const f = wire.take()[0] as Uint8Array;
    expect([...f.subarray(0, 6)]).toEqual([...MAC_A]);
    expect(new Ipv4View().point(f, 14, f.length - 14).dst).toBe(far);
  });

  it("sends to broadcast without ARP", () => {
    start();
    expect(stack.ip.send(PROTO_TEST, 0, 0xffffffff, 4)).toBe(Err.OK);
    wire.advance(0);
    expect([...(wire.take()[0] as Uint8Array).subarray(0, 6)]).toEqual([...MAC_BCAST]);
  });

  it("loops datagrams to our own address back through the scheduler, never onto the wire", () => {
    start();
    payload(4);
    expect(stack.ip.send(PROTO_TEST, 0, IP_B, 4)).toBe(Err.OK);
    expect(stack.ip.send(PROTO_TEST, 0, parseIpv4("127.0.0.1"), 4)).toBe(Err.OK);
    expect(handler.rx).toEqual([]);
    wire.advance(0);
    expect(handler.rx.map((r) => [r.src, r.dst, r.payload])).toEqual([
      [IP_B, IP_B, [5, 18, 31, 44]],
      [IP_B, parseIpv4("127.0.0.1"), [5, 18, 31, 44]],
    ]);
    expect(wire.take()).toEqual([]);
    expect(stack.ip.stats.loopback).toBe(2);
  });

  it("bounds the loopback queue", () => {
    start();
    const results = Array.from({ length: 33 }, () => stack.ip.send(PROTO_TEST, 0, IP_B, 4));
    expect(results.filter((r) => r === Err.MEM)).toHaveLength(1);
    expect(stack.ip.stats.dropLoopbackFull).toBe(1);
    wire.advance(0);
    expect(handler.rx).toHaveLength(32);
  });

  it("tells handlers when ARP gives up on a next hop", () => {
    start();
    expect(stack.ip.send(PROTO_TEST, 0, parseIpv4("10.0.0.9"), 4)).toBe(Err.OK);
    wire.advance(3000);
    expect(handler.unreachableIps).toEqual([parseIpv4("10.0.0.9")]);
  });

  it("uses the configured mask for on-link decisions", () => {
    start({ netmask: MASK_24 });
    expect(stack.ip.nextHop(parseIpv4("10.0.0.200"))).toBe(parseIpv4("10.0.0.200"));
    expect(stack.ip.nextHop(parseIpv4("10.0.1.1"))).toBe(0);
    expect(stack.ip.nextHop(parseIpv4("224.0.0.251"))).toBe(parseIpv4("224.0.0.251"));
  });
});

describe("link offloads", () => {
  it("hands the transport the link's word: a trusted checksum (NEEDS_CSUM, DATA_VALID) and a super-frame's segment size", () => {
    start({}, new Wire(0, { offloads: ALL_OFFLOADS }));
    const partial = new FrameOffload();
    partial.flags = VnetFlag.NEEDS_CSUM;
    partial.gsoType = VnetGso.TCPV4;
    partial.gsoSize = 1000;
    const valid = new FrameOffload();
    valid.flags = VnetFlag.DATA_VALID;
    for (const o of [partial, valid, null]) {
      const f = frameOf({});
      wire.peer.transmit(f, 0, f.length, o);
      wire.advance(0);
    }
    expect(handler.offloads).toEqual([[true, 1000], [true, 0], [false, 0]]);
  });

  it("sends a super-frame as it is, without fragmenting, and skips the IDs its segments will take", () => {
    start({}, new Wire(0, { offloads: ALL_OFFLOADS }));
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    expect(stack.ip.offloadsFor(IP_A)).toEqual({ tso: true, csum: true });
    expect(stack.ip.offloadsFor(IP_B)).toEqual({ tso: false, csum: false });
    const o = new FrameOffload();
    o.flags = VnetFlag.NEEDS_CSUM;
    o.gsoType = VnetGso.TCPV4;
    o.gsoSize = 1000;
    o.hdrLen = PAYLOAD_OFFSET + 20;
    o.csumStart = PAYLOAD_OFFSET;
    o.csumOffset = 16;
    // 20 bytes of "TCP header" and 3000 of payload: three segments for the device.
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, 3020, undefined, o)).toBe(Err.OK);
    expect(stack.ip.send(PROTO_TEST, 0, IP_A, 10)).toBe(Err.OK);
    wire.advance(0);
    const [big, small] = wire.take();
    expect(big?.length).toBe(14 + 20 + 3020);
    const id = (f: Uint8Array | undefined): number => ((f?.[18] ?? 0) << 8) | (f?.[19] ?? 0);
    expect((id(small) - id(big)) & 0xffff).toBe(3);
    expect(stack.ip.stats.txFragments).toBe(0);
  });

  it("a super-frame waiting for ARP is queued as the wire segments it stands for, each with a full checksum", () => {
    start({}, new Wire(0, { offloads: ALL_OFFLOADS }));
    const frame = stack.ip.txFrame;
    // A TCP header (data offset 5, ACK) and 2500 bytes, the checksum field holding the pseudo-header sum.
    frame.fill(0, PAYLOAD_OFFSET, PAYLOAD_OFFSET + 2520);
    frame[PAYLOAD_OFFSET + 12] = 0x50;
    frame[PAYLOAD_OFFSET + 13] = 0x10;
    for (let i = 0; i < 2500; i++) frame[PAYLOAD_OFFSET + 20 + i] = i & 0xff;
    let pseudo = (IP_B >>> 16) + (IP_B & 0xffff) + (IP_A >>> 16) + (IP_A & 0xffff) + 6 + 2520;
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
    frame[PAYLOAD_OFFSET + 16] = pseudo >>> 8;
    frame[PAYLOAD_OFFSET + 17] = pseudo & 0xff;
    const o = new FrameOffload();
    Object.assign(o, { flags: VnetFlag.NEEDS_CSUM, gsoType: VnetGso.TCPV4, gsoSize: 1000, hdrLen: PAYLOAD_OFFSET + 20, csumStart: PAYLOAD_OFFSET, csumOffset: 16 });
    expect(stack.ip.send(6, 0, IP_A, 2520, undefined, o)).toBe(Err.OK);
    wire.advance(0);
    expect(wire.take().map((f) => (f[12]! << 8) | f[13]!)).toEqual([EtherType.ARP]);
    wire.inject(ether(MAC_B, MAC_A, EtherType.ARP, arp(2, MAC_A, IP_A, MAC_B, IP_B)));
    const segments = wire.take();
    expect(segments.map((f) => f.length - 54)).toEqual([1000, 1000, 500]);
    for (const f of segments) {
      const tcpLength = f.length - 34;
      const sum = (IP_B >>> 16) + (IP_B & 0xffff) + (IP_A >>> 16) + (IP_A & 0xffff) + 6 + tcpLength;
      expect(checksumNaive(f, 34, tcpLength, sum)).toBe(0);
      expect(checksumNaive(f, 14, 20)).toBe(0);
    }
    expect(stack.netif.stats.txOffloadResolved).toBe(1);
  });
});
