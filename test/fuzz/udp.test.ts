// Fuzzing UDP and the two clients on it with datagrams that pass every check below them (fast-check, fixed
// seeds): the random-bytes fuzz in frames.test.ts rarely gets past the IPv4 and UDP checksums. Three parts:
// - the UDP layer: valid datagrams (right or zero checksums, sometimes fragmented or over the MTU) with random
//   lengths, length fields and ports, to unicast, broadcast, multicast and foreign destinations, against PCBs
//   bound every way; each ends in exactly one counter, reaches exactly the PCBs an independent model of the
//   RFC 1122 §4.1 demux names, with the right bytes, and no ICMP error answers a broadcast or multicast;
// - the DHCP client (RFC 2131): random and mutated OFFER/ACK/NAK (and others) to port 68 while the client is
//   in each state, ARP conflicts and time: the client keeps a valid state, address and timers, and still binds
//   with a sane server afterwards;
// - the DNS resolver (RFC 1035, RFC 5452): random and mutated responses from the server's address and port,
//   right and wrong IDs, compression pointer tricks, ICMP errors, while lookups are pending: every lookup
//   settles by totalTimeoutMs with a well-formed result, and a fresh lookup still resolves.
// After every run the stack is stopped and no deadline may stay armed. Nothing may throw.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { Prng } from "../../src/core/prng.js";
import { Err } from "../../src/core/errors.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";
import { Stack, type StackConfig } from "../../src/stack/stack.js";
import type { UdpPcb } from "../../src/udp/udp.js";
import { DHCP_STATE_NAMES, DhcpClient } from "../../src/apps/dhcp.js";
import { DnsResolver, MAX_TTL_SECONDS, type DnsResult } from "../../src/apps/dns.js";
import { IP_A, IP_B, MAC_A, MAC_B, MAC_BCAST, MAC_C, arp, ether, fragments, ipv4 } from "../helpers/wire.js";

const BASE_MS = 10_000;
const STACK_IP = IP_B;
const PEER_IP = IP_A;
const MASK_24 = 0xffffff00;

// ------------------------------------------------------------------ shared: a stack and a raw far end

