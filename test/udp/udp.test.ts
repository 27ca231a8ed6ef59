// The UDP layer (src/udp/udp.ts, RFC 768, RFC 1122 §4.1) whole-stack: two stacks over a MemLink on the
// simulated clock — bind/connect/sendTo/receive, ephemeral ports, address reuse, connected filtering, the
// bounded queue, truncation and MSG_PEEK, port unreachable back to a connected sender, broadcast rules,
// 65 507-byte datagrams, injected loss and loopback. A last part plays the far end on a raw Wire to show
// what input validation drops and counts.

import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Err, type ErrCode } from "../../src/core/errors.js";
import { parseIpv4 } from "../../src/core/addr.js";
import { EtherType } from "../../src/eth/ethernet.js";
import { IpProto } from "../../src/ip/ipv4.js";
import type { Stack } from "../../src/stack/stack.js";
import { UDP_MAX_DATA, type UdpPcb, type UdpPcbOptions } from "../../src/udp/udp.js";
import { A_IP, B_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { IP_A, IP_B, MAC_A, MAC_B, MAC_BCAST, Wire, ether, ipv4, stackOn } from "../helpers/wire.js";

let net: TwoStacks | null = null;
let wire: Wire | null = null;
let wireStack: Stack | null = null;
const opened: { stack: Stack; pcb: UdpPcb }[] = [];

afterEach(() => {
  // Leak check (docs/architecture.md "Tests"): once the test's PCBs are closed none is left, and stopped stacks arm nothing.
  for (const { stack, pcb } of opened.splice(0)) stack.udp.close(pcb);
  if (net !== null) {
    expect(net.a.udp.allPcbs()).toEqual([]);
    expect(net.b.udp.allPcbs()).toEqual([]);
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  if (wire !== null && wireStack !== null) {
    expect(wireStack.udp.allPcbs()).toEqual([]);
    wireStack.stop();
    wire.peer.close();
    expect(wire.scheduler.armedLabels()).toEqual([]);
  }
  net = null;
  wire = null;
  wireStack = null;
});

function open(stack: Stack, options: Partial<UdpPcbOptions> = {}): UdpPcb {
  const pcb = stack.udp.open(options);
  opened.push({ stack, pcb });
  return pcb;
}

function bound(stack: Stack, port: number, localIp = 0, options: Partial<UdpPcbOptions> = {}): UdpPcb {
  const pcb = open(stack, options);
  expect(stack.udp.bind(pcb, localIp, port)).toBe(Err.OK);
  return pcb;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function send(stack: Stack, pcb: UdpPcb, text: string, dst: number | null, port = 0): ErrCode {
  const data = enc.encode(text);
  return stack.udp.sendTo(pcb, data, 0, data.length, dst, port);
}

/** The next datagram as text with its source, or null. */
function recv(stack: Stack, pcb: UdpPcb, max = 2048, peek = false): { text: string; src: number; port: number } | null {
  const src = pcb.queue.nextSrcIp;
  const port = pcb.queue.nextSrcPort;
  const buf = new Uint8Array(max);
  const n = stack.udp.receive(pcb, buf, 0, max, peek);
  if (n < 0) return null;
  return { text: dec.decode(buf.subarray(0, n)), src, port };
}

function drain(stack: Stack, pcb: UdpPcb): string[] {
  const out: string[] = [];
  for (let r = recv(stack, pcb); r !== null; r = recv(stack, pcb)) out.push(r.text);
  return out;
}

function run(ms = 10): void {
  net?.scheduler.advance(ms);
}

describe("datagrams between two stacks", () => {
  it("bind, sendTo and receive both ways, with the sender's address and port", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    const readable: number[] = [];
    server.events = { readable: () => readable.push(net?.scheduler.now() ?? 0) };
    expect(send(a, client, "hello, i am client", B_IP, 5000)).toBe(Err.OK);
    // An unbound PCB gets an ephemeral port on its first send (RFC 768: the source port is optional, but
    // replies need one).
    expect(client.localPort).toBeGreaterThanOrEqual(49152);
    run();
    expect(readable).toHaveLength(1);
    const got = recv(b, server);
    expect(got).toEqual({ text: "hello, i am client", src: A_IP, port: client.localPort });
    expect(send(b, server, "hello, i am server", got?.src ?? 0, got?.port ?? 0)).toBe(Err.OK);
    run();
    expect(recv(a, client)).toEqual({ text: "hello, i am server", src: B_IP, port: 5000 });
    expect(recv(a, client)).toBeNull();
    expect(b.udp.stats).toMatchObject({ rxDatagrams: 1, rxDelivered: 1, txDatagrams: 1 });
  });

  it("connect sets the default peer without sending; sendTo(null) goes there", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    expect(a.udp.connect(client, B_IP, 5000)).toBe(Err.OK);
    expect(client.localPort).toBeGreaterThanOrEqual(49152);
    run();
    expect(a.udp.stats.txDatagrams).toBe(0);
    expect(send(a, client, "via connect", null)).toBe(Err.OK);
    run();
    expect(recv(b, server)?.text).toBe("via connect");
    // Not connected and no destination: ENOTCONN.
    expect(send(a, open(a), "x", null)).toBe(Err.CONN);
  });

  it("fires readable once per input batch, however many datagrams it queued", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    let events = 0;
    server.events = { readable: () => events++ };
    a.netif.neighbors.learn(B_IP, b.netif.mac, net.scheduler.now());
    for (const t of ["1", "2", "3"]) send(a, client, t, B_IP, 5000);
    run();
    expect(events).toBe(1);
    expect(drain(b, server)).toEqual(["1", "2", "3"]);
  });
});

