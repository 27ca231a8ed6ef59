// Raw-frame fixtures for foundation-layer tests: addresses, independent frame builders (checksums from the
// reference `checksumNaive`, never the code under test's writers), and `Wire`, a MemLink pair on a simulated
// clock where the test plays the far end: it injects raw frames and captures what the stack sends.

import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import { memLinkPair, type MemDevice, type MemLinkOptions } from "../../src/link/memlink.js";
import { Stack, type StackConfig } from "../../src/stack/stack.js";

export const MAC_A = parseMac("02:00:00:00:00:01");
export const MAC_B = parseMac("02:00:00:00:00:02");
export const MAC_C = parseMac("02:00:00:00:00:03");
export const MAC_ZERO = new Uint8Array(6);
export const MAC_BCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const IP_A = parseIpv4("10.0.0.1");
export const IP_B = parseIpv4("10.0.0.2");
export const IP_C = parseIpv4("10.0.0.3");
export const MASK_24 = 0xffffff00;

/** A buffer prefilled with 0xa5, so bytes a writer forgot to write show up in comparisons. */
export function prefilled(length: number): Uint8Array {
  return new Uint8Array(length).fill(0xa5);
}

export function concat(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function ether(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  return concat(dst, src, u16(type), payload);
}

/** A 28-byte Ethernet/IPv4 ARP packet; `htype`/`ptype`/`hlen`/`plen` overridable to build unsupported ones. */
export function arp(
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array,
  tpa: number,
  o: { htype?: number; ptype?: number; hlen?: number; plen?: number } = {},
): Uint8Array {
  return concat(u16(o.htype ?? 1), u16(o.ptype ?? 0x0800), [o.hlen ?? 6, o.plen ?? 4], u16(op), sha, u32(spa), tha, u32(tpa));
}

export interface Ipv4Spec {
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
  id?: number;
  ttl?: number;
  tos?: number;
  /** DF/MF bits (0x4000, 0x2000). */
  flags?: number;
  fragmentOffsetBytes?: number;
  /** Option bytes, a multiple of 4 long. */
  options?: Uint8Array;
  /** Overrides, for malformed packets. */
  versionIhl?: number;
  totalLength?: number;
  checksum?: number;
}

export function ipv4(s: Ipv4Spec): Uint8Array {
  const options = s.options ?? new Uint8Array(0);
  const headerLength = 20 + options.length;
  const h = concat(
    [s.versionIhl ?? (0x40 | (headerLength / 4)), s.tos ?? 0],
    u16(s.totalLength ?? headerLength + s.payload.length),
    u16(s.id ?? 0x1234),
    u16((s.flags ?? 0) | ((s.fragmentOffsetBytes ?? 0) >>> 3)),
    [s.ttl ?? 64, s.protocol],
    [0, 0],
    u32(s.src),
    u32(s.dst),
    options,
  );
  const sum = s.checksum ?? checksumNaive(h, 0, h.length);
  h[10] = sum >>> 8;
  h[11] = sum & 0xff;
  return concat(h, s.payload);
}

/** An ICMP message: type, code, the 4 "rest of header" bytes as a u32, then data; checksum filled in. */
export function icmp(type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = concat([type, code, 0, 0], u32(rest), data);
  const sum = checksumNaive(m, 0, m.length);
  m[2] = sum >>> 8;
  m[3] = sum & 0xff;
  return m;
}

/** A UDP datagram with checksum 0 (none, RFC 768): enough for IP-layer tests. */
export function udp(srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  return concat(u16(srcPort), u16(dstPort), u16(8 + data.length), [0, 0], data);
}

/** Fields of a TCP segment for `tcpSegment`; numbers are written as they are (u32 for seq/ack). */
export interface TcpSpec {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  /** Option bytes, a multiple of 4, at most 40. */
  options: readonly number[];
  data: Uint8Array;
}

/** A TCP segment with its checksum (pseudo-header included) from the reference implementation, never the stack's writer. */
export function tcpSegment(t: TcpSpec): Uint8Array {
  const length = 20 + t.options.length + t.data.length;
  const b = concat(u16(t.srcPort), u16(t.dstPort), u32(t.seq >>> 0), u32(t.ack >>> 0), [((20 + t.options.length) / 4) << 4, t.flags], u16(t.win), [0, 0], u16(t.urg), t.options, t.data);
  const pseudo = (t.src >>> 16) + (t.src & 0xffff) + (t.dst >>> 16) + (t.dst & 0xffff) + 6 + length;
  const sum = checksumNaive(b, 0, length, pseudo);
  b[16] = sum >>> 8;
  b[17] = sum & 0xff;
  return b;
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Fragments `payload` RFC 791-style into IPv4 packets carrying `chunk` bytes each (a multiple of 8). */
export function fragments(
  base: Omit<Ipv4Spec, "payload" | "flags" | "fragmentOffsetBytes">,
  payload: Uint8Array,
  chunk: number,
  flags = 0,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += chunk) {
    const end = Math.min(payload.length, at + chunk);
    out.push(
      ipv4({
        ...base,
        // Options are copied into fragment 0 only in this fixture.
        options: at === 0 ? base.options : undefined,
        payload: payload.subarray(at, end),
        flags: flags | (end < payload.length ? 0x2000 : 0),
        fragmentOffsetBytes: at,
      }),
    );
  }
  return out;
}

export interface Captured {
  atMs: number;
  bytes: Uint8Array;
}

/**
 * A MemLink pair on a simulated clock: the stack under test attaches to `stackSide`; the test is the far
 * end. `inject` sends a raw frame and runs the clock for 0 ms, so the frame and every immediate answer are
 * delivered before it returns; `sent` holds what the stack transmitted, with the time it arrived.
 */
export class Wire {
  readonly scheduler: Scheduler;
  readonly stackSide: MemDevice;
  readonly peer: MemDevice;
  readonly sent: Captured[] = [];
  batches = 0;

  constructor(startMs = 0, options: Partial<MemLinkOptions> = {}) {
    this.scheduler = new Scheduler(new SimClock(startMs));
    [this.stackSide, this.peer] = memLinkPair(this.scheduler, options);
    this.peer.attach({
      frame: (bytes, offset, length) => {
        this.sent.push({ atMs: this.scheduler.now(), bytes: bytes.slice(offset, offset + length) });
      },
      endBatch: () => {
        this.batches++;
      },
    });
  }

  inject(frame: Uint8Array): void {
    this.peer.transmit(frame, 0, frame.length);
    this.scheduler.advance(0);
  }

  advance(ms: number): void {
    this.scheduler.advance(ms);
  }

  /** The frames sent so far (bytes only), clearing the list. */
  take(): Uint8Array[] {
    return this.sent.splice(0).map((c) => c.bytes);
  }

  get now(): number {
    return this.scheduler.now();
  }
}

/**
 * Stack B's seed: its first draw, the IP layer's first identification, is then 0x8000, as in the scapy
 * vectors (Prng(31985).below(0x10000) = 0x8000).
 */
export const STACK_B_SEED = 31985;

/** Stack B (10.0.0.2/24, MAC B) on `wire`, seeded with STACK_B_SEED unless told, started, its two announcements taken off the wire. */
export function stackOn(wire: Wire, config: Partial<StackConfig> = {}): Stack {
  const stack = new Stack(
    wire.stackSide,
    { mac: MAC_B, ip: IP_B, netmask: MASK_24, gateway: 0, mtu: 1500, random: STACK_B_SEED, ...config },
    wire.scheduler,
  );
  stack.start();
  wire.advance(2000);
  wire.take();
  return stack;
}
