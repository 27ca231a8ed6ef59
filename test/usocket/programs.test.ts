// The four programs users run first (docs/usocket.md "The four programs"), written against the TypeScript usocket API with both ends
// on walnut stacks over a MemLink on the simulated clock; plus the module surface: constants, OSError,
// socket() arguments and getaddrinfo (dotted quad, a name from a fake DNS server on the other stack, failure).

import { afterEach, describe, expect, it } from "vitest";
import { B_IP, settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { errnoRaised, text } from "../helpers/usocket.js";
import type { StackConfig } from "../../src/stack/stack.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import * as usocket from "../../src/usocket/index.js";
import { AF_INET, AF_INET6, OSError, SOCK_DGRAM, SOCK_STREAM, usocketFor, type Usocket } from "../../src/usocket/index.js";

let net: TwoStacks;
let A: Usocket;
let B: Usocket;

function setup(o: { a?: Partial<StackConfig>; b?: Partial<StackConfig> } = {}): void {
  net = twoStacks(o);
  A = usocketFor(net.a);
  B = usocketFor(net.b);
}

function run<T>(p: Promise<T>, limitMs?: number): Promise<T> {
  return settle(net.scheduler, p, limitMs);
}

const errnoOf = (call: Promise<unknown> | (() => unknown)): Promise<number> => errnoRaised(call, run);



afterEach(() => {
  // Quiescence (docs/architecture.md "Tests"): every socket closed, TIME-WAIT over, no PCB, no armed deadline after stop.
  A.closeAll();
  B.closeAll();
  net.scheduler.advance(130_000);
  for (const s of [net.a, net.b]) {
    expect(s.tcp.allPcbs().map((p) => s.tcp.info(p).state)).toEqual([]);
    expect(s.tcp.activeListeners).toHaveLength(0);
    expect(s.udp.allPcbs()).toHaveLength(0);
    expect(s.raw.allPcbs()).toHaveLength(0);
  }
  net.stop();
  expect(net.scheduler.armedLabels()).toEqual([]);
});

describe("the module surface", () => {
  it("exports the board's constants with the board's values", () => {
    expect({ ...usocket }).toMatchObject({
      AF_INET: 2,
      AF_INET6: 0,
      SOCK_STREAM: 1,
      SOCK_DGRAM: 2,
      SOCK_RAW: 3,
      SO_REUSEADDR: 4,
      IPPROTO_IP: 0,
      IPPROTO_TCP: 6,
      IPPROTO_UDP: 17,
      SOL_SOCKET: 1,
      IP_ADD_MEMBERSHIP: 0x400,
      IP_DROP_MEMBERSHIP: 0x401,
      SO_BROADCAST: 0x20,
      TCP_NODELAY: 0x40,
      MSG_PEEK: 1,
      MSG_DONTWAIT: 2,
      POLLIN: 1,
      POLLOUT: 4,
      POLLERR: 8,
      POLLHUP: 16,
      POLLNVAL: 0x20,
    });
    setup();
  });

  it("OSError carries errno, its name and the board's message", () => {
    const e = new OSError(110);
    expect(e).toBeInstanceOf(Error);
    expect(e.errno).toBe(110);
    expect(e.code).toBe("ETIMEDOUT");
    expect(e.message).toBe("[Errno 110] ETIMEDOUT");
    expect(e.args).toEqual([110]);
    expect(new OSError(-2).message).toBe("[Errno -2] EAI_NONAME");
    setup();
  });

  it("socket(): AF_INET6 → EAFNOSUPPORT; defaults make a TCP socket shown as <socket>; fileno is small and distinct", async () => {
    setup();
    expect(await errnoOf(() => A.socket(AF_INET6, SOCK_STREAM))).toBe(97);
    const s = A.socket();
    const u = A.socket(AF_INET, SOCK_DGRAM);
    expect(s.type).toBe(SOCK_STREAM);
    expect(String(s)).toBe("<socket>");
    expect(s.fileno()).not.toBe(u.fileno());
    expect(s.fileno()).toBeLessThan(100);
    expect(s.makefile("rwb", 0)).toBe(s);
  });
});

describe("the four programs", () => {
  it("1+2: TCP server on A (bind, listen(5), accept, send, close) and TCP client on B (connect, recv, close)", async () => {
    setup();
    const server = A.socket(AF_INET, SOCK_STREAM);
    server.bind(["0.0.0.0", 5000]);
    server.listen(5);
    for (const line of ["hello from the board", "second client"]) {
      const accepting = server.accept();
      const client = B.socket(AF_INET, SOCK_STREAM);
      const [[, , , , addr]] = (await run(B.getaddrinfo("10.0.0.1", 5000))) as [usocket.AddrInfo];
      await run(client.connect(addr));
      const [conn, peer] = await run(accepting);
      expect(peer[0]).toBe("10.0.0.2");
      expect(peer[1]).toBeGreaterThanOrEqual(49152);
      expect(await run(conn.send(line))).toBe(line.length);
      conn.close();
      expect(text(await run(client.recv(1024)))).toBe(line);
      expect(await run(client.recv(1024))).toEqual(new Uint8Array(0));
      client.close();
    }
    server.close();
  });

  it("3+4: UDP server on A (recvfrom, reply with sendto) and UDP client on B, str data", async () => {
    setup();
    const server = A.socket(AF_INET, SOCK_DGRAM);
    server.bind(["0.0.0.0", 5000]);
    const client = B.socket(AF_INET, SOCK_DGRAM);
    const addr = (await run(B.getaddrinfo("10.0.0.1", 5000)))[0]![4];
    for (let i = 0; i < 3; i++) {
      const receiving = server.recvfrom(1024);
      expect(await run(client.sendto("hello, i am client", addr))).toBe(18);
      const [data, address] = await run(receiving);
      expect(text(data)).toBe("hello, i am client");
      expect(address[0]).toBe("10.0.0.2");
      await run(server.sendto("hello, i am server", address));
      const [reply, from] = await run(client.recvfrom(1024));
      expect(text(reply)).toBe("hello, i am server");
      expect(from).toEqual(["10.0.0.1", 5000]);
    }
    server.close();
    client.close();
  });
});

/** A DNS server on B's port 53 answering `name` with `addr` and everything else with NXDOMAIN. */
function fakeDns(name: string, addr: number[]): UdpPcb {
  const udp = net.b.udp;
  const pcb = udp.open({ maxQueuedDatagrams: 16 });
  expect(udp.bind(pcb, 0, 53)).toBe(0);
  const buf = new Uint8Array(512);
  pcb.events = {
    readable: () => {
      while (!pcb.queue.isEmpty) {
        const src = pcb.queue.nextSrcIp;
        const srcPort = pcb.queue.nextSrcPort;
        const n = udp.receive(pcb, buf, 0, buf.length);
        const q = [...buf.subarray(0, n)];
        // The question: labels from offset 12, then QTYPE and QCLASS (RFC 1035 §4.1.2).
        let p = 12;
        const labels: string[] = [];
        while (q[p] !== 0) {
          labels.push(String.fromCharCode(...q.slice(p + 1, p + 1 + q[p]!)));
          p += 1 + q[p]!;
        }
        const question = q.slice(12, p + 5);
        const isKnown = labels.join(".").toLowerCase() === name;
        const answer = isKnown ? [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...addr] : [];
        // ID echoed; QR RD RA, rcode 0 or 3 (NXDOMAIN); one question, one answer or none.
        const reply = new Uint8Array([q[0]!, q[1]!, 0x81, isKnown ? 0x80 : 0x83, 0, 1, 0, isKnown ? 1 : 0, 0, 0, 0, 0, ...question, ...answer]);
        udp.sendTo(pcb, reply, 0, reply.length, src, srcPort);
      }
    },
  };
  return pcb;
}

describe("getaddrinfo", () => {
  it("gives exactly one tuple for a dotted quad, whatever type was asked, without a lookup", async () => {
    setup();
    expect(await run(A.getaddrinfo("127.0.0.1", 5000))).toEqual([[2, 1, 0, "127.0.0.1", ["127.0.0.1", 5000]]]);
    expect(await run(A.getaddrinfo("10.0.0.2", 53, 0, SOCK_DGRAM))).toEqual([[2, 1, 0, "10.0.0.2", ["10.0.0.2", 53]]]);
    // 'localhost' needs no resolver, and a bytes host is taken as its text (docs/usocket.md "Module-level details").
    expect(await run(A.getaddrinfo("localhost", 80))).toEqual([[2, 1, 0, "localhost", ["127.0.0.1", 80]]]);
    expect(await run(A.getaddrinfo(new TextEncoder().encode("10.0.0.2"), 80, 2, 1, 6, 0))).toEqual([[2, 1, 0, "10.0.0.2", ["10.0.0.2", 80]]]);
    expect(net.a.dns.pendingCount).toBe(0);
  });

  it("resolves a name through the stack's resolver; an unknown name raises OSError -2", async () => {
    setup({ a: { dns: { servers: [B_IP] } } });
    const server = fakeDns("board.test", [10, 0, 0, 2]);
    expect(await run(A.getaddrinfo("board.test", 80))).toEqual([[2, 1, 0, "board.test", ["10.0.0.2", 80]]]);
    expect(await errnoOf(A.getaddrinfo("nowhere.test", 80))).toBe(-2);
    net.b.udp.close(server);
  });

  it("raises -2 with no DNS server configured", async () => {
    setup();
    expect(await errnoOf(A.getaddrinfo("board.test", 80))).toBe(-2);
  });
});
