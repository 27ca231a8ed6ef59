// The TCP protocol control block: one connection's RFC 9293 variables, buffers, timers (as deadlines) and
// the upcalls to its owner. Input (tcp/input and the modules it calls), timers (tcp/timers), loss recovery
// (recovery/) and output (tcp/output) change it; the application reaches it through TcpLayer's PCB API
// (tcp/tcp.ts). Every field states its invariant.

import type { Deadline } from "../core/scheduler.js";
import type { ErrCode } from "../core/errors.js";
import type { ByteRing } from "../core/ring.js";
import { Assembler } from "../core/assembler.js";
import { toSeq, type Seq } from "./seq.js";
import { TcpState, type TcpStateCode } from "./state.js";
import type { RttEstimator } from "./rtt.js";
import type { CongestionControl } from "./cc/cc.js";
import type { CongestionControlName } from "./cc/index.js";
import { SackScoreboard } from "./sack.js";
import type { RackState } from "./recovery/rackState.js";

/** What a connection tells its owner. Called after the input batch, never from inside segment processing. */
export interface TcpEvents {
  /** Active open completed (SYN-SENT → ESTABLISHED). */
  connected?(pcb: TcpPcb): void;
  /** New data can be read, or the peer's FIN arrived (read then returns 0 once the data is drained). */
  readable?(pcb: TcpPcb): void;
  /** Send-ring room appeared. */
  writable?(pcb: TcpPcb): void;
  /** The peer's FIN arrived: no more data will come (a `readable` follows, read returns 0 at the end). */
  peerClosed?(pcb: TcpPcb): void;
  /** The connection failed: Err.RST (reset or refused), Err.TIMEOUT, Err.ABRT, Err.RTE. */
  error?(pcb: TcpPcb, err: ErrCode): void;
}

/** What a listener tells its owner. */
export interface TcpListenEvents {
  /** A connection is ready in the accept queue. */
  acceptable?(listener: TcpListener): void;
}

export interface TcpPcbOptions {
  sendBufferBytes: number;
  recvBufferBytes: number;
  /** Disables Nagle's algorithm (TCP_NODELAY). */
  noDelay: boolean;
  /** Keep-alive probes after this much idle time; 0 = off (RFC 1122 §4.2.3.6: off by default). */
  keepAliveIdleMs: number;
  /** Checked by TcpLayer where it is configured; PCB creation relies on it being known. */
  congestionControl: CongestionControlName;
}

/** Bits recorded by input and fired after the batch. */
export const PcbEvent = { CONNECTED: 1, READABLE: 2, WRITABLE: 4, ERROR: 8, PEER_CLOSED: 16 } as const;

export class TcpListener {
  readonly state = TcpState.LISTEN;
  /** Connections fully established and not yet accepted (bounded by backlog). */
  readonly acceptQueue: TcpPcb[] = [];
  /** Connections in SYN-RECEIVED belonging to this listener. */
  synQueueLength = 0;
  closed = false;
  /** When this listener last answered a SYN with a cookie (ms; -Infinity: never). */
  lastCookieMs = -Infinity;
  events: TcpListenEvents = {};
  pendingAcceptable = false;

  constructor(
    /** 0 for any local address. */
    readonly localIp: number,
    readonly localPort: number,
    /** Most connections waiting to be accepted. */
    public backlog: number,
    readonly options: TcpPcbOptions,
  ) {}
}

export class TcpPcb {
  state: TcpStateCode = TcpState.CLOSED;
  localIp = 0;
  localPort = 0;
  remoteIp = 0;
  remotePort = 0;
  /** The listener that created this PCB (passive open) until it is accepted; null otherwise. */
  listener: TcpListener | null = null;
  /**
   * Counted in its listener's synQueueLength: a passive open in SYN-RECEIVED whose handshake no valid ACK
   * has completed yet. Cleared when an ACK completes it, or is dropped because the accept queue was full.
   */
  inSynQueue = false;

