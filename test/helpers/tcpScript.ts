// A packetdrill-style scenario harness for walnut's TCP: one Stack (simulated clock) on one end of a MemLink,
// and the test playing the peer at the other end with raw Ethernet/IPv4/TCP frames. The frames the test
// injects are built here from independent byte writers (checksums from `checksumNaive`, never the stack's
// writers), and every frame the stack sends is parsed here, its IPv4 and TCP checksums verified, and queued
// for `expectSent` / `expectNothing`.
//
// Conventions (read before writing a scenario):
// - Time `t` is milliseconds since the script started (the SimClock starts at BASE_MS). `inject(t, …)`
//   advances the clock to t first; `expectSent(t, …)` advances to t and demands the next segment was sent at
//   exactly t. Time never goes backwards.
// - Sequence numbers are RELATIVE, as packetdrill prints them after the SYN: what the peer sends has
//   seq relative to the peer's ISN and ack relative to ours; what we send has seq relative to our ISN and ack
//   relative to the peer's. A SYN has seq 0, the first data byte seq 1. SACK blocks are relative the same way
//   (in injected ACKs to our ISN, in ours to the peer's).
// - Timestamps are relative too: our TSval reads as the ms time it was sent (t), the peer's as an offset from
//   its TS base; in injected segments `ts: [val, ecr]` gives the peer's val and echoes our relative value.
// - Both ISNs and both TS clocks come from an `IsnPair`: every sequence scenario runs with `ISN_PAIRS` (one
//   pair mid-space, one a few bytes below 2^32 so that the scenario crosses the wrap) via `describe.each`.
// - ARP is pre-seeded both ways, the stack's own ARP frames are filtered out, and any ARP request for the
//   peer is answered, so only TCP appears in the capture.

import { afterEach, expect } from "vitest";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { parseIpv4, parseMac } from "../../src/core/addr.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";
import { FrameOffload, VnetFlag, VnetGso, type DeviceOffloads } from "../../src/link/offload.js";
import { Stack, type StackConfig } from "../../src/stack/stack.js";
import type { TcpConfig } from "../../src/tcp/tcp.js";
import type { TcpListener, TcpPcb, TcpPcbOptions } from "../../src/tcp/pcb.js";
import { TCP_STATE_NAMES } from "../../src/tcp/state.js";
import { toSeq } from "../../src/tcp/seq.js";
import { ether, icmp, ipv4, tcpSegment } from "./wire.js";

// ------------------------------------------------------------------ addresses and constants

export const STACK_MAC = parseMac("02:00:00:00:00:02");
export const PEER_MAC = parseMac("02:00:00:00:00:01");
export const STACK_IP = parseIpv4("10.0.0.2");
export const PEER_IP = parseIpv4("10.0.0.1");
/** The stack's port in every scenario (listen port, or the local port of an active open). */
export const LOCAL_PORT = 8080;
/** The peer's port. */
export const PEER_PORT = 40000;
/** The SimClock's value at script time 0 (non-zero: the stack treats a last-send time of 0 as "never"). */
export const BASE_MS = 10_000;

const TWO_32 = 0x100000000;

/** Both ISNs and both timestamp clocks of a scenario. */
export interface IsnPair {
  name: string;
  /** Our ISS (the stack's `isn.next` is stubbed to return it). */
  ourIsn: number;
  /** The peer's ISN (the seq of its SYN). */
  peerIsn: number;
  /** Our timestamp clock reads (BASE_MS + t + tsOffset) mod 2^32. */
  ourTsOffset: number;
  /** The peer's TSval at relative value 0. */
  peerTsBase: number;
}

/**
 * The two ISN pairs every sequence scenario runs with. The first has the peer's ISN above 2^31 (as half of
 * all random ISNs are); the second starts both sequence spaces and both timestamp clocks a little below
 * 2^32, so that a few hundred bytes or ms into the scenario every number wraps.
 */
export const ISN_PAIRS: readonly IsnPair[] = [
  { name: "ISNs mid-space", ourIsn: 0x12345678, peerIsn: 0x9abcdef0, ourTsOffset: 0x20000000, peerTsBase: 0x01000000 },
  {
    name: "ISNs near 2^32",
    ourIsn: 0xffffff00,
    peerIsn: 0xfffffff0,
    // Our TSval wraps to 0 at t = 1501 ms (a time no scenario uses: an echoed 0 means "no echo").
    ourTsOffset: TWO_32 - BASE_MS - 1501,
    peerTsBase: 0xffffff00,
  },
];

// ------------------------------------------------------------------ segment specs

export type SackBlock = [number, number];

/** Options on a segment the peer sends. */
export interface InjectOptions {
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  /** [peer TSval relative to its base, echoed value relative to our clock]; null = none (no auto TS). */
  ts?: [number, number] | null;
  sack?: SackBlock[];
  /** Raw option bytes appended after the others (for malformed or unknown options). */
  raw?: number[];
}

