// Fuzzing TCP input with frames that pass every check below TCP (fast-check, fixed seed). The random-bytes
// fuzz in frames.test.ts rarely gets a segment past the TCP checksum; this one starts there. Each run builds a
// stack with a dozen connections brought, through real segments, to ESTABLISHED (data in flight, a hole, a
// zero window), FIN-WAIT-1, FIN-WAIT-2 (held and orphaned), CLOSING, CLOSE-WAIT, LAST-ACK, TIME-WAIT (twice),
// SYN-SENT and SYN-RECEIVED, beside an echo listener; then plays 1–30 steps: valid IPv4+TCP segments (correct
// checksums, sometimes fragmented) with any flags, sequence and acknowledgment numbers near the values that
// matter, any window, valid and malformed options and payloads up to 3000 bytes, aimed at those connections,
// at the listener and at closed ports, between random time advances and a few application calls. After every
// step the PCB invariants hold and the drops are counted; after the run a clean client still gets its echo,
// and stop() leaves no deadline armed. Nothing may throw.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/core/scheduler.js";
import { checksumNaive } from "../../src/core/checksum.js";
import { memLinkPair, type MemDevice } from "../../src/link/memlink.js";
import { Stack } from "../../src/stack/stack.js";
import { TcpFlag } from "../../src/tcp/header.js";
import type { TcpListener, TcpPcb, TcpEvents, TcpPcbOptions } from "../../src/tcp/pcb.js";
import { TCP_STATE_NAMES, TcpState } from "../../src/tcp/state.js";
import { seqDiff, seqGeq, seqLeq, toSeq } from "../../src/tcp/seq.js";
import { IP_A, IP_B, IP_C, MAC_A, MAC_B, MAC_BCAST, MAC_C, ether, fragments, ipv4, tcpSegment } from "../helpers/wire.js";

/** Fixed seed, deterministic; FUZZ_SEED / FUZZ_RUNS override both for a longer hunt by hand. */
const RUNS = { seed: Number(process.env["FUZZ_SEED"] ?? 4242), numRuns: Number(process.env["FUZZ_RUNS"] ?? 3000) } as const;

const STACK_IP = IP_B;
const PEER_IP = IP_A;
/** A second host that only ever runs the clean handshake after the fuzzing. */
const CLEAN_IP = IP_C;
const BROADCAST_IP = 0x0a0000ff;
const ALL_HOSTS = 0xe0000001;
const LISTEN_PORT = 80;
const BASE_MS = 10_000;

const { FIN, SYN, RST, PSH, ACK, URG } = TcpFlag;

// ------------------------------------------------------------------ the generated run

type SeqBase = "rcvNxt" | "rcvAdv" | "irs" | "wireAck";
type AckBase = "sndUna" | "sndNxt" | "sndMax" | "iss" | "wireSeq" | "belowWindow";
/** A number resolved when the step runs: a field of the target connection plus a delta, or absolute. */
type Num<B extends string> = { base: B; delta: number } | { abs: number };
type TsValChoice = "clock" | "recent" | "recentOld" | "recentFar" | "zero" | { abs: number };
type TsEcrChoice = "wire" | "zero" | "wireOld" | { abs: number };

type OptItem =
  | { k: "mss"; v: number }
  | { k: "ws"; v: number }
  | { k: "sackOk" }
  | { k: "ts"; val: TsValChoice; ecr: TsEcrChoice }
  | { k: "sack"; blocks: [Num<AckBase>, Num<AckBase>][] }
  | { k: "raw"; bytes: readonly number[] };

interface SegStep {
  kind: "seg";
  delayMs: number;
  target: number;
  flags: number;
  seq: Num<SeqBase>;
  ack: Num<AckBase>;
  win: number;
  urg: number;
  /** A valid timestamp option first (the peer's clock, echoing our last TSval). */
  autoTs: boolean;
  items: readonly OptItem[];
  dataLength: number;
  fill: number;
  frag: { chunk: number; reverse: boolean } | null;
  /** Sent this many times in a row (numbers resolved afresh each time): duplicate ACKs, retransmissions. */
  repeat: number;
}

interface AppStep {
  kind: "app";
  delayMs: number;
  conn: number;
  op: "write" | "read" | "shutdown" | "close";
  n: number;
}

type Step = SegStep | AppStep;

interface Run {
  ourIsn: number;
  peerIsn: number;
  /** What the peer offers on the SYN-ACK of connection 1 and the SYN of connection 9 (RFC 9293 §3.7.1, RFC 7323 §2). */
  offer: { mss: number; wscale: number };
  /** Connection 1's receive buffer: small ones close our window under the fuzzing. */
  recvBytes: number;
  steps: Step[];
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nearWrap = fc.integer({ min: 0xffffff00, max: 0xffffffff });
const isn = fc.oneof(fc.constant(0x12345678), fc.constant(0x9abcdef0), nearWrap, u32);
const delta = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 3, arbitrary: fc.integer({ min: -70_000, max: 70_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x7fffffff, -0x80000000, 0x40000000) },
);
const absSeq = fc.oneof(u32, fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff), nearWrap);
function num<B extends string>(bases: readonly B[]): fc.Arbitrary<Num<B>> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ base: fc.constantFrom(...bases), delta }) },
    { weight: 1, arbitrary: fc.record({ abs: absSeq }) },
  );
}
const seqNum = num<SeqBase>(["rcvNxt", "rcvNxt", "rcvAdv", "irs", "wireAck"]);
const ackNum = num<AckBase>(["sndUna", "sndNxt", "sndMax", "sndMax", "iss", "wireSeq", "belowWindow"]);

const flags = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ACK,
      ACK,
      ACK | PSH,
      FIN | ACK,
      SYN,
      SYN | ACK,
      RST,
      RST | ACK,
      SYN | FIN,
      SYN | RST,
      SYN | FIN | RST | PSH | ACK | URG,
      0,
      URG | ACK,
      FIN,
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 255 }) },
);