  // ---- send sequence space (RFC 9293 §3.3.1) ----
  /** Initial send sequence number. */
  iss: Seq = toSeq(0);
  /** Oldest unacknowledged sequence number. */
  sndUna: Seq = toSeq(0);
  /** Next sequence number to send; rewound to sndUna by a retransmission timeout. */
  sndNxt: Seq = toSeq(0);
  /** Highest sequence number sent + 1 (sndNxt never exceeds it). */
  sndMax: Seq = toSeq(0);
  /** Peer's window, already scaled, in bytes. */
  sndWnd = 0;
  /** Largest window the peer has offered (for RFC 5961 ACK acceptability and SWS avoidance). */
  maxSndWnd = 0;
  /** Segment seq / ack of the last window update (RFC 9293 §3.10.7.4). */
  sndWl1: Seq = toSeq(0);
  sndWl2: Seq = toSeq(0);
  /** Shift applied to the peer's advertised window (RFC 7323 §2.3); 0 without window scaling. */
  sndWndShift = 0;
  /**
   * Bytes of application data queued from sequence number `sndBufSeq` on; the ring head is that byte. Its
   * capacity is the send buffer size; its store grows as the application writes (core/ring).
   */
  sendRing: ByteRing;
  /** Sequence number of the first byte in sendRing (iss + 1 + bytes acknowledged). */
  sndBufSeq: Seq = toSeq(0);
  /** The application closed its sending side: a FIN follows the queued data. */
  finQueued = false;
  /** Effective send MSS: payload bytes per segment (after options we always send, like timestamps). */
  mssBytes = 536;
  /** Path MTU learnt from ICMP "fragmentation needed" (RFC 1191); 0 while none came (the link's MTU holds). */
  pathMtuBytes = 0;

  // ---- receive sequence space ----
  /** Initial receive sequence number. */
  irs: Seq = toSeq(0);
  /** Next sequence number expected. */
  rcvNxt: Seq = toSeq(0);
  /** Right edge of the window we last advertised (never moved left: RFC 9293 §3.8.6.2.1). */
  rcvAdv: Seq = toSeq(0);
  /** Shift we apply to our advertised window (RFC 7323 §2.2); 0 without window scaling. */
  rcvWndShift = 0;
  /**
   * In-order received data not yet read; out-of-order data sits beyond its tail. Its capacity is the
   * receive buffer size, which the advertised window is computed against; its store grows as segments
   * arrive, so the window never depends on (or shrinks with) the store (core/ring, tcp/ringTrim).
   */
  recvRing: ByteRing;
  /** Which out-of-order ranges beyond rcvNxt are in recvRing. */
  readonly assembler: Assembler;
  /** Sequence number of the peer's FIN when it arrived ahead of missing data; null otherwise. */
  rcvFinSeq: Seq | null = null;
  /** The peer's FIN has been received (in order). */
  finReceived = false;
  /** MSS the peer announced (RFC 9293 §3.7.1: 536 when absent). */
  peerMssBytes = 536;

  // ---- options (RFC 7323, RFC 2018) ----
  /** Window scaling in use (or, before the SYN exchange ends, offered by us). */
  windowScaleOn = false;
  timestampsOn = false;
  /** TS.Recent: the peer's timestamp to echo (RFC 7323 §4.3). */
  tsRecent = 0;
  /** RCV.NXT as sent in our last ACK (for the TS.Recent update rule). */
  lastAckSent: Seq = toSeq(0);
  /** Random per-connection offset added to our timestamp clock (RFC 7323 §7.1). */
  tsOffset = 0;
  sackOn = false;
  readonly scoreboard = new SackScoreboard();
  /** RACK-TLP state (RFC 8985): set by tcp/negotiate when SACK is agreed and config.rack asks for it, else null. */
  rack: RackState | null = null;