describe("ports", () => {
  it("gives distinct ephemeral ports in 49152–65535 (RFC 6335 §6), and refuses to bind twice", () => {
    net = twoStacks();
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const pcb = bound(net.a, 0);
      expect(pcb.localPort).toBeGreaterThanOrEqual(49152);
      expect(pcb.localPort).toBeLessThanOrEqual(65535);
      ports.add(pcb.localPort);
      expect(net.a.udp.bind(pcb, 0, 7000)).toBe(Err.VAL);
    }
    expect(ports.size).toBe(50);
  });

  it("EADDRINUSE for an overlapping bind unless both set SO_REUSEADDR", () => {
    net = twoStacks();
    const a = net.a;
    bound(a, 6000);
    expect(a.udp.bind(open(a), 0, 6000)).toBe(Err.USE);
    expect(a.udp.bind(open(a), A_IP, 6000)).toBe(Err.USE);
    // Different specific addresses do not overlap.
    bound(a, 6001, A_IP);
    bound(a, 6001, parseIpv4("127.0.0.1"));
    // Both with SO_REUSEADDR: allowed; one without: refused.
    const r1 = open(a);
    r1.reuseAddress = true;
    expect(a.udp.bind(r1, 0, 6002)).toBe(Err.OK);
    expect(a.udp.bind(open(a), 0, 6002)).toBe(Err.USE);
    const r2 = open(a);
    r2.reuseAddress = true;
    expect(a.udp.bind(r2, 0, 6002)).toBe(Err.OK);
    // Closing frees the port.
    const c = bound(a, 6003);
    a.udp.close(c);
    expect(a.udp.bind(open(a), 0, 6003)).toBe(Err.OK);
  });

  it("a closed PCB sends nothing (Err.CLSD)", () => {
    net = twoStacks();
    const pcb = open(net.a);
    net.a.udp.close(pcb);
    expect(send(net.a, pcb, "late", B_IP, 5000)).toBe(Err.CLSD);
    expect(net.a.udp.allPcbs()).toEqual([]);
  });
});