export interface InjectSpec {
  /** packetdrill flags: S (SYN), . (ACK), F (FIN), R (RST), P (PSH), U (URG), e.g. "S.", "P.", "F.", "R". */
  flags: string;
  /** Relative to the peer's ISN. */
  seq: number;
  /** Relative to our ISN; ignored (0 on the wire) without "." in flags unless `rawAck` is given. */
  ack?: number;
  /** The raw 16-bit window field; 65535 unless given. */
  win?: number;
  /** Payload, or its length (zero-filled). */
  data?: Uint8Array | number;
  options?: InjectOptions;
  urg?: number;
  srcPort?: number;
  dstPort?: number;
  /** Absolute sequence and acknowledgment numbers (for segments unrelated to the script's connection). */
  absolute?: boolean;
  /**
   * What the link's virtio-net header says of the frame (needs `ScriptOptions.offloads`): a GRO super-frame
   * of `gsoSize`-byte segments, and a checksum that is "partial" (NEEDS_CSUM: the field holds only the
   * pseudo-header sum) or "valid" (DATA_VALID); `corruptChecksum` flips a bit of the checksum field.
   */
  offload?: { gsoSize?: number; csum?: "partial" | "valid"; corruptChecksum?: boolean };
}

/** Options expected on a segment we send; each given field is compared, null means "absent". */
export interface ExpectOptions {
  mss?: number | null;
  wscale?: number | null;
  sackOk?: boolean;
  /** [our TSval relative (= send time), echoed peer value relative to its base]; an undefined element is not compared. */
  ts?: [number | undefined, number | undefined] | null;
  sack?: SackBlock[] | null;
}

export interface ExpectSpec {
  flags: string;
  seq?: number;
  ack?: number;
  win?: number;
  len?: number;
  data?: Uint8Array;
  /** Partial match of the options; null demands no options at all. */
  options?: ExpectOptions | null;
  srcPort?: number;
  dstPort?: number;
}

/** A segment the stack sent, parsed, with relative numbers. */
export interface SentSegment {
  /** Relative time it reached the peer (the link has no latency). */
  t: number;
  flags: string;
  seq: number;
  ack: number;
  seqAbs: number;
  ackAbs: number;
  win: number;
  len: number;
  data: Uint8Array;
  urg: number;
  srcPort: number;
  dstPort: number;
  /** A super-segment's segment size (gso_type TCPV4), else 0. */
  gsoSize: number;
  /** The IPv4 header's DF bit (RFC 791 §3.1). */
  df: boolean;
  /** "partial": NEEDS_CSUM, the field held the pseudo-header sum (checked); "full": a complete checksum (checked). */
  csum: "full" | "partial";
  /** Parsed options; ts and sack relative. `count` is the number of option kinds present. */
  options: {
    mss: number | null;
    wscale: number | null;
    sackOk: boolean;
    ts: [number, number] | null;
    /** The TSecr field as sent (0 on a SYN: nothing to echo yet). */
    tsEcrAbs: number | null;
    sack: SackBlock[] | null;
    count: number;
  };
}

/** What the peer offers on its SYN (or SYN-ACK) in the factories. */
export interface PeerSynOptions {
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  /** Offer timestamps; once both sides use them, `inject` adds a TS option to every non-RST segment. */
  ts?: boolean;
}

export interface ScriptOptions {
  isns?: IsnPair;
  mtu?: number;
  /** The link's offloads (both ends): the stack may send super-segments and partial checksums. */
  offloads?: DeviceOffloads;
  tcp?: Partial<TcpConfig>;
  stack?: Partial<StackConfig>;
}

export interface EstablishedOptions {
  /** Passive open through a listener on LOCAL_PORT; the default is an active open to the peer. */
  passive?: boolean;
  /** The peer's SYN options; default { mss: 1460 } (no window scaling, SACK or timestamps). */
  peer?: PeerSynOptions;
  /** The peer's window field during the handshake (default 65535). */
  win?: number;
  /** Handshake round trip (default 100 ms): the RTT sample that sets SRTT 100, RTTVAR 50, RTO 300 ms. */
  rttMs?: number;
  /** PCB options (buffer sizes, noDelay, keep-alive…). */
  pcb?: Partial<TcpPcbOptions>;
  backlog?: number;
}

export interface CloseOptions extends EstablishedOptions {
  /** "shutdown" (half-close, the application keeps the PCB; the default) or "close" (orphaned). */
  how?: "shutdown" | "close";
}

// ------------------------------------------------------------------ byte writers (independent of src/)

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

const FLAG_BITS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, ".": 0x10, U: 0x20, E: 0x40, W: 0x80 };
const FLAG_ORDER = "FSRP.UEW";

export function flagBits(flags: string): number {
  let bits = 0;
  for (const c of flags) {
    const b = FLAG_BITS[c];
    if (b === undefined) throw new Error(`unknown TCP flag '${c}' in '${flags}'`);
    bits |= b;
  }
  return bits;
}

/** Canonical packetdrill spelling of a flags byte: "S.", "FP.", "R". */
export function flagString(bits: number): string {
  let s = "";
  for (const c of FLAG_ORDER) if (bits & (FLAG_BITS[c] as number)) s += c;
  return s;
}

