// Ring storage auto-tuning between two stacks over a MemLink (simulated clock), counted through the rings'
// and the pool's accounting (bytes of backing store, not RSS): half-open and idle connections hold no store,
// a 1-byte echo takes the smallest stores and gives them back once idle, a bulk transfer grows both rings to
// their limit while the window offered is the full buffer from the start (it never depends on the store, and
// its right edge never moves left), the pool keeps no more than its cap, and closed connections keep nothing.

import { afterEach, describe, expect, it } from "vitest";
import { A_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { MIN_RING_STORAGE } from "../../src/core/ring.js";
import type { TcpListener, TcpPcb } from "../../src/tcp/pcb.js";
import type { TcpLayer } from "../../src/tcp/tcp.js";
import { seqAdd, seqGeq, type Seq } from "../../src/tcp/seq.js";
import { TcpState } from "../../src/tcp/state.js";

const PORT = 5000;
const BUFFER = 256 * 1024;
let net: TwoStacks | null = null;

afterEach(() => {
  if (net !== null) {
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  net = null;
});

/** Store bytes of every live PCB's rings on `tcp`, one number per PCB. */
function storePerPcb(tcp: TcpLayer): number[] {
  return tcp.allPcbs().map((p) => p.sendRing.storageBytes + p.recvRing.storageBytes);
}

/** A server on A: accepts everything; with `echo`, writes back what it reads. */
function server(tcp: TcpLayer, echo: boolean): { accepted: TcpPcb[]; listener: TcpListener } {
  const accepted: TcpPcb[] = [];
  const buf = new Uint8Array(64);
  const l = tcp.listen(0, PORT, 1024, {
    acceptable: (listener) => {
      for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) {
        accepted.push(pcb);
        if (!echo) continue;
        pcb.events = {
          readable: (p) => {
            for (let n = tcp.read(p, buf, 0, buf.length); n > 0; n = tcp.read(p, buf, 0, buf.length)) tcp.write(p, buf, 0, n);
          },
        };
      }
    },
  });
  if (typeof l === "number") throw new Error(`listen failed: ${l}`);
  return { accepted, listener: l };
}

describe("ring storage: idle and half-open connections", () => {
  it("1000 connections hold no store half-open or idle, the smallest after a 1-byte echo, and none once idle again", () => {
    net = twoStacks({ latencyMs: 1, a: { tcp: { ringPoolBytes: 256 * 1024, maxPcbs: 2048 } }, b: { tcp: { maxPcbs: 2048 } } });
    const { accepted } = server(net.a.tcp, true);
    const count = 1000;
    const clients: TcpPcb[] = [];
    const echoed = new Set<TcpPcb>();
    const one = new Uint8Array(1);
    for (let i = 0; i < count; i++) {
      const pcb = net.b.tcp.connect(A_IP, PORT, {
        readable: (p) => {
          if (net?.b.tcp.read(p, one, 0, 1) === 1) echoed.add(p);
        },
      });
      if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
      clients.push(pcb);
    }
    // Once A has answered the SYNs (after ARP), and before their final ACKs arrive half a round trip later.
    const halfOpenNow = (): TcpPcb[] => net?.a.tcp.allPcbs().filter((p) => p.state === TcpState.SYN_RECEIVED) ?? [];
    expect(net.scheduler.advanceUntil(() => halfOpenNow().length > 0, 1000)).toBe(true);
    const halfOpen = halfOpenNow();
    for (const p of halfOpen) expect(p.sendRing.storageBytes + p.recvRing.storageBytes).toBe(0);
    expect(net.scheduler.advanceUntil(() => accepted.length === count, 10_000)).toBe(true);
    net.scheduler.advance(100);
    // Established and idle: windows offered, nothing stored, on either side.
    expect(net.a.tcp.ringMemory()).toEqual({ pcbs: count, storageBytes: 0, pooledBytes: 0 });
    expect(net.b.tcp.ringMemory()).toMatchObject({ pcbs: count, storageBytes: 0 });
    for (const p of accepted) expect(p.recvRing.free).toBe(BUFFER);

    for (const p of clients) expect(net.b.tcp.write(p, Uint8Array.of(7), 0, 1)).toBe(1);
    expect(net.scheduler.advanceUntil(() => echoed.size === count, 10_000)).toBe(true);
    // The echo took one first-size store per ring that held a byte (A's receive and send, B's send and
    // receive), and no more; acknowledged and read, they are empty but not given back yet.
    for (const bytes of storePerPcb(net.a.tcp)) expect(bytes).toBeLessThanOrEqual(2 * MIN_RING_STORAGE);
    expect(net.a.tcp.ringMemory().storageBytes).toBeGreaterThan(0);
    expect(net.scheduler.armedLabels()).toContain("tcp ring trim");

    // Idle for two trim periods: every store is back; the pool kept its cap's worth and dropped the rest.
    net.scheduler.advance(2 * net.a.tcp.config.ringIdleMs + 10);
    expect(net.a.tcp.ringMemory()).toEqual({ pcbs: count, storageBytes: 0, pooledBytes: net.a.tcp.rings.heldBytes });
    expect(net.b.tcp.ringMemory().storageBytes).toBe(0);
    expect(net.a.tcp.rings.heldBytes).toBeLessThanOrEqual(256 * 1024);
    expect(net.a.tcp.rings.heldBytes).toBeGreaterThan(256 * 1024 - 2 * MIN_RING_STORAGE);
    expect(net.a.tcp.rings.dropped).toBeGreaterThan(count);
    expect(net.scheduler.armedLabels()).not.toContain("tcp ring trim");

    // Still connections: another echo works and takes stores from the pool before allocating.
    const allocated = net.a.tcp.rings.allocated;
    echoed.clear();
    for (const p of clients.slice(0, 10)) net.b.tcp.write(p, Uint8Array.of(8), 0, 1);
    expect(net.scheduler.advanceUntil(() => echoed.size === 10, 1000)).toBe(true);
    expect(net.a.tcp.rings.allocated).toBe(allocated);
  });

  it("a closed connection keeps no store: TIME-WAIT on the closing side, nothing on the other", () => {
    net = twoStacks({ latencyMs: 1 });
    const { accepted } = server(net.a.tcp, true);
    const got = new Uint8Array(16);
    let n = 0;
    const pcb = net.b.tcp.connect(A_IP, PORT, {
      readable: (p) => {
        n += net?.b.tcp.read(p, got, n, got.length - n) ?? 0;
      },
    });
    if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
    expect(net.scheduler.advanceUntil(() => accepted.length === 1, 1000)).toBe(true);
    net.b.tcp.write(pcb, Uint8Array.of(1, 2, 3), 0, 3);
    expect(net.scheduler.advanceUntil(() => n === 3, 1000)).toBe(true);
    expect(pcb.sendRing.storageBytes + pcb.recvRing.storageBytes).toBeGreaterThan(0);
    net.b.tcp.close(pcb);
    const a = accepted[0] as TcpPcb;
    expect(net.scheduler.advanceUntil(() => a.finReceived, 1000)).toBe(true);
    net.a.tcp.close(a);
    expect(net.scheduler.advanceUntil(() => pcb.state === TcpState.TIME_WAIT && a.freed, 1000)).toBe(true);
    // Well before any idle trim: TIME-WAIT holds nothing, and A's side is gone with its stores.
    expect(net.b.tcp.ringMemory()).toMatchObject({ pcbs: 1, storageBytes: 0 });
    expect(net.a.tcp.ringMemory()).toMatchObject({ pcbs: 0, storageBytes: 0 });
    expect(net.a.tcp.rings.heldBytes).toBeGreaterThan(0);
    expect(net.scheduler.armedLabels()).not.toContain("tcp ring trim");
  });
});

describe("ring storage: a bulk transfer", () => {
  it("grows both rings to the limit, offers the full window throughout, and shrinks back once idle", () => {
    net = twoStacks({ latencyMs: 1 });
    const { accepted } = server(net.a.tcp, false);
    const total = 4 << 20;
    const data = new Uint8Array(total);
    for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    let sent = 0;
    const pump = (p: TcpPcb): void => {
      while (sent < total) {
        const n = net?.b.tcp.write(p, data, sent, Math.min(65536, total - sent));
        if (typeof n !== "number" || n <= 0) break;
        sent += n;
      }
    };
    const pcb = net.b.tcp.connect(A_IP, PORT, { connected: pump, writable: pump });
    if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
    expect(net.scheduler.advanceUntil(() => accepted.length === 1, 1000)).toBe(true);
    const a = accepted[0] as TcpPcb;
    // The sender's ring took a full buffer's worth at once: its store grew to the limit.
    expect([pcb.sendRing.length, pcb.sendRing.storageBytes]).toEqual([BUFFER, BUFFER]);
    // A reads nothing yet: its ring fills to the limit, the window closes, and its right edge never moved left.
    let edge: Seq = a.rcvAdv;
    const watchEdge = (): void => {
      expect(seqGeq(a.rcvAdv, edge)).toBe(true);
      edge = a.rcvAdv;
    };
    for (let t = 0; t < 2000 && a.recvRing.length < BUFFER; t++) {
      net.scheduler.advance(1);
      watchEdge();
    }
    expect([a.recvRing.length, a.recvRing.storageBytes]).toEqual([BUFFER, BUFFER]);
    expect(edge).toBe(seqAdd(a.rcvNxt, 0));

    // Now A reads everything as it arrives, checking every byte; the window reopens to the full buffer.
    const buf = new Uint8Array(65536);
    let received = 0;
    let isIntact = true;
    let fullWindowSeen = false;
    const drain = (p: TcpPcb): void => {
      for (let n = net?.a.tcp.read(p, buf, 0, buf.length) ?? 0; n > 0; n = net?.a.tcp.read(p, buf, 0, buf.length) ?? 0) {
        for (let i = 0; i < n; i++) if (buf[i] !== data[(received + i) % total]) isIntact = false;
        received += n;
      }
    };
    a.events = { readable: drain };
    drain(a);
    for (let t = 0; t < 60_000 && received < total; t++) {
      net.scheduler.advance(1);
      watchEdge();
      if (pcb.sndWnd === BUFFER) fullWindowSeen = true;
    }
    expect([received, isIntact]).toEqual([total, true]);
    expect(fullWindowSeen).toBe(true);
    expect(pcb.sndWnd).toBe(BUFFER);
    // The sender's RACK send log grew with the flight (a window of segments).
    const log = pcb.rack?.log;
    expect(log?.capacity).toBeGreaterThan(16);

    // Idle: both stores go back (the connection stays up), and nothing is left armed for them; the send
    // log gives back its grown arrays with them.
    net.scheduler.advance(2 * net.a.tcp.config.ringIdleMs + 10);
    expect(log?.capacity).toBe(16);
    expect([a.recvRing.storageBytes, a.sendRing.storageBytes, pcb.sendRing.storageBytes, pcb.recvRing.storageBytes]).toEqual([0, 0, 0, 0]);
    expect(a.state).toBe(TcpState.ESTABLISHED);
    expect(net.scheduler.armedLabels()).not.toContain("tcp ring trim");
    // And they grow again when needed, with the window still the full buffer.
    sent = 0;
    pump(pcb);
    expect(net.scheduler.advanceUntil(() => received >= 2 * total, 60_000)).toBe(true);
    expect(isIntact).toBe(true);
  });

  it("an idle trim keeps a ring's unread bytes, shrinking its store to fit them", () => {
    net = twoStacks({ latencyMs: 1 });
    const { accepted } = server(net.a.tcp, false);
    const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const pcb = net.b.tcp.connect(A_IP, PORT, {});
    if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
    expect(net.scheduler.advanceUntil(() => accepted.length === 1, 1000)).toBe(true);
    const a = accepted[0] as TcpPcb;
    net.b.tcp.write(pcb, data, 0, data.length);
    expect(net.scheduler.advanceUntil(() => a.recvRing.length === data.length, 1000)).toBe(true);
    expect(a.recvRing.storageBytes).toBe(128 * 1024);
    const got = new Uint8Array(data.length);
    net.a.tcp.read(a, got, 0, 90_000);
    net.scheduler.advance(2 * net.a.tcp.config.ringIdleMs + 10);
    expect(a.recvRing.storageBytes).toBe(16 * 1024);
    expect(net.a.tcp.read(a, got, 90_000, 20_000)).toBe(10_000);
    expect(got).toEqual(data);
  });
});