function u16b(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32b(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function isMulticast(ip: number): boolean {
  return ip >>> 28 === 0xe;
}

/** The Ethernet address an IPv4 destination goes to (RFC 1112 §6.4 for groups). */
function macFor(dst: number): Uint8Array {
  if (dst === 0xffffffff || (dst & 0xff) === 0xff) return MAC_BCAST;
  if (isMulticast(dst)) return new Uint8Array([0x01, 0x00, 0x5e, (dst >>> 16) & 0x7f, (dst >>> 8) & 0xff, dst & 0xff]);
  return MAC_B;
}

/** A cheap assertion for per-step checks (expect() per field per step would dominate the run time). */
function must(cond: boolean, msg: () => string): void {
  if (!cond) throw new Error(`invariant: ${msg()}`);
}

/** One frame the stack sent, parsed by the far end (checksums verified with the reference implementation). */
interface Out {
  kind: "arp" | "udp" | "icmp" | "other";
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  /** UDP data, or the ICMP message. */
  data: Uint8Array;
  /** The IPv4 datagram (for quoting in ICMP errors). */
  ip: Uint8Array;
  arpOp: number;
  arpSender: number;
  arpTarget: number;
}

interface UdpSpec {
  srcMac?: Uint8Array;
  dstMac?: Uint8Array;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  data: Uint8Array;
  checksum?: "good" | "zero" | "bad";
  /** Added to the true UDP length in the length field (RFC 768): < 0 leaves trailing bytes, > 0 overruns. */
  lengthDelta?: number;
  /** Cut the IP payload to this many bytes (a UDP header that does not fit). */
  ipTruncate?: number | null;
  fragChunk?: number | null;
}

class Net {
  readonly scheduler = new Scheduler(new SimClock(BASE_MS));
  readonly stack: Stack;
  readonly peer: MemDevice;
  readonly out: Out[] = [];
  /** Called for every frame the stack sends (a server on the far end answers here). */
  onOut: ((o: Out) => void) | null = null;
  /** Answer ARP requests for any address but the stack's (the far end plays every other host). */
  answerArp = true;
  private ipId = 1;

  constructor(config: Partial<StackConfig>) {
    // Room on the wire for a 64 KiB datagram cut into 8-byte fragments.
    const [stackSide, peer] = memLinkPair(this.scheduler, { latencyMs: 0, mtu: 1500, maxInFlight: 16_384 });
    this.peer = peer;
    this.stack = new Stack(
      stackSide,
      { mac: MAC_B, ip: STACK_IP, netmask: MASK_24, gateway: 0, mtu: 1500, neighbor: { reachableMs: 24 * 3600_000 }, ...config },
      this.scheduler,
    );
    peer.attach({ frame: (b, o, l) => this.onFrame(b.slice(o, o + l)), endBatch: () => {} });
    this.stack.start();
    this.scheduler.advance(0);
    this.out.length = 0;
  }

  transmit(frames: Uint8Array[]): void {
    for (const f of frames) this.peer.transmit(f, 0, f.length);
    this.scheduler.advance(0);
  }

  /** A UDP datagram from the far end, checksummed by the reference implementation unless told otherwise. */
  udpFrames(s: UdpSpec): Uint8Array[] {
    const u = new Uint8Array(8 + s.data.length);
    const len = Math.max(0, Math.min(0xffff, u.length + (s.lengthDelta ?? 0)));
    u.set([...u16b(s.srcPort), ...u16b(s.dstPort), ...u16b(len), 0, 0], 0);
    u.set(s.data, 8);
    const kind = s.checksum ?? "good";
    if (kind !== "zero") {
      const covered = Math.min(len, u.length);
      const pseudo = (s.src >>> 16) + (s.src & 0xffff) + (s.dst >>> 16) + (s.dst & 0xffff) + 17 + len;
      let sum = checksumNaive(u, 0, covered, pseudo);
      // RFC 768: a computed zero goes as all ones (zero means "no checksum").
      if (sum === 0) sum = 0xffff;
      if (kind === "bad") sum = sum === 1 ? 2 : sum ^ 1;
      u[6] = sum >>> 8;
      u[7] = sum & 0xff;
    }
    const payload = s.ipTruncate === null || s.ipTruncate === undefined ? u : u.subarray(0, s.ipTruncate);
    const base = { src: s.src, dst: s.dst, protocol: 17, id: this.ipId++ & 0xffff };
    const packets = s.fragChunk === null || s.fragChunk === undefined || payload.length <= s.fragChunk ? [ipv4({ ...base, payload })] : fragments(base, payload, s.fragChunk);
    return packets.map((p) => ether(s.dstMac ?? macFor(s.dst), s.srcMac ?? MAC_A, 0x0800, p));
  }

  sendUdp(s: UdpSpec): void {
    this.transmit(this.udpFrames(s));
  }

  stop(): void {
    this.stack.stop();
    this.peer.close();
    expect(this.scheduler.armedLabels()).toEqual([]);
  }

  private onFrame(f: Uint8Array): void {
    must(f.length >= 14, () => "runt frame sent");
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const type = dv.getUint16(12);
    const o: Out = { kind: "other", src: 0, dst: 0, srcPort: 0, dstPort: 0, data: new Uint8Array(0), ip: new Uint8Array(0), arpOp: 0, arpSender: 0, arpTarget: 0 };
    if (type === 0x0806) {
      o.kind = "arp";
      o.arpOp = dv.getUint16(20);
      o.arpSender = dv.getUint32(28);
      o.arpTarget = dv.getUint32(38);
      if (this.answerArp && o.arpOp === 1 && o.arpSender !== 0 && o.arpTarget !== this.stack.netif.ip && o.arpTarget !== o.arpSender) {
        // "Every other host": MAC_C answers for any address asked about.
        const reply = ether(f.slice(6, 12), MAC_C, 0x0806, arp(2, MAC_C, o.arpTarget, f.slice(6, 12), o.arpSender));
        this.peer.transmit(reply, 0, reply.length);
      }
    } else if (type === 0x0800) {
      const ihl = (f[14]! & 0x0f) * 4;
      must(checksumNaive(f, 14, ihl) === 0, () => "IPv4 header checksum of a sent frame");
      const total = dv.getUint16(16);
      must(14 + total <= f.length && total <= 1500, () => `sent datagram of ${total} bytes`);
      o.src = dv.getUint32(26);
      o.dst = dv.getUint32(30);
      o.ip = f.slice(14, 14 + total);
      const proto = f[23]!;
      const p0 = 14 + ihl;
      const isFirstFragment = (dv.getUint16(20) & 0x1fff) === 0;
      if (proto === 17 && isFirstFragment) {
        o.kind = "udp";
        o.srcPort = dv.getUint16(p0);
        o.dstPort = dv.getUint16(p0 + 2);
        const len = dv.getUint16(p0 + 4);
        const sum = dv.getUint16(p0 + 6);
        const isWhole = (dv.getUint16(20) & 0x2000) === 0;
        if (isWhole) {
          must(len === total - ihl, () => "UDP length of a sent datagram");
          // We always compute the checksum (RFC 1122 §4.1.3.4 lets us, and we do).
          const pseudo = (o.src >>> 16) + (o.src & 0xffff) + (o.dst >>> 16) + (o.dst & 0xffff) + 17 + len;
          must(sum !== 0 && checksumNaive(f, p0, len, pseudo) === 0, () => "UDP checksum of a sent datagram");
        }
        o.data = f.slice(p0 + 8, 14 + total);
      } else if (proto === 1) {
        o.kind = "icmp";
        o.data = f.slice(p0, 14 + total);
        must(checksumNaive(o.data, 0, o.data.length) === 0, () => "ICMP checksum of a sent message");
      }
    }
    this.out.push(o);
    this.onOut?.(o);
  }
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Fixed seeds, deterministic; FUZZ_SEED / FUZZ_RUNS override them for a longer hunt by hand. */
function runs(seed: number, numRuns: number): { seed: number; numRuns: number } {
  return { seed: Number(process.env["FUZZ_SEED"] ?? seed), numRuns: Number(process.env["FUZZ_RUNS"] ?? numRuns) };
}

// ================================================================== part 1: the UDP layer

const GROUP = 0xef010203; // 239.1.2.3, joined
const OTHER_GROUP = 0xef090909; // 239.9.9.9, not joined
const ALL_HOSTS = 0xe0000001;
const DIRECTED_BCAST = 0x0a0000ff;
const OTHER_HOST = 0x0a000009;

/** A PCB of the UDP fixture and what the model expects of it. */
interface Bound {
  pcb: UdpPcb;
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
  /** Reads everything at each `readable`; else its queue fills. */
  reads: boolean;
  maxDatagrams: number;
  maxBytes: number;
  /** Datagrams still queued (the model's count, for PCBs that do not read). */
  queued: number;
  queuedBytes: number;
  received: { data: Uint8Array; src: number; srcPort: number }[];
}

function udpFixture(net: Net): Bound[] {
  const udp = net.stack.udp;
  const list: Bound[] = [];
  const buf = new Uint8Array(70_000);
  const add = (localIp: number, port: number, o: { connect?: [number, number]; reuse?: boolean; reads?: boolean; maxDatagrams?: number; maxBytes?: number } = {}): void => {
    const maxDatagrams = o.maxDatagrams ?? 4;
    const maxBytes = o.maxBytes ?? 8 * 1024;
    const pcb = udp.open({ maxQueuedDatagrams: maxDatagrams, maxQueuedBytes: maxBytes });
    pcb.reuseAddress = o.reuse === true;
    expect(udp.bind(pcb, localIp, port)).toBe(Err.OK);
    if (o.connect !== undefined) expect(udp.connect(pcb, o.connect[0], o.connect[1])).toBe(Err.OK);
    const b: Bound = {
      pcb,
      localIp,
      localPort: port,
      remoteIp: o.connect?.[0] ?? 0,
      remotePort: o.connect?.[1] ?? 0,
      reads: o.reads ?? true,
      maxDatagrams,
      maxBytes,
      queued: 0,
      queuedBytes: 0,
      received: [],
    };
    if (b.reads) {
      pcb.events = {
        readable: (p) => {
          while (!p.queue.isEmpty) {
            const src = p.queue.nextSrcIp;
            const srcPort = p.queue.nextSrcPort;
            const n = udp.receive(p, buf, 0, buf.length);
            b.received.push({ data: buf.slice(0, n), src, srcPort });
          }
        },
      };
    }
    list.push(b);
  };
  add(0, 5000);
  // Overlapping bindings need SO_REUSEADDR on both (as on Linux and lwIP).
  add(STACK_IP, 5001, { reuse: true });
  add(0, 5001, { reuse: true });
  add(0, 5002, { connect: [PEER_IP, 6000], reuse: true });
  add(0, 5002, { reuse: true });
  add(0, 5003, { reuse: true });
  add(0, 5003, { reuse: true });
  net.stack.ip.joinGroup(GROUP);
  add(GROUP, 5004);
  add(0, 5005, { reads: false, maxDatagrams: 2 });
  add(STACK_IP, 5006);
  return list;
}

type Cast = "unicast" | "broadcast" | "multicast";

/** RFC 1122 §4.1.3.4 / lwIP's udp_input_local_match, written independently: does `b` take this datagram? */
function modelAccepts(b: Bound, src: number, srcPort: number, dst: number, cast: Cast): boolean {
  if (b.localIp !== 0 && b.localIp !== dst && !(cast === "broadcast" && !isMulticast(b.localIp))) return false;
  if (b.remoteIp !== 0 && (b.remoteIp !== src || b.remotePort !== srcPort)) return false;
  return true;
}

/** The PCBs a datagram goes to: all that accept a broadcast or multicast; for unicast the most specific one
 * (connected, then bound to the address, then the wildcard), the first bound among equals. */
function modelTargets(list: Bound[], port: number, src: number, srcPort: number, dst: number, cast: Cast): Bound[] {
  const accepting = list.filter((b) => b.localPort === port && modelAccepts(b, src, srcPort, dst, cast));
  if (cast !== "unicast") return accepting;
  const rank = (b: Bound): number => (b.remoteIp !== 0 ? 2 : b.localIp !== 0 ? 1 : 0);
  let best: Bound | null = null;
  for (const b of accepting) if (best === null || rank(b) > rank(best)) best = b;
  return best === null ? [] : [best];
}

interface DatagramStep {
  delayMs: number;
  src: number;
  srcPort: number;
  dst: number;
  dstPort: number;
  dataLength: number;
  fill: number;
  checksum: "good" | "zero" | "bad";
  lengthDelta: number;
  ipTruncate: number | null;
  fragChunk: number | null;
}

const datagramStep: fc.Arbitrary<DatagramStep> = fc.record({
  delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })),
  src: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(PEER_IP, PEER_IP, OTHER_HOST, 0) },
    { weight: 1, arbitrary: fc.constantFrom(0xffffffff, DIRECTED_BCAST, 0xe0000009) },
  ),
  srcPort: fc.oneof(fc.constantFrom(6000, 6000, 6001, 53, 0), fc.nat({ max: 0xffff })),
  dst: fc.constantFrom(STACK_IP, STACK_IP, STACK_IP, 0xffffffff, DIRECTED_BCAST, GROUP, ALL_HOSTS, OTHER_GROUP, 0x0a00004d),
  dstPort: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 5000, max: 5006 }) }, { weight: 1, arbitrary: fc.constantFrom(7, 68, 0) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
  dataLength: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 2, arbitrary: fc.integer({ min: 65, max: 1472 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1473, max: 9000 }) },
    { weight: 1, arbitrary: fc.constantFrom(65_507, 20_000) },
  ),
  fill: fc.nat({ max: 255 }),
  checksum: fc.constantFrom<"good" | "zero" | "bad">("good", "good", "good", "zero", "bad"),
  lengthDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -12, max: 12 }) }),
  ipTruncate: fc.oneof({ weight: 20, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  fragChunk: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(8, 512, 1480) }),
});

