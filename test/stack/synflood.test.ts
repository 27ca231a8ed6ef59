// A SYN flood in process (two stacks on a MemLink, simulated clock, seeded): thousands of SYNs from
// thousands of off-link addresses to a listener whose SYN queue holds 16. Beyond the queue every SYN is
// answered statelessly (RFC 4987 §3.6): no PCB (so no ring) is made for it, its SYN-ACK carries a cookie
// the listener accepts back, and offers the window the connection then keeps (RFC 9293 §3.8.6). Meanwhile an
// established echo connection stays intact and its timers fire on time (a retransmission timeout of a lost
// segment of the flooded side, delayed ACKs). And the netif runs due timers before each input batch.

import { afterEach, describe, expect, it, vi } from "vitest";
import { Deadline } from "../../src/core/scheduler.js";
import { SimClock } from "../../src/core/clock.js";
import { parseIpv4 } from "../../src/core/addr.js";
import type { FrameReceiver } from "../../src/link/device.js";
import type { FrameOffload } from "../../src/link/offload.js";
import type { TcpPcb } from "../../src/tcp/pcb.js";
import { toSeq } from "../../src/tcp/seq.js";
import { TcpState } from "../../src/tcp/state.js";
import { A_IP, B_IP, twoStacks, type TwoStacks } from "../helpers/twoStacks.js";
import { MAC_A, MAC_B, ether, ipv4, tcpSegment } from "../helpers/wire.js";

const PORT = 7;
const SYN_BACKLOG = 16;
const FLOOD_SYNS = 4000;
/** SYNs per simulated millisecond: 4000 over 2 s, all while the echo connection runs. */
const SYNS_PER_MS = 2;
const RECV_BUFFER = 256 * 1024;
const FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Flood source i: 10.99.x.y (off-link, so B answers through its gateway A), port and ISN from i. */
function source(i: number): { ip: number; port: number; isn: number } {
  return { ip: (parseIpv4("10.99.0.0") + 1 + i) >>> 0, port: 1024 + (i % 60000), isn: Math.imul(i + 1, 0x9e3779b1) >>> 0 };
}

interface Seen {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The TCP options bytes. */
  options: number[];
  payload: Uint8Array;
}

/** TCP segments B sent toward the flood sources (they reach A's wire: A is B's gateway). */
function tapA(t: TwoStacks, out: Seen[]): void {
  const inner = t.wireA.receiver as FrameReceiver;
  t.wireA.receiver = {
    frame(bytes: Uint8Array, offset: number, length: number, offload: FrameOffload | null): void {
      const v = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
      if (length >= 54 && v.getUint16(12) === 0x0800 && v.getUint8(23) === 6 && v.getUint32(30) !== A_IP) {
        const ihl = (v.getUint8(14) & 0x0f) * 4;
        const t0 = 14 + ihl;
        const dataOffset = (v.getUint8(t0 + 12) >>> 4) * 4;
        const total = v.getUint16(16);
        out.push({
          src: v.getUint32(26),
          dst: v.getUint32(30),
          srcPort: v.getUint16(t0),
          dstPort: v.getUint16(t0 + 2),
          seq: v.getUint32(t0 + 4),
          ack: v.getUint32(t0 + 8),
          flags: v.getUint8(t0 + 13),
          window: v.getUint16(t0 + 14),
          options: Array.from(bytes.subarray(offset + t0 + 20, offset + t0 + dataOffset)),
          payload: bytes.slice(offset + t0 + dataOffset, offset + 14 + total),
        });
      }
      inner.frame(bytes, offset, length, offload);
    },
    endBatch(): void {
      inner.endBatch();
    },
  };
}

/** A segment from a flood source, sent on A's wire to B (A's MAC: the sources are behind B's gateway). */
function fromSource(t: TwoStacks, i: number, flags: number, seq: number, ack: number, data = new Uint8Array(0), options: number[] = []): void {
  const s = source(i);
  const segment = tcpSegment({ src: s.ip, dst: B_IP, srcPort: s.port, dstPort: PORT, seq, ack, flags, win: 65535, urg: 0, options, data });
  const frame = ether(MAC_B, MAC_A, 0x0800, ipv4({ src: s.ip, dst: B_IP, protocol: 6, payload: segment }));
  expect(t.wireA.transmit(frame, 0, frame.length)).toBe(true);
}

