// usocket TCP sockets between two stacks on the simulated clock: every errno row of docs/usocket.md "Socket methods"
// (MicroPython-on-lwIP semantics: ECONNRESET for a refused connect, None from stream methods where socket
// methods raise EAGAIN, ...), timeouts and blocking, recv flags, the stream methods, sendall, options, close.

import { afterEach, describe, expect, it, vi } from "vitest";
import { A_IP, settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { errnoRaised, text } from "../helpers/usocket.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import { DEFAULT_TCP_CONFIG } from "../../src/tcp/tcp.js";
import type { StackConfig } from "../../src/stack/stack.js";
import {
  AF_INET,
  IPPROTO_IP,
  IPPROTO_TCP,
  IP_ADD_MEMBERSHIP,
  MSG_DONTWAIT,
  MSG_PEEK,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_LINGER,
  SO_REUSEADDR,
  TCP_NODELAY,
  ValueError,
  usocketFor,
  type Socket,
  type Usocket,
} from "../../src/usocket/index.js";

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

const errnoNow = (call: Promise<unknown> | (() => unknown)): Promise<number> => errnoRaised(call);
const errnoOf = (call: Promise<unknown> | (() => unknown)): Promise<number> => errnoRaised(call, run);



const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const EMPTY = new Uint8Array(0);

/** A listening server on A, a client on B connected to it, and the accepted connection. */
async function pair(port = 5000): Promise<{ server: Socket; conn: Socket; client: Socket }> {
  const server = A.socket();
  server.bind(["", port]);
  server.listen();
  const accepting = server.accept();
  const client = B.socket();
  await run(client.connect(["10.0.0.1", port]));
  const [conn] = await run(accepting);
  return { server, conn, client };
}

/** Moves simulated time on by `ms` (no promise to wait for), letting promise callbacks run. */
async function pass(ms: number): Promise<void> {
  const end = net.scheduler.now() + ms;
  await settle(net.scheduler, new Promise<void>(() => undefined), ms).catch(() => undefined);
  expect(net.scheduler.now()).toBeGreaterThanOrEqual(end);
}

afterEach(() => {
  A.closeAll();
  B.closeAll();
  net.scheduler.advance(130_000);
  for (const s of [net.a, net.b]) {
    expect(s.tcp.allPcbs().map((p) => s.tcp.info(p).state)).toEqual([]);
    expect(s.tcp.activeListeners).toHaveLength(0);
    expect(s.udp.allPcbs()).toHaveLength(0);
  }
  net.stop();
  expect(net.scheduler.armedLabels()).toEqual([]);
});

describe("connect errors", () => {
  it("a refused connect (RST) raises ECONNRESET, as lwIP boards do (not ECONNREFUSED)", async () => {
    setup();
    const s = B.socket();
    expect(await errnoOf(s.connect(["10.0.0.1", 5001]))).toBe(104);
  });

  it("non-blocking: EINPROGRESS, EALREADY while connecting, EISCONN once connected", async () => {
    setup();
    const server = A.socket();
    server.bind(["0.0.0.0", 5000]);
    server.listen();
    const s = B.socket();
    s.setblocking(false);
    expect(await errnoNow(s.connect(["10.0.0.1", 5000]))).toBe(115);
    expect(await errnoNow(s.connect(["10.0.0.1", 5000]))).toBe(114);
    await pass(5);
    expect(await errnoOf(s.connect(["10.0.0.1", 5000]))).toBe(106);
  });

  it("ARP failure raises EHOSTUNREACH; no route at all raises it at once", async () => {
    setup();
    const s = B.socket();
    const t0 = net.scheduler.now();
    expect(await errnoOf(s.connect(["10.0.0.3", 80]))).toBe(113);
    // Three ARP requests one second apart (RFC 1122 §2.3.2.1), then the waiting SYN fails.
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(2900);
    const t = B.socket();
    expect(await errnoOf(t.connect(["192.168.7.7", 80]))).toBe(113);
  });

  it("SYN retries exhausted raise ECONNABORTED; a finite timeout raises ETIMEDOUT first", async () => {
    setup({ b: { tcp: { maxSynRetries: 2 } } });
    // A host that answers ARP (a learned entry) but never TCP: its SYNs vanish on the wire.
    const hole = parseIpv4("10.0.0.9");
    net.b.netif.neighbors.learn(hole, parseMac("02:00:00:00:00:09"), net.scheduler.now());
    const s = B.socket();
    expect(await errnoOf(s.connect(["10.0.0.9", 80]))).toBe(103);
    const t = B.socket();
    t.settimeout(0.5);
    const t0 = net.scheduler.now();
    expect(await errnoOf(t.connect(["10.0.0.9", 80]))).toBe(110);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(500);
    expect(net.scheduler.now() - t0).toBeLessThan(600);
  });

  it("connect on a UDP socket sets the default peer without a packet", async () => {
    setup();
    const u = B.socket(AF_INET, SOCK_DGRAM);
    const before = net.b.udp.stats.txDatagrams;
    await run(u.connect(["10.0.0.1", 7777]));
    expect(net.b.udp.stats.txDatagrams).toBe(before);
  });
});

describe("socket errors", () => {
  it("EBADF after close for every call; closing twice is harmless", async () => {
    setup();
    const { client } = await pair();
    client.close();
    client.close();
    expect(await errnoOf(client.recv(10))).toBe(9);
    expect(await errnoOf(client.send("x"))).toBe(9);
    expect(await errnoOf(client.read())).toBe(9);
    expect(await errnoOf(client.write("x"))).toBe(9);
    expect(await errnoOf(client.connect(["10.0.0.1", 5000]))).toBe(9);
    expect(await errnoOf(() => client.bind(["", 0]))).toBe(9);
    expect(await errnoOf(() => client.listen())).toBe(9);
    expect(await errnoOf(client.accept())).toBe(9);
    expect(await errnoOf(() => client.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1))).toBe(9);
  });

  it("ENOTCONN: recv/send on a never-connected socket, recv on a listening one", async () => {
    setup();
    const s = A.socket();
    expect(await errnoOf(s.recv(10))).toBe(107);
    expect(await errnoOf(s.send("x"))).toBe(107);
    s.bind(["", 5000]);
    s.listen();
    expect(await errnoOf(s.recv(10))).toBe(107);
    const u = A.socket(AF_INET, SOCK_DGRAM);
    expect(await errnoOf(u.send("x"))).toBe(107);
  });

  it("listen on UDP → EOPNOTSUPP; accept on a non-listening socket → EINVAL; bind twice → EINVAL", async () => {
    setup();
    const u = A.socket(AF_INET, SOCK_DGRAM);
    expect(await errnoOf(() => u.listen())).toBe(95);
    u.bind(["", 6000]);
    expect(await errnoOf(() => u.bind(["", 6001]))).toBe(22);
    const s = A.socket();
    expect(await errnoOf(s.accept())).toBe(22);
    s.bind(["0.0.0.0", 5000]);
    expect(await errnoOf(() => s.bind(["0.0.0.0", 5002]))).toBe(22);
  });

  it("EADDRINUSE for a port in use; SO_REUSEADDR allows one still held by TIME-WAIT", async () => {
    setup();
    const { server, conn, client } = await pair(5000);
    expect(await errnoOf(() => A.socket().bind(["", 5000]))).toBe(98);
    // The server side closes first: its connection waits in TIME-WAIT on port 5000.
    conn.close();
    await run(client.recv(10));
    client.close();
    server.close();
    await pass(100);
    expect(net.a.tcp.allPcbs().map((p) => net.a.tcp.info(p).state)).toEqual(["TIME-WAIT"]);
    expect(await errnoOf(() => A.socket().bind(["", 5000]))).toBe(98);
    const again = A.socket();
    again.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    again.bind(["", 5000]);
    again.listen();
    // UDP: both sockets must ask for reuse.
    const u1 = A.socket(AF_INET, SOCK_DGRAM);
    u1.bind(["", 7000]);
    const u2 = A.socket(AF_INET, SOCK_DGRAM);
    u2.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    expect(await errnoOf(() => u2.bind(["", 7000]))).toBe(98);
  });

  it("SO_REUSEADDR also allows a port whose closed listener left a live connection (docs/usocket.md: 'a closed listener')", async () => {
    setup();
    const { server, conn, client } = await pair(5000);
    server.close();
    // The accepted connection still uses port 5000.
    expect(net.a.tcp.allPcbs().map((p) => net.a.tcp.info(p).state)).toEqual(["ESTABLISHED"]);
    expect(await errnoOf(() => A.socket().bind(["", 5000]))).toBe(98);
    const again = A.socket();
    again.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    again.bind(["", 5000]);
    again.listen();
    // The old connection keeps working beside the new listener.
    await run(client.send("still here"));
    expect(text(await run(conn.recv(64)))).toBe("still here");
    conn.close();
    client.close();
    again.close();
  });

  it("a bad address is a ValueError/TypeError at the edge", async () => {
    setup();
    const s = A.socket();
    expect(() => s.bind(["10.0.0.256", 80])).toThrow(ValueError);
    expect(() => s.bind(["10.0.0.1", 70000])).toThrow(ValueError);
    expect(() => s.bind(["10.0.0.1"] as unknown as [string, number])).toThrow(TypeError);
  });
});