/** The datagram's fate by the model: how the IP layer classifies it, or null when UDP never sees it. */
function modelCast(s: DatagramStep): Cast | null {
  // RFC 1122 §3.2.1.3: broadcast and multicast sources are discarded by IP, and 0.0.0.0 is accepted only
  // toward the limited broadcast (a host learning its address, DHCP).
  if (s.src === 0xffffffff || s.src === DIRECTED_BCAST || isMulticast(s.src)) return null;
  if (s.src === 0 && s.dst !== 0xffffffff) return null;
  if (s.dst === STACK_IP) return "unicast";
  if (s.dst === 0xffffffff || s.dst === DIRECTED_BCAST) return "broadcast";
  if (s.dst === GROUP || s.dst === ALL_HOSTS) return "multicast";
  return null;
}

function runDatagram(net: Net, list: Bound[], s: DatagramStep): void {
  const udp = net.stack.udp;
  if (s.delayMs > 0) net.scheduler.advance(s.delayMs);
  // Large datagrams go fragmented (an unfragmented one is capped at 9000 bytes: a jumbo frame), in pieces of
  // at least 512 bytes (8-byte pieces of 64 KiB are 8190 frames: slow, and reassembly.test covers them).
  const fragChunk = s.dataLength > 9000 ? Math.max(s.fragChunk ?? 1480, 512) : s.fragChunk;
  const data = new Uint8Array(s.dataLength).fill(s.fill);
  const before = { ...udp.stats };
  const icmpBefore = net.stack.icmp.stats.txUnreachable;
  net.out.length = 0;
  for (const b of list) b.received.length = 0;
  net.sendUdp({ src: s.src, dst: s.dst, srcPort: s.srcPort, dstPort: s.dstPort, data, checksum: s.checksum, lengthDelta: s.lengthDelta, ipTruncate: s.ipTruncate, fragChunk });

  const d = (k: keyof typeof before): number => udp.stats[k] - before[k];
  const cast = modelCast(s);
  const icmpErrors = net.out.filter((o) => o.kind === "icmp" && o.data[0] === 3);
  if (cast === null) {
    must(d("rxDatagrams") === 0, () => "a datagram IP should have dropped reached UDP");
    return;
  }
  must(d("rxDatagrams") === 1, () => `rxDatagrams +${d("rxDatagrams")}`);
  // RFC 1122 §3.2.2: no ICMP error about a broadcast or multicast datagram.
  if (cast !== "unicast") must(icmpErrors.length === 0, () => "an ICMP error answered a broadcast or multicast datagram");
  const ipPayload = s.ipTruncate ?? 8 + s.dataLength;
  const lengthField = 8 + s.dataLength + s.lengthDelta;
  const counted = (name: keyof typeof before): void => {
    const others = (Object.keys(before) as (keyof typeof before)[]).filter((k) => k !== name && k !== "rxDatagrams" && udp.stats[k] !== before[k]);
    must(d(name) === 1 && others.length === 0, () => `expected only ${name}, got ${JSON.stringify(Object.fromEntries(others.map((k) => [k, d(k)])))} ${name} +${d(name)}`);
  };
  if (ipPayload < 8) return counted("dropTruncated");
  if (lengthField < 8 || lengthField > ipPayload) return counted("dropBadLength");
  if (s.checksum === "bad") return counted("dropBadChecksum");
  const targets = modelTargets(list, s.dstPort, s.src, s.srcPort, s.dst, cast);
  if (targets.length === 0) {
    counted("dropNoPort");
    // RFC 1122 §4.1.3.1: port unreachable for unicast (rate-limited by ICMP, so at most one).
    must(icmpErrors.length === net.stack.icmp.stats.txUnreachable - icmpBefore, () => "ICMP errors sent vs counted");
    for (const e of icmpErrors) must(e.data[1] === 3 && e.dst === s.src, () => "port unreachable to the sender");
    return;
  }
  must(icmpErrors.length === 0, () => "ICMP error for a delivered datagram");
  const dataLength = lengthField - 8;
  let full = 0;
  for (const b of list) {
    const isTarget = targets.includes(b);
    if (!isTarget) {
      must(b.received.length === 0, () => `PCB ${b.localIp}:${b.localPort} got a datagram not for it`);
      continue;
    }
    const fits = b.reads ? dataLength <= b.maxBytes : b.queued < b.maxDatagrams && b.queuedBytes + dataLength <= b.maxBytes;
    if (!fits) {
      full++;
      must(b.received.length === 0, () => "a datagram that could not fit was delivered");
      continue;
    }
    if (!b.reads) {
      b.queued++;
      b.queuedBytes += dataLength;
      must(b.pcb.queue.length === b.queued, () => `queue of ${b.localPort}: ${b.pcb.queue.length}, model ${b.queued}`);
      continue;
    }
    must(b.received.length === 1, () => `PCB ${b.localIp}:${b.localPort} received ${b.received.length}`);
    const r = b.received[0]!;
    must(r.src === s.src && r.srcPort === s.srcPort, () => "source address and port");
    must(r.data.length === dataLength && r.data.every((x) => x === s.fill), () => "datagram bytes");
  }
  must(d("rxDelivered") === targets.length - full && d("dropQueueFull") === full && d("dropNoPort") === 0, () => `delivered +${d("rxDelivered")}, full +${d("dropQueueFull")}, model ${targets.length - full}/${full}`);
  for (const k of ["dropTruncated", "dropBadLength", "dropBadChecksum"] as const) must(d(k) === 0, () => `${k} for a good datagram`);
}

