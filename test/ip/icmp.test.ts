// ICMP (RFC 792, RFC 1122 §3.2.2) in a stack over a MemLink: the exact echo reply and port unreachable
// (scapy vectors in test/helpers/vectors.ts, cross-checked with scapy 2.x), what is dropped and counted, the
// rules on which datagrams never get an error, the token-bucket rate limit on simulated time, and incoming
// errors handed to the transport named in the quote.

import { afterEach, describe, expect, it } from "vitest";
import { Err } from "../../src/core/errors.js";
import { checksum as checksumOf } from "../../src/core/checksum.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { IpCast, IpRx, type IcmpErrorInfo, type IpProtocolHandler } from "../../src/ip/ip.js";
import { IpFlag, IpProto } from "../../src/ip/ipv4.js";
import { IcmpType, UnreachableCode, type EchoReply } from "../../src/ip/icmp.js";
import type { Stack, StackConfig } from "../../src/stack/stack.js";
import { IP_A, IP_B, MAC_A, MAC_B, MAC_BCAST, Wire, bytesOf, concat, ether, icmp, ipv4, stackOn, udp } from "../helpers/wire.js";
import { ECHO_REPLY, ECHO_REQUEST, PORT_UNREACHABLE, PROTO_253_DATAGRAM, UDP_TO_B, u8 } from "../helpers/vectors.js";

let wire: Wire;
let stack: Stack;

/** Stack B, with A's MAC known so answers go straight out. */
function start(config: Partial<StackConfig> = {}): void {
  wire = new Wire();
  stack = stackOn(wire, config);
  stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
}

afterEach(() => {
  stack.stop();
  wire.peer.close();
  expect(wire.scheduler.armedLabels()).toEqual([]);
});

/** An IPv4 frame from A to B (or `dst`/`dstMac`) carrying an ICMP message. */
function icmpFrame(message: Uint8Array, dst = IP_B, dstMac: Uint8Array = MAC_B, src = IP_A): Uint8Array {
  return ether(dstMac, MAC_A, EtherType.IPV4, ipv4({ src, dst, protocol: IpProto.ICMP, payload: message, id: 0x77 }));
}

/** A UDP handler that answers everything with port unreachable, as a UDP layer with no socket would. */
class ClosedPorts implements IpProtocolHandler {
  readonly errors: (Omit<IcmpErrorInfo, "bytes"> & { quote: number[] })[] = [];
  constructor(private readonly s: Stack) {}
  input(rx: IpRx): void {
    this.s.icmp.sendUnreachable(rx, UnreachableCode.PORT);
  }
  icmpError(info: IcmpErrorInfo): void {
    const { bytes, ...rest } = info;
    this.errors.push({ ...rest, quote: [...bytes.subarray(info.quoteOffset, info.quoteOffset + info.quoteLength)] });
  }
}

describe("echo", () => {
  it("answers a request with the exact reply", () => {
    start();
    wire.inject(u8(ECHO_REQUEST));
    expect(wire.take()).toEqual([u8(ECHO_REPLY)]);
    expect(stack.icmp.stats).toMatchObject({ rxMessages: 1, rxEchoRequests: 1, txEchoReplies: 1 });
  });

  it("answers a large request with all its data", () => {
    start();
    const data = Uint8Array.from({ length: 1400 }, (_, i) => (i * 7) & 0xff);
    wire.inject(icmpFrame(icmp(8, 0, 0xabcd0007, data)));
    const out = wire.take();
    expect(out).toHaveLength(1);
    expect((out[0] as Uint8Array).subarray(34)).toEqual(icmp(0, 0, 0xabcd0007, data));
  });

  it("ignores requests to broadcast and multicast addresses (RFC 1122 §3.2.2.6)", () => {
    start();
    const req = icmp(8, 0, 0x00010001, bytesOf("abc"));
    wire.inject(icmpFrame(req, parseIpv4("10.0.0.255"), MAC_BCAST));
    wire.inject(icmpFrame(req, 0xffffffff, MAC_BCAST));
    wire.inject(icmpFrame(req, parseIpv4("224.0.0.1"), u8([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])));
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.dropBroadcastEcho).toBe(3);
  });

  it("does not answer when answerEcho is off", () => {
    start();
    stack.icmp.answerEcho = false;
    wire.inject(u8(ECHO_REQUEST));
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.rxEchoRequests).toBe(1);
  });

  it("hands echo replies to listeners with id, seq, data and TTL", () => {
    start();
    const got: Omit<EchoReply, "bytes">[] = [];
    const data: number[][] = [];
    stack.icmp.echoReplyListeners.push((r) => {
      const { bytes, ...rest } = r;
      got.push(rest);
      data.push([...bytes.subarray(r.dataOffset, r.dataOffset + r.dataLength)]);
    });
    wire.inject(icmpFrame(icmp(0, 0, 0x57000009, bytesOf("pong"))));
    expect(got).toMatchObject([{ src: IP_A, id: 0x5700, seq: 9, dataLength: 4, ttl: 64, nowMs: wire.now }]);
    expect(data).toEqual([[0x70, 0x6f, 0x6e, 0x67]]);
  });

  it("sendEcho refuses more data than one datagram holds", () => {
    start();
    expect(stack.icmp.sendEcho(IP_A, 1, 1, 65508)).toBe(Err.MSGSIZE);
    expect(stack.icmp.sendEcho(IP_A, 1, 1, 56)).toBe(Err.OK);
    expect(stack.icmp.stats.txEchoRequests).toBe(1);
  });
});

