// Raw IP PCBs (src/ip/raw.ts, SOCK_RAW) whole-stack over a MemLink on the simulated clock: a raw ICMP ping
// the way MicroPython's ping scripts do it (send an echo request payload, receive the whole reply datagram
// with its IP header) while the peer stack answers; a raw ICMP PCB that sees echo requests to us while the
// stack still answers them; address filters, the bounded queue, a protocol only a raw PCB serves (no
// protocol unreachable while it is open), and send-side errors.

import { afterEach, describe, expect, it } from "vitest";
import { Err } from "../../src/core/errors.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { IpProto } from "../../src/ip/ipv4.js";
import { IcmpType, type EchoReply } from "../../src/ip/icmp.js";
import { MAX_PAYLOAD } from "../../src/ip/ip.js";
import type { RawPcb, RawPcbOptions } from "../../src/ip/raw.js";
import type { Stack } from "../../src/stack/stack.js";
import { A_IP, B_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";

let net: TwoStacks | null = null;
const opened: { stack: Stack; pcb: RawPcb }[] = [];

afterEach(() => {
  for (const { stack, pcb } of opened.splice(0)) stack.raw.close(pcb);
  if (net !== null) {
    expect(net.a.raw.allPcbs()).toEqual([]);
    expect(net.b.raw.allPcbs()).toEqual([]);
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  net = null;
});

function open(stack: Stack, protocol: number, options: Partial<RawPcbOptions> = {}): RawPcb {
  const pcb = stack.raw.open(protocol, options);
  opened.push({ stack, pcb });
  return pcb;
}

function run(ms = 10): void {
  net?.scheduler.advance(ms);
}

/** An ICMP echo request as a ping script builds it: type 8, code 0, checksum, id, seq, data. */
function echoRequest(id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = IcmpType.ECHO_REQUEST;
  m[4] = id >>> 8;
  m[5] = id & 0xff;
  m[6] = seq >>> 8;
  m[7] = seq & 0xff;
  m.set(data, 8);
  const sum = checksumNaive(m, 0, m.length);
  m[2] = sum >>> 8;
  m[3] = sum & 0xff;
  return m;
}

/** The next queued datagram, whole (IP header included), or null. */
function take(stack: Stack, pcb: RawPcb, max = 70000): Uint8Array | null {
  const buf = new Uint8Array(max);
  const n = stack.raw.receive(pcb, buf, 0, max);
  return n < 0 ? null : buf.slice(0, n);
}

function u32At(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

describe("raw ICMP ping (a MicroPython ping script's SOCK_RAW, proto 1)", () => {
  it("sends the echo request payload and receives the whole reply datagram, IP header included", () => {
    net = twoStacks();
    const { a, b } = net;
    const sock = open(a, IpProto.ICMP);
    const readable: number[] = [];
    sock.events = { readable: () => readable.push(1) };
    expect(a.raw.connect(sock, B_IP)).toBe(Err.OK);
    const data = new TextEncoder().encode("abcdefghijklmnopqrstuvwabcdefghi");
    const req = echoRequest(0x1234, 1, data);
    expect(a.raw.sendTo(sock, req, 0, req.length, null)).toBe(Err.OK);
    run();
    // The peer stack answered as usual.
    expect(b.icmp.stats.txEchoReplies).toBe(1);
    expect(readable).toHaveLength(1);
    expect(sock.nextSrcIp).toBe(B_IP);
    const reply = take(a, sock);
    if (reply === null) throw new Error("no reply queued");
    // IPv4 header: version 4, IHL 5, total length, protocol ICMP, B → A, valid header checksum.
    expect(reply[0]).toBe(0x45);
    expect((((reply[2] ?? 0) << 8) | (reply[3] ?? 0)) >>> 0).toBe(20 + req.length);
    expect(reply[9]).toBe(IpProto.ICMP);
    expect([u32At(reply, 12), u32At(reply, 16)]).toEqual([B_IP, A_IP]);
    expect(checksumNaive(reply, 0, 20)).toBe(0);
    // ICMP: an echo reply with our id, seq and data (what `resp_mv[20:]` reads in uping.py).
    expect(reply[20]).toBe(IcmpType.ECHO_REPLY);
    expect(reply.subarray(24, 28)).toEqual(req.subarray(4, 8));
    expect(reply.subarray(28)).toEqual(data);
    expect(checksumNaive(reply, 20, reply.length - 20)).toBe(0);
    expect(take(a, sock)).toBeNull();
    expect(a.raw.stats).toMatchObject({ txDatagrams: 1, rxDelivered: 1 });
  });

  it("delivers a reassembled 8000-byte reply whole, with a header describing the whole datagram", () => {
    net = twoStacks();
    const { a } = net;
    const sock = open(a, IpProto.ICMP);
    const data = Uint8Array.from({ length: 8000 }, (_, i) => i & 0xff);
    const req = echoRequest(7, 9, data);
    expect(a.raw.sendTo(sock, req, 0, req.length, B_IP)).toBe(Err.OK);
    run(50);
    const reply = take(a, sock);
    if (reply === null) throw new Error("no reply queued");
    expect(reply.length).toBe(20 + 8 + 8000);
    expect((((reply[2] ?? 0) << 8) | (reply[3] ?? 0)) >>> 0).toBe(reply.length);
    expect((reply[6] ?? 0) & 0x3f).toBe(0); // no MF, offset 0
    expect(checksumNaive(reply, 0, 20)).toBe(0);
    expect(reply.subarray(28)).toEqual(data);
  });

  it("truncates to the buffer size, discarding the rest of that datagram", () => {
    net = twoStacks();
    const { a } = net;
    const sock = open(a, IpProto.ICMP);
    const req = echoRequest(1, 1, new Uint8Array(100));
    a.raw.sendTo(sock, req, 0, req.length, B_IP);
    a.raw.sendTo(sock, req, 0, req.length, B_IP);
    run();
    expect(take(a, sock, 28)?.length).toBe(28);
    expect(take(a, sock)?.length).toBe(128);
    expect(take(a, sock)).toBeNull();
  });
});

describe("a raw ICMP PCB on the answering side", () => {
  it("receives echo requests addressed to us, and the stack still answers them", () => {
    net = twoStacks();
    const { a, b } = net;
    const sock = open(b, IpProto.ICMP);
    const replies: number[] = [];
    const listener = (r: EchoReply): void => void replies.push(r.seq);
    a.icmp.echoReplyListeners.push(listener);
    for (let seq = 1; seq <= 3; seq++) expect(a.icmp.sendEcho(B_IP, 0x4242, seq, 56)).toBe(Err.OK);
    run();
    a.icmp.echoReplyListeners.splice(a.icmp.echoReplyListeners.indexOf(listener), 1);
    expect(replies).toEqual([1, 2, 3]);
    expect(b.icmp.stats.txEchoReplies).toBe(3);
    for (let seq = 1; seq <= 3; seq++) {
      const d = take(b, sock);
      if (d === null) throw new Error(`request ${seq} not queued`);
      expect(d[20]).toBe(IcmpType.ECHO_REQUEST);
      expect([u32At(d, 12), u32At(d, 16)]).toEqual([A_IP, B_IP]);
      expect(d[27]).toBe(seq);
    }
    // Our own outgoing replies are not shown to the raw PCB (Linux raw sockets see input only).
    expect(take(b, sock)).toBeNull();
  });

  it("sees only its protocol, its bound address and its connected peer", () => {
    net = twoStacks();
    const { a, b } = net;
    const any = open(b, IpProto.ICMP);
    const elsewhere = open(b, IpProto.ICMP);
    b.raw.bind(elsewhere, parseIpv4("10.0.0.9"));
    const fromC = open(b, IpProto.ICMP);
    b.raw.connect(fromC, parseIpv4("10.0.0.3"));
    const udp = open(b, IpProto.UDP);
    a.icmp.sendEcho(B_IP, 1, 1, 8);
    run();
    expect(any.queue.length).toBe(1);
    expect(elsewhere.queue.length).toBe(0);
    expect(fromC.queue.length).toBe(0);
    expect(udp.queue.length).toBe(0);
  });

  it("queues 4 datagrams by default and counts the drops", () => {
    net = twoStacks();
    const { a, b } = net;
    const sock = open(b, IpProto.ICMP);
    let events = 0;
    sock.events = { readable: () => events++ };
    a.netif.neighbors.learn(B_IP, b.netif.mac, net.scheduler.now());
    for (let seq = 0; seq < 6; seq++) a.icmp.sendEcho(B_IP, 1, seq, 8);
    run();
    expect(events).toBe(1);
    expect(sock.queue.length).toBe(4);
    expect(sock.dropped).toBe(2);
    expect(b.raw.stats.dropQueueFull).toBe(2);
    // The stack answered all six regardless.
    expect(b.icmp.stats.txEchoReplies).toBe(6);
  });
});

describe("a protocol only a raw PCB serves", () => {
  it("is received, and no protocol unreachable goes out while the PCB is open (RFC 1122 §3.2.2.1)", () => {
    net = twoStacks();
    const { a, b } = net;
    const sender = open(a, 253);
    const sink = open(b, 253);
    const payload = new Uint8Array([1, 2, 3, 4]);
    expect(a.raw.sendTo(sender, payload, 0, 4, B_IP)).toBe(Err.OK);
    run();
    const d = take(b, sink);
    expect(d?.[9]).toBe(253);
    expect(d?.subarray(20)).toEqual(payload);
    expect(b.icmp.stats.txUnreachable).toBe(0);
    b.raw.close(sink);
    a.raw.sendTo(sender, payload, 0, 4, B_IP);
    run();
    expect(b.icmp.stats.txUnreachable).toBe(1);
    // The error is an ICMP datagram: the sender's protocol-253 PCB does not see it.
    expect(sender.queue.length).toBe(0);
  });
});

describe("sending", () => {
  it("refuses: no destination (CONN), broadcast without SO_BROADCAST (VAL), oversize (MSGSIZE), closed (CLSD)", () => {
    net = twoStacks();
    const { a } = net;
    const sock = open(a, IpProto.ICMP);
    const req = echoRequest(1, 1, new Uint8Array(0));
    expect(a.raw.sendTo(sock, req, 0, req.length, null)).toBe(Err.CONN);
    expect(a.raw.sendTo(sock, req, 0, req.length, 0xffffffff)).toBe(Err.VAL);
    expect(a.raw.sendTo(sock, req, 0, req.length, parseIpv4("10.0.0.255"))).toBe(Err.VAL);
    sock.broadcast = true;
    expect(a.raw.sendTo(sock, req, 0, req.length, 0xffffffff)).toBe(Err.OK);
    const big = new Uint8Array(MAX_PAYLOAD + 1);
    expect(a.raw.sendTo(sock, big, 0, big.length, B_IP)).toBe(Err.MSGSIZE);
    const closed = a.raw.open(IpProto.ICMP);
    a.raw.close(closed);
    expect(a.raw.sendTo(closed, req, 0, req.length, B_IP)).toBe(Err.CLSD);
    expect(a.raw.stats.txDatagrams).toBe(1);
  });

  it("sends the largest payload (65 515 bytes) fragmented", () => {
    net = twoStacks();
    const { a, b } = net;
    const sender = open(a, 253);
    const sink = open(b, 253, { maxQueuedBytes: 70000 });
    const big = Uint8Array.from({ length: MAX_PAYLOAD }, (_, i) => (i * 13) & 0xff);
    expect(a.raw.sendTo(sender, big, 0, big.length, B_IP)).toBe(Err.OK);
    run(100);
    const d = take(b, sink);
    expect(d?.length).toBe(65535);
    expect(d?.subarray(20)).toEqual(big);
  });
});
