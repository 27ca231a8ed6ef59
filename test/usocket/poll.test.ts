// select/uselect over usocket sockets between two stacks on the simulated clock: docs/usocket.md "select / uselect" readiness
// table (listening, connecting, connected, peer FIN, peer RST, closed), ERR/HUP reported unasked, register /
// modify / unregister, poll timeouts, and select's three lists. Waiting polls are woken by PCB events only.

import { afterEach, describe, expect, it } from "vitest";
import { settle, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { errnoRaised } from "../helpers/usocket.js";
import {
  AF_INET,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOCK_DGRAM,
  usocketFor,
  type Socket,
  type Usocket,
} from "../../src/usocket/index.js";

let net: TwoStacks;
let A: Usocket;
let B: Usocket;

function setup(): void {
  net = twoStacks();
  A = usocketFor(net.a);
  B = usocketFor(net.b);
}

function run<T>(p: Promise<T>, limitMs?: number): Promise<T> {
  return settle(net.scheduler, p, limitMs);
}

const errnoNow = (call: Promise<unknown> | (() => unknown)): Promise<number> => errnoRaised(call);


function listening(port = 5000): Socket {
  const s = A.socket();
  s.bind(["", port]);
  s.listen();
  return s;
}

async function pair(): Promise<{ server: Socket; conn: Socket; client: Socket }> {
  const server = listening();
  const accepting = server.accept();
  const client = B.socket();
  await run(client.connect(["10.0.0.1", 5000]));
  const [conn] = await run(accepting);
  return { server, conn, client };
}

afterEach(() => {
  A.closeAll();
  B.closeAll();
  net.scheduler.advance(130_000);
  for (const s of [net.a, net.b]) {
    expect(s.tcp.allPcbs().map((p) => s.tcp.info(p).state)).toEqual([]);
    expect(s.udp.allPcbs()).toHaveLength(0);
  }
  net.stop();
  expect(net.scheduler.armedLabels()).toEqual([]);
});

describe("poll readiness", () => {
  it("a new, never-connected TCP socket → OUT|HUP (20), as MicroPython on lwIP reports it", async () => {
    setup();
    const s = A.socket();
    const p = A.poll();
    p.register(s, POLLIN);
    expect(await p.poll(0)).toEqual([[s, POLLHUP]]);
    p.modify(s, POLLIN | POLLOUT);
    expect(await p.poll(0)).toEqual([[s, POLLOUT | POLLHUP]]);
    expect(POLLOUT | POLLHUP).toBe(20);
  });

  it("listening → POLLIN only while a connection is pending", async () => {
    setup();
    const server = listening();
    const p = A.poll();
    p.register(server, POLLIN);
    expect(await p.poll(0)).toEqual([]);
    const waiting = p.poll();
    // No polling loop: a waiting poll arms no timer of its own.
    expect(net.scheduler.armedLabels().filter((l) => l.startsWith("usocket"))).toEqual([]);
    const client = B.socket();
    client.setblocking(false);
    await errnoNow(client.connect(["10.0.0.1", 5000]));
    expect(await run(waiting)).toEqual([[server, POLLIN]]);
    server.setblocking(false);
    await server.accept();
    expect(await p.poll(0)).toEqual([]);
  });

  it("non-blocking connect: EINPROGRESS, nothing while connecting, then POLLOUT when connected", async () => {
    setup();
    listening();
    const client = B.socket();
    client.setblocking(false);
    expect(await errnoNow(client.connect(["10.0.0.1", 5000]))).toBe(115);
    const p = B.poll();
    p.register(client);
    expect(await p.poll(0)).toEqual([]);
    expect(await run(p.poll())).toEqual([[client, POLLOUT]]);
  });

  it("connected → OUT while there is send room, IN once data is queued", async () => {
    setup();
    const { conn, client } = await pair();
    const p = A.poll();
    p.register(conn);
    expect(await p.poll(0)).toEqual([[conn, POLLOUT]]);
    p.register(conn, POLLIN);
    const waiting = p.poll();
    await run(client.send("data"));
    expect(await run(waiting)).toEqual([[conn, POLLIN]]);
    p.modify(conn, POLLIN | POLLOUT);
    expect(await p.poll(0)).toEqual([[conn, POLLIN | POLLOUT]]);
  });

  it("peer FIN → IN and OUT (recv gives b'')", async () => {
    setup();
    const { conn, client } = await pair();
    const p = B.poll();
    p.register(client, POLLIN);
    const waiting = p.poll();
    conn.close();
    expect(await run(waiting)).toEqual([[client, POLLIN]]);
    p.modify(client, POLLIN | POLLOUT);
    expect(await p.poll(0)).toEqual([[client, POLLIN | POLLOUT]]);
    expect(await client.recv(10)).toEqual(new Uint8Array(0));
  });

  it("peer RST → ERR|HUP, reported even when not asked for; IN|ERR|HUP (25) until a call reports it, IN|HUP (17) after", async () => {
    setup();
    const { conn, client } = await pair();
    const p = B.poll();
    p.register(client, 0);
    const waiting = p.poll();
    await run(client.send("unread"));
    conn.close(); // unread data: the close resets
    expect(await run(waiting)).toEqual([[client, POLLERR | POLLHUP]]);
    p.modify(client, POLLIN | POLLOUT);
    expect(await p.poll(0)).toEqual([[client, POLLERR | POLLHUP | POLLIN]]);
    expect(POLLERR | POLLHUP | POLLIN).toBe(25);
    expect(await errnoRaised(client.recv(10))).toBe(104);
    expect(await p.poll(0)).toEqual([[client, POLLHUP | POLLIN]]);
    expect(POLLHUP | POLLIN).toBe(17);
    expect(await client.recv(10)).toEqual(new Uint8Array(0));
  });

  it("closed → NVAL; closing a socket wakes a poll waiting on it", async () => {
    setup();
    const { client } = await pair();
    const p = B.poll();
    p.register(client, POLLIN);
    const waiting = p.poll();
    client.close();
    expect(await waiting).toEqual([[client, POLLNVAL]]);
  });

  it("UDP: always OUT, IN when a datagram is queued", async () => {
    setup();
    const rx = A.socket(AF_INET, SOCK_DGRAM);
    rx.bind(["", 6000]);
    const p = A.poll();
    p.register(rx);
    expect(await p.poll(0)).toEqual([[rx, POLLOUT]]);
    p.register(rx, POLLIN);
    const waiting = p.poll(1000);
    const tx = B.socket(AF_INET, SOCK_DGRAM);
    await tx.sendto("x", ["10.0.0.1", 6000]);
    expect(await run(waiting)).toEqual([[rx, POLLIN]]);
  });
});

describe("poll object", () => {
  it("modify on an unregistered socket → ENOENT; unregister forgets; poll(t) gives [] after t ms", async () => {
    setup();
    const { client } = await pair();
    const p = B.poll();
    expect(await errnoNow(() => p.modify(client, POLLIN))).toBe(2);
    p.register(client, POLLIN);
    p.unregister(client);
    p.unregister(client);
    expect(await errnoNow(() => p.modify(client, POLLIN))).toBe(2);
    p.register(client, POLLIN);
    const t0 = net.scheduler.now();
    expect(await run(p.poll(250))).toEqual([]);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(250);
    expect(net.scheduler.armedLabels()).not.toContain("usocket poll");
    expect(await run(p.ipoll(10))).toEqual([]);
  });
});

describe("select", () => {
  it("sorts sockets into readable, writable and exceptional lists", async () => {
    setup();
    const { server, conn, client } = await pair();
    expect(await run(A.select([server, conn], [conn], [], 0))).toEqual([[], [conn], []]);
    const waiting = A.select([server, conn], [], []);
    await run(client.send("hi"));
    expect(await run(waiting)).toEqual([[conn], [], []]);
    // A reset connection lands in the third list, asked for or not.
    await run(client.send(" unread"));
    conn.close();
    expect(await run(B.select([client], [], [], 1))).toEqual([[client], [], [client]]);
    client.close();
    expect(await run(B.select([client], [], []))).toEqual([[], [], [client]]);
  });

  it("returns three empty lists when the timeout passes", async () => {
    setup();
    const { client } = await pair();
    const t0 = net.scheduler.now();
    expect(await run(B.select([client], [], [], 0.5))).toEqual([[], [], []]);
    expect(net.scheduler.now() - t0).toBeGreaterThanOrEqual(500);
  });
});