describe("echo with Record Route and Timestamp options (RFC 1122 §3.2.2.6)", () => {
  const dayMs = 37_000_123;
  const utcMs = (): number => 19_000 * 86_400_000 + dayMs;
  const request = icmp(IcmpType.ECHO_REQUEST, 0, 0x0042_0001, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  /** The reply's IP options and ICMP message. */
  function reply(): { options: number[]; message: Uint8Array } {
    const [frame, ...more] = wire.take();
    expect(more).toEqual([]);
    const ip = (frame as Uint8Array).subarray(14);
    const headerLength = ((ip[0] as number) & 0xf) * 4;
    expect(checksumOf(ip, 0, headerLength)).toBe(0);
    const message = ip.subarray(headerLength);
    expect(checksumOf(message, 0, message.length)).toBe(0);
    return { options: [...ip.subarray(20, headerLength)], message };
  }
  const ourIp = [10, 0, 0, 2];
  const stamp = [(dayMs >>> 24) & 0xff, (dayMs >>> 16) & 0xff, (dayMs >>> 8) & 0xff, dayMs & 0xff];

  it("records our address in a Record Route option (ping -R) and returns it with the data", () => {
    start({ icmp: { utcMs } });
    // RR with room for 9 addresses, pointer 4 (empty), then EOL padding: 39 + 1 bytes.
    const rr = new Uint8Array(40);
    rr.set([7, 39, 4]);
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.ICMP, payload: request, options: rr })));
    const r = reply();
    const expected = new Array<number>(40).fill(0);
    expected.splice(0, 7, 7, 39, 8, ...ourIp);
    expect(r.options).toEqual(expected);
    expect(r.message[0]).toBe(IcmpType.ECHO_REPLY);
    expect([...r.message.subarray(8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("stamps a Timestamp option: timestamps only, with our address, and beside a prespecified address of ours", () => {
    start({ icmp: { utcMs } });
    const ts = Uint8Array.from([
      68, 12, 5, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // flag 0, two slots
      68, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, // flag 1, one (address, time) pair
      68, 12, 5, 0x03, ...ourIp, 0, 0, 0, 0, // flag 3, our address named
    ]);
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.ICMP, payload: request, options: ts })));
    expect(reply().options).toEqual([
      68, 12, 9, 0x00, ...stamp, 0, 0, 0, 0,
      68, 12, 13, 0x01, ...ourIp, ...stamp,
      68, 12, 13, 0x03, ...ourIp, ...stamp,
    ]);
  });

  it("counts an overflow in a full Timestamp option, leaves a full Record Route alone and drops other options", () => {
    start({ icmp: { utcMs } });
    const options = Uint8Array.from([
      1, // NOP (not returned)
      7, 7, 8, 9, 9, 9, 9, // RR, full
      68, 8, 9, 0x20, 1, 1, 1, 1, // TS flag 0, full, overflow 2
      148, 4, 0, 0, // Router Alert (RFC 2113): not returned
    ]);
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.ICMP, payload: request, options })));
    expect(reply().options).toEqual([7, 7, 8, 9, 9, 9, 9, 68, 8, 9, 0x30, 1, 1, 1, 1, 0]);
  });

  it("answers without options when they would not fit the frame with the data", () => {
    start({ icmp: { utcMs } });
    const big = icmp(IcmpType.ECHO_REQUEST, 0, 0x0042_0002, new Uint8Array(1500 - 20 - 8));
    const rr = new Uint8Array(40);
    rr.set([7, 39, 4]);
    // A reassembled 1540-byte request, handed to IP whole.
    const whole = ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.ICMP, payload: big, options: rr });
    stack.ip.ipv4Input(whole, 0, whole.length, 0, wire.now);
    wire.advance(0);
    const frames = wire.take();
    expect(frames.length).toBeGreaterThan(0);
    // Each piece has a plain 20-byte header: the reply (fragmented) carries no options.
    for (const f of frames) expect((f[14] as number) & 0xf).toBe(5);
    expect(stack.icmp.stats.txEchoReplies).toBe(1);
  });
});

