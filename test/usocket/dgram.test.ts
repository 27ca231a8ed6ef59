// usocket UDP and raw sockets between two stacks on the simulated clock: the board's 4-datagram queue with
// drops counted, truncation and MSG_PEEK, EMSGSIZE and EHOSTUNREACH from sendto, SO_BROADCAST, multicast
// membership through setsockopt, and a raw ICMP socket that pings and sees the reply with its IP header.

import { afterEach, describe, expect, it } from "vitest";
import { settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { errnoRaised, text } from "../helpers/usocket.js";
import { checksum } from "../../src/core/checksum.js";
import {
  AF_INET,
  IPPROTO_IP,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  MSG_PEEK,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_SOCKET,
  SO_BROADCAST,
  usocketFor,
  type Usocket,
} from "../../src/usocket/index.js";

let net: TwoStacks;
let A: Usocket;
let B: Usocket;

function setup(options: { maxQueuedDatagrams?: number } = {}): void {
  net = twoStacks();
  A = usocketFor(net.a, options);
  B = usocketFor(net.b, options);
}

function run<T>(p: Promise<T>, limitMs?: number): Promise<T> {
  return settle(net.scheduler, p, limitMs);
}

const errnoNow = (call: Promise<unknown> | (() => unknown)): Promise<number> => errnoRaised(call);



afterEach(() => {
  A.closeAll();
  B.closeAll();
  net.scheduler.advance(30_000);
  for (const s of [net.a, net.b]) {
    expect(s.udp.allPcbs()).toHaveLength(0);
    expect(s.raw.allPcbs()).toHaveLength(0);
    expect(s.igmp.joinedGroups()).toEqual([]);
  }
  net.stop();
  expect(net.scheduler.armedLabels()).toEqual([]);
});

describe("UDP", () => {
  it.each([
    { queued: 4, sent: 6, options: {} },
    { queued: 16, sent: 16, options: { maxQueuedDatagrams: 16 } },
  ])("queues $queued datagrams (the board: 4) and counts the drops", async ({ queued, sent, options }) => {
    setup(options);
    const rx = A.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["0.0.0.0", 5000]);
    const tx = B.socket(AF_INET, SOCK_DGRAM);
    for (let i = 0; i < sent; i++) await tx.sendto(`d${i}`, ["10.0.0.1", 5000]);
    net.scheduler.advance(10);
    rx.setblocking(false);
    const got: string[] = [];
    for (let i = 0; i < queued; i++) got.push(text(await rx.recv(100)));
    expect(got).toEqual(Array.from({ length: queued }, (_, i) => `d${i}`));
    expect(await errnoNow(rx.recv(100))).toBe(11);
    expect(net.a.udp.stats.dropQueueFull).toBe(sent - queued);
  });

  it("recvfrom takes one datagram truncated to bufsize; MSG_PEEK leaves it queued; connect filters and send uses the peer", async () => {
    setup();
    const rx = A.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["", 5000]);
    const tx = B.socket(AF_INET, SOCK_DGRAM);
    await run(tx.connect(["10.0.0.1", 5000]));
    await run(tx.send("0123456789"));
    await run(tx.send(new Uint8Array([1, 2, 3])));
    const [peeked, from] = await run(rx.recvfrom(4, MSG_PEEK));
    expect(text(peeked)).toBe("0123");
    expect(from[0]).toBe("10.0.0.2");
    expect(text(await run(rx.recv(4)))).toBe("0123");
    // The rest of a truncated datagram is gone: the next recv is the next datagram.
    expect([...(await run(rx.recv(100)))]).toEqual([1, 2, 3]);
    // Connected: only the peer's datagrams are accepted.
    const other = A.socket(AF_INET, SOCK_DGRAM);
    await run(other.sendto("stranger", ["10.0.0.2", from[1]]));
    await run(rx.sendto("peer", ["10.0.0.2", from[1]]));
    expect(text(await run(tx.recv(100)))).toBe("peer");
    // stream methods on a datagram socket: one datagram each, null when none (non-blocking).
    tx.setblocking(false);
    expect(await tx.read()).toBeNull();
  });

  it("sendto over 65507 bytes → EMSGSIZE; no route → EHOSTUNREACH; unconnected send → ENOTCONN", async () => {
    setup();
    const s = A.socket(AF_INET, SOCK_DGRAM);
    expect(await errnoNow(s.sendto(new Uint8Array(65508), ["10.0.0.2", 9]))).toBe(90);
    expect(await errnoNow(s.sendto("x", ["192.168.9.9", 9]))).toBe(113);
    expect(await errnoNow(s.send("x"))).toBe(107);
    // The largest datagram goes, in fragments.
    const rx = B.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["", 9]);
    expect(await run(s.sendto(new Uint8Array(65507).fill(7), ["10.0.0.2", 9]))).toBe(65507);
    const got = await run(rx.recv(70000));
    expect(got.length).toBe(65507);
  });

  it("broadcast needs SO_BROADCAST", async () => {
    setup();
    const rx = B.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["0.0.0.0", 6000]);
    const tx = A.socket(AF_INET, SOCK_DGRAM);
    expect(await errnoNow(tx.sendto("all", ["255.255.255.255", 6000]))).toBe(22);
    tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    await run(tx.sendto("all", ["255.255.255.255", 6000]));
    expect(text(await run(rx.recv(10)))).toBe("all");
  });

  it("IP_ADD_MEMBERSHIP lets a socket receive a group; IP_DROP_MEMBERSHIP stops it; close leaves", async () => {
    setup();
    const group = [239, 1, 2, 3];
    const mreq = new Uint8Array([...group, 0, 0, 0, 0]);
    const rx = B.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["0.0.0.0", 5007]);
    rx.settimeout(0.1);
    const tx = A.socket(AF_INET, SOCK_DGRAM);
    await run(tx.sendto("before", ["239.1.2.3", 5007]));
    expect(await errnoNow(run(rx.recv(100)))).toBe(110);

    rx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
    expect(net.b.igmp.isJoined(0xef010203)).toBe(true);
    await run(tx.sendto("joined", ["239.1.2.3", 5007]));
    expect(text(await run(rx.recv(100)))).toBe("joined");

    rx.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq);
    await run(tx.sendto("after", ["239.1.2.3", 5007]));
    expect(await errnoNow(run(rx.recv(100)))).toBe(110);
    // Dropping a group not joined, or joining a unicast address: EINVAL.
    expect(await errnoNow(() => rx.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq))).toBe(22);
    expect(await errnoNow(() => rx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, new Uint8Array([10, 0, 0, 1, 0, 0, 0, 0])))).toBe(22);

    rx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
    rx.close();
    expect(net.b.igmp.joinedGroups()).toEqual([]);
  });
});