describe("UDP input fuzzing with valid datagrams", () => {
  it("counts every datagram once, delivers it exactly where the RFC 1122 demux says, and never errors about a broadcast", () => {
    fc.assert(
      fc.property(fc.array(datagramStep, { minLength: 1, maxLength: 30 }), fc.nat(), (steps, seed) => {
        const net = new Net({ random: seed });
        try {
          const list = udpFixture(net);
          for (const s of steps) runDatagram(net, list, s);
          // Sending still works after all that.
          const pcb = list[0]!.pcb;
          expect(net.stack.udp.sendTo(pcb, new Uint8Array([1, 2, 3]), 0, 3, PEER_IP, 9)).toBe(Err.OK);
          for (const b of list) net.stack.udp.close(b.pcb);
          expect(net.stack.udp.allPcbs()).toEqual([]);
        } finally {
          net.stop();
        }
      }),
      runs(7001, 2000),
    );
  });
});

// ================================================================== part 2: the DHCP client

const SERVER_IP = PEER_IP;
const POOL_IP = 0x0a000032; // 10.0.0.50
const OTHER_POOL_IP = 0x0a000033;
const CLIENT_MAC = MAC_B;
const OTHER_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x99]);

const DhcpType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;

/** What the client last sent (the far end parses it independently of dhcpMessage.ts). */
interface ClientMsg {
  type: number;
  xid: number;
  ciaddr: number;
  requestedIp: number;
}

function parseClientMessage(o: Out): ClientMsg | null {
  if (o.kind !== "udp" || o.dstPort !== 67 || o.data.length < 240) return null;
  const d = o.data;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const m: ClientMsg = { type: 0, xid: dv.getUint32(4), ciaddr: dv.getUint32(12), requestedIp: 0 };
  for (let i = 240; i < d.length; ) {
    const code = d[i]!;
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const len = d[i + 1] ?? 0;
    if (code === 53) m.type = d[i + 2] ?? 0;
    if (code === 50 && len === 4) m.requestedIp = dv.getUint32(i + 2);
    i += 2 + len;
  }
  return m;
}

/** A BOOTP reply, raw: fixed header, magic cookie, then `options` as given (END included by the caller). */
function bootp(o: { op: number; htype: number; hlen: number; xid: number; ciaddr: number; yiaddr: number; chaddr: Uint8Array; options: number[]; sname?: readonly number[]; file?: readonly number[]; cookie?: number }): Uint8Array {
  const b = new Uint8Array(Math.max(300, 240 + o.options.length));
  b[0] = o.op;
  b[1] = o.htype;
  b[2] = o.hlen;
  b.set(u32b(o.xid), 4);
  b.set(u32b(o.ciaddr), 12);
  b.set(u32b(o.yiaddr), 16);
  b.set(o.chaddr.subarray(0, 16), 28);
  if (o.sname !== undefined) b.set(o.sname.slice(0, 64), 44);
  if (o.file !== undefined) b.set(o.file.slice(0, 128), 108);
  b.set(u32b(o.cookie ?? 0x63825363), 236);
  b.set(o.options, 240);
  return b;
}

/** A well-formed server reply to `m` (RFC 2131 Table 3): what the sane server sends. */
function goodReply(m: ClientMsg, type: number, yiaddr: number, leaseSeconds = 120): Uint8Array {
  const options = [53, 1, type, 54, 4, ...u32b(SERVER_IP)];
  if (type !== DhcpType.NAK) options.push(51, 4, ...u32b(leaseSeconds), 1, 4, ...u32b(MASK_24), 3, 4, ...u32b(SERVER_IP), 6, 4, ...u32b(SERVER_IP));
  options.push(255);
  return bootp({ op: 2, htype: 1, hlen: 6, xid: m.xid, ciaddr: m.ciaddr, yiaddr: type === DhcpType.NAK ? 0 : yiaddr, chaddr: CLIENT_MAC, options });
}

type DhcpPhase = "SELECTING" | "REQUESTING" | "CHECKING" | "BOUND" | "RENEWING" | "REBINDING" | "INIT";

interface DhcpReplySpec {
  kind: "reply";
  delayMs: number;
  type: number;
  op: number;
  hwGood: boolean;
  xid: "current" | "stale" | { abs: number };
  chaddrOurs: boolean;
  yiaddr: number | "lease";
  serverId: "server" | "other" | "absent" | { abs: number };
  lease: number | null;
  t1: number | null;
  t2: number | null;
  mask: readonly number[] | null;
  routers: number;
  dns: number;
  extra: readonly number[];
  overload: { value: number; sname: readonly number[]; file: readonly number[] } | null;
  end: boolean;
  srcPort: number;
  toBroadcast: boolean;
  mutation: { flips: [number, number][]; cut: number | null } | null;
}

interface DhcpOtherStep {
  kind: "conflict" | "renew" | "restart" | "wait";
  delayMs: number;
}

type DhcpStep = DhcpReplySpec | DhcpOtherStep;

const dhcpDelay = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 3001, max: 130_000 }) },
);

const leaseValue = fc.oneof(fc.constantFrom(0, 1, 10, 60, 120, 3600, 0xffffffff, 0xfffffffe, 0x80000000), u32);

const dhcpReply: fc.Arbitrary<DhcpReplySpec> = fc.record({
  kind: fc.constant("reply" as const),
  delayMs: dhcpDelay,
  type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(DhcpType.OFFER, DhcpType.ACK, DhcpType.ACK, DhcpType.NAK) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
  op: fc.oneof({ weight: 8, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }),
  hwGood: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  xid: fc.oneof(
    { weight: 8, arbitrary: fc.constant("current" as const) },
    { weight: 1, arbitrary: fc.constant("stale" as const) },
    { weight: 1, arbitrary: fc.record({ abs: u32 }) },
  ),
  chaddrOurs: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  yiaddr: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<number | "lease">(POOL_IP, POOL_IP, OTHER_POOL_IP, "lease") },
    { weight: 1, arbitrary: fc.constantFrom(0, 0x7f000001, 0xe0000005, 0xffffffff, 0xf0000001, 0x00000001, 0x0a0000ff) },
    { weight: 1, arbitrary: u32 },
  ),
  serverId: fc.oneof(
    { weight: 6, arbitrary: fc.constant("server" as const) },
    { weight: 1, arbitrary: fc.constantFrom("other" as const, "absent" as const) },
    { weight: 1, arbitrary: fc.record({ abs: u32 }) },
  ),
  lease: fc.oneof({ weight: 4, arbitrary: fc.constant(120) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: leaseValue }),
  t1: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: leaseValue }),
  t2: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: leaseValue }),
  mask: fc.oneof(
    { weight: 3, arbitrary: fc.constant([1, 4, ...u32b(MASK_24)]) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.oneof(u32.map((m) => [1, 4, ...u32b(m)]), fc.constant([1, 3, 255, 255, 255]), fc.constant([1, 0])) },
  ),
  routers: fc.oneof(fc.constant(1), fc.nat({ max: 12 })),
  dns: fc.oneof(fc.constant(1), fc.nat({ max: 12 })),
  extra: fc.oneof(
    { weight: 4, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom([3, 3, 1, 2, 3], [6, 0], [51, 2, 0, 1], [53, 1, 0], [53, 2, 5, 5], [54, 5, 1, 2, 3, 4, 5], [58, 4, 0, 0, 0, 1], [56, 5, 104, 101, 108, 108, 111], [0, 0, 0], [12, 1]),
        fc.array(fc.nat({ max: 255 }), { maxLength: 40 }),
      ),
    },
  ),
  overload: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        value: fc.oneof(fc.constantFrom(1, 2, 3), fc.nat({ max: 255 })),
        sname: fc.oneof(fc.constant([3, 4, ...u32b(SERVER_IP), 255]), fc.array(fc.nat({ max: 255 }), { maxLength: 64 })),
        file: fc.oneof(fc.constant([6, 4, ...u32b(SERVER_IP), 255]), fc.constant([51, 4, 0, 0, 0, 30, 255]), fc.array(fc.nat({ max: 255 }), { maxLength: 128 })),
      }),
    },
  ),
  end: fc.oneof({ weight: 10, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  srcPort: fc.oneof({ weight: 10, arbitrary: fc.constant(67) }, { weight: 1, arbitrary: fc.constantFrom(68, 1067) }),
  toBroadcast: fc.boolean(),
  mutation: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        flips: fc.array(fc.tuple(fc.nat({ max: 600 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 6 }),
        cut: fc.option(fc.nat({ max: 600 }), { nil: null }),
      }),
    },
  ),
});