function canonicalFlags(flags: string): string {
  return flagString(flagBits(flags));
}

/** TCP options in Linux's layout: each padded with leading NOPs to 4 bytes. */
function encodeOptions(o: InjectOptions, tsAbs: [number, number] | null, sackAbs: SackBlock[] | null): number[] {
  const out: number[] = [];
  if (o.mss !== undefined) out.push(2, 4, ...u16(o.mss));
  if (o.sackOk === true) out.push(1, 1, 4, 2);
  if (tsAbs !== null) out.push(1, 1, 8, 10, ...u32(tsAbs[0]), ...u32(tsAbs[1]));
  if (o.wscale !== undefined) out.push(1, 3, 3, o.wscale);
  if (sackAbs !== null && sackAbs.length > 0) {
    out.push(1, 1, 5, 2 + 8 * sackAbs.length);
    for (const [l, r] of sackAbs) out.push(...u32(l), ...u32(r));
  }
  if (o.raw !== undefined) out.push(...o.raw);
  while (out.length % 4 !== 0) out.push(0);
  return out;
}

interface RawTcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  options: number[];
  data: Uint8Array;
}

/** Ethernet + IPv4 + TCP, both checksums from the reference implementation. */
function buildFrame(src: number, dst: number, t: RawTcp): Uint8Array {
  const tcp = tcpSegment({ ...t, src, dst });
  return ether(STACK_MAC, PEER_MAC, 0x0800, ipv4({ src, dst, protocol: 6, payload: tcp, flags: 0x4000 }));
}

function arpReply(targetMac: Uint8Array, targetIp: number): Uint8Array {
  const f = new Uint8Array(42);
  f.set(targetMac, 0);
  f.set(PEER_MAC, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2], 12);
  f.set(PEER_MAC, 22);
  f.set(u32(PEER_IP), 28);
  f.set(targetMac, 32);
  f.set(u32(targetIp), 38);
  return f;
}

// ------------------------------------------------------------------ the script

export class TcpScript {
  readonly scheduler: Scheduler;
  readonly stack: Stack;
  readonly peer: MemDevice;
  readonly isns: IsnPair;
  /** Our ISN for relative numbering; `rebaseOurIsn` moves it (SYN cookies choose their own). */
  ourIsn: number;
  peerIsn: number;
  /** Every TCP segment the stack sent that no expectation consumed yet. */
  readonly captured: SentSegment[] = [];
  /** Every TCP segment the stack sent, in order. */
  readonly history: SentSegment[] = [];
  /** PCB and listener events in order: "connected", "readable", "writable", "error:<code>", "acceptable". */
  readonly events: string[] = [];
  /** Error codes delivered by `error` events. */
  readonly errors: number[] = [];
  /** The connection the factories made (null before). */
  pcb: TcpPcb | null = null;
  listener: TcpListener | null = null;
  /** The peer and we both use timestamps: `inject` adds the TS option to non-RST segments by default. */
  autoTs = false;
  /** Our latest TSval, relative (what an automatic peer TS echoes). */
  lastOurTs = 0;
  private finished = false;

  constructor(options: ScriptOptions = {}) {
    this.isns = options.isns ?? (ISN_PAIRS[0] as IsnPair);
    this.ourIsn = this.isns.ourIsn >>> 0;
    this.peerIsn = this.isns.peerIsn >>> 0;
    this.scheduler = new Scheduler(new SimClock(BASE_MS));
    const [stackSide, peer] = memLinkPair(this.scheduler, {
      latencyMs: 0,
      mtu: options.mtu ?? 1500,
      ...(options.offloads !== undefined ? { offloads: options.offloads } : {}),
    });
    this.peer = peer;
    this.stack = new Stack(
      stackSide,
      {
        mac: STACK_MAC,
        ip: STACK_IP,
        netmask: 0xffffff00,
        gateway: 0,
        mtu: options.mtu ?? 1500,
        // Neighbour entries outlive every scenario (keep-alive runs for many minutes).
        neighbor: { reachableMs: 24 * 3600_000 },
        ...options.stack,
        tcp: {
          ...options.stack?.tcp,
          ...options.tcp,
          // Chosen ISNs and timestamp clocks (RFC 6528 and RFC 7323 §7.1 randomise both).
          isn: { next: () => toSeq(this.isns.ourIsn) },
          tsOffset: () => this.isns.ourTsOffset,
        },
      },
      this.scheduler,
    );
    peer.attach({
      frame: (bytes, offset, length, offload) => this.onFrame(bytes.slice(offset, offset + length), offload ?? null),
      endBatch: () => {},
    });
    this.stack.start();
    this.stack.netif.neighbors.learn(PEER_IP, PEER_MAC, this.scheduler.now());
  }

  /** Script time (ms since start). */
  get now(): number {
    return this.scheduler.now() - BASE_MS;
  }

  /** Advances the clock to script time t (firing every timer on the way). */
  at(t: number): void {
    if (t < this.now) throw new Error(`script time runs backwards: ${t} ms < now ${this.now} ms`);
    this.scheduler.advance(t - this.now);
  }