describe("timeouts and blocking", () => {
  it("settimeout(t) bounds recv and accept with ETIMEDOUT; settimeout(0) ≡ setblocking(False) → EAGAIN", async () => {
    setup();
    const { server, client } = await pair();
    client.settimeout(0.25);
    let t0 = net.scheduler.now();
    expect(await errnoOf(client.recv(10))).toBe(110);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(250);
    server.settimeout(1);
    t0 = net.scheduler.now();
    expect(await errnoOf(server.accept())).toBe(110);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(1000);
    client.settimeout(0);
    expect(await errnoNow(client.recv(10))).toBe(11);
    server.setblocking(false);
    expect(await errnoNow(server.accept())).toBe(11);
    expect(() => client.settimeout(-1)).toThrow(ValueError);
    expect(net.scheduler.armedLabels()).not.toContain("usocket timeout");
  });

  it("settimeout(None) blocks until data comes, however long; accepted sockets inherit the timeout", async () => {
    setup();
    const server = A.socket();
    server.bind(["", 5000]);
    server.listen();
    server.settimeout(30);
    const accepting = server.accept();
    const client = B.socket();
    client.settimeout(null);
    await run(client.connect(["10.0.0.1", 5000]));
    const [conn] = await run(accepting);
    const receiving = client.recv(100);
    await pass(45_000);
    await run(conn.send("late"));
    expect(text(await run(receiving))).toBe("late");
    // conn inherited 30 s: recv on it times out.
    const t0 = net.scheduler.now();
    expect(await errnoOf(conn.recv(10), )).toBe(110);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(30_000);
  });

  it("EAGAIN from socket methods but null from stream methods when non-blocking", async () => {
    setup();
    const { conn, client } = await pair();
    client.setblocking(false);
    expect(await errnoNow(client.recv(10))).toBe(11);
    expect(await errnoNow(client.recvfrom(10))).toBe(11);
    expect(await client.read()).toBeNull();
    expect(await client.read(5)).toBeNull();
    expect(await client.readline()).toBeNull();
    expect(await client.readinto(new Uint8Array(4))).toBeNull();
    // Fill the send ring (the peer never reads): write gives the count, then null; send/sendall EAGAIN.
    conn.setblocking(false);
    const chunk = new Uint8Array(64 * 1024);
    let written = 0;
    for (;;) {
      const n = await conn.write(chunk);
      if (n === null) break;
      written += n;
    }
    expect(written).toBeGreaterThanOrEqual(DEFAULT_TCP_CONFIG.defaults.sendBufferBytes);
    expect(await errnoNow(conn.send("x"))).toBe(11);
    expect(await errnoNow(conn.sendall("x"))).toBe(11);
  });

  it("non-blocking: partial data comes back from read(size) and readline()", async () => {
    setup();
    const { conn, client } = await pair();
    await run(conn.send("abc\ndef"));
    await pass(5);
    client.setblocking(false);
    expect(text(await client.readline())).toBe("abc\n");
    expect(text(await client.readline())).toBe("def");
    await run(conn.send("xy"));
    // Nagle holds "xy" until "def" is acknowledged, and the client delays its ACK (40 ms).
    await pass(50);
    expect(text(await client.read(10))).toBe("xy");
  });
});