const tsVal: fc.Arbitrary<TsValChoice> = fc.oneof(
  fc.constantFrom<TsValChoice>("clock", "clock", "recent", "recentOld", "recentFar", "zero"),
  fc.record({ abs: u32 }),
);
const tsEcr: fc.Arbitrary<TsEcrChoice> = fc.oneof(fc.constantFrom<TsEcrChoice>("wire", "wire", "zero", "wireOld"), fc.record({ abs: u32 }));

const optItem: fc.Arbitrary<OptItem> = fc.oneof(
  fc.record({ k: fc.constant("mss" as const), v: fc.oneof(fc.constantFrom(0, 1, 64, 536, 1460, 65535), fc.nat({ max: 0xffff })) }),
  fc.record({ k: fc.constant("ws" as const), v: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.nat({ max: 255 })) }),
  fc.constant({ k: "sackOk" as const }),
  fc.record({ k: fc.constant("ts" as const), val: tsVal, ecr: tsEcr }),
  fc.record({ k: fc.constant("sack" as const), blocks: fc.array(fc.tuple(ackNum, ackNum), { minLength: 1, maxLength: 4 }) }),
  fc.record({
    k: fc.constant("raw" as const),
    bytes: fc.oneof(
      fc.constant<readonly number[]>([1]), // NOP
      fc.constant<readonly number[]>([0]), // EOL
      fc.constantFrom<readonly number[]>([2, 0], [2, 1], [8, 1], [5, 0], [3, 2], [2, 4, 5], [8, 10, 1], [5, 3, 0], [2, 3, 9], [3, 4, 1, 1], [8, 9, 0, 0, 0, 0, 0, 0, 0]),
      fc.tuple(fc.constantFrom(30, 34, 253, 254, 19, 28), fc.uint8Array({ maxLength: 8 })).map(([kind, b]) => [kind, 2 + b.length, ...b]),
      fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 12 }),
    ),
  }),
);

const dataLength = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 16 }) },
  { weight: 2, arbitrary: fc.integer({ min: 400, max: 1600 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1600, max: 3000 }) },
);

const delayMs = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 60 }) },
  { weight: 4, arbitrary: fc.integer({ min: 61, max: 5000 }) },
  // Rarely much longer, so retransmission give-ups, TIME-WAIT (2·MSL = 60 s) and FIN-WAIT-2 timeouts expire.
  { weight: 1, arbitrary: fc.integer({ min: 5001, max: 120_000 }) },
);

/** Connections set up by `setUp` (indices 0..CONNS-1), then tuples with no connection of their own. */
const CONNS = 13;
const NEW_PEERS = 4;
const TARGETS = CONNS + NEW_PEERS + 3 + 2;

const segStep: fc.Arbitrary<SegStep> = fc.record({
  kind: fc.constant("seg" as const),
  delayMs,
  target: fc.oneof({ weight: 3, arbitrary: fc.nat({ max: CONNS - 1 }) }, { weight: 1, arbitrary: fc.nat({ max: TARGETS - 1 }) }),
  flags,
  seq: seqNum,
  ack: ackNum,
  win: fc.oneof(fc.constantFrom(0, 1, 65535, 65535, 1024), fc.nat({ max: 0xffff })),
  urg: fc.nat({ max: 0xffff }),
  autoTs: fc.boolean(),
  items: fc.oneof({ weight: 2, arbitrary: fc.constant<readonly OptItem[]>([]) }, { weight: 3, arbitrary: fc.array(optItem, { maxLength: 6 }) }),
  dataLength,
  fill: fc.nat({ max: 255 }),
  frag: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ chunk: fc.integer({ min: 1, max: 100 }).map((n) => n * 8), reverse: fc.boolean() }) },
  ),
  repeat: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) }),
});

/**
 * Mostly well-behaved traffic on a set-up connection (in-order or slightly ahead, acknowledging what was sent
 * or part of it, the same window, timestamps, SACK) so that runs also get deep: data accepted, duplicate ACKs
 * and fast retransmit, recovery, FINs — and the malformed segments then land on those states.
 */
const plausibleStep: fc.Arbitrary<SegStep> = fc.record({
  kind: fc.constant("seg" as const),
  delayMs,
  // The set-up connections, and the listener's new peers (whose numbers come from what the stack sent them).
  target: fc.nat({ max: CONNS + NEW_PEERS - 1 }),
  flags: fc.constantFrom(ACK, ACK, ACK, ACK | PSH, ACK | PSH, FIN | ACK, FIN | PSH | ACK, SYN, SYN | ACK),
  seq: fc.record({
    base: fc.constant<SeqBase>("rcvNxt"),
    delta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 3000 }) }),
  }),
  ack: fc.record({
    base: fc.constantFrom<AckBase>("sndUna", "sndUna", "sndMax", "sndNxt"),
    delta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }) }),
  }),
  win: fc.constantFrom(65535, 65535, 65535, 0, 4096),
  urg: fc.constant(0),
  autoTs: fc.constant(true),
  items: fc.oneof(
    { weight: 3, arbitrary: fc.constant<readonly OptItem[]>([]) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(ackNum, ackNum), { minLength: 1, maxLength: 3 })
        .map((blocks): readonly OptItem[] => [{ k: "sack", blocks }]),
    },
  ),
  dataLength: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 1460 }) }),
  fill: fc.nat({ max: 255 }),
  frag: fc.constant(null),
  repeat: fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) }),
});

const appStep: fc.Arbitrary<AppStep> = fc.record({
  kind: fc.constant("app" as const),
  delayMs,
  conn: fc.nat({ max: CONNS - 1 }),
  op: fc.constantFrom("write", "write", "read", "shutdown", "close"),
  n: fc.integer({ min: 1, max: 5000 }),
});

const run: fc.Arbitrary<Run> = fc.record({
  ourIsn: isn,
  peerIsn: isn,
  offer: fc.record({ mss: fc.constantFrom(1000, 1000, 1, 64, 536, 1460, 65535), wscale: fc.constantFrom(7, 7, 0, 1, 14, 15, 255) }),
  recvBytes: fc.constantFrom(128 * 1024, 4096, 1000),
  steps: fc.array(
    fc.oneof({ weight: 5, arbitrary: segStep }, { weight: 4, arbitrary: plausibleStep }, { weight: 1, arbitrary: appStep }),
    { minLength: 1, maxLength: 30 },
  ),
});