const dhcpOther: fc.Arbitrary<DhcpOtherStep> = fc.record({
  kind: fc.constantFrom("conflict" as const, "renew" as const, "restart" as const, "wait" as const, "wait" as const),
  delayMs: dhcpDelay,
});

const dhcpRun = fc.record({
  phase: fc.constantFrom<DhcpPhase>("SELECTING", "REQUESTING", "CHECKING", "BOUND", "RENEWING", "REBINDING", "INIT"),
  seed: fc.nat(),
  steps: fc.array(fc.oneof({ weight: 4, arbitrary: dhcpReply }, { weight: 1, arbitrary: dhcpOther }), { minLength: 1, maxLength: 30 }),
});

/** The fuzzed client, on a stack with no address, and a far end that can play a sane server. */
class DhcpRig {
  readonly net: Net;
  readonly dhcp: DhcpClient;
  /** The client's latest message and the one before (for stale xids). */
  last: ClientMsg | null = null;
  previous: ClientMsg | null = null;
  /** Answer DISCOVER with OFFER and REQUEST with ACK (RFC 2131 §4.3.1–4.3.2); NAK every REQUEST when "nak". */
  serverMode: "off" | "good" | "nak" = "off";
  /** ARP probes seen (sender 0.0.0.0, RFC 5227 §2.1.1). */
  probes = 0;

  constructor(seed: number) {
    this.net = new Net({ ip: 0, netmask: 0, gateway: 0, random: seed });
    this.dhcp = new DhcpClient(this.net.stack.udp, this.net.stack.netif, this.net.scheduler, this.net.stack.random, {
      probeWaitMs: 100,
      probeMinMs: 100,
      probeMaxMs: 200,
      announceWaitMs: 200,
    });
    this.net.onOut = (o) => this.onOut(o);
  }

  private onOut(o: Out): void {
    if (o.kind === "arp" && o.arpOp === 1 && o.arpSender === 0) this.probes++;
    const m = parseClientMessage(o);
    if (m === null) return;
    if (this.last === null || this.last.xid !== m.xid) this.previous = this.last;
    this.last = m;
    if (this.serverMode === "off") return;
    if (m.type === DhcpType.DISCOVER) this.reply(goodReply(m, DhcpType.OFFER, POOL_IP), true);
    else if (m.type === DhcpType.REQUEST) {
      const ip = m.ciaddr !== 0 ? m.ciaddr : m.requestedIp !== 0 ? m.requestedIp : POOL_IP;
      this.reply(goodReply(m, this.serverMode === "nak" ? DhcpType.NAK : DhcpType.ACK, ip), m.ciaddr === 0);
    }
  }

  /** A message from the server's port 67 to port 68 (RFC 2131 §4.1: broadcast while the client has no address). */
  reply(payload: Uint8Array, broadcast: boolean, srcPort = 67): void {
    const dst = broadcast || this.net.stack.netif.ip === 0 ? 0xffffffff : this.net.stack.netif.ip;
    // Queued on the wire (no advance here: this may run inside a delivery), delivered at the same instant.
    for (const f of this.net.udpFrames({ src: SERVER_IP, dst, srcPort, dstPort: 68, data: payload, dstMac: broadcast ? MAC_BCAST : CLIENT_MAC })) {
      this.net.peer.transmit(f, 0, f.length);
    }
  }

  /** Drives the client into `phase` with the sane server, then lets the fuzzer have it. */
  reach(phase: DhcpPhase): void {
    const s = this.net.scheduler;
    const dhcp = this.dhcp;
    dhcp.start();
    s.advance(0);
    const until = (name: string, limitMs = 600_000): void => {
      expect(s.advanceUntil(() => dhcp.state === name, limitMs, 50), `reaching ${name} (at ${dhcp.state})`).toBe(true);
    };
    switch (phase) {
      case "SELECTING":
        break;
      case "REQUESTING":
        this.reply(goodReply(this.last!, DhcpType.OFFER, POOL_IP), true);
        s.advance(0);
        break;
      case "CHECKING":
        this.reply(goodReply(this.last!, DhcpType.OFFER, POOL_IP), true);
        s.advance(0);
        this.reply(goodReply(this.last!, DhcpType.ACK, POOL_IP), true);
        s.advance(0);
        break;
      case "BOUND":
      case "RENEWING":
      case "REBINDING":
        this.serverMode = "good";
        until("BOUND");
        this.serverMode = "off";
        if (phase !== "BOUND") until("RENEWING");
        if (phase === "REBINDING") until("REBINDING");
        break;
      case "INIT":
        // RFC 2131 §3.1 step 5 with our back-off: a second NAK in a row waits in INIT.
        this.serverMode = "nak";
        until("INIT");
        this.serverMode = "off";
        break;
    }
    expect(dhcp.state).toBe(phase);
  }

  runStep(st: DhcpStep): void {
    const s = this.net.scheduler;
    if (st.delayMs > 0) {
      s.advance(st.delayMs);
      this.check();
    }
    switch (st.kind) {
      case "reply":
        this.fuzzedReply(st);
        break;
      case "conflict": {
        // Another host claims the address being probed or held (RFC 5227 §2.1.1 / §2.4).
        const ip = this.dhcp.lease?.ip ?? this.last?.requestedIp ?? POOL_IP;
        const f = ether(MAC_BCAST, OTHER_MAC, 0x0806, arp(2, OTHER_MAC, ip, MAC_BCAST, ip));
        this.net.transmit([f]);
        break;
      }
      case "renew":
        this.dhcp.renew();
        s.advance(0);
        break;
      case "restart":
        this.dhcp.stop();
        expect(this.net.scheduler.armedLabels().filter((l) => l.startsWith("dhcp"))).toEqual([]);
        this.dhcp.start();
        s.advance(0);
        break;
      case "wait":
        break;
    }
    this.check();
  }