describe("receiving", () => {
  it("MSG_PEEK leaves the data queued; MSG_DONTWAIT makes one call non-blocking", async () => {
    setup();
    const { conn, client } = await pair();
    expect(await errnoNow(client.recv(10, MSG_DONTWAIT))).toBe(11);
    await run(conn.send("peekaboo"));
    expect(text(await run(client.recv(4, MSG_PEEK)))).toBe("peek");
    expect(text(await run(client.recv(100, MSG_PEEK | MSG_DONTWAIT)))).toBe("peekaboo");
    expect(text(await run(client.recv(100)))).toBe("peekaboo");
    const [data, addr] = await run((async () => {
      await conn.send("from");
      return client.recvfrom(100);
    })());
    expect(text(data)).toBe("from");
    expect(addr).toEqual(["10.0.0.1", 5000]);
  });

  it("recv returns at most bufsize, possibly fewer than queued; b'' at end of stream", async () => {
    setup();
    const { conn, client } = await pair();
    await run(conn.send("0123456789"));
    await pass(5);
    expect(text(await run(client.recv(4)))).toBe("0123");
    expect(text(await run(client.recv(100)))).toBe("456789");
    conn.close();
    expect(await run(client.recv(100))).toEqual(EMPTY);
    expect(await run(client.recv(100))).toEqual(EMPTY);
  });

  it("after a peer RST the first recv raises ECONNRESET, later ones return b''", async () => {
    setup();
    const { conn, client } = await pair();
    // Closing with unread data resets the connection (RFC 1122 §4.2.2.13).
    await run(client.send("unread"));
    await pass(5);
    conn.close();
    await pass(5);
    expect(await errnoOf(client.recv(10))).toBe(104);
    expect(await run(client.recv(10))).toEqual(EMPTY);
    expect(await run(client.read())).toEqual(EMPTY);
    expect(await errnoOf(client.send("more"))).toBe(104);
  });

  it("data that arrived before a peer's RST is read first (recv, read, readline); the next call raises ECONNRESET, later ones b''", async () => {
    setup();
    const { conn, client } = await pair();
    await run(conn.send("line one\nline two\nrest"));
    await run(client.send("unread"));
    await pass(5);
    conn.close(); // unread data on conn's side: the close resets (RFC 1122 §4.2.2.13)
    await pass(5);
    expect(await run(client.recv(4, MSG_PEEK))).toEqual(bytes("line"));
    expect(await run(client.readline())).toEqual(bytes("line one\n"));
    expect(await run(client.recv(5))).toEqual(bytes("line "));
    // read(size) asks for more than is left: it returns what arrived, and keeps the reset for the next call.
    expect(await run(client.read(100))).toEqual(bytes("two\nrest"));
    expect(await errnoOf(client.recv(10))).toBe(104);
    expect(await run(client.recv(10))).toEqual(EMPTY);
  });

  it("read(size) waits for size bytes or EOF, read() to EOF, readline() line by line, readinto() into a buffer", async () => {
    setup();
    const { conn, client } = await pair();
    const f = client.makefile("rwb", 0);
    expect(f).toBe(client);
    const reading = f.read(6);
    await run(conn.send("ab"));
    await pass(50);
    await run(conn.send("cdefg\nline two\nrest"));
    expect(text(await run(reading))).toBe("abcdef");
    expect(text(await run(f.readline()))).toBe("g\n");
    expect(text(await run(f.readline()))).toBe("line two\n");
    const buf = new Uint8Array(3);
    expect(await run(f.readinto(buf))).toBe(3);
    expect(text(buf)).toBe("res");
    const toEof = f.read();
    await run(conn.send("t and more"));
    conn.close();
    expect(text(await run(toEof))).toBe("tt and more");
    expect(await run(f.readline())).toEqual(EMPTY);
    expect(await run(f.readinto(buf, 2))).toBe(0);
  });
});