describe("raw sockets", () => {
  it("a SOCK_RAW ICMP socket pings B and receives the echo reply with its IP header", async () => {
    setup();
    const s = A.socket(AF_INET, SOCK_RAW, 1);
    const echo = new Uint8Array(8 + 4);
    // type 8 (echo request), code 0, checksum, identifier 0x1234, sequence 1, payload "ping".
    echo.set([8, 0, 0, 0, 0x12, 0x34, 0, 1, ...new TextEncoder().encode("ping")]);
    const sum = checksum(echo, 0, echo.length);
    echo[2] = sum >>> 8;
    echo[3] = sum & 0xff;
    expect(await run(s.sendto(echo, ["10.0.0.2", 0]))).toBe(12);
    const [reply, from] = await run(s.recvfrom(1500));
    expect(from).toEqual(["10.0.0.2", 0]);
    expect(reply[0]).toBe(0x45); // IPv4, 20-byte header
    expect(reply[9]).toBe(1); // protocol ICMP
    expect(reply.length).toBe(20 + 12);
    expect([...reply.subarray(20, 21)]).toEqual([0]); // echo reply
    expect([...reply.subarray(24, 28)]).toEqual([0x12, 0x34, 0, 1]);
    expect(text(reply.subarray(28))).toBe("ping");
  });
});