  // ---------------- the peer sends ----------------

  inject(spec: InjectSpec): void;
  inject(t: number, spec: InjectSpec): void;
  inject(a: number | InjectSpec, b?: InjectSpec): void {
    const [t, spec] = typeof a === "number" ? [a, b as InjectSpec] : [this.now, a];
    this.at(t);
    const bits = flagBits(spec.flags);
    const hasAck = (bits & FLAG_BITS["."]!) !== 0;
    const abs = spec.absolute === true;
    const seq = abs ? spec.seq >>> 0 : (this.peerIsn + spec.seq) >>> 0;
    const ack = spec.ack === undefined || !hasAck ? 0 : abs ? spec.ack >>> 0 : (this.ourIsn + spec.ack) >>> 0;
    const o: InjectOptions = { ...spec.options };
    let ts: [number, number] | null = null;
    if (o.ts !== undefined && o.ts !== null) ts = o.ts;
    else if (o.ts === undefined && this.autoTs && (bits & FLAG_BITS["R"]!) === 0) ts = [this.now, this.lastOurTs];
    const tsAbs: [number, number] | null =
      ts === null ? null : [(this.isns.peerTsBase + ts[0]) >>> 0, (this.ourTsOrigin + ts[1]) >>> 0];
    const sackAbs = o.sack === undefined ? null : o.sack.map(([l, r]): SackBlock => [(this.ourIsn + l) >>> 0, (this.ourIsn + r) >>> 0]);
    const data = typeof spec.data === "number" ? new Uint8Array(spec.data) : (spec.data ?? new Uint8Array(0));
    const frame = buildFrame(PEER_IP, STACK_IP, {
      srcPort: spec.srcPort ?? PEER_PORT,
      dstPort: spec.dstPort ?? LOCAL_PORT,
      seq,
      ack,
      flags: bits,
      win: spec.win ?? 65535,
      urg: spec.urg ?? 0,
      options: encodeOptions(o, tsAbs, sackAbs),
      data,
    });
    this.peer.transmit(frame, 0, frame.length, spec.offload !== undefined ? offloadFor(frame, spec.offload) : null);
    this.scheduler.advance(0);
  }

  /**
   * An ICMP error about a segment we sent, from `from` (a router; default the peer) via the peer's MAC. The
   * quote is that segment's IPv4 header (DF set, its total length) and the first 8 bytes of its TCP header
   * (RFC 792), each field overridable; `rest` is the 32 bits after the checksum (for type 3 code 4 the
   * next-hop MTU in the low 16, RFC 1191 §4).
   */
  injectIcmp(
    t: number,
    type: number,
    code: number,
    rest: number,
    about: { seqAbs: number; len: number; srcPort?: number; dstPort?: number; src?: number; totalLength?: number },
    from: number = PEER_IP,
  ): void {
    this.at(t);
    const header = 20 + (this.autoTs ? 12 : 0);
    const tcp8 = [...u16(about.srcPort ?? LOCAL_PORT), ...u16(about.dstPort ?? PEER_PORT), ...u32(about.seqAbs)];
    const quoted = ipv4({
      src: about.src ?? STACK_IP,
      dst: PEER_IP,
      protocol: 6,
      payload: new Uint8Array(tcp8),
      flags: 0x4000,
      totalLength: about.totalLength ?? 20 + header + about.len,
    });
    const message = ipv4({ src: from, dst: STACK_IP, protocol: 1, payload: icmp(type, code, rest, quoted) });
    const frame = ether(STACK_MAC, PEER_MAC, 0x0800, message);
    this.peer.transmit(frame, 0, frame.length);
    this.scheduler.advance(0);
  }

  // ---------------- what we send ----------------

  /** The next captured segment (advancing to t first when t is later than now), or a failed expectation. */
  next(t?: number): SentSegment {
    if (t !== undefined && t > this.now) this.at(t);
    else this.scheduler.advance(0);
    const seg = this.captured.shift();
    if (seg === undefined) {
      expect.fail(`expected a segment${t !== undefined ? ` at ${t} ms` : ""}, but nothing was sent (now ${this.now} ms)`);
    }
    return seg;
  }

