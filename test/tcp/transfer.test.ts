// Whole-stack TCP: two walnut stacks over a MemLink on the simulated clock — handshake, bulk transfer both
// ways with SHA-256 compared, the built-in services, closes, and quiescence afterwards.

import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { A_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { TcpServices } from "../../src/apps/services.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";
import type { TcpLayer } from "../../src/tcp/tcp.js";
import { Prng } from "../../src/core/prng.js";
import { ALL_OFFLOADS } from "../../src/link/offload.js";

let net: TwoStacks | null = null;

afterEach(() => {
  if (net !== null) {
    net.stop();
    expect(net.scheduler.armedLabels()).toEqual([]);
  }
  net = null;
});

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.nextU32() & 0xff;
  return b;
}

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** A client that sends `data`, half-closes, and collects everything until the peer's FIN. */
function client(tcp: TcpLayer, dst: number, port: number, data: Uint8Array) {
  const received: Uint8Array[] = [];
  let sent = 0;
  let done = false;
  let error = 0;
  const buf = new Uint8Array(65536);
  const pump = (pcb: TcpPcb): void => {
    while (sent < data.length) {
      const n = tcp.write(pcb, data, sent, Math.min(65536, data.length - sent));
      if (typeof n !== "number" || n <= 0) break;
      sent += n;
    }
    if (sent === data.length && !pcb.finQueued) tcp.shutdownWrite(pcb);
  };
  const pcb = tcp.connect(dst, port, {
    connected: (p) => pump(p),
    writable: (p) => pump(p),
    readable: (p) => {
      for (let n = tcp.read(p, buf, 0, buf.length); n > 0; n = tcp.read(p, buf, 0, buf.length)) received.push(buf.slice(0, n));
      if (p.finReceived && p.recvRing.length === 0 && !done) {
        done = true;
        tcp.close(p);
      }
    },
    error: (_p, err) => {
      error = err;
      done = true;
    },
  });
  if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
  return {
    pcb,
    get done() {
      return done;
    },
    get error() {
      return error;
    },
    bytes(): Uint8Array {
      const total = received.reduce((a, b) => a + b.length, 0);
      const out = new Uint8Array(total);
      let o = 0;
      for (const r of received) {
        out.set(r, o);
        o += r.length;
      }
      return out;
    },
  };
}

describe("TCP between two stacks", () => {
  it("echoes 1 MiB intact through the echo service", () => {
    net = twoStacks({ latencyMs: 1 });
    const services = new TcpServices(net.a.tcp);
    expect(services.start()).toBe(0);
    const data = randomBytes(1 << 20, 1);
    const c = client(net.b.tcp, A_IP, 7, data);
    expect(net.scheduler.advanceUntil(() => c.done, 60_000)).toBe(true);
    expect(c.error).toBe(0);
    expect(sha(c.bytes())).toBe(sha(data));
    services.stop();
    // Both sides finish the close; TIME-WAIT ends after 2·MSL.
    net.scheduler.advance(130_000);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.b.tcp.allPcbs()).toEqual([]);
  });

  // The matrix: 10 MiB each way (through echo) under loss, reordering, duplication and corruption.
  it.each([
    ["0% loss", { loss: 0 }],
    ["1% loss", { loss: 0.01 }],
    ["5% loss", { loss: 0.05 }],
    ["2% reordering", { reorder: 0.02 }],
    ["2% duplication", { duplicate: 0.02 }],
    ["1% corruption", { corrupt: 0.01 }],
    ["1% of everything", { loss: 0.01, reorder: 0.01, duplicate: 0.01, corrupt: 0.01 }],
  ] as const)("echoes 10 MiB intact with %s", (_name, faults) => {
    net = twoStacks({ latencyMs: 1, faults: { seed: 3, ...faults } });
    const services = new TcpServices(net.a.tcp);
    services.start();
    const data = randomBytes(10 << 20, 2);
    const c = client(net.b.tcp, A_IP, 7, data);
    expect(net.scheduler.advanceUntil(() => c.done, 3_600_000, 10)).toBe(true);
    expect(c.error).toBe(0);
    expect(sha(c.bytes())).toBe(sha(data));
    services.stop();
    net.scheduler.advance(200_000);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.b.tcp.allPcbs()).toEqual([]);
  });

  it("echoes 10 MiB intact over an offloading link: super-segments both ways, checksums left to the link", () => {
    net = twoStacks({ latencyMs: 1, offloads: ALL_OFFLOADS });
    const services = new TcpServices(net.a.tcp);
    services.start();
    const data = randomBytes(10 << 20, 4);
    const c = client(net.b.tcp, A_IP, 7, data);
    expect(net.scheduler.advanceUntil(() => c.done, 600_000, 10)).toBe(true);
    expect(c.error).toBe(0);
    expect(sha(c.bytes())).toBe(sha(data));
    for (const s of [net.a, net.b]) {
      expect(s.tcp.stats.txTsoSegments).toBeGreaterThan(0);
      expect(s.tcp.stats.rxGroSegments).toBeGreaterThan(0);
      expect(s.tcp.stats.dropBadChecksum).toBe(0);
      expect(s.tcp.stats.txRetransmits).toBe(0);
    }
    // Super-frames are ACKed as the segments they stand for: about one ACK per two segments, not per frame.
    const segments = (10 << 20) / 1448;
    expect(net.a.tcp.stats.txSegments).toBeLessThan(segments);
    services.stop();
    net.scheduler.advance(200_000);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.b.tcp.allPcbs()).toEqual([]);
  });

  it("echoes 10 MiB intact with 1% loss over an offloading link: the faults act on wire segments", () => {
    net = twoStacks({ latencyMs: 1, offloads: ALL_OFFLOADS, faults: { seed: 5, loss: 0.01 } });
    const services = new TcpServices(net.a.tcp);
    services.start();
    const data = randomBytes(10 << 20, 6);
    const c = client(net.b.tcp, A_IP, 7, data);
    expect(net.scheduler.advanceUntil(() => c.done, 3_600_000, 10)).toBe(true);
    expect(c.error).toBe(0);
    expect(sha(c.bytes())).toBe(sha(data));
    // The fault injectors ask their stacks for plain frames, so every loss is one segment's.
    expect(net.a.tcp.stats.txTsoSegments + net.b.tcp.stats.txTsoSegments).toBe(0);
    expect(net.faultA?.tx?.stats.dropped).toBeGreaterThan(0);
    services.stop();
    net.scheduler.advance(200_000);
    expect(net.a.tcp.allPcbs()).toEqual([]);
    expect(net.b.tcp.allPcbs()).toEqual([]);
  });

  it("refuses a closed port with a reset (the connect fails with Err.RST)", () => {
    net = twoStacks();
    const c = client(net.b.tcp, A_IP, 4444, new Uint8Array(0));
    expect(net.scheduler.advanceUntil(() => c.done, 5_000)).toBe(true);
    expect(c.error).toBe(-14);
    expect(net.a.tcp.stats.txResets).toBe(1);
  });
});