describe("sending", () => {
  it("sendall delivers a buffer much larger than the send ring; write() blocking returns its length", async () => {
    setup();
    const { conn, client } = await pair();
    const big = new Uint8Array(1_500_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 11)) & 0xff;
    const receiving = conn.read();
    await run(client.sendall(big));
    expect(await run(client.write(big.subarray(0, 1000)))).toBe(1000);
    client.close();
    const got = await run(receiving);
    expect(got!.length).toBe(big.length + 1000);
    expect(Buffer.from(got!.subarray(0, big.length)).equals(Buffer.from(big))).toBe(true);
  });

  it("send accepts str (UTF-8), Uint8Array, other views and ArrayBuffer", async () => {
    setup();
    const { conn, client } = await pair();
    expect(await run(client.send("é"))).toBe(2);
    expect(await run(client.send(new Uint16Array([0x4241])))).toBe(2);
    expect(await run(client.send(new Uint8Array([0x43]).buffer))).toBe(1);
    expect(await run(client.send(new DataView(bytes("xDy").buffer, 1, 1)))).toBe(1);
    expect(text(await run(conn.read(6)))).toBe("éABCD");
  });
});

describe("listen, accept, close", () => {
  it("listen() defaults to a backlog of 2: a third connection waits until one is accepted", async () => {
    setup();
    const server = A.socket();
    server.bind(["", 5000]);
    server.listen();
    const clients = [B.socket(), B.socket(), B.socket()];
    for (const c of clients) c.settimeout(0.5);
    expect(await run(clients[0]!.connect(["10.0.0.1", 5000]))).toBeUndefined();
    expect(await run(clients[1]!.connect(["10.0.0.1", 5000]))).toBeUndefined();
    expect(await errnoOf(clients[2]!.connect(["10.0.0.1", 5000]))).toBe(110);
    expect(net.a.tcp.stats.listenOverflows).toBeGreaterThan(0);
    server.setblocking(false);
    await server.accept();
    await pass(5000);
    // The third SYN's retransmission found room.
    const [third] = await server.accept();
    expect(third).toBeDefined();
  });

  it("closing a listening socket resets its unaccepted connections", async () => {
    setup();
    const server = A.socket();
    server.bind(["", 5000]);
    server.listen();
    const client = B.socket();
    await run(client.connect(["10.0.0.1", 5000]));
    server.close();
    expect(await errnoOf(client.recv(10))).toBe(104);
  });

  it("close is graceful (FIN after the queued data) and aborts with RST when it cannot finish in 10 s", async () => {
    // The client's window (16 KiB) takes far less than the server's send ring holds.
    setup({ b: { tcp: { defaults: { ...DEFAULT_TCP_CONFIG.defaults, recvBufferBytes: 16384 } } } });
    const { conn, client } = await pair();
    // The client never reads: the server's data fills the client's window and its own send ring.
    conn.setblocking(false);
    while ((await conn.write(new Uint8Array(65536))) !== null);
    conn.close();
    net.scheduler.advance(9_000);
    expect(net.a.tcp.allPcbs().map((p) => net.a.tcp.info(p).state)).toEqual(["FIN-WAIT-1"]);
    net.scheduler.advance(1_100);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.a.tcp.stats.txResets).toBeGreaterThan(0);
    // What arrived before the reset is still read first; the call after the last byte raises it.
    let drained = 0;
    while (drained < 16384) drained += (await client.recv(65536)).length;
    expect(drained).toBe(16384);
    expect(await errnoOf(client.recv(10))).toBe(104);
    expect(await client.recv(10)).toEqual(new Uint8Array(0));
  });
});