  /**
   * Asserts the next captured segment matches `spec` (only the fields given). With `t`, the clock is
   * advanced to t (if it is not there yet) and the segment must have been sent exactly then.
   */
  expectSent(spec: ExpectSpec): SentSegment;
  expectSent(t: number, spec: ExpectSpec): SentSegment;
  expectSent(a: number | ExpectSpec, b?: ExpectSpec): SentSegment {
    const [t, spec] = typeof a === "number" ? [a, b as ExpectSpec] : [undefined, a];
    const seg = this.next(t);
    const text = formatSegment(seg);
    const expected: Record<string, unknown> = { flags: canonicalFlags(spec.flags) };
    const actual: Record<string, unknown> = { flags: seg.flags };
    if (t !== undefined) {
      expected["t"] = t;
      actual["t"] = seg.t;
    }
    for (const k of ["seq", "ack", "win", "len", "srcPort", "dstPort"] as const) {
      if (spec[k] !== undefined) {
        expected[k] = spec[k];
        actual[k] = seg[k];
      }
    }
    if (spec.data !== undefined) {
      expected["data"] = Array.from(spec.data);
      actual["data"] = Array.from(seg.data);
    }
    if (spec.options === null) {
      expected["optionCount"] = 0;
      actual["optionCount"] = seg.options.count;
    } else if (spec.options !== undefined) {
      const eo = spec.options;
      const so = seg.options;
      if (eo.mss !== undefined) [expected["mss"], actual["mss"]] = [eo.mss, so.mss];
      if (eo.wscale !== undefined) [expected["wscale"], actual["wscale"]] = [eo.wscale, so.wscale];
      if (eo.sackOk !== undefined) [expected["sackOk"], actual["sackOk"]] = [eo.sackOk, so.sackOk];
      if (eo.sack !== undefined) [expected["sack"], actual["sack"]] = [eo.sack, so.sack];
      if (eo.ts === null) [expected["ts"], actual["ts"]] = [null, so.ts];
      else if (eo.ts !== undefined) {
        expected["ts"] = eo.ts.map((v) => (v === undefined ? "any" : v));
        actual["ts"] = so.ts === null ? null : so.ts.map((v, i) => (eo.ts?.[i] === undefined ? "any" : v));
      }
    }
    expect(actual, `sent: ${text}`).toEqual(expected);
    return seg;
  }

  /** Advances to `untilMs` and asserts that nothing was sent (nor left unconsumed) by then. */
  expectNothing(untilMs: number): void {
    this.at(untilMs);
    this.scheduler.advance(0);
    expect(this.captured.map(formatSegment), `expected nothing sent until ${untilMs} ms`).toEqual([]);
  }

  /** Drops every captured segment not yet consumed, returning them. */
  drain(): SentSegment[] {
    this.scheduler.advance(0);
    return this.captured.splice(0);
  }

  // ---------------- the application ----------------

  private recordEvents() {
    return {
      connected: () => void this.events.push("connected"),
      readable: () => void this.events.push("readable"),
      writable: () => void this.events.push("writable"),
      error: (_p: TcpPcb, err: number) => {
        this.events.push(`error:${err}`);
        this.errors.push(err);
      },
    };
  }

  /** Listens on `port` (default LOCAL_PORT). */
  listening(port = LOCAL_PORT, backlog = 16, options: Partial<TcpPcbOptions> = {}): TcpListener {
    const l = this.stack.tcp.listen(0, port, backlog, { acceptable: () => void this.events.push("acceptable") }, options);
    if (typeof l === "number") throw new Error(`listen failed: ${l}`);
    this.listener = l;
    return l;
  }

  /** Takes the next connection from the listener's accept queue and records its events. */
  accept(l: TcpListener | null = this.listener): TcpPcb | null {
    if (l === null) throw new Error("no listener");
    const pcb = this.stack.tcp.accept(l);
    if (pcb !== null) {
      pcb.events = this.recordEvents();
      this.pcb = pcb;
    }
    return pcb;
  }

  /** Active open from LOCAL_PORT to the peer (sends the SYN at once). */
  connect(options: Partial<TcpPcbOptions> = {}, localPort = LOCAL_PORT): TcpPcb {
    const pcb = this.stack.tcp.connect(PEER_IP, PEER_PORT, this.recordEvents(), options, localPort);
    if (typeof pcb === "number") throw new Error(`connect failed: ${pcb}`);
    this.pcb = pcb;
    return pcb;
  }

  /** Queues `data` (or that many bytes of a counting pattern); returns what the ring took. */
  write(data: Uint8Array | number, pcb: TcpPcb = this.mustPcb()): number {
    const bytes = typeof data === "number" ? pattern(data) : data;
    const n = this.stack.tcp.write(pcb, bytes, 0, bytes.length);
    if (n < 0) throw new Error(`write failed: ${n}`);
    return n;
  }

  /** Reads up to `max` bytes (all that is queued by default). */
  read(max = 1 << 20, pcb: TcpPcb = this.mustPcb()): Uint8Array {
    const buf = new Uint8Array(max);
    const n = this.stack.tcp.read(pcb, buf, 0, max);
    return buf.slice(0, n);
  }

  /** The RFC 9293 name of the PCB's state ("CLOSED" once freed). */
  state(pcb: TcpPcb | null = this.pcb): string {
    if (pcb === null) return "none";
    return TCP_STATE_NAMES[pcb.state];
  }

  mustPcb(): TcpPcb {
    if (this.pcb === null) throw new Error("no connection yet");
    return this.pcb;
  }

  /** Moves relative numbering to a new ISS of ours (SYN cookies pick theirs), given as absolute. */
  rebaseOurIsn(absIsn: number): void {
    this.ourIsn = absIsn >>> 0;
  }

  private get ourTsOrigin(): number {
    return (BASE_MS + this.isns.ourTsOffset) >>> 0;
  }

  // ---------------- factories: a connection in a given state, through real segments ----------------