// ------------------------------------------------------------------ frames

function u16b(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function u32b(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

interface RawSegment {
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg: number;
  /** Option bytes, a multiple of 4, at most 40. */
  options: number[];
  data: Uint8Array;
}

/** The TCP segment with its checksum from the reference implementation (never the stack's writer). */
function tcpBytes(s: RawSegment): Uint8Array {
  return tcpSegment({ ...s, src: s.srcIp, dst: s.dstIp });
}

/** RFC 9293 §3.2, independently of tcp/header: EOL ends the list, NOP is one byte, the rest carry a length ≥ 2 within the header. */
function optionsAreWellFormed(o: readonly number[]): boolean {
  let i = 0;
  while (i < o.length) {
    const kind = o[i] as number;
    if (kind === 0) return true;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= o.length) return false;
    const len = o[i + 1] as number;
    if (len < 2 || i + len > o.length) return false;
    i += len;
  }
  return true;
}

/** A segment the stack sent, as the peer side parses it. */
interface Sent {
  dstIp: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  dataLength: number;
  data: Uint8Array;
  tsVal: number | null;
}

// ------------------------------------------------------------------ the rig

/** What the fuzzer knows of one 4-tuple: the peer's side, what the stack last said on it, its PCB's last fields. */
interface Tuple {
  dstIp: number;
  srcPort: number;
  dstPort: number;
  peerIsn: number;
  tsBase: number;
  /** The peer's next sequence number during set-up. */
  peerNxt: number;
  wire: { seen: boolean; seq: number; ack: number; synSeq: number; ts: number };
  snap: Snap | null;
  pcb: TcpPcb | null;
}

interface Snap {
  rcvNxt: number;
  rcvAdv: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  iss: number;
  maxSndWnd: number;
  tsRecent: number;
}

interface SynOffer {
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  ts?: boolean;
  win?: number;
}

const ECHO_BYTES = 200;

class Rig {
  readonly scheduler = new Scheduler(new SimClock(BASE_MS));
  readonly stack: Stack;
  readonly peer: MemDevice;
  readonly tuples: Tuple[] = [];
  /** Segments the stack sent (cleared at the start of each step). */
  readonly sent: Sent[] = [];
  listener!: TcpListener;
  /** Right edges already observed, per PCB: rcvAdv may never move left (RFC 9293 §3.8.6.2.1). */
  private readonly rcvAdvSeen = new WeakMap<TcpPcb, number>();
  private readonly buf = new Uint8Array(65536);
  private ipId = 1;

  constructor(readonly r: Run) {
    const [stackSide, peer] = memLinkPair(this.scheduler, { latencyMs: 0, mtu: 1500 });
    this.peer = peer;
    this.stack = new Stack(
      stackSide,
      {
        mac: MAC_B,
        ip: STACK_IP,
        netmask: 0xffffff00,
        gateway: 0,
        mtu: 1500,
        neighbor: { reachableMs: 24 * 3600_000 },
        // Timestamp offsets, IP identifications, the SYN-cookie secret: seeded per run so every run replays exactly.
        random: r.ourIsn ^ r.peerIsn,
        tcp: {
          // Reproducible ISNs near the run's choice, so "near 2^32" runs wrap within a few segments.
          isn: { next: (_li, _lp, _ri, rp) => toSeq(r.ourIsn + (rp & 0xff)) },
          // A few half-open connections before SYN cookies take over, so the fuzzed SYNs reach that path too.
          synBacklog: 2,
          // Few out-of-order ranges, so the fuzzing can run out of them.
          maxOooRanges: 2,
          defaults: { sendBufferBytes: 16 * 1024, recvBufferBytes: 8 * 1024, noDelay: false, keepAliveIdleMs: 0, congestionControl: "newreno" },
        },
      },
      this.scheduler,
    );
    peer.attach({ frame: (b, o, l) => this.onFrame(b.subarray(o, o + l)), endBatch: () => {} });
    this.stack.start();
    const now = this.scheduler.now();
    this.stack.netif.neighbors.learn(PEER_IP, MAC_A, now);
    this.stack.netif.neighbors.learn(CLEAN_IP, MAC_C, now);
    this.scheduler.advance(0);
    this.sent.length = 0;
  }

  // ---------------- the application ----------------

  /** The echo service: accept everything, read everything, write up to ECHO_BYTES of it back, close on FIN. */
  listen(): void {
    const tcp = this.stack.tcp;
    const l = tcp.listen(0, LISTEN_PORT, 8, {
      acceptable: (listener) => {
        for (let p = tcp.accept(listener); p !== null; p = tcp.accept(listener)) p.events = this.echoEvents();
      },
    });
    if (typeof l === "number") throw new Error(`listen: ${l}`);
    this.listener = l;
  }

  private echoEvents(): TcpEvents {
    const tcp = this.stack.tcp;
    return {
      readable: (p) => {
        for (let n = tcp.read(p, this.buf, 0, this.buf.length); n > 0; n = tcp.read(p, this.buf, 0, this.buf.length)) {
          tcp.write(p, this.buf, 0, Math.min(n, ECHO_BYTES));
        }
      },
      peerClosed: (p) => tcp.close(p),
    };
  }

  /** Connections the test owns: they read what arrives (unless `reads` is false, to let the window fill). */
  private ownEvents(reads: boolean): TcpEvents {
    const tcp = this.stack.tcp;
    return {
      readable: (p) => {
        if (reads) while (tcp.read(p, this.buf, 0, this.buf.length) > 0);
      },
    };
  }

  // ---------------- tuples and frames ----------------

  tuple(dstPort: number, srcPort: number, dstIp = STACK_IP): Tuple {
    const t: Tuple = {
      dstIp,
      srcPort,
      dstPort,
      peerIsn: (this.r.peerIsn + (srcPort & 0xff) * 3) >>> 0,
      tsBase: (0x01000000 * (srcPort & 0x3f) + 77) >>> 0,
      peerNxt: 0,
      wire: { seen: false, seq: 0, ack: 0, synSeq: 0, ts: 0 },
      snap: null,
      pcb: null,
    };
    t.peerNxt = t.peerIsn;
    this.tuples.push(t);
    return t;
  }

  /** The live PCB of a tuple, if any. */
  pcbOf(t: Tuple): TcpPcb | null {
    if (t.dstIp !== STACK_IP) return null;
    return this.stack.tcp.lookup(t.dstPort, PEER_IP, t.srcPort);
  }

  peerTs(t: Tuple): number {
    return (t.tsBase + this.scheduler.now()) >>> 0;
  }

  /** Builds one segment from the peer and delivers it (as fragments when asked, maybe in reverse order). */
  deliver(
    t: Tuple,
    s: { flags: number; seq: number; ack: number; win?: number; urg?: number; options?: number[]; data?: Uint8Array },
    frag: SegStep["frag"] = null,
  ): void {
    const options = s.options ?? [];
    const seg = tcpBytes({
      srcIp: PEER_IP,
      dstIp: t.dstIp,
      srcPort: t.srcPort,
      dstPort: t.dstPort,
      seq: s.seq,
      ack: s.ack,
      flags: s.flags,
      win: s.win ?? 65535,
      urg: s.urg ?? 0,
      options,
      data: s.data ?? new Uint8Array(0),
    });
    const dstMac = t.dstIp === STACK_IP ? MAC_B : t.dstIp === ALL_HOSTS ? new Uint8Array([0x01, 0x00, 0x5e, 0, 0, 1]) : MAC_BCAST;
    const base = { src: PEER_IP, dst: t.dstIp, protocol: 6, id: this.ipId++ & 0xffff };
    const packets = frag === null || seg.length <= frag.chunk ? [ipv4({ ...base, payload: seg })] : fragments(base, seg, frag.chunk);
    if (frag?.reverse === true) packets.reverse();
    for (const p of packets) {
      const f = ether(dstMac, MAC_A, 0x0800, p);
      this.peer.transmit(f, 0, f.length);
    }
    this.scheduler.advance(0);
  }

  /** A set-up segment from the peer, in order: seq = peerNxt, advancing it; ack = everything we sent by default. */
  peerSends(t: Tuple, flags: number, o: { data?: number; ack?: number; win?: number; ts?: boolean } = {}): void {
    const pcb = this.mustPcb(t);
    const data = new Uint8Array(o.data ?? 0).fill(0x61);
    const options = o.ts === true ? [1, 1, 8, 10, ...u32b(this.peerTs(t)), ...u32b(t.wire.ts)] : [];
    this.deliver(t, { flags, seq: t.peerNxt, ack: o.ack ?? pcb.sndMax, win: o.win ?? 65535, options, data });
    t.peerNxt = (t.peerNxt + data.length + (flags & FIN ? 1 : 0)) >>> 0;
  }

  private synOptions(t: Tuple, o: SynOffer): number[] {
    const b: number[] = [];
    if (o.mss !== undefined) b.push(2, 4, ...u16b(o.mss));
    if (o.sackOk === true) b.push(1, 1, 4, 2);
    if (o.ts === true) b.push(1, 1, 8, 10, ...u32b(this.peerTs(t)), ...u32b(t.wire.ts));
    if (o.wscale !== undefined) b.push(1, 3, 3, o.wscale);
    return b;
  }

  mustPcb(t: Tuple): TcpPcb {
    const pcb = this.pcbOf(t);
    if (pcb === null) throw new Error(`no PCB for ${t.dstPort}/${t.srcPort}`);
    return pcb;
  }

  // ---------------- set-up: one connection per interesting state ----------------

  /** Active open from `localPort`; the peer answers with a SYN-ACK offering `o`. */
  active(localPort: number, peerPort: number, o: SynOffer, pcb: Partial<TcpPcbOptions> = {}, reads = true): Tuple {
    const t = this.tuple(localPort, peerPort);
    const p = this.stack.tcp.connect(PEER_IP, peerPort, this.ownEvents(reads), pcb, localPort);
    if (typeof p === "number") throw new Error(`connect: ${p}`);
    t.pcb = p;
    this.scheduler.advance(0);
    this.deliver(t, { flags: SYN | ACK, seq: t.peerIsn, ack: p.iss + 1, win: o.win ?? 65535, options: this.synOptions(t, o) });
    t.peerNxt = (t.peerIsn + 1) >>> 0;
    return t;
  }

  /** Passive open through the echo listener; with `complete` false it stays in SYN-RECEIVED. */
  passive(peerPort: number, o: SynOffer, complete = true): Tuple {
    const t = this.tuple(LISTEN_PORT, peerPort);
    this.deliver(t, { flags: SYN, seq: t.peerIsn, ack: 0, win: o.win ?? 65535, options: this.synOptions(t, o) });
    t.peerNxt = (t.peerIsn + 1) >>> 0;
    t.pcb = this.mustPcb(t);
    if (complete) this.peerSends(t, ACK, { ts: o.ts });
    return t;
  }

  setUp(): void {
    const tcp = this.stack.tcp;
    this.listen();
    const expectState = (t: Tuple, state: string): void => {
      expect(TCP_STATE_NAMES[this.mustPcb(t).state], `set-up of ${t.dstPort}/${t.srcPort}`).toBe(state);
    };
    // 0: ESTABLISHED (passive, echo): the peer's data is echoed and the echo is in flight, unacknowledged.
    const c0 = this.passive(40000, { mss: 1460 });
    this.peerSends(c0, ACK | PSH, { data: 300 });
    expectState(c0, "ESTABLISHED");
    expect(this.mustPcb(c0).flightBytes).toBe(ECHO_BYTES);
    // 1: ESTABLISHED (active) with every option, window scaling both ways, data in flight and a hole in what
    // it received; its owner never reads, so the receive window can fill.
    const c1 = this.active(5001, 40001, { ...this.r.offer, sackOk: true, ts: true }, { recvBufferBytes: this.r.recvBytes }, false);
    tcp.write(this.mustPcb(c1), new Uint8Array(6000), 0, 6000);
    this.scheduler.advance(0);
    this.deliver(c1, {
      flags: ACK,
      seq: c1.peerNxt + 500,
      ack: this.mustPcb(c1).sndUna,
      options: [1, 1, 8, 10, ...u32b(this.peerTs(c1)), ...u32b(c1.wire.ts)],
      data: new Uint8Array(300),
    });
    expectState(c1, "ESTABLISHED");
    expect(this.mustPcb(c1).assembler.isEmpty).toBe(false);
    expect(this.mustPcb(c1).flightBytes).toBeGreaterThan(0);
    // 2: FIN-WAIT-1 with data and FIN in flight.
    const c2 = this.active(5002, 40002, { mss: 1460, sackOk: true, ts: true });
    tcp.write(this.mustPcb(c2), new Uint8Array(100), 0, 100);
    tcp.shutdownWrite(this.mustPcb(c2));
    this.scheduler.advance(0);
    expectState(c2, "FIN-WAIT-1");
    // 3: FIN-WAIT-2, half-closed, still owned (no timer: the application may read for ever).
    const c3 = this.active(5003, 40003, { mss: 1460 });
    tcp.shutdownWrite(this.mustPcb(c3));
    this.peerSends(c3, ACK);
    expectState(c3, "FIN-WAIT-2");
    // 4: CLOSE-WAIT with our data in flight; window scaling both ways.
    const c4 = this.active(5004, 40004, { mss: 1460, wscale: 2 }, { recvBufferBytes: 128 * 1024 });
    this.peerSends(c4, FIN | ACK);
    tcp.write(this.mustPcb(c4), new Uint8Array(50), 0, 50);
    this.scheduler.advance(0);
    expectState(c4, "CLOSE-WAIT");
    // 5: LAST-ACK (passive, echo): the peer's data and FIN; the echo and our FIN in flight.
    const c5 = this.passive(40005, { mss: 1460 });
    this.peerSends(c5, FIN | ACK | PSH, { data: 10 });
    expectState(c5, "LAST-ACK");
    // 6: TIME-WAIT after an active close, with timestamps.
    const c6 = this.active(5006, 40006, { mss: 1460, ts: true });
    tcp.shutdownWrite(this.mustPcb(c6));
    this.scheduler.advance(0);
    this.peerSends(c6, FIN | ACK, { ts: true });
    expectState(c6, "TIME-WAIT");
    // 7: TIME-WAIT on the listening port (a new SYN may reopen it, RFC 6191), with timestamps.
    const c7 = this.passive(40007, { mss: 1460, sackOk: true, ts: true });
    tcp.close(this.mustPcb(c7));
    this.scheduler.advance(0);
    this.peerSends(c7, FIN | ACK, { ts: true });
    expectState(c7, "TIME-WAIT");
    // 8: SYN-SENT: our SYN is never answered.
    const c8 = this.tuple(5008, 40008);
    const p8 = tcp.connect(PEER_IP, 40008, this.ownEvents(true), {}, 5008);
    if (typeof p8 === "number") throw new Error(`connect: ${p8}`);
    c8.pcb = p8;
    this.scheduler.advance(0);
    expectState(c8, "SYN-SENT");
    // 9: SYN-RECEIVED: the peer offered everything, our SYN-ACK is never acknowledged.
    const c9 = this.passive(40009, { ...this.r.offer, sackOk: true, ts: true }, false);
    expectState(c9, "SYN-RECEIVED");
    // 10: CLOSING: the FINs crossed; ours is not acknowledged.
    const c10 = this.active(5010, 40010, { mss: 1460 });
    tcp.shutdownWrite(this.mustPcb(c10));
    this.scheduler.advance(0);
    this.peerSends(c10, FIN | ACK, { ack: this.mustPcb(c10).sndUna });
    expectState(c10, "CLOSING");
    // 11: ESTABLISHED against a zero window: data queued, nothing in flight, the persist timer running.
    const c11 = this.active(5011, 40011, { mss: 536, win: 0 });
    tcp.write(this.mustPcb(c11), new Uint8Array(3000), 0, 3000);
    this.scheduler.advance(0);
    expectState(c11, "ESTABLISHED");
    expect(this.mustPcb(c11).rtxDeadline.isArmed).toBe(true);
    // 12: FIN-WAIT-2 of a closed (orphaned) connection: its timeout runs.
    const c12 = this.active(5012, 40012, { mss: 1460 });
    tcp.close(this.mustPcb(c12));
    this.scheduler.advance(0);
    this.peerSends(c12, ACK);
    expectState(c12, "FIN-WAIT-2");
    expect(this.mustPcb(c12).closeDeadline.isArmed).toBe(true);
    expect(this.tuples.length).toBe(CONNS);
    // Tuples without a connection: new peers of the listener, closed ports, broadcast and multicast.
    for (let i = 0; i < NEW_PEERS; i++) this.tuple(LISTEN_PORT, 41000 + i);
    this.tuple(7, 42000);
    this.tuple(5001, 42001);
    this.tuple(8080, 40000);
    this.tuple(LISTEN_PORT, 42002, BROADCAST_IP);
    this.tuple(LISTEN_PORT, 42003, ALL_HOSTS);
    expect(this.tuples.length).toBe(TARGETS);
    this.sent.length = 0;
    this.checkInvariants();
  }

  // ---------------- the fuzzed steps ----------------

  /** The fields numbers are chosen around: the live PCB's, else the last seen, else what the wire showed. */
  fieldsOf(t: Tuple): Snap {
    const pcb = this.pcbOf(t);
    if (pcb !== null) return snapshot(pcb);
    if (t.snap !== null) return t.snap;
    const w = t.wire;
    const rcvNxt = w.seen ? w.ack : t.peerIsn;
    const snd = w.seen ? w.seq : this.r.ourIsn;
    return { rcvNxt, rcvAdv: rcvNxt + 65535, irs: t.peerIsn, sndUna: snd, sndNxt: snd, sndMax: snd, iss: w.seen ? w.synSeq : snd, maxSndWnd: 65535, tsRecent: this.peerTs(t) };
  }

  private resolveSeq(n: Num<SeqBase>, f: Snap, t: Tuple): number {
    if ("abs" in n) return n.abs >>> 0;
    const base = n.base === "rcvNxt" ? f.rcvNxt : n.base === "rcvAdv" ? f.rcvAdv : n.base === "irs" ? f.irs : t.wire.seen ? t.wire.ack : f.rcvNxt;
    return (base + n.delta) >>> 0;
  }

  private resolveAck(n: Num<AckBase>, f: Snap, t: Tuple): number {
    if ("abs" in n) return n.abs >>> 0;
    let base: number;
    switch (n.base) {
      case "sndUna":
        base = f.sndUna;
        break;
      case "sndNxt":
        base = f.sndNxt;
        break;
      case "sndMax":
        base = f.sndMax;
        break;
      case "iss":
        base = f.iss;
        break;
      case "wireSeq":
        base = t.wire.seen ? t.wire.seq : f.sndMax;
        break;
      case "belowWindow":
        // RFC 5961 §5.2's lower bound for acceptable ACKs.
        base = f.sndUna - Math.max(1, f.maxSndWnd);
        break;
    }
    return (base + n.delta) >>> 0;
  }

  private optionBytes(s: SegStep, f: Snap, t: Tuple): number[] {
    const out: number[] = [];
    if (s.autoTs) out.push(1, 1, 8, 10, ...u32b(this.peerTs(t)), ...u32b(t.wire.ts));
    for (const it of s.items) {
      switch (it.k) {
        case "mss":
          out.push(2, 4, ...u16b(it.v));
          break;
        case "ws":
          out.push(3, 3, it.v);
          break;
        case "sackOk":
          out.push(4, 2);
          break;
        case "ts": {
          const v = it.val;
          const val =
            v === "clock" ? this.peerTs(t)
            : v === "recent" ? f.tsRecent
            : v === "recentOld" ? f.tsRecent - 1000
            : v === "recentFar" ? f.tsRecent + 0x80000000
            : v === "zero" ? 0
            : v.abs;
          const e = it.ecr;
          const ecr = e === "wire" ? t.wire.ts : e === "zero" ? 0 : e === "wireOld" ? t.wire.ts - 5000 : e.abs;
          out.push(8, 10, ...u32b(val >>> 0), ...u32b(ecr >>> 0));
          break;
        }
        case "sack":
          out.push(5, 2 + 8 * it.blocks.length);
          for (const [l, r] of it.blocks) out.push(...u32b(this.resolveAck(l, f, t)), ...u32b(this.resolveAck(r, f, t)));
          break;
        case "raw":
          out.push(...it.bytes);
          break;
      }
    }
    // At most 40 bytes of options fit (data offset ≤ 15 words); the rest is cut, maybe mid-option.
    out.length = Math.min(out.length, 40);
    while (out.length % 4 !== 0) out.push(0);
    return out;
  }

  runSeg(s: SegStep): void {
    const t = this.tuples[s.target] as Tuple;
    const tcp = this.stack.tcp;
    const f = this.fieldsOf(t);
    const seq = this.resolveSeq(s.seq, f, t);
    const ack = this.resolveAck(s.ack, f, t);
    const options = this.optionBytes(s, f, t);
    const data = new Uint8Array(s.dataLength).fill(s.fill);
    const wellFormed = optionsAreWellFormed(options);
    const hadPcb = this.pcbOf(t) !== null;
    const hasListener = t.dstIp === STACK_IP && tcp.activeListeners.some((l) => l.localPort === t.dstPort);
    const before = { ...tcp.stats };
    this.sent.length = 0;

    this.deliver(t, { flags: s.flags, seq, ack, win: s.win, urg: s.urg, options, data }, s.frag);

    // Every segment reached TCP once (fragmented ones reassembled), and ended where its kind says.
    const st = tcp.stats;
    expect(st.rxSegments - before.rxSegments, "rxSegments").toBe(1);
    if (t.dstIp !== STACK_IP) {
      // RFC 1122 §4.2.3.10: nothing for a broadcast or multicast destination.
      expect(st.dropNonUnicast - before.dropNonUnicast).toBe(1);
      expect(this.sent).toEqual([]);
    } else if (!wellFormed) {
      expect(st.dropBadOptions - before.dropBadOptions, "dropBadOptions").toBe(1);
      expect(this.sent).toEqual([]);
      expect({ ...st, rxSegments: 0, dropBadOptions: 0 }).toEqual({ ...before, rxSegments: 0, dropBadOptions: 0 });
    } else if (!hadPcb && !hasListener) {
      expect(st.dropNoPcb - before.dropNoPcb, "dropNoPcb").toBe(1);
      // RFC 9293 §3.10.7.1: a reset answers anything but a reset, from SEG.ACK, or acknowledging SEG.SEQ+SEG.LEN.
      if (s.flags & RST) {
        expect(this.sent).toEqual([]);
      } else {
        expect(st.txResets - before.txResets).toBe(1);
        expect(this.sent.length).toBe(1);
        const rst = this.sent[0] as Sent;
        const segLen = data.length + (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0);
        if (s.flags & ACK) expect([rst.flags, rst.seq]).toEqual([RST, ack]);
        else expect([rst.flags, rst.seq, rst.ack]).toEqual([RST | ACK, 0, (seq + segLen) >>> 0]);
      }
    }
    this.checkInvariants();
  }

  runApp(s: AppStep): void {
    const t = this.tuples[s.conn] as Tuple;
    const pcb = t.pcb;
    if (pcb === null) return;
    const tcp = this.stack.tcp;
    // Also on PCBs that are long gone: the API must refuse quietly.
    switch (s.op) {
      case "write":
        tcp.write(pcb, new Uint8Array(s.n).fill(0x77), 0, s.n);
        break;
      case "read":
        tcp.read(pcb, this.buf, 0, s.n);
        break;
      case "shutdown":
        tcp.shutdownWrite(pcb);
        break;
      case "close":
        tcp.close(pcb);
        break;
    }
    this.scheduler.advance(0);
    this.checkInvariants();
  }

  advance(ms: number): void {
    if (ms === 0) return;
    this.scheduler.advance(ms);
    this.checkInvariants();
  }

  // ---------------- invariants ----------------

  checkInvariants(): void {
    const tcp = this.stack.tcp;
    const pcbs = tcp.allPcbs();
    for (const pcb of pcbs) {
      const name = TCP_STATE_NAMES[pcb.state];
      const where = (): string => `${name} ${pcb.localPort}/${pcb.remotePort} una ${pcb.sndUna} nxt ${pcb.sndNxt} max ${pcb.sndMax} buf ${pcb.sndBufSeq}+${pcb.sendRing.length}`;
      must(name !== undefined && pcb.state !== TcpState.CLOSED && pcb.state !== TcpState.LISTEN && !pcb.freed, () => `live PCB in state ${pcb.state}`);
      // RFC 9293 §3.3.1: SND.UNA ≤ SND.NXT ≤ SND.MAX, and SND.MAX no further than the queued data and FIN.
      must(seqLeq(pcb.sndUna, pcb.sndNxt) && seqLeq(pcb.sndNxt, pcb.sndMax), () => `${where()}: send sequence space out of order`);
      must(seqLeq(pcb.sndMax, toSeq(pcb.sndDataEnd + (pcb.finQueued ? 1 : 0))), () => `${where()}: sndMax beyond the data and FIN`);
      // The send ring starts at SND.UNA (one past it while the SYN is unacknowledged, one before it once the
      // FIN is acknowledged).
      const ringLag = seqDiff(pcb.sndUna, pcb.sndBufSeq);
      must(ringLag >= -1 && ringLag <= 1, () => `${where()}: send ring not at SND.UNA`);
      must(pcb.sendRing.length <= pcb.sendRing.capacity, () => `${where()}: send ring over capacity`);
      must(pcb.recvRing.length <= pcb.recvRing.capacity, () => `${where()}: receive ring over capacity`);
      // Out-of-order data sits beyond the tail, inside the ring.
      must(pcb.recvRing.length + pcb.assembler.highestEnd <= pcb.recvRing.capacity, () => `${where()}: assembler past the ring`);
      if (pcb.state !== TcpState.SYN_SENT) {
        const prev = this.rcvAdvSeen.get(pcb);
        must(prev === undefined || seqGeq(pcb.rcvAdv, toSeq(prev)), () => `${where()}: rcvAdv moved left ${prev} → ${pcb.rcvAdv}`);
        this.rcvAdvSeen.set(pcb, pcb.rcvAdv);
      }
      // Nothing may wedge: every state that waits for something has a timer that ends the wait.
      if (pcb.state === TcpState.SYN_SENT || pcb.state === TcpState.SYN_RECEIVED) {
        must(pcb.rtxDeadline.isArmed, () => `${where()}: no SYN retransmission armed`);
      } else if (pcb.state === TcpState.TIME_WAIT) {
        must(pcb.closeDeadline.isArmed, () => `${where()}: no 2·MSL timer`);
      } else {
        const unsent = seqDiff(pcb.sndDataEnd, pcb.sndNxt) > 0;
        must(!(pcb.sndMax !== pcb.sndUna || unsent) || pcb.rtxDeadline.isArmed, () => `${where()}: data outstanding, no timer`);
        must(!(pcb.state === TcpState.FIN_WAIT_2 && pcb.orphaned) || pcb.closeDeadline.isArmed, () => `${where()}: orphan without timeout`);
      }
    }
    for (const t of this.tuples) {
      const pcb = this.pcbOf(t);
      if (pcb !== null) t.snap = snapshot(pcb);
    }
    // The listener's books match the PCBs: half-open ones counted, the accept queue within the backlog.
    for (const l of tcp.activeListeners) {
      let halfOpen = 0;
      for (const p of pcbs) if (p.listener === l && p.state === TcpState.SYN_RECEIVED) halfOpen++;
      must(l.synQueueLength === halfOpen, () => `synQueueLength ${l.synQueueLength}, ${halfOpen} half-open PCBs`);
      must(l.acceptQueue.length <= l.backlog, () => "accept queue over the backlog");
      for (const p of l.acceptQueue) must(!p.freed, () => "a freed PCB in the accept queue");
    }
  }

  // ---------------- after the run ----------------

  /** A new client completes the handshake, gets its data echoed and closes cleanly (RFC 9293 §3.5, §3.6). */
  cleanClientEchoes(): void {
    const clientIsn = 0x01020304;
    const send = (flags: number, seq: number, ack: number, data = new Uint8Array(0), options: number[] = []): void => {
      const seg = tcpBytes({ srcIp: CLEAN_IP, dstIp: STACK_IP, srcPort: 52000, dstPort: LISTEN_PORT, seq, ack, flags, win: 65535, urg: 0, options, data });
      const f = ether(MAC_B, MAC_C, 0x0800, ipv4({ src: CLEAN_IP, dst: STACK_IP, protocol: 6, payload: seg, id: this.ipId++ & 0xffff }));
      this.peer.transmit(f, 0, f.length);
      this.scheduler.advance(0);
    };
    const toClient = (): Sent[] => this.sent.filter((s) => s.dstIp === CLEAN_IP && s.dstPort === 52000);
    this.sent.length = 0;
    send(SYN, clientIsn, 0, undefined, [2, 4, ...u16b(1460)]);
    const synAck = toClient().find((s) => s.flags === (SYN | ACK));
    expect(synAck, "SYN-ACK to a clean client").toBeDefined();
    if (synAck === undefined) return;
    expect(synAck.ack).toBe(clientIsn + 1);
    const message = new TextEncoder().encode("hello, walnut");
    this.sent.length = 0;
    send(ACK | PSH, clientIsn + 1, synAck.seq + 1, message);
    this.scheduler.advance(500);
    // The first data segment carries the echo (retransmissions may follow: the client never acknowledged it).
    const echoed = toClient().find((s) => s.dataLength > 0);
    expect(echoed?.seq, "echo at the start of the stream").toBe((synAck.seq + 1) >>> 0);
    expect(Array.from(echoed?.data ?? []), "echo").toEqual(Array.from(message));
    this.sent.length = 0;
    send(FIN | ACK, clientIsn + 1 + message.length, synAck.seq + 1 + message.length);
    const fin = toClient().find((s) => (s.flags & FIN) !== 0);
    expect(fin, "the echo service closes after our FIN").toBeDefined();
    send(ACK, clientIsn + 2 + message.length, synAck.seq + 2 + message.length);
    expect(this.stack.tcp.lookup(LISTEN_PORT, CLEAN_IP, 52000), "LAST-ACK ends").toBeNull();
  }

  /**
   * The application lets go of everything and the peer falls silent: every connection must then end on its
   * own (retransmission and SYN give-ups, the persist give-up, TIME-WAIT, the orphaned FIN-WAIT-2 timeout),
   * leaving no PCB and no TCP deadline behind.
   */
  drainsWhenReleased(): void {
    const tcp = this.stack.tcp;
    tcp.closeListener(this.listener);
    for (const pcb of tcp.allPcbs()) tcp.close(pcb);
    this.scheduler.advance(0);
    this.checkInvariants();
    for (let i = 0; i < 120 && tcp.allPcbs().length > 0; i++) this.scheduler.advance(60_000);
    expect(tcp.allPcbs().map((p) => `${TCP_STATE_NAMES[p.state]} ${p.localPort}/${p.remotePort}`), "PCBs left an hour after release").toEqual([]);
    expect(this.scheduler.armedLabels().filter((l) => l.startsWith("tcp"))).toEqual([]);
  }

  stop(): void {
    this.stack.stop();
    this.peer.close();
    expect(this.stack.tcp.allPcbs()).toEqual([]);
    expect(this.scheduler.armedLabels()).toEqual([]);
  }

  // ---------------- what the stack sends ----------------

  private onFrame(f: Uint8Array): void {
    if (f.length < 14) return;
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806) return; // neighbours are pre-seeded; nothing to answer
    must(type === 0x0800, () => `sent EtherType ${type}`);
    const ihl = (f[14]! & 0x0f) * 4;
    must(checksumNaive(f, 14, ihl) === 0, () => "IPv4 header checksum of a sent frame");
    if (f[14 + 9] !== 6) return;
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const totalLength = dv.getUint16(16);
    // Our TCP segments fit the MTU (no fragmentation, RFC 9293 §3.7.1).
    must(totalLength <= 1500, () => `sent datagram of ${totalLength} bytes, over the MTU`);
    must((dv.getUint16(20) & 0x3fff) === 0, () => "sent TCP fragmented");
    const src = dv.getUint32(26);
    const dst = dv.getUint32(30);
    must(src === STACK_IP, () => `sent from ${src}`);
    const t0 = 14 + ihl;
    const tcpLength = totalLength - ihl;
    const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLength;
    must(checksumNaive(f, t0, tcpLength, pseudo) === 0, () => "TCP checksum of a sent segment");
    const hl = (f[t0 + 12]! >>> 4) * 4;
    const s: Sent = {
      dstIp: dst,
      srcPort: dv.getUint16(t0),
      dstPort: dv.getUint16(t0 + 2),
      seq: dv.getUint32(t0 + 4),
      ack: dv.getUint32(t0 + 8),
      flags: f[t0 + 13]!,
      win: dv.getUint16(t0 + 14),
      dataLength: tcpLength - hl,
      data: f.slice(t0 + hl, t0 + tcpLength),
      tsVal: null,
    };
    for (let i = t0 + 20; i < t0 + hl; ) {
      const kind = f[i]!;
      if (kind === 0) break;
      if (kind === 1) {
        i++;
        continue;
      }
      const len = f[i + 1]!;
      must(len >= 2 && i + len <= t0 + hl, () => `option ${kind} length ${len} in a sent segment`);
      if (kind === 8) s.tsVal = dv.getUint32(i + 2);
      i += len;
    }
    this.sent.push(s);
    for (const t of this.tuples) {
      if (t.dstPort !== s.srcPort || t.srcPort !== s.dstPort || dst !== PEER_IP) continue;
      const w = t.wire;
      w.seen = true;
      w.seq = (s.seq + s.dataLength + (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0)) >>> 0;
      if (s.flags & ACK) w.ack = s.ack;
      if (s.flags & SYN) w.synSeq = s.seq;
      if (s.tsVal !== null) w.ts = s.tsVal;
    }
  }
}