describe("connected PCBs", () => {
  it("accept only their peer's datagrams; others go to a wildcard PCB or get port unreachable", () => {
    net = twoStacks();
    const { a, b } = net;
    const connected = bound(b, 5000);
    expect(b.udp.connect(connected, A_IP, 6000)).toBe(Err.OK);
    const peer = bound(a, 6000);
    const stranger = bound(a, 6001);
    send(a, peer, "from the peer", B_IP, 5000);
    send(a, stranger, "from a stranger", B_IP, 5000);
    run();
    expect(drain(b, connected)).toEqual(["from the peer"]);
    expect(b.udp.stats.dropNoPort).toBe(1);
    expect(b.icmp.stats.txUnreachable).toBe(1);
    // With a wildcard PCB on the port too, the stranger's datagram goes there, the peer's still to the
    // connected one (the most specific match).
    b.udp.close(connected);
    const wildcard = open(b);
    wildcard.reuseAddress = true;
    const again = open(b);
    again.reuseAddress = true;
    expect(b.udp.bind(again, 0, 5000)).toBe(Err.OK);
    expect(b.udp.connect(again, A_IP, 6000)).toBe(Err.OK);
    expect(b.udp.bind(wildcard, 0, 5000)).toBe(Err.OK);
    send(a, stranger, "stranger 2", B_IP, 5000);
    send(a, peer, "peer 2", B_IP, 5000);
    run();
    expect(drain(b, again)).toEqual(["peer 2"]);
    expect(drain(b, wildcard)).toEqual(["stranger 2"]);
  });

  it("a closed port answers with ICMP port unreachable, and the connected sender's error event fires (Err.RST)", () => {
    net = twoStacks();
    const { a, b } = net;
    const client = open(a);
    const errors: ErrCode[] = [];
    client.events = { error: (_pcb, err) => errors.push(err) };
    a.udp.connect(client, B_IP, 5999);
    send(a, client, "anyone?", null);
    run();
    // RFC 1122 §4.1.3.1 / §3.2.2.1: port unreachable to the sender, reported to the connected PCB.
    expect(b.udp.stats.dropNoPort).toBe(1);
    expect(b.icmp.stats.txUnreachable).toBe(1);
    expect(a.icmp.stats.rxErrors).toBe(1);
    expect(errors).toEqual([Err.RST]);
    expect(client.pendingError).toBe(Err.RST);
  });

  it("an unconnected sender gets no error event (it cannot tell which peer refused, as on Linux)", () => {
    net = twoStacks();
    const { a } = net;
    const client = open(a);
    const errors: ErrCode[] = [];
    client.events = { error: (_pcb, err) => errors.push(err) };
    send(a, client, "anyone?", B_IP, 5999);
    run();
    expect(a.icmp.stats.rxErrors).toBe(1);
    expect(errors).toEqual([]);
  });
});

describe("the receive queue", () => {
  it("holds 4 datagrams by default and counts what it drops", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    for (let i = 1; i <= 6; i++) send(a, client, `d${i}`, B_IP, 5000);
    run();
    expect(server.queue.length).toBe(4);
    expect(server.dropped).toBe(2);
    expect(b.udp.stats.dropQueueFull).toBe(2);
    expect(drain(b, server)).toEqual(["d1", "d2", "d3", "d4"]);
  });

  it("is bounded in bytes too", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000, 0, { maxQueuedDatagrams: 16, maxQueuedBytes: 10 });
    const client = open(a);
    for (const t of ["12345", "6789", "ab"]) send(a, client, t, B_IP, 5000);
    run();
    expect(drain(b, server)).toEqual(["12345", "6789"]);
    expect(server.dropped).toBe(1);
  });

  it("truncates to the buffer size and discards the rest of that datagram (as recvfrom)", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    send(a, client, "0123456789", B_IP, 5000);
    send(a, client, "next", B_IP, 5000);
    run();
    expect(recv(b, server, 3)?.text).toBe("012");
    expect(recv(b, server)?.text).toBe("next");
    expect(recv(b, server)).toBeNull();
  });

  it("MSG_PEEK returns the next datagram and leaves it queued", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    send(a, client, "peek me", B_IP, 5000);
    run();
    expect(recv(b, server, 4, true)?.text).toBe("peek");
    expect(recv(b, server, 100, true)).toEqual({ text: "peek me", src: A_IP, port: client.localPort });
    expect(server.queue.length).toBe(1);
    expect(recv(b, server)?.text).toBe("peek me");
    expect(recv(b, server)).toBeNull();
  });
});