  /** SYN-SENT: connect, and the SYN on the wire at t = now. */
  synSent(pcbOptions: Partial<TcpPcbOptions> = {}): TcpPcb {
    const pcb = this.connect(pcbOptions);
    this.expectSent(this.now, { flags: "S", seq: 0 });
    return pcb;
  }

  /** SYN-RECEIVED (passive): a listener, the peer's SYN at now, our SYN-ACK. Returns the embryonic PCB. */
  synReceived(o: EstablishedOptions = {}): TcpPcb {
    const l = this.listening(LOCAL_PORT, o.backlog ?? 16, o.pcb ?? {});
    const peer = o.peer ?? { mss: 1460 };
    this.inject({ flags: "S", seq: 0, win: o.win ?? 65535, options: this.synOptions(peer, false) });
    this.expectSent(this.now, { flags: "S.", seq: 0, ack: 1 });
    this.noteTs(peer);
    const pcb = this.stack.tcp.allPcbs().find((p) => p.listener === l);
    if (pcb === undefined) throw new Error("no embryonic PCB after the SYN");
    return pcb;
  }

  /** ESTABLISHED through a full handshake; afterwards both sides' next seq is 1 and now = rttMs. */
  established(o: EstablishedOptions = {}): TcpPcb {
    const rtt = o.rttMs ?? 100;
    const peer = o.peer ?? { mss: 1460 };
    const t0 = this.now;
    if (o.passive === true) {
      this.synReceived(o);
      this.inject(t0 + rtt, { flags: ".", seq: 1, ack: 1, win: o.win ?? 65535 });
      const pcb = this.accept();
      if (pcb === null) throw new Error("handshake did not complete");
      expect(this.state(pcb)).toBe("ESTABLISHED");
      return pcb;
    }
    const pcb = this.connect(o.pcb ?? {});
    this.expectSent(t0, { flags: "S", seq: 0 });
    this.at(t0 + rtt);
    this.inject({ flags: "S.", seq: 0, ack: 1, win: o.win ?? 65535, options: this.synOptions(peer, true) });
    this.noteTs(peer);
    this.expectSent(t0 + rtt, { flags: ".", seq: 1, ack: 1 });
    expect(this.state(pcb)).toBe("ESTABLISHED");
    return pcb;
  }

  /** FIN-WAIT-1: established, then our FIN (via shutdownWrite, or close when how = "close"). */
  finWait1(o: CloseOptions = {}): TcpPcb {
    const pcb = this.established(o);
    this.closeOurSide(pcb, o.how);
    this.expectSent(this.now, { flags: "F.", seq: 1, ack: 1 });
    expect(this.state(pcb)).toBe("FIN-WAIT-1");
    return pcb;
  }

  /** FIN-WAIT-2: our FIN acknowledged. */
  finWait2(o: CloseOptions = {}): TcpPcb {
    const pcb = this.finWait1(o);
    this.inject(this.now + 10, { flags: ".", seq: 1, ack: 2 });
    expect(this.state(pcb)).toBe("FIN-WAIT-2");
    return pcb;
  }

  /** CLOSE-WAIT: the peer's FIN received and acknowledged at once. */
  closeWait(o: EstablishedOptions = {}): TcpPcb {
    const pcb = this.established(o);
    this.inject(this.now + 10, { flags: "F.", seq: 1, ack: 1 });
    this.expectSent(this.now, { flags: ".", seq: 1, ack: 2 });
    expect(this.state(pcb)).toBe("CLOSE-WAIT");
    return pcb;
  }

  /** LAST-ACK: CLOSE-WAIT, then our FIN. */
  lastAck(o: CloseOptions = {}): TcpPcb {
    const pcb = this.closeWait(o);
    this.closeOurSide(pcb, o.how);
    this.expectSent(this.now, { flags: "F.", seq: 1, ack: 2 });
    expect(this.state(pcb)).toBe("LAST-ACK");
    return pcb;
  }

  /** CLOSING: both FINs crossed (ours not yet acknowledged); we acknowledged theirs. */
  closing(o: CloseOptions = {}): TcpPcb {
    const pcb = this.finWait1(o);
    this.inject(this.now + 10, { flags: "F.", seq: 1, ack: 1 });
    this.expectSent(this.now, { flags: ".", seq: 2, ack: 2 });
    expect(this.state(pcb)).toBe("CLOSING");
    return pcb;
  }

  /** TIME-WAIT after an active close: FIN-WAIT-2, then the peer's FIN and our ACK. */
  timeWait(o: CloseOptions = {}): TcpPcb {
    const pcb = this.finWait2(o);
    this.inject(this.now + 10, { flags: "F.", seq: 1, ack: 2 });
    this.expectSent(this.now, { flags: ".", seq: 2, ack: 2 });
    expect(this.state(pcb)).toBe("TIME-WAIT");
    return pcb;
  }

  private closeOurSide(pcb: TcpPcb, how: "shutdown" | "close" = "shutdown"): void {
    if (how === "close") this.stack.tcp.close(pcb);
    else this.stack.tcp.shutdownWrite(pcb);
  }