describe("timestamp (RFC 792)", () => {
  // 10:20:30.456 UT on some day, as the stack's time of day.
  const dayMs = ((10 * 60 + 20) * 60 + 30) * 1000 + 456;
  const utcMs = (): number => 20_000 * 86_400_000 + dayMs;
  const request = (data: Uint8Array): Uint8Array => icmp(IcmpType.TIMESTAMP_REQUEST, 0, 0x1234_0007, data);
  const originate = Uint8Array.from([0x01, 0x02, 0x03, 0x04]);

  it("answers with the request's id, sequence and originate time, and our receive and transmit time", () => {
    start({ icmp: { utcMs } });
    wire.inject(icmpFrame(request(concat(originate, new Uint8Array(8)))));
    const [frame, ...more] = wire.take();
    expect(more).toEqual([]);
    const ip = (frame as Uint8Array).subarray(14);
    const message = ip.subarray(((ip[0] as number) & 0xf) * 4);
    const v = new DataView(message.buffer, message.byteOffset, message.byteLength);
    expect(message.length).toBe(20);
    expect([message[0], message[1]]).toEqual([IcmpType.TIMESTAMP_REPLY, 0]);
    expect(v.getUint32(4)).toBe(0x1234_0007);
    expect([...message.subarray(8, 12)]).toEqual([...originate]);
    expect([v.getUint32(12), v.getUint32(16)]).toEqual([dayMs, dayMs]);
    // The ICMP checksum covers the whole message.
    expect(checksumOf(message, 0, message.length)).toBe(0);
    expect(stack.icmp.stats).toMatchObject({ rxTimestampRequests: 1, txTimestampReplies: 1 });
  });

  it("says it has no time of day with the high-order bit (utcMs null)", () => {
    start({ icmp: { utcMs: null } });
    wire.inject(icmpFrame(request(concat(originate, new Uint8Array(8)))));
    const message = (wire.take()[0] as Uint8Array).subarray(14 + 20);
    expect((message[12] as number) & 0x80).toBe(0x80);
  });

  it("answers a request that carries only the originate time, as Linux does; drops a shorter one and broadcasts", () => {
    start({ icmp: { utcMs } });
    wire.inject(icmpFrame(request(originate)));
    expect(wire.take().map((f) => f.length)).toEqual([14 + 20 + 20]);
    wire.inject(icmpFrame(request(Uint8Array.from([1, 2]))));
    wire.inject(icmpFrame(request(concat(originate, new Uint8Array(8))), parseIpv4("10.0.0.255"), MAC_BCAST));
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats).toMatchObject({ rxTimestampRequests: 3, txTimestampReplies: 1, dropTruncated: 1, dropBroadcastTimestamp: 1 });
  });
});

describe("input drops", () => {
  it("counts a bad checksum", () => {
    start();
    const m = icmp(8, 0, 0x00010001, bytesOf("abc"));
    m[9] = (m[9] as number) ^ 1;
    wire.inject(icmpFrame(m));
    expect(stack.icmp.stats.dropBadChecksum).toBe(1);
    expect(wire.take()).toEqual([]);
  });

  it("counts a message shorter than 8 bytes", () => {
    start();
    wire.inject(icmpFrame(u8([8, 0, 0xf7, 0xff])));
    expect(stack.icmp.stats.dropTruncated).toBe(1);
  });

  it("ignores redirects, source quench, address mask requests and unknown types, counting them", () => {
    start();
    // 17: address mask request (RFC 950), which Linux no longer answers either.
    for (const type of [IcmpType.REDIRECT, IcmpType.SOURCE_QUENCH, 17, 42]) wire.inject(icmpFrame(icmp(type, 0, 0, new Uint8Array(28))));
    expect(stack.icmp.stats.rxIgnored).toBe(4);
    expect(wire.take()).toEqual([]);
  });
});