describe("broadcast", () => {
  it("needs SO_BROADCAST to send (Err.VAL without, like lwIP's IP_SOF_BROADCAST)", () => {
    net = twoStacks();
    const { a } = net;
    const pcb = open(a);
    expect(send(a, pcb, "x", 0xffffffff, 5000)).toBe(Err.VAL);
    expect(send(a, pcb, "x", parseIpv4("10.0.0.255"), 5000)).toBe(Err.VAL);
    expect(a.udp.stats.txDatagrams).toBe(0);
  });

  it("limited and directed broadcasts reach wildcard PCBs and PCBs bound to a unicast address", () => {
    net = twoStacks();
    const { a, b } = net;
    const wildcard = open(b);
    wildcard.reuseAddress = true;
    b.udp.bind(wildcard, 0, 5000);
    const onAddress = open(b);
    onAddress.reuseAddress = true;
    b.udp.bind(onAddress, B_IP, 5000);
    const pcb = open(a);
    pcb.broadcast = true;
    const arpBefore = a.netif.stats.arpTxRequests;
    expect(send(a, pcb, "limited", 0xffffffff, 5000)).toBe(Err.OK);
    expect(send(a, pcb, "directed", parseIpv4("10.0.0.255"), 5000)).toBe(Err.OK);
    run();
    expect(drain(b, wildcard)).toEqual(["limited", "directed"]);
    expect(drain(b, onAddress)).toEqual(["limited", "directed"]);
    // Broadcast went out without ARP, to ff:ff:ff:ff:ff:ff.
    expect(a.netif.stats.arpTxRequests - arpBefore).toBe(0);
  });

  it("a broadcast to a closed port is dropped silently (no ICMP about broadcasts, RFC 1122 §3.2.2)", () => {
    net = twoStacks();
    const { a, b } = net;
    const pcb = open(a);
    pcb.broadcast = true;
    send(a, pcb, "nobody", 0xffffffff, 5999);
    run();
    expect(b.icmp.stats.txUnreachable).toBe(0);
    expect(a.icmp.stats.rxErrors).toBe(0);
  });
});

describe("size limits", () => {
  it("carries a 65 507-byte datagram (45 fragments) intact", () => {
    net = twoStacks();
    const { a, b } = net;
    const server = bound(b, 5000);
    const client = open(a);
    const data = Uint8Array.from({ length: UDP_MAX_DATA }, (_, i) => (i * 31 + (i >>> 8)) & 0xff);
    expect(UDP_MAX_DATA).toBe(65507);
    expect(a.udp.sendTo(client, data, 0, data.length, B_IP, 5000)).toBe(Err.OK);
    run(100);
    // 65 515 bytes of IP payload cut at 1480: 45 fragments.
    expect(a.ip.stats.txFragments).toBe(45);
    expect(b.ip.reassembler.stats.reassembled).toBe(1);
    const buf = new Uint8Array(70000);
    expect(b.udp.receive(server, buf, 0, buf.length)).toBe(UDP_MAX_DATA);
    expect(buf.subarray(0, UDP_MAX_DATA)).toEqual(data);
  });

  it("refuses more than 65 507 bytes with Err.MSGSIZE and sends nothing", () => {
    net = twoStacks();
    const { a } = net;
    const client = open(a);
    const data = new Uint8Array(UDP_MAX_DATA + 1);
    expect(a.udp.sendTo(client, data, 0, data.length, B_IP, 5000)).toBe(Err.MSGSIZE);
    run();
    expect(a.ip.stats.txPackets).toBe(0);
  });
});