/** A cheap assertion for the per-step invariants (expect() per field per step would dominate the run time). */
function must(cond: boolean, msg: () => string): void {
  if (!cond) throw new Error(`invariant: ${msg()}`);
}

function snapshot(p: TcpPcb): Snap {
  return {
    rcvNxt: p.rcvNxt,
    rcvAdv: p.rcvAdv,
    irs: p.irs,
    sndUna: p.sndUna,
    sndNxt: p.sndNxt,
    sndMax: p.sndMax,
    iss: p.iss,
    maxSndWnd: p.maxSndWnd,
    tsRecent: p.tsRecent,
  };
}

// ------------------------------------------------------------------ the property

function play(r: Run): Rig {
  const rig = new Rig(r);
  try {
    rig.setUp();
    for (const s of r.steps) {
      rig.advance(s.delayMs);
      if (s.kind === "seg") for (let i = 0; i < s.repeat; i++) rig.runSeg(s);
      else rig.runApp(s);
    }
    rig.cleanClientEchoes();
    rig.drainsWhenReleased();
  } catch (e) {
    rig.stack.stop();
    rig.peer.close();
    throw e;
  }
  rig.stop();
  return rig;
}

describe("TCP input fuzzing with valid segments", () => {
  it("never throws or wedges, keeps every PCB invariant, counts the drops, and still serves a clean client", () => {
    const totals: Record<string, number> = {};
    fc.assert(
      fc.property(run, (r) => {
        const st = play(r).stack.tcp.stats;
        for (const [k, v] of Object.entries(st)) totals[k] = (totals[k] ?? 0) + v;
      }),
      RUNS,
    );
    // The fuzzing went where it was aimed: each of these paths was taken at least once over the runs.
    const reached = [
      "dropBadOptions",
      "dropNonUnicast",
      "dropNoPcb",
      "dropOutOfWindow",
      "dropPaws",
      "dropBadAck",
      "challengeAcks",
      "resetsReceived",
      "synCookiesAccepted",
      "synCookiesRejected",
      "timeWaitRecycled",
      "fastRetransmits",
      "timeouts",
    ];
    for (const name of reached) expect(totals[name] ?? 0, name).toBeGreaterThan(0);
  });
});