describe("sending errors", () => {
  it("port unreachable quotes the whole datagram (exact scapy bytes)", () => {
    start();
    stack.ip.register(IpProto.UDP, new ClosedPorts(stack));
    wire.inject(u8(UDP_TO_B));
    expect(wire.take()).toEqual([u8(PORT_UNREACHABLE)]);
    expect(stack.icmp.stats.txUnreachable).toBe(1);
  });

  it("quotes at most 548 bytes, so the error fits 576 (RFC 1812 §4.3.2.3)", () => {
    start();
    stack.ip.register(IpProto.UDP, new ClosedPorts(stack));
    const datagram = ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.UDP, payload: udp(1, 2, new Uint8Array(1000)) });
    wire.inject(ether(MAC_B, MAC_A, EtherType.IPV4, datagram));
    const out = wire.take()[0] as Uint8Array;
    expect(out.length - 14).toBe(576);
    expect(out.subarray(14 + 28)).toEqual(datagram.subarray(0, 548));
  });

  it("is never sent about an ICMP error, but may be about an ICMP query", () => {
    start();
    // Answer every accepted ICMP datagram with an error, as a transport would if it misrouted one.
    stack.ip.taps.push((rx) => {
      if (rx.protocol === IpProto.ICMP) stack.icmp.sendUnreachable(rx, UnreachableCode.PROTOCOL);
    });
    stack.icmp.answerEcho = false;
    wire.inject(icmpFrame(icmp(3, 3, 0, u8(PROTO_253_DATAGRAM))));
    wire.inject(icmpFrame(icmp(11, 0, 0, u8(PROTO_253_DATAGRAM))));
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.errorsSuppressed).toBe(2);
    wire.inject(icmpFrame(icmp(8, 0, 0x00010001, bytesOf("abc"))));
    const out = wire.take();
    expect(out).toHaveLength(1);
    expect([out[0]?.[34], out[0]?.[35]]).toEqual([IcmpType.DEST_UNREACHABLE, UnreachableCode.PROTOCOL]);
  });

  /** An IpRx over a datagram we craft, for the cases the IP layer would never deliver. */
  function rxOf(spec: { src: number; dst?: number; flags?: number; fragmentOffsetBytes?: number }, cast: number = IpCast.UNICAST): IpRx {
    const datagram = ipv4({ dst: IP_B, protocol: IpProto.UDP, payload: udp(1, 2, bytesOf("x")), ...spec });
    const rx = new IpRx();
    rx.bytes = datagram;
    rx.headerOffset = 0;
    rx.headerLength = 20;
    rx.totalLength = datagram.length;
    rx.src = spec.src;
    rx.dst = spec.dst ?? IP_B;
    rx.protocol = IpProto.UDP;
    rx.cast = cast as IpRx["cast"];
    rx.nowMs = wire.now;
    return rx;
  }

  it("is never sent about a non-initial fragment", () => {
    start();
    stack.icmp.sendUnreachable(rxOf({ src: IP_A, flags: IpFlag.MF, fragmentOffsetBytes: 8 }), UnreachableCode.PORT);
    stack.icmp.sendUnreachable(rxOf({ src: IP_A, fragmentOffsetBytes: 1480 }), UnreachableCode.PORT);
    wire.advance(0);
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.errorsSuppressed).toBe(2);
    // Fragment 0 (MF, offset 0) is fine.
    stack.icmp.sendUnreachable(rxOf({ src: IP_A, flags: IpFlag.MF }), UnreachableCode.PORT);
    wire.advance(0);
    expect(wire.take()).toHaveLength(1);
  });

  it("is never sent about a datagram from a non-unicast source or to a broadcast", () => {
    start();
    for (const src of [0, 0xffffffff, parseIpv4("224.0.0.5"), parseIpv4("239.9.9.9")]) {
      stack.icmp.sendUnreachable(rxOf({ src }), UnreachableCode.PORT);
    }
    stack.icmp.sendUnreachable(rxOf({ src: IP_A, dst: 0xffffffff }, IpCast.BROADCAST), UnreachableCode.PORT);
    stack.icmp.sendUnreachable(rxOf({ src: IP_A, dst: parseIpv4("224.0.0.1") }, IpCast.MULTICAST), UnreachableCode.PORT);
    wire.advance(0);
    expect(wire.take()).toEqual([]);
    expect(stack.icmp.stats.errorsSuppressed).toBe(6);
    expect(stack.icmp.stats.txUnreachable).toBe(0);
  });

  it("is rate limited: a burst, then tokens refill with simulated time up to the burst", () => {
    start({ icmp: { errorBurst: 3, errorRatePerSec: 10 } });
    const probe = ether(MAC_B, MAC_A, EtherType.IPV4, u8(PROTO_253_DATAGRAM));
    const burst = (n: number): number => {
      for (let i = 0; i < n; i++) wire.inject(probe);
      return wire.take().length;
    };
    expect(burst(5)).toBe(3);
    expect(stack.icmp.stats.errorsRateLimited).toBe(2);
    wire.advance(99);
    expect(burst(1)).toBe(0);
    wire.advance(1); // 100 ms at 10/s: one token
    expect(burst(2)).toBe(1);
    wire.advance(60_000); // refills, capped at the burst
    expect(burst(5)).toBe(3);
    expect(stack.icmp.stats).toMatchObject({ txUnreachable: 7, errorsRateLimited: 2 + 1 + 1 + 2 });
  });
});