  /**
   * The options of the peer's SYN (`echo` false: TSecr 0) or SYN-ACK (`echo` true: TSecr = our SYN's TSval),
   * sent now: the peer's TSval is the current script time.
   */
  synOptions(peer: PeerSynOptions, echo: boolean): InjectOptions {
    const o: InjectOptions = { ts: null };
    if (peer.mss !== undefined) o.mss = peer.mss;
    if (peer.wscale !== undefined) o.wscale = peer.wscale;
    if (peer.sackOk === true) o.sackOk = true;
    if (peer.ts === true) o.ts = [this.now, echo ? this.lastOurTs : 0];
    return o;
  }

  /** After the handshake: both sides use timestamps only if both offered them (RFC 7323 §3.2). */
  private noteTs(peer: PeerSynOptions): void {
    this.autoTs = peer.ts === true && this.stack.tcp.config.timestamps;
  }

  // ---------------- quiescence ----------------

  /** No PCB left and no TCP deadline armed (the connection finished on its own). */
  expectNoConnections(): void {
    expect(this.stack.tcp.allPcbs().map((p) => TCP_STATE_NAMES[p.state])).toEqual([]);
    expect(this.scheduler.armedLabels().filter((l) => l.startsWith("tcp"))).toEqual([]);
  }

  /**
   * Ends the scenario: every captured segment must have been consumed, then the stack is stopped and no
   * deadline may remain armed (the scheduler's leak check). Idempotent.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const left = this.captured.splice(0).map(formatSegment);
    this.stack.stop();
    this.peer.close();
    expect(left, "segments sent but never expected").toEqual([]);
    expect(this.scheduler.armedLabels()).toEqual([]);
  }

  /** Stops the stack without any assertion (after a failed test). */
  teardown(): void {
    if (this.finished) return;
    this.finished = true;
    this.stack.stop();
    this.peer.close();
  }

  // ---------------- capture ----------------