  // ---- reliability and congestion ----
  rtt: RttEstimator;
  cc: CongestionControl;
  /** Segment being timed for an RTT sample when timestamps are off (Karn: never a retransmission). */
  rttSeq: Seq = toSeq(0);
  rttStartMs = -1;
  /** Consecutive retransmission timeouts of the same data. */
  rtxCount = 0;
  /** Duplicate ACKs in a row (RFC 5681 §2). */
  dupAcks = 0;
  /** In fast recovery until sndUna passes `recoverSeq` (RFC 6582 "recover", RFC 6675 RecoveryPoint). */
  inRecovery = false;
  recoverSeq: Seq = toSeq(0);
  /** NewReno window inflation during recovery (RFC 5681 §3.2 steps 3–4), bytes; always 0 with SACK (recovery/). */
  inflationBytes = 0;
  /** RFC 6675 HighRxt: highest sequence number retransmitted in this recovery, + 1. */
  highRxt: Seq = toSeq(0);
  /** Time the last segment with data was sent, for idle restart (RFC 5681 §4.1). */
  lastSendMs = 0;
  /** Time anything was received, for keep-alive. */
  lastRecvMs = 0;
  keepAliveProbes = 0;
  /** Zero-window probes sent since the peer last sent anything. */
  unansweredProbes = 0;
  /** Persist (zero-window probe) mode: the retransmit deadline is the persist timer. */
  persisting = false;
  /** SYN or SYN-ACK transmissions so far. */
  synCount = 0;

  // ---- timers (deadlines owned by the scheduler) ----
  rtxDeadline!: Deadline;
  ackDeadline!: Deadline;
  keepAliveDeadline!: Deadline;
  /** TIME-WAIT's 2·MSL, and FIN-WAIT-2's orphan timeout. */
  closeDeadline!: Deadline;
  /** The loss recovery's own timer (RACK's reorder timer and tail loss probe, recovery/rack). */
  recoveryDeadline!: Deadline;

  // ---- ACK policy ----
  /** An ACK must go out in this output pass. */
  ackNow = false;
  /** Full-sized segments received since our last ACK (RFC 9293 §3.8.6.3: ACK at least every second). */
  unackedSegments = 0;
  /** Window reopened by a read enough to announce (receiver SWS avoidance). */
  windowUpdatePending = false;

  // ---- ownership ----
  events: TcpEvents = {};
  /** Events recorded during input, fired after the batch. */
  pendingEvents = 0;
  pendingError: ErrCode = 0;
  /** Listed in the layer's touched set for this batch. */
  touched = false;
  /** The application has released the PCB (close/abort); it finishes on its own and is then freed. */
  orphaned = false;
  /**
   * Called once when a closing connection no longer needs its owner: our FIN is acknowledged (FIN-WAIT-2,
   * TIME-WAIT) or the PCB is freed. Lets an owner drop its own close timeout (usocket's 10 s abort).
   */
  closeDone: (() => void) | null = null;
  /** Set once the PCB is removed from the layer. */
  freed = false;
  /** Its rings hold storage and tcp/ringTrim watches it for idleness. */
  ringsWatched = false;
  noDelay: boolean;
  keepAliveIdleMs: number;

  // ---- counters for the debugging view ----
  retransmits = 0;
  segmentsIn = 0;
  segmentsOut = 0;
  oooDrops = 0;

  constructor(
    options: TcpPcbOptions,
    rtt: RttEstimator,
    cc: CongestionControl,
    maxOooRanges: number,
    sendRing: ByteRing,
    recvRing: ByteRing,
  ) {
    this.sendRing = sendRing;
    this.recvRing = recvRing;
    this.assembler = new Assembler(maxOooRanges);
    this.noDelay = options.noDelay;
    this.keepAliveIdleMs = options.keepAliveIdleMs;
    this.rtt = rtt;
    this.cc = cc;
  }

  /** Sequence number just after the last queued byte (where a FIN goes). */
  get sndDataEnd(): Seq {
    return toSeq(this.sndBufSeq + this.sendRing.length);
  }

  /** Bytes sent and not yet acknowledged (sequence space, SYN/FIN included). */
  get flightBytes(): number {
    return (this.sndMax - this.sndUna) >>> 0;
  }

  get isSynchronized(): boolean {
    return this.state >= TcpState.ESTABLISHED;
  }
}