/** B: a listener on PORT that accepts everything and echoes what it reads. */
function echoServer(t: TwoStacks, accepted: TcpPcb[]): void {
  const tcp = t.b.tcp;
  const buf = new Uint8Array(64 * 1024);
  const l = tcp.listen(0, PORT, 64, {
    acceptable: (listener) => {
      for (let pcb = tcp.accept(listener); pcb !== null; pcb = tcp.accept(listener)) {
        accepted.push(pcb);
        pcb.events = {
          readable: (p) => {
            for (let n = tcp.read(p, buf, 0, buf.length); n > 0; n = tcp.read(p, buf, 0, buf.length)) expect(tcp.write(p, buf, 0, n)).toBe(n);
          },
        };
      }
    },
  });
  expect(typeof l).not.toBe("number");
}

let t: TwoStacks | null = null;
afterEach(() => {
  t?.stop();
  t = null;
});

describe("SYN flood (in process)", () => {
  it("answers thousands of SYNs beyond the SYN queue statelessly, with cookies that make working connections, while an established echo and its timers go on", () => {
    t = twoStacks({ a: { random: 11 }, b: { random: 12, gateway: A_IP, tcp: { synBacklog: SYN_BACKLOG, maxPcbs: 256 } } });
    const s = t;
    const accepted: TcpPcb[] = [];
    echoServer(s, accepted);
    const seen: Seen[] = [];
    tapA(s, seen);

    // The established connection: A → B:7, up before the flood.
    const received: number[] = [];
    const client = s.a.tcp.connect(B_IP, PORT, {
      readable: (p) => {
        const b = new Uint8Array(8192);
        for (let n = s.a.tcp.read(p, b, 0, b.length); n > 0; n = s.a.tcp.read(p, b, 0, b.length)) received.push(...b.subarray(0, n));
      },
    });
    if (typeof client === "number") throw new Error(`connect: ${client}`);
    s.scheduler.advance(50);
    expect(s.a.tcp.info(client).state).toBe("ESTABLISHED");
    expect(accepted.length).toBe(1);
    const server = accepted[0] as TcpPcb;

    // B loses the first data segment it sends: only its retransmission timer can recover it.
    const transmitB = s.wireB.transmit.bind(s.wireB);
    let dropped = 0;
    s.wireB.transmit = (bytes, offset, length, offload) => {
      const v = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
      const isEchoData = v.getUint16(12) === 0x0800 && v.getUint8(23) === 6 && v.getUint32(30) === A_IP && v.getUint16(34) === PORT && v.getUint16(16) > 52;
      if (isEchoData && dropped === 0) {
        dropped++;
        return true;
      }
      return transmitB(bytes, offset, length, offload);
    };

    const newPcb = vi.spyOn(s.b.tcp, "newPcb");
    const rtoBefore = s.b.tcp.stats.rtoFired;
    const pcbsBefore = s.b.tcp.allPcbs().length;
    let maxPcbs = 0;
    const message = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 31 + 7) & 0xff);
    let written = 0;
    const mss = [2, 4, 0x05, 0xb4]; // MSS 1460
    for (let i = 0, ms = 0; i < FLOOD_SYNS; ms++) {
      for (let k = 0; k < SYNS_PER_MS && i < FLOOD_SYNS; k++, i++) fromSource(s, i, FLAG.SYN, source(i).isn, 0, undefined, mss);
      // A 1000-byte echo request every 20 ms, all through the flood.
      if (ms % 20 === 0 && written < message.length) {
        written += s.a.tcp.write(client, message, written, Math.min(1000, message.length - written)) as number;
      }
      s.scheduler.advance(1);
      maxPcbs = Math.max(maxPcbs, s.b.tcp.allPcbs().length);
    }
    const floodEndMs = s.scheduler.now();
    s.scheduler.advanceUntil(() => received.length === message.length, 5_000);

    const stats = s.b.tcp.stats;
    // The echo client's SYN, then the flood's.
    expect(stats.synsReceived).toBe(1 + FLOOD_SYNS);
    // The SYN queue took 16; every other SYN was answered by a cookie, and nothing was dropped.
    expect(stats.passiveOpens).toBe(1 + SYN_BACKLOG);
    expect(stats.synCookiesSent).toBe(FLOOD_SYNS - SYN_BACKLOG);
    expect(stats.listenOverflows + stats.pcbLimit).toBe(0);
    // No PCB, and so no ring, per cookie SYN: only the SYN queue's 16 were made.
    expect(newPcb).toHaveBeenCalledTimes(SYN_BACKLOG);
    expect(maxPcbs).toBeLessThanOrEqual(pcbsBefore + SYN_BACKLOG);

    // The established echo came back whole, although B's first echo segment was lost mid-flood: B's
    // retransmission timer fired while SYNs kept arriving every millisecond.
    expect(dropped).toBe(1);
    expect(stats.rtoFired - rtoBefore).toBeGreaterThanOrEqual(1);
    expect(Uint8Array.from(received)).toEqual(message);
    expect(s.b.tcp.info(server).state).toBe("ESTABLISHED");
    expect(s.scheduler.now() - floodEndMs).toBeLessThan(1000);

    // Every cookie SYN-ACK: our MSS and nothing else, the unscaled window min(buffer, 65535), a valid cookie.
    const synAcks = seen.filter((x) => x.flags === (FLAG.SYN | FLAG.ACK));
    // Sources 0..15 took the SYN queue (their SYN-ACKs, retransmitted, come from SYN-RECEIVED PCBs).
    const cookieAcks = synAcks.filter((x) => x.dst - source(0).ip >= SYN_BACKLOG);
    expect(synAcks.length - cookieAcks.length).toBeGreaterThanOrEqual(SYN_BACKLOG);
    expect(cookieAcks.length).toBe(FLOOD_SYNS - SYN_BACKLOG);
    const window = Math.min(RECV_BUFFER, 65535);
    const bySource = new Map<number, Seen>();
    for (const x of cookieAcks) {
      expect(x.options).toEqual([2, 4, 0x05, 0xb4]);
      expect(x.window).toBe(window);
      expect(x.src).toBe(B_IP);
      expect(x.srcPort).toBe(PORT);
      const i = x.dst - source(0).ip;
      expect(x.ack).toBe((source(i).isn + 1) >>> 0);
      const mssBack = s.b.tcp.cookies.decode(B_IP, PORT, x.dst, x.dstPort, toSeq(source(i).isn), toSeq(x.seq), s.scheduler.now());
      expect(mssBack).toBe(1460);
      bySource.set(i, x);
    }

    // The SYN queue's half-open PCBs hold no ring store (storage comes with the first byte to keep), and
    // reset by their sources (as the kernel resets a SYN-ACK it did not ask for) they leave nothing behind:
    // the next half-open PCBs hold none either, and the layer's stores do not grow with the churn.
    const halfOpen = s.b.tcp.allPcbs().filter((p) => p.state === TcpState.SYN_RECEIVED && p.listener !== null);
    expect(halfOpen.length).toBe(SYN_BACKLOG);
    for (const p of halfOpen) expect(p.sendRing.storageBytes + p.recvRing.storageBytes).toBe(0);
    const storedBefore = s.b.tcp.ringMemory().storageBytes;
    for (let k = 0; k < SYN_BACKLOG; k++) fromSource(s, k, FLAG.RST, source(k).isn + 1, 0);
    s.scheduler.advance(1);
    expect(s.b.tcp.allPcbs().filter((p) => p.state === TcpState.SYN_RECEIVED).length).toBe(0);
    for (let k = FLOOD_SYNS; k < FLOOD_SYNS + SYN_BACKLOG; k++) fromSource(s, k, FLAG.SYN, source(k).isn, 0, undefined, mss);
    s.scheduler.advance(1);
    const fresh = s.b.tcp.allPcbs().filter((p) => p.state === TcpState.SYN_RECEIVED && p.listener !== null);
    expect(fresh.length).toBe(SYN_BACKLOG);
    for (const p of fresh) expect(p.sendRing.storageBytes + p.recvRing.storageBytes).toBe(0);
    expect(s.b.tcp.ringMemory().storageBytes).toBeLessThanOrEqual(storedBefore);

    // A cookie's ACK (the source finally answering) makes a connection, with the window its SYN-ACK offered.
    const i = FLOOD_SYNS - 1;
    const synAck = bySource.get(i) as Seen;
    const isn = source(i).isn;
    const before = accepted.length;
    fromSource(s, i, FLAG.ACK, isn + 1, synAck.seq + 1);
    s.scheduler.advance(1);
    expect(stats.synCookiesAccepted).toBe(1);
    expect(accepted.length).toBe(before + 1);
    const cookieConn = accepted[before] as TcpPcb;
    const info = s.b.tcp.info(cookieConn);
    expect(info.state).toBe("ESTABLISHED");
    expect(info.rcvWnd).toBe(synAck.window);
    expect(info.mss).toBe(1460);
    // It moves data: the whole offered window's worth in MSS segments is taken, and echoed back.
    const data = Uint8Array.from({ length: window }, (_, k) => (k * 13) & 0xff);
    const echoed: number[] = [];
    const from = seen.length;
    for (let off = 0; off < data.length; off += 1460) {
      fromSource(s, i, FLAG.ACK | FLAG.PSH, isn + 1 + off, synAck.seq + 1, data.subarray(off, Math.min(off + 1460, data.length)));
    }
    s.scheduler.advance(1);
    expect(stats.dropOutOfWindow).toBe(0);
    // ACK B's echo as it comes so that all of it is sent.
    for (let round = 0; round < 200 && echoed.length < data.length; round++) {
      let acked = -1;
      for (const x of seen.slice(from)) {
        if (x.dst !== source(i).ip || x.payload.length === 0) continue;
        acked = Math.max(acked, (x.seq - (synAck.seq + 1) + x.payload.length) >>> 0);
      }
      echoed.length = 0;
      const segments = seen.slice(from).filter((x) => x.dst === source(i).ip && x.payload.length > 0);
      const bytes = new Uint8Array(Math.max(0, acked));
      for (const x of segments) bytes.set(x.payload, (x.seq - (synAck.seq + 1)) >>> 0);
      echoed.push(...bytes);
      if (acked > 0) fromSource(s, i, FLAG.ACK, isn + 1 + data.length, (synAck.seq + 1 + acked) >>> 0);
      s.scheduler.advance(5);
    }
    expect(Uint8Array.from(echoed)).toEqual(data);
    expect(stats.txResets).toBe(0);
  });

  it("the netif runs due timers before an input batch, and Scheduler.runDue is not re-entrant", () => {
    t = twoStacks({ a: { random: 21 }, b: { random: 22 } });
    const s = t;
    s.scheduler.advance(10);
    const clock = s.scheduler.clock as SimClock;
    const order: string[] = [];
    let nested = -1;
    const d = new Deadline(() => {
      order.push(`timer after ${s.b.netif.stats.rxFrames} frames`);
      nested = s.scheduler.runDue(s.scheduler.now());
    }, "test");
    const rxBefore = s.b.netif.stats.rxFrames;
    s.scheduler.set(d, s.scheduler.now() + 5);
    // The clock moves on without the scheduler running (as when the host is busy with frames)...
    clock.set(clock.now() + 10);
    // ...and a frame arrives: the timer fires first, then the frame is processed.
    const frame = ether(MAC_B, MAC_A, 0x0800, ipv4({ src: A_IP, dst: B_IP, protocol: 17, payload: new Uint8Array(8) }));
    const rx = s.wireB.receiver as FrameReceiver;
    rx.frame(frame, 0, frame.length, null);
    rx.endBatch();
    expect(order).toEqual([`timer after ${rxBefore} frames`]);
    expect(s.b.netif.stats.rxFrames).toBe(rxBefore + 1);
    // Inside the timer, a nested runDue did nothing.
    expect(nested).toBe(0);
  });
});