  private onFrame(f: Uint8Array, offload: FrameOffload | null): void {
    if (f.length < 14) return;
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806) {
      // Answer ARP requests for the peer (the pre-seeded entry covers the scenario; this is a safety net).
      const op = (f[20]! << 8) | f[21]!;
      const target = ((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0;
      const sender = ((f[28]! << 24) | (f[29]! << 16) | (f[30]! << 8) | f[31]!) >>> 0;
      if (op === 1 && target === PEER_IP && sender !== target) {
        const reply = arpReply(f.slice(22, 28), sender);
        this.peer.transmit(reply, 0, reply.length);
      }
      return;
    }
    if (type !== 0x0800 || f[14 + 9] !== 6) return;
    const seg = this.parse(f, offload);
    if (seg.options.ts !== null) this.lastOurTs = seg.options.ts[0];
    this.captured.push(seg);
    this.history.push(seg);
  }

  private parse(f: Uint8Array, offload: FrameOffload | null): SentSegment {
    const ipStart = 14;
    const ihl = (f[ipStart]! & 0x0f) * 4;
    const totalLength = (f[ipStart + 2]! << 8) | f[ipStart + 3]!;
    expect(checksumNaive(f, ipStart, ihl), "IPv4 header checksum of a sent frame").toBe(0);
    const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
    expect([src, dst]).toEqual([STACK_IP, PEER_IP]);
    const t0 = ipStart + ihl;
    const tcpLength = totalLength - ihl;
    const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLength;
    const isPartial = offload !== null && (offload.flags & VnetFlag.NEEDS_CSUM) !== 0;
    if (isPartial) {
      // NEEDS_CSUM (virtio 1.x §5.1.6.2): the range starts at the TCP header, the field is at +16 and holds
      // the folded pseudo-header sum, not complemented (what the device sums the segment on top of).
      expect([offload.csumStart, offload.csumOffset], "csum_start, csum_offset").toEqual([t0, 16]);
      expect((f[t0 + 16]! << 8) | f[t0 + 17]!, "partial TCP checksum (pseudo-header sum)").toBe(fold16(pseudo));
    } else {
      expect(checksumNaive(f, t0, tcpLength, pseudo), "TCP checksum of a sent segment").toBe(0);
    }
    const isSuper = offload !== null && offload.gsoType === VnetGso.TCPV4;
    if (isSuper) expect(offload.hdrLen, "hdr_len: Ethernet + IP + TCP headers").toBe(t0 + ((f[t0 + 12]! >>> 4) * 4));
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const hl = (f[t0 + 12]! >>> 4) * 4;
    const flags = f[t0 + 13]!;
    const seqAbs = dv.getUint32(t0 + 4);
    const ackAbs = dv.getUint32(t0 + 8);
    const options: SentSegment["options"] = {
      mss: null,
      wscale: null,
      sackOk: false,
      ts: null,
      tsEcrAbs: null,
      sack: null,
      count: 0,
    };
    for (let i = t0 + 20; i < t0 + hl; ) {
      const kind = f[i]!;
      if (kind === 0) break;
      if (kind === 1) {
        i++;
        continue;
      }
      const len = f[i + 1]!;
      expect(len, `option ${kind} length`).toBeGreaterThanOrEqual(2);
      options.count++;
      if (kind === 2) options.mss = dv.getUint16(i + 2);
      else if (kind === 3) options.wscale = f[i + 2]!;
      else if (kind === 4) options.sackOk = true;
      else if (kind === 8) {
        options.ts = [(dv.getUint32(i + 2) - this.ourTsOrigin) | 0, (dv.getUint32(i + 6) - this.isns.peerTsBase) | 0];
        options.tsEcrAbs = dv.getUint32(i + 6);
      }
      else if (kind === 5) {
        options.sack = [];
        for (let b = i + 2; b + 8 <= i + len; b += 8) {
          options.sack.push([(dv.getUint32(b) - this.peerIsn) | 0, (dv.getUint32(b + 4) - this.peerIsn) | 0]);
        }
      }
      i += len;
    }
    return {
      t: this.now,
      flags: flagString(flags),
      seq: (seqAbs - this.ourIsn) | 0,
      ack: (ackAbs - this.peerIsn) | 0,
      seqAbs,
      ackAbs,
      win: dv.getUint16(t0 + 14),
      len: tcpLength - hl,
      data: f.slice(t0 + hl, t0 + tcpLength),
      urg: dv.getUint16(t0 + 18),
      srcPort: dv.getUint16(t0),
      dstPort: dv.getUint16(t0 + 2),
      gsoSize: isSuper ? offload.gsoSize : 0,
      df: (f[ipStart + 6]! & 0x40) !== 0,
      csum: isPartial ? "partial" : "full",
      options,
    };
  }
}

/** Ones'-complement fold of a sum to 16 bits (end-around carry). */
function fold16(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The virtio-net facts for an injected frame (built with a full checksum): a partial checksum replaces the
 * field with the pseudo-header sum, a corrupted one flips a bit of it.
 */
function offloadFor(frame: Uint8Array, o: NonNullable<InjectSpec["offload"]>): FrameOffload {
  const meta = new FrameOffload();
  const t0 = 14 + (frame[14]! & 0x0f) * 4;
  if (o.gsoSize !== undefined) {
    meta.gsoType = VnetGso.TCPV4;
    meta.gsoSize = o.gsoSize;
    meta.hdrLen = t0 + (frame[t0 + 12]! >>> 4) * 4;
  }
  if (o.csum === "partial") {
    const tcpLength = frame.length - t0;
    const src = ((frame[26]! << 24) | (frame[27]! << 16) | (frame[28]! << 8) | frame[29]!) >>> 0;
    const dst = ((frame[30]! << 24) | (frame[31]! << 16) | (frame[32]! << 8) | frame[33]!) >>> 0;
    const partial = fold16((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLength);
    frame[t0 + 16] = partial >>> 8;
    frame[t0 + 17] = partial & 0xff;
    meta.flags = VnetFlag.NEEDS_CSUM;
    meta.csumStart = t0;
    meta.csumOffset = 16;
  } else if (o.csum === "valid") {
    meta.flags = VnetFlag.DATA_VALID;
  }
  if (o.corruptChecksum === true) frame[t0 + 17] = frame[t0 + 17]! ^ 0x01;
  return meta;
}

/** `len` bytes of a counting pattern (so reordered or shifted data shows). */
export function pattern(len: number, start = 0): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (start + i) & 0xff;
  return b;
}

/** packetdrill-like text: `100ms S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,wscale 3>`. */
export function formatSegment(s: SentSegment): string {
  const o: string[] = [];
  if (s.options.mss !== null) o.push(`mss ${s.options.mss}`);
  if (s.options.sackOk) o.push("sackOK");
  if (s.options.ts !== null) o.push(`TS val ${s.options.ts[0]} ecr ${s.options.ts[1]}`);
  if (s.options.wscale !== null) o.push(`wscale ${s.options.wscale}`);
  if (s.options.sack !== null) o.push(`sack ${s.options.sack.map(([l, r]) => `${l}:${r}`).join(" ")}`);
  const ack = s.flags.includes(".") ? ` ack ${s.ack}` : "";
  return `${s.t}ms ${s.flags} ${s.seq}:${s.seq + s.len}(${s.len})${ack} win ${s.win}${o.length > 0 ? ` <${o.join(",")}>` : ""}`;
}

// ------------------------------------------------------------------ fixture

/**
 * Call at the top of a scenario file: `const script = scriptFixture();`. Each `script(options)` makes a
 * TcpScript that is finished (every segment consumed, stack stopped, no deadline armed) after its test; a
 * test that already failed is only torn down, so its own failure is the one reported.
 */
export function scriptFixture(): (options?: ScriptOptions) => TcpScript {
  const live: TcpScript[] = [];
  afterEach((ctx) => {
    const all = live.splice(0);
    const failed = ctx.task.result?.state === "fail" || (ctx.task.result?.errors?.length ?? 0) > 0;
    for (const s of all) {
      if (failed) s.teardown();
      else s.finish();
    }
  });
  return (options?: ScriptOptions) => {
    const s = new TcpScript(options);
    live.push(s);
    return s;
  };
}