describe("loss and loopback", () => {
  it("with 20% of frames dropped, every datagram is either received or counted lost", () => {
    net = twoStacks({ faults: { loss: 0.2, seed: 42 } });
    const { a, b, scheduler } = net;
    const lane = net.faultA?.tx;
    if (lane === undefined || lane === null) throw new Error("no fault lane");
    // Neighbours known and announcements over, so every frame A sends from here on is one datagram.
    a.netif.neighbors.learn(B_IP, b.netif.mac, scheduler.now());
    run(5000);
    const droppedBefore = lane.stats.dropped;
    const server = bound(b, 5000, 0, { maxQueuedDatagrams: 512 });
    const client = open(a);
    const n = 300;
    for (let i = 0; i < n; i++) {
      send(a, client, `#${i}`, B_IP, 5000);
      run(1);
    }
    run(100);
    const lost = lane.stats.dropped - droppedBefore;
    const got = drain(b, server);
    expect(lost).toBeGreaterThan(30);
    expect(lost).toBeLessThan(100);
    expect(got.length + lost).toBe(n);
    // What arrived came in order and unharmed.
    const seq = got.map((t) => Number(t.slice(1)));
    expect(seq).toEqual([...seq].sort((x, y) => x - y));
    expect(b.udp.stats.rxDelivered).toBe(got.length);
  });

  it("delivers to our own address and 127.0.0.1 through the loopback queue", () => {
    net = twoStacks();
    const { a } = net;
    const server = bound(a, 5000);
    const client = open(a);
    const framesBefore = a.netif.stats.txFrames;
    send(a, client, "to myself", A_IP, 5000);
    send(a, client, "to localhost", parseIpv4("127.0.0.1"), 5000);
    // Never re-entrant: nothing is delivered inside sendTo.
    expect(server.queue.length).toBe(0);
    run(0);
    expect(drain(a, server)).toEqual(["to myself", "to localhost"]);
    expect(a.ip.stats.loopback).toBe(2);
    expect(a.netif.stats.txFrames - framesBefore).toBe(0); // nothing went on the wire
  });
});