  private fuzzedReply(r: DhcpReplySpec): void {
    const m = this.last;
    const xid = r.xid === "current" ? (m?.xid ?? 0) : r.xid === "stale" ? (this.previous?.xid ?? 1) : r.xid.abs;
    const yiaddr = r.yiaddr === "lease" ? (this.dhcp.lease?.ip ?? POOL_IP) : r.yiaddr;
    const options: number[] = [];
    if (r.type !== 0) options.push(53, 1, r.type);
    if (r.serverId !== "absent") options.push(54, 4, ...u32b(r.serverId === "server" ? SERVER_IP : r.serverId === "other" ? 0x0a000063 : r.serverId.abs));
    if (r.lease !== null) options.push(51, 4, ...u32b(r.lease));
    if (r.t1 !== null) options.push(58, 4, ...u32b(r.t1));
    if (r.t2 !== null) options.push(59, 4, ...u32b(r.t2));
    if (r.mask !== null) options.push(...r.mask);
    if (r.routers > 0) options.push(3, 4 * r.routers, ...Array.from({ length: r.routers }, (_, i) => u32b(SERVER_IP + i)).flat());
    if (r.dns > 0) options.push(6, 4 * r.dns, ...Array.from({ length: r.dns }, (_, i) => u32b(0x08080808 + i)).flat());
    options.push(...r.extra);
    if (r.overload !== null) options.push(52, 1, r.overload.value);
    if (r.end) options.push(255);
    const payload = bootp({
      op: r.op,
      htype: r.hwGood ? 1 : 6,
      hlen: r.hwGood ? 6 : 16,
      xid,
      ciaddr: m?.ciaddr ?? 0,
      yiaddr,
      chaddr: r.chaddrOurs ? CLIENT_MAC : OTHER_MAC,
      options,
      sname: r.overload?.sname,
      file: r.overload?.file,
    });
    let bytes = payload;
    if (r.mutation !== null) {
      bytes = payload.slice();
      for (const [pos, bit] of r.mutation.flips) {
        const i = pos % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << bit);
      }
      if (r.mutation.cut !== null) bytes = bytes.subarray(0, r.mutation.cut % (bytes.length + 1));
    }
    this.reply(bytes, r.toBroadcast, r.srcPort);
    this.net.scheduler.advance(0);
  }

  /** A valid state, the address that goes with it, and a timer that moves it on: no wedge. */
  check(): void {
    const dhcp = this.dhcp;
    const state = dhcp.state;
    const armed = this.net.scheduler.armedLabels();
    const stepArmed = armed.includes("dhcp step");
    const leaseArmed = armed.includes("dhcp lease");
    const ip = this.net.stack.netif.ip;
    must((DHCP_STATE_NAMES as readonly string[]).includes(state) && state !== "STOPPED", () => `state ${state}`);
    const lease = dhcp.lease;
    switch (state) {
      case "INIT":
      case "SELECTING":
      case "REQUESTING":
        must(stepArmed, () => `${state} without its timer`);
        must(lease === null && ip === 0, () => `${state} with an address`);
        break;
      case "CHECKING":
        // The RFC 5227 probe runs on the netif's Acd.
        must(armed.includes("acd probe"), () => "CHECKING without its probe timer");
        must(lease === null && ip === 0, () => `${state} with an address`);
        break;
      case "BOUND":
      case "RENEWING":
      case "REBINDING": {
        must(lease !== null && ip === lease.ip, () => `${state}: lease ${lease?.ip}, netif ${ip}`);
        if (lease === null) return;
        const top = lease.ip >>> 24;
        must(top !== 0 && top !== 127 && top < 224, () => `leased an unusable address ${lease.ip}`);
        // RFC 2131 §4.4.5: T1 ≤ T2 ≤ lease.
        must(lease.renewalSeconds <= lease.rebindingSeconds && lease.rebindingSeconds <= lease.leaseSeconds, () => `T1 ${lease.renewalSeconds} T2 ${lease.rebindingSeconds} lease ${lease.leaseSeconds}`);
        must(lease.leaseSeconds === 0xffffffff || leaseArmed, () => `${state} with a finite lease and no lease timer`);
        if (state === "BOUND") must(!stepArmed, () => "BOUND with a retransmission armed");
        break;
      }
    }
  }

  /** Afterwards a sane server still gets the client bound (or it keeps a lease it holds). */
  stillBinds(): void {
    this.serverMode = "good";
    const s = this.net.scheduler;
    const holdsLease = (): boolean => this.dhcp.state === "BOUND" || ((this.dhcp.state === "RENEWING" || this.dhcp.state === "REBINDING") && this.dhcp.lease !== null);
    expect(s.advanceUntil(holdsLease, 15 * 60_000, 100), `bound again (in ${this.dhcp.state})`).toBe(true);
    this.check();
  }

  stop(): void {
    this.dhcp.stop();
    expect(this.net.scheduler.armedLabels().filter((l) => l.startsWith("dhcp"))).toEqual([]);
    expect(this.net.stack.udp.allPcbs()).toEqual([]);
    expect(this.net.stack.netif.ip).toBe(0);
    this.net.stop();
  }
}

describe("DHCP client input fuzzing", () => {
  it("keeps a valid state, address and timers whatever arrives on port 68 in every state, and still binds afterwards", () => {
    const stats: Record<string, number> = {};
    fc.assert(
      fc.property(dhcpRun, (r) => {
        const rig = new DhcpRig(r.seed);
        try {
          rig.reach(r.phase);
          rig.check();
          for (const st of r.steps) rig.runStep(st);
          rig.stillBinds();
          for (const [k, v] of Object.entries(rig.dhcp.stats)) stats[k] = (stats[k] ?? 0) + v;
        } catch (e) {
          rig.net.stack.stop();
          rig.net.peer.close();
          throw e;
        }
        rig.stop();
      }),
      runs(7002, 2000),
    );
    // The fuzzing reached the client's decisions, not only its parser.
    for (const k of ["rxOffers", "rxAcks", "rxNaks", "rxIgnored", "dropBadOptionLength", "dropNoEnd", "dropBadAddress", "dropNoServerId", "dropNoLeaseTime", "probeConflicts", "renewals", "leasesLost"]) {
      expect(stats[k] ?? 0, k).toBeGreaterThan(0);
    }
  });
});

// ================================================================== part 3: the DNS resolver

const DNS_SERVER = PEER_IP;
const DNS_SERVER_2 = OTHER_HOST;
const NAMES = ["board.test", "www.example.test", "a.test"] as const;
const TOTAL_TIMEOUT_MS = 10_000;

/** A query the resolver sent (parsed independently of dnsMessage.ts). */
interface SentQuery {
  id: number;
  srcPort: number;
  server: number;
  /** The question section's bytes. */
  question: number[];
  name: string;
  ip: Uint8Array;
}

function parseQuery(o: Out): SentQuery | null {
  if (o.kind !== "udp" || o.dstPort !== 53 || o.data.length < 17) return null;
  const d = o.data;
  let p = 12;
  const labels: string[] = [];
  while (p < d.length && d[p] !== 0) {
    const len = d[p]!;
    labels.push(String.fromCharCode(...d.subarray(p + 1, p + 1 + len)));
    p += 1 + len;
  }
  return { id: (d[0]! << 8) | d[1]!, srcPort: o.srcPort, server: o.dst, question: [...d.subarray(12, p + 5)], name: labels.join(".").toLowerCase(), ip: o.ip };
}

function wireName(name: string): number[] {
  return [...name.split(".").flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]), 0];
}

type Owner = "ptrQ" | "badPtr" | "loopPtr" | "fwdPtr" | "badLabel" | { name: string };

interface RrSpec {
  owner: Owner;
  type: number;
  ttl: number;
  rdata: "valid" | "short" | "long" | { target: string } | { raw: readonly number[] };
}