describe("receiving errors", () => {
  it("hands a port unreachable to the quoted protocol's handler with the quote (scapy vector, stack A)", () => {
    // PORT_UNREACHABLE is B's answer to A's UDP_TO_B: feed it to stack A.
    wire = new Wire();
    stack = stackOn(wire, { mac: MAC_A, ip: IP_A });
    const udpHandler = new ClosedPorts(stack);
    stack.ip.register(IpProto.UDP, udpHandler);
    wire.inject(u8(PORT_UNREACHABLE));
    expect(udpHandler.errors).toEqual([
      {
        type: IcmpType.DEST_UNREACHABLE,
        code: UnreachableCode.PORT,
        src: IP_A,
        dst: IP_B,
        protocol: IpProto.UDP,
        quoteOffset: 14 + 20 + 8 + 20,
        quoteLength: 13,
        nextHopMtu: 0,
        // The quoted datagram's own total length: 20 + 8 + "hello".
        quotedTotalLength: 33,
        quotedSrcPort: 5000,
        quotedDstPort: 9,
        quotedWord: 0x000d946e,
        quote: [0x13, 0x88, 0x00, 0x09, 0x00, 0x0d, 0x94, 0x6e, 0x68, 0x65, 0x6c, 0x6c, 0x6f],
      },
    ]);
    expect(stack.icmp.stats.rxErrors).toBe(1);
  });

  it("carries the next-hop MTU of 'fragmentation needed' (RFC 1191), and delivers time exceeded", () => {
    start();
    const udpHandler = new ClosedPorts(stack);
    stack.ip.register(IpProto.UDP, udpHandler);
    const ours = ipv4({ src: IP_B, dst: IP_A, protocol: IpProto.UDP, payload: udp(7, 8, bytesOf("data")), flags: IpFlag.DF });
    wire.inject(icmpFrame(icmp(3, 4, 1400, ours.subarray(0, 28))));
    wire.inject(icmpFrame(icmp(11, 0, 0, ours.subarray(0, 28))));
    expect(udpHandler.errors.map((e) => [e.type, e.code, e.nextHopMtu, e.quotedTotalLength, e.quoteLength, e.quote])).toEqual([
      [3, 4, 1400, 32, 8, [0, 7, 0, 8, 0, 12, 0, 0]],
      [11, 0, 0, 32, 8, [0, 7, 0, 8, 0, 12, 0, 0]],
    ]);
  });

  it("counts quotes that cannot be a header we sent", () => {
    start();
    stack.ip.register(IpProto.UDP, new ClosedPorts(stack));
    const ours = ipv4({ src: IP_B, dst: IP_A, protocol: IpProto.UDP, payload: udp(7, 8, bytesOf("data")) });
    const v6 = ours.slice();
    v6[0] = 0x65;
    const longIhl = ours.slice();
    longIhl[0] = 0x4f;
    for (const quote of [ours.subarray(0, 19), v6, longIhl, concat([0x44], ours.subarray(1))]) {
      wire.inject(icmpFrame(icmp(3, 3, 0, quote)));
    }
    expect(stack.icmp.stats.dropBadQuote).toBe(4);
  });

  it("drops an error quoting a protocol nobody registered, without fuss", () => {
    start();
    wire.inject(icmpFrame(icmp(3, 3, 0, u8(PROTO_253_DATAGRAM))));
    expect(stack.icmp.stats.rxErrors).toBe(1);
    expect(wire.take()).toEqual([]);
  });
});