describe("on a raw Wire (the test plays the far end)", () => {
  /** A frame from A to B carrying `udp` (an 8-byte header and data). */
  function frame(udp: readonly number[], ipLength?: number): Uint8Array {
    return ether(MAC_B, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: IP_B, protocol: IpProto.UDP, payload: Uint8Array.from(udp), totalLength: ipLength }));
  }

  // scapy: IP(src="10.0.0.1", dst="10.0.0.2")/UDP(sport=49152, dport=7)/b"hello" (see test/udp/header.test.ts)
  const HELLO = [0xc0, 0x00, 0x00, 0x07, 0x00, 0x0d, 0xe7, 0xf7, 0x68, 0x65, 0x6c, 0x6c, 0x6f];

  function start(): { stack: Stack; pcb: UdpPcb } {
    wire = new Wire();
    const stack = stackOn(wire);
    wireStack = stack;
    stack.netif.neighbors.learn(IP_A, MAC_A, wire.now);
    const pcb = bound(stack, 7, 0, { maxQueuedDatagrams: 16 });
    return { stack, pcb };
  }

  it("accepts a good checksum and a zero one (RFC 768: none)", () => {
    const { stack, pcb } = start();
    wire?.inject(frame(HELLO));
    const none = [...HELLO];
    none[6] = 0;
    none[7] = 0;
    wire?.inject(frame(none));
    expect(drain(stack, pcb)).toEqual(["hello", "hello"]);
    expect(stack.udp.stats).toMatchObject({ rxDatagrams: 2, rxDelivered: 2, dropBadChecksum: 0 });
  });

  it("drops and counts a bad checksum, a bad length and a truncated header, answering none of them", () => {
    const { stack, pcb } = start();
    const bad = [...HELLO];
    bad[8] = (bad[8] ?? 0) ^ 0x20; // "Hello"
    wire?.inject(frame(bad));
    const long = [...HELLO];
    long[5] = 0x0e; // length 14 > 13 bytes present
    wire?.inject(frame(long));
    wire?.inject(frame(HELLO.slice(0, 6)));
    expect(drain(stack, pcb)).toEqual([]);
    expect(stack.udp.stats).toMatchObject({ rxDatagrams: 3, dropBadChecksum: 1, dropBadLength: 1, dropTruncated: 1, rxDelivered: 0 });
    expect(wire?.take()).toEqual([]);
  });

  it("answers a unicast datagram to a closed port with port unreachable, a broadcast one with nothing", () => {
    const { stack } = start();
    const closed = [...HELLO];
    closed[3] = 0x08; // port 8: checksum now wrong, so zero it
    closed[6] = 0;
    closed[7] = 0;
    wire?.inject(frame(closed));
    const out = wire?.take() ?? [];
    expect(out).toHaveLength(1);
    // ICMP type 3 code 3, after Ethernet (14) and IP (20).
    expect([out[0]?.[34], out[0]?.[35]]).toEqual([3, 3]);
    wire?.inject(ether(MAC_BCAST, MAC_A, EtherType.IPV4, ipv4({ src: IP_A, dst: 0xffffffff, protocol: IpProto.UDP, payload: Uint8Array.from(closed) })));
    expect(wire?.take()).toEqual([]);
    expect(stack.udp.stats.dropNoPort).toBe(2);
  });
  it("sends multicast to the group's Ethernet address (RFC 1112 §6.4) with TTL 1 (§6.1), without ARP", () => {
    const { stack } = start();
    const pcb = open(stack);
    const data = enc.encode("to the group");
    expect(stack.udp.sendTo(pcb, data, 0, data.length, parseIpv4("239.129.2.3"), 5000)).toBe(Err.OK);
    wire?.advance(0);
    const out = wire?.take() ?? [];
    expect(out).toHaveLength(1);
    const f = out[0] ?? new Uint8Array(0);
    // 239.129.2.3: the low 23 bits (01:02:03, the top bit of 129 dropped) after 01:00:5e.
    expect([...f.subarray(0, 6)]).toEqual([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    expect(f[22]).toBe(1); // IP TTL
    expect(f[23]).toBe(IpProto.UDP);
    expect(stack.netif.stats.arpTxRequests).toBe(2); // the two announcements only
    // multicastTtl raises it, as IP_MULTICAST_TTL would.
    pcb.multicastTtl = 4;
    stack.udp.sendTo(pcb, data, 0, data.length, parseIpv4("239.129.2.3"), 5000);
    wire?.advance(0);
    expect(wire?.take()[0]?.[22]).toBe(4);
  });

  it("random datagrams never throw, and each is delivered or dropped under exactly one counter", () => {
    const { stack, pcb } = start();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (payload, toPort7) => {
        const p = payload.slice();
        if (toPort7 && p.length >= 4) {
          p[2] = 0;
          p[3] = 7;
        }
        wire?.inject(frame([...p]));
        wire?.take();
        while (stack.udp.receive(pcb, new Uint8Array(0), 0, 0) >= 0) {
          /* keep the queue empty */
        }
      }),
      { seed: 0x0d9, numRuns: 300 },
    );
    const s = stack.udp.stats;
    expect(s.rxDatagrams).toBe(300);
    expect(s.rxDelivered + s.dropTruncated + s.dropBadLength + s.dropBadChecksum + s.dropNoPort + s.dropQueueFull).toBe(300);
  });
});