describe("shutdown", () => {
  it("closes every socket and drops pending close deadlines, so the stack can stop at once", async () => {
    setup();
    await pair();
    A.shutdown();
    B.shutdown();
    expect(net.scheduler.armedLabels().filter((l) => l.startsWith("usocket"))).toEqual([]);
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  });
});

describe("setsockopt", () => {
  it("TCP_NODELAY reaches the PCB, before connect, after, and through a listener to accepted sockets", async () => {
    setup();
    const server = A.socket();
    server.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    server.bind(["", 5000]);
    server.listen();
    const accepting = server.accept();
    const client = B.socket();
    client.setsockopt(IPPROTO_TCP, TCP_NODELAY, true);
    await run(client.connect(["10.0.0.1", 5000]));
    await run(accepting);
    expect(net.b.tcp.allPcbs()[0]!.noDelay).toBe(true);
    expect(net.a.tcp.allPcbs()[0]!.noDelay).toBe(true);
    client.setsockopt(IPPROTO_TCP, TCP_NODELAY, 0);
    expect(net.b.tcp.allPcbs()[0]!.noDelay).toBe(false);
  });

  it("SO_LINGER on with 0 s: close() aborts with a RST at once instead of a FIN; bad values are ValueError/TypeError", async () => {
    setup();
    const { conn, client } = await pair();
    const resets = net.a.tcp.stats.txResets;
    expect(() => conn.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array(4))).toThrow(ValueError);
    expect(() => conn.setsockopt(SOL_SOCKET, SO_LINGER, 1)).toThrow(TypeError);
    // struct.pack('ii', 1, 0) on a little-endian board.
    conn.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    await run(conn.send("queued"));
    conn.close();
    expect(net.a.tcp.stats.txResets).toBe(resets + 1);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    await pass(5);
    // What the peer had already received stays readable before the reset, as after any RST.
    expect(await run(client.recv(10))).toEqual(bytes("queued"));
    expect(await errnoOf(client.recv(10))).toBe(104);
  });

  it("SO_LINGER off (onoff 0) keeps the graceful close", async () => {
    setup();
    const { conn, client } = await pair();
    conn.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array([0, 0, 0, 0, 5, 0, 0, 0]));
    await run(conn.send("bye"));
    conn.close();
    expect(await run(client.read())).toEqual(bytes("bye"));
  });

  it("unknown options print a warning and succeed; a membership value must be 8 bytes", () => {
    setup();
    const s = A.socket(AF_INET, SOCK_STREAM);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      s.setsockopt(SOL_SOCKET, 0x1234, 1);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
    const u = A.socket(AF_INET, SOCK_DGRAM);
    expect(() => u.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, new Uint8Array([239, 1, 2, 3]))).toThrow(ValueError);
  });
});

it("connects to its own address over loopback", async () => {
  setup();
  const server = A.socket();
  server.bind(["", 5000]);
  server.listen();
  const accepting = server.accept();
  const c = A.socket();
  await run(c.connect(["10.0.0.1", 5000]));
  const [conn] = await run(accepting);
  await run(c.send("self"));
  expect(text(await run(conn.recv(10)))).toBe("self");
  expect(A_IP).toBe(parseIpv4("10.0.0.1"));
});