interface DnsReplySpec {
  kind: "reply";
  delayMs: number;
  which: number;
  from: "server" | "otherPort" | "otherIp";
  id: "right" | "wrong" | "stale";
  qr: boolean;
  opcode: number;
  tc: boolean;
  rcode: number;
  question: "echo" | "upper" | "other" | "none" | "double" | "badPtr";
  answers: readonly RrSpec[];
  authority: readonly RrSpec[];
  countDelta: number;
  tail: readonly number[];
  mutation: { flips: [number, number][]; cut: number | null } | null;
}

interface DnsOtherStep {
  kind: "icmp" | "wait" | "lookup";
  delayMs: number;
  which: number;
}

type DnsStep = DnsReplySpec | DnsOtherStep;

const rrSpec: fc.Arbitrary<RrSpec> = fc.record({
  owner: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Owner>("ptrQ") },
    { weight: 2, arbitrary: fc.constantFrom(...NAMES, "b.test", "c.test").map((name): Owner => ({ name })) },
    { weight: 1, arbitrary: fc.constantFrom<Owner>("badPtr", "loopPtr", "fwdPtr", "badLabel") },
  ),
  type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 1, 1, 5, 5, 6) }, { weight: 1, arbitrary: fc.constantFrom(28, 2, 41, 0, 255) }),
  ttl: fc.oneof(fc.constantFrom(0, 1, 300, 86_400, 0x7fffffff, 0xffffffff), u32),
  rdata: fc.oneof(
    { weight: 5, arbitrary: fc.constant("valid" as const) },
    { weight: 2, arbitrary: fc.constantFrom(...NAMES, "b.test", "c.test").map((target) => ({ target })) },
    { weight: 1, arbitrary: fc.constantFrom("short" as const, "long" as const) },
    { weight: 1, arbitrary: fc.array(fc.nat({ max: 255 }), { maxLength: 24 }).map((raw) => ({ raw })) },
  ),
});

const dnsDelay = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3000 }));

const dnsReply: fc.Arbitrary<DnsReplySpec> = fc.record({
  kind: fc.constant("reply" as const),
  delayMs: dnsDelay,
  which: fc.nat({ max: 2 }),
  from: fc.oneof({ weight: 8, arbitrary: fc.constant("server" as const) }, { weight: 1, arbitrary: fc.constantFrom("otherPort" as const, "otherIp" as const) }),
  id: fc.oneof({ weight: 6, arbitrary: fc.constant("right" as const) }, { weight: 1, arbitrary: fc.constantFrom("wrong" as const, "stale" as const) }),
  qr: fc.oneof({ weight: 10, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  opcode: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) }),
  tc: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  rcode: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constantFrom(2, 3, 5, 1, 4) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) }),
  question: fc.oneof(
    { weight: 8, arbitrary: fc.constant("echo" as const) },
    { weight: 1, arbitrary: fc.constantFrom("upper" as const, "other" as const, "none" as const, "double" as const, "badPtr" as const) },
  ),
  answers: fc.array(rrSpec, { maxLength: 6 }),
  authority: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(rrSpec, { maxLength: 2 }) }),
  countDelta: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }) }),
  tail: fc.oneof({ weight: 8, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.nat({ max: 255 }), { maxLength: 600 }) }),
  mutation: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        flips: fc.array(fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 6 }),
        cut: fc.option(fc.nat({ max: 300 }), { nil: null }),
      }),
    },
  ),
});

const dnsOther: fc.Arbitrary<DnsOtherStep> = fc.record({
  kind: fc.constantFrom("icmp" as const, "wait" as const, "lookup" as const),
  delayMs: dnsDelay,
  which: fc.nat({ max: 2 }),
});

const dnsRun = fc.record({
  lookups: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 3 }),
  twoServers: fc.boolean(),
  seed: fc.nat(),
  steps: fc.array(fc.oneof({ weight: 5, arbitrary: dnsReply }, { weight: 1, arbitrary: dnsOther }), { minLength: 1, maxLength: 30 }),
});

const DNS_ERRORS = ["NXDOMAIN", "NO_ANSWER", "TIMEOUT", "SERVFAIL", "REFUSED", "BAD_NAME", "NO_SERVERS"];

function isWellFormed(r: DnsResult): boolean {
  if (!r.ok) return DNS_ERRORS.includes(r.error);
  return (
    r.addresses.length > 0 &&
    r.addresses.every((a) => Number.isInteger(a) && a >= 0 && a <= 0xffffffff) &&
    Number.isInteger(r.ttlSeconds) &&
    r.ttlSeconds >= 0 &&
    r.ttlSeconds <= MAX_TTL_SECONDS
  );
}

class DnsRig {
  readonly net: Net;
  readonly resolver: DnsResolver;
  /** The latest query per name, and the one before it (for stale IDs). */
  readonly queries = new Map<string, SentQuery>();
  readonly staleIds = new Map<string, number>();
  /** Lookups started: name, when, and the result once settled. */
  readonly lookups: { name: string; startedAt: number; result: DnsResult | null }[] = [];
  /** Answer every query at once with a good A record. */
  goodServer = false;

  constructor(seed: number, twoServers: boolean) {
    this.net = new Net({ random: seed });
    this.resolver = new DnsResolver(this.net.stack.udp, this.net.scheduler, this.net.stack.random, {
      servers: twoServers ? [DNS_SERVER, DNS_SERVER_2] : [DNS_SERVER],
      timeoutMs: 2000,
      attempts: 2,
      totalTimeoutMs: TOTAL_TIMEOUT_MS,
    });
    this.net.onOut = (o) => {
      const q = parseQuery(o);
      if (q === null) return;
      const old = this.queries.get(q.name);
      if (old !== undefined) this.staleIds.set(q.name, old.id);
      this.queries.set(q.name, q);
      if (this.goodServer) {
        const reply = [...u16b(q.id), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...q.question, 0xc0, 0x0c, 0, 1, 0, 1, ...u32b(60), 0, 4, ...u32b(0x0a380009)];
        for (const f of this.net.udpFrames({ src: q.server, dst: STACK_IP, srcPort: 53, dstPort: q.srcPort, data: new Uint8Array(reply) })) this.net.peer.transmit(f, 0, f.length);
      }
    };
  }

  lookup(name: string): void {
    const entry: { name: string; startedAt: number; result: DnsResult | null } = { name, startedAt: this.net.scheduler.now(), result: null };
    this.lookups.push(entry);
    void this.resolver.resolve(name).then((r) => {
      entry.result = r;
    });
    this.net.scheduler.advance(0);
  }

  runStep(st: DnsStep): void {
    if (st.delayMs > 0) this.net.scheduler.advance(st.delayMs);
    const name = NAMES[st.which % NAMES.length]!;
    const q = this.queries.get(name);
    switch (st.kind) {
      case "reply":
        if (q !== undefined) this.fuzzedReply(st, q);
        break;
      case "icmp":
        // RFC 1122 §4.1.3.3: port unreachable about our query, quoting it (RFC 792).
        if (q !== undefined) {
          const quote = q.ip.subarray(0, Math.min(q.ip.length, 28));
          const msg = [3, 3, 0, 0, 0, 0, 0, 0, ...quote];
          const sum = checksumNaive(new Uint8Array(msg), 0, msg.length);
          msg[2] = sum >>> 8;
          msg[3] = sum & 0xff;
          const f = ether(MAC_B, MAC_A, 0x0800, ipv4({ src: q.server, dst: STACK_IP, protocol: 1, payload: new Uint8Array(msg) }));
          this.net.transmit([f]);
        }
        break;
      case "lookup":
        this.lookup(name);
        break;
      case "wait":
        break;
    }
    this.check();
  }

  private rr(out: number[], r: RrSpec, q: SentQuery): void {
    const at = out.length;
    switch (r.owner) {
      case "ptrQ":
        out.push(0xc0, 0x0c);
        break;
      case "badPtr":
        out.push(0xc0 | 0x3f, 0xff);
        break;
      case "loopPtr":
        out.push(0xc0 | (at >> 8), at & 0xff);
        break;
      case "fwdPtr":
        out.push(0xc0 | ((at + 12) >> 8), (at + 12) & 0xff);
        break;
      case "badLabel":
        out.push(0x41, 1, 2, 0);
        break;
      default:
        out.push(...wireName(r.owner.name));
    }
    let rdata: readonly number[];
    const d = r.rdata;
    if (d === "valid") rdata = r.type === 5 ? wireName(q.name) : r.type === 6 ? [...wireName("ns.test"), ...wireName("hm.test"), ...u32b(1), ...u32b(2), ...u32b(3), ...u32b(4), ...u32b(30)] : [10, 56, 0, 9];
    else if (d === "short") rdata = [10, 56];
    else if (d === "long") rdata = [10, 56, 0, 9, 7];
    else if ("target" in d) rdata = wireName(d.target);
    else rdata = d.raw;
    out.push(...u16b(r.type), 0, 1, ...u32b(r.ttl), ...u16b(rdata.length), ...rdata);
  }

  private fuzzedReply(r: DnsReplySpec, q: SentQuery): void {
    const id = r.id === "right" ? q.id : r.id === "wrong" ? (q.id + 1) & 0xffff : (this.staleIds.get(q.name) ?? q.id ^ 0x8000);
    const flags = (r.qr ? 0x8000 : 0) | (r.opcode << 11) | (r.tc ? 0x0200 : 0) | 0x0180 | r.rcode;
    const questions: number[][] = [];
    if (r.question === "echo" || r.question === "double") questions.push(q.question);
    if (r.question === "double") questions.push([...wireName("other.test"), 0, 1, 0, 1]);
    if (r.question === "upper") questions.push([...wireName(q.name.toUpperCase()), 0, 1, 0, 1]);
    if (r.question === "other") questions.push([...wireName("other.test"), 0, 1, 0, 1]);
    if (r.question === "badPtr") questions.push([0xc0, 0x0c, 0, 1, 0, 1]);
    const out: number[] = [...u16b(id), ...u16b(flags)];
    const c = (n: number): number[] => u16b(Math.max(0, n + r.countDelta));
    out.push(...c(questions.length), ...c(r.answers.length), ...c(r.authority.length), 0, 0);
    for (const qq of questions) out.push(...qq);
    for (const a of r.answers) this.rr(out, a, q);
    for (const a of r.authority) this.rr(out, a, q);
    out.push(...r.tail);
    let bytes = new Uint8Array(out);
    if (r.mutation !== null) {
      for (const [pos, bit] of r.mutation.flips) {
        const i = pos % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << bit);
      }
      if (r.mutation.cut !== null) bytes = bytes.subarray(0, r.mutation.cut % (bytes.length + 1));
    }
    const src = r.from === "otherIp" ? 0x0a000063 : q.server;
    const srcPort = r.from === "otherPort" ? 5353 : 53;
    this.net.sendUdp({ src, dst: STACK_IP, srcPort, dstPort: q.srcPort, data: bytes, fragChunk: bytes.length > 1472 ? 1480 : null });
  }

  /** Every query on the wire has its deadline armed (nothing waits for ever) and holds at most one PCB. */
  check(): void {
    const armed = this.net.scheduler.armedLabels().filter((l) => l === "dns try").length;
    must(armed === this.resolver.pendingCount, () => `${this.resolver.pendingCount} queries pending, ${armed} deadlines armed`);
    must(this.net.stack.udp.allPcbs().length <= this.resolver.pendingCount, () => "more resolver PCBs than queries");
    for (const l of this.lookups) {
      if (l.result !== null) must(isWellFormed(l.result), () => `malformed result ${JSON.stringify(l.result)}`);
    }
  }
}

/** Lets settled promises deliver their results (the simulated clock runs synchronously). */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve();
}

describe("DNS resolver input fuzzing", () => {
  it("settles every lookup by totalTimeoutMs with a well-formed result, leaks nothing, and still resolves afterwards", async () => {
    const stats: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(dnsRun, async (r) => {
        const rig = new DnsRig(r.seed, r.twoServers);
        const s = rig.net.scheduler;
        try {
          for (const w of r.lookups) rig.lookup(NAMES[w]!);
          for (const st of r.steps) {
            rig.runStep(st);
            await flushMicrotasks();
            for (const l of rig.lookups) {
              must(l.result !== null || s.now() < l.startedAt + TOTAL_TIMEOUT_MS, () => `lookup of ${l.name} from ${l.startedAt} still pending at ${s.now()}`);
            }
          }
          // A pending lookup resolves or times out by totalTimeoutMs from its start (RFC 1123 §6.1.3.3 bounds it).
          const lastStart = Math.max(...rig.lookups.map((l) => l.startedAt));
          s.advance(Math.max(0, lastStart + TOTAL_TIMEOUT_MS - s.now()));
          await flushMicrotasks();
          for (const l of rig.lookups) {
            expect(l.result, `lookup of ${l.name} started at ${l.startedAt} unsettled at ${s.now()}`).not.toBeNull();
            expect(isWellFormed(l.result!), JSON.stringify(l.result)).toBe(true);
          }
          expect(rig.resolver.pendingCount).toBe(0);
          expect(s.armedLabels().filter((l) => l === "dns try")).toEqual([]);
          expect(rig.net.stack.udp.allPcbs()).toEqual([]);
          // A fresh lookup still works against a sane server.
          rig.resolver.clearCache();
          rig.goodServer = true;
          rig.lookup("fresh.test");
          s.advance(0);
          await flushMicrotasks();
          expect(rig.lookups.at(-1)?.result).toEqual({ ok: true, addresses: [0x0a380009], ttlSeconds: 60 });
          for (const [k, v] of Object.entries(rig.resolver.stats)) stats[k] = (stats[k] ?? 0) + v;
          rig.resolver.shutdown();
        } catch (e) {
          rig.resolver.shutdown();
          rig.net.stack.stop();
          rig.net.peer.close();
          throw e;
        }
        rig.net.stop();
      }),
      runs(7003, 2000),
    );
    for (const k of ["answers", "nxdomain", "noAnswer", "serverFailures", "refused", "truncatedAnswers", "timeouts", "icmpErrors", "dropWrongId", "dropNotResponse", "dropQuestionMismatch", "dropTruncated", "dropPointerOutOfBounds", "dropPointerForward", "dropPointerLoop", "dropLabelTooLong", "dropBadRdata", "coalesced"]) {
      expect(stats[k] ?? 0, k).toBeGreaterThan(0);
    }
  });
});
