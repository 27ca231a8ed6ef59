// An iperf3 test's data streams on the stack's PCBs, for either role: a TCP stream writes blocks of the
// test's pattern as fast as its send ring (and the rate, -b) allows, or counts and discards what arrives; a
// UDP stream sends paced datagrams with iperf3's sec/usec/counter header, or accounts for those it receives.
// `TestRun` starts and stops counting for all of a test's streams at once and drives the pacing timer.
// Call order: server.ts / client.ts create streams → TestRun.begin (TEST_RUNNING) → PCB events and the
// pacing deadline → TestRun.end (TEST_END) → results.

import { Deadline, type Scheduler } from "../../core/scheduler.js";
import { Err, type ErrCode } from "../../core/errors.js";
import type { TcpLayer } from "../../tcp/tcp.js";
import type { TcpPcb } from "../../tcp/pcb.js";
import type { UdpLayer, UdpPcb } from "../../udp/udp.js";
import type { StreamResult } from "./results.js";
import { UdpReceiveStats } from "./results.js";
import { udpPayloadCounter, udpPayloadSentMicros, UdpPayload, writeUdpPayloadHeader } from "./protocol.js";

/** The bytes a test may still send in total (-n, or -k blocks of -l): shared by its sending streams. */
export class SendBudget {
  sentBytes = 0;

  /** @param limitBytes 0 for a test that ends by time. */
  constructor(readonly limitBytes: number) {}

  get isExhausted(): boolean {
    return this.limitBytes > 0 && this.sentBytes >= this.limitBytes;
  }

  /** Of `wanted` bytes, how many may be sent now. */
  allow(wanted: number): number {
    return this.limitBytes === 0 ? wanted : Math.max(0, Math.min(wanted, this.limitBytes - this.sentBytes));
  }
}

/** What a sending stream needs besides its PCB. */
export interface SendConfig {
  /** The data written, cycled (TCP) or sent per datagram (UDP, header overwritten): `blockBytes` long. */
  pattern: Uint8Array;
  /** Target bits per second for this stream; 0 = as fast as the PCB takes it (UDP: see UDP_BURST). */
  rateBitsPerSec: number;
  budget: SendBudget;
}

/**
 * Most datagrams a UDP stream sends per pacing tick: bounds the work of one tick (and the burst after a late
 * timer); unlimited UDP (-b 0) therefore tops out near 64 × 1 448 bytes per millisecond, about 740 Mbit/s.
 */
const UDP_BURST = 64;

/** What both stream kinds offer TestRun. */
export interface DataStream {
  readonly id: number;
  readonly isSender: boolean;
  /** Starts counting (TEST_RUNNING) at `nowMs`. */
  begin(nowMs: number): void;
  /** Sends what the rate and the PCB allow now (senders; a no-op for receivers). */
  pump(nowMs: number): void;
  /** The omitted seconds are over: totals count from here. */
  markOmitEnd(): void;
  /** Stops counting (TEST_END) at `nowMs`. */
  end(nowMs: number): void;
  /** Releases the stream's PCB: queued data is still sent, unread data discarded. */
  close(): void;
  /** Totals after the omitted seconds. */
  get bytes(): number;
  result(): StreamResult;
}

/** Bytes a paced sender may still send at `nowMs` to stay at `rate` since `startMs` (Infinity: unpaced). */
function paceAllowance(rateBitsPerSec: number, startMs: number, nowMs: number, sentBytes: number): number {
  if (rateBitsPerSec <= 0) return Infinity;
  return Math.floor((rateBitsPerSec * Math.max(0, nowMs - startMs)) / 8000) - sentBytes;
}

export class TcpStream implements DataStream {
  private counting = false;
  private startMs = 0;
  private endMs = 0;
  /** Bytes sent since begin, counted when the send ring took them (as iperf3 counts write()s). */
  private sentBytes = 0;
  private receivedBytes = 0;
  private bytesAtOmit = 0;
  private retransmitsAtStart = 0;
  private patternOffset = 0;
  private closed = false;
  /** The connection failed (reset, timeout); it counts no more. */
  failure: ErrCode = Err.OK;

  constructor(
    private readonly tcp: TcpLayer,
    readonly pcb: TcpPcb,
    readonly id: number,
    readonly isSender: boolean,
    private readonly send: SendConfig | null,
    /** Told when the connection fails while the stream is open. */
    private readonly onFailure: (stream: TcpStream, err: ErrCode) => void = () => undefined,
  ) {
    pcb.events = {
      readable: () => this.drain(),
      writable: () => this.pump(this.tcp.scheduler.now()),
      error: (_p, err) => {
        this.failure = err;
        this.closed = true;
        this.onFailure(this, err);
      },
    };
    this.drain();
  }

  begin(nowMs: number): void {
    this.counting = true;
    this.startMs = nowMs;
    this.retransmitsAtStart = this.pcb.retransmits;
    this.pump(nowMs);
  }

  pump(nowMs: number): void {
    const send = this.send;
    if (!this.counting || send === null || this.closed) return;
    const pattern = send.pattern;
    // Bounded: a pass ends when the ring, the rate or the budget says so.
    for (let guard = 0; guard < 64; guard++) {
      let n = Math.min(this.pcb.sendRing.free, pattern.length - this.patternOffset);
      n = Math.min(n, paceAllowance(send.rateBitsPerSec, this.startMs, nowMs, this.sentBytes));
      n = send.budget.allow(n);
      if (n <= 0) return;
      const written = this.tcp.write(this.pcb, pattern, this.patternOffset, n);
      if (typeof written !== "number" || written <= 0) return;
      this.sentBytes += written;
      send.budget.sentBytes += written;
      this.patternOffset = (this.patternOffset + written) % pattern.length;
    }
  }

  /** Received data is counted while the test runs and discarded in any case (iperf3 reads into one buffer). */
  private drain(): void {
    if (this.closed) return;
    const n = this.tcp.consume(this.pcb, this.pcb.recvRing.length);
    if (this.counting) this.receivedBytes += n;
  }

  markOmitEnd(): void {
    this.bytesAtOmit = this.isSender ? this.sentBytes : this.receivedBytes;
    this.retransmitsAtStart = this.pcb.retransmits;
  }

  end(nowMs: number): void {
    if (!this.counting) return;
    this.drain();
    this.counting = false;
    this.endMs = nowMs;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Discard what is unread so the close is a FIN, not a reset (RFC 1122 §4.2.2.13): a client still
    // draining its receive side (-R, in TEST_END) would count a reset as a failed test.
    this.tcp.consume(this.pcb, this.pcb.recvRing.length);
    this.tcp.close(this.pcb);
  }

  get bytes(): number {
    return (this.isSender ? this.sentBytes : this.receivedBytes) - this.bytesAtOmit;
  }

  /** Retransmissions since the test (or its omitted seconds) began. */
  get retransmits(): number {
    return this.pcb.retransmits - this.retransmitsAtStart;
  }

  result(): StreamResult {
    return {
      id: this.id,
      bytes: this.bytes,
      retransmits: this.isSender ? this.retransmits : -1,
      jitterS: 0,
      errors: 0,
      packets: 0,
      startTimeS: 0,
      endTimeS: Math.max(0, this.endMs - this.startMs) / 1000,
    };
  }
}

/**
 * One UDP stream: a peer address on a PCB. The server keeps all its streams on its one PCB on port 5201 (as
 * iperf3's connected sockets there), the client gives each stream its own PCB.
 */
export class UdpStream implements DataStream {
  private counting = false;
  private startMs = 0;
  private endMs = 0;
  /** Datagrams and payload bytes sent since begin; the counter of the last one sent. */
  private sentDatagrams = 0;
  private sentBytes = 0;
  private bytesAtOmit = 0;
  readonly received = new UdpReceiveStats();
  private readonly sendView: DataView | null;
  private closed = false;

  constructor(
    private readonly udp: UdpLayer,
    readonly pcb: UdpPcb,
    readonly peerIp: number,
    readonly peerPort: number,
    readonly id: number,
    readonly isSender: boolean,
    private readonly send: SendConfig | null,
    private readonly counters64: boolean,
    /** Wall-clock microseconds since the epoch, for the header's sec/usec. */
    private readonly wallMicros: () => number,
  ) {
    this.sendView = send !== null ? new DataView(send.pattern.buffer, send.pattern.byteOffset, send.pattern.byteLength) : null;
  }

  begin(nowMs: number): void {
    this.counting = true;
    this.startMs = nowMs;
    this.pump(nowMs);
  }

  pump(nowMs: number): void {
    const send = this.send;
    const view = this.sendView;
    if (!this.counting || send === null || view === null || this.closed) return;
    const size = send.pattern.length;
    for (let i = 0; i < UDP_BURST; i++) {
      if (paceAllowance(send.rateBitsPerSec, this.startMs, nowMs, this.sentBytes) <= 0 || send.budget.isExhausted) return;
      writeUdpPayloadHeader(view, 0, this.wallMicros(), this.sentDatagrams + 1, this.counters64);
      const err = this.udp.sendTo(this.pcb, send.pattern, 0, size, this.peerIp, this.peerPort);
      // A full link queue or an unresolved neighbour: try again at the next tick.
      if (err !== Err.OK) return;
      this.sentDatagrams++;
      this.sentBytes += size;
      send.budget.sentBytes += size;
    }
  }

  /** A datagram from the peer: counted while the test runs (iperf3 counts only in TEST_RUNNING). */
  onDatagram(view: DataView, offset: number, length: number): void {
    if (!this.counting || this.isSender) return;
    const header = this.counters64 ? UdpPayload.headerBytes64 : UdpPayload.headerBytes32;
    if (length < header) return;
    this.received.onDatagram(udpPayloadCounter(view, offset, this.counters64), length, udpPayloadSentMicros(view, offset), this.wallMicros());
  }

  markOmitEnd(): void {
    if (this.isSender) this.bytesAtOmit = this.sentBytes;
    else this.received.markOmitEnd();
  }

  end(nowMs: number): void {
    if (!this.counting) return;
    this.counting = false;
    this.endMs = nowMs;
  }

  close(): void {
    this.closed = true;
  }

  get bytes(): number {
    return this.isSender ? this.sentBytes - this.bytesAtOmit : this.received.bytesAfterOmit;
  }

  /** Datagrams sent (sender) or the highest counter seen (receiver), as iperf3 reports "packets". */
  get packets(): number {
    return this.isSender ? this.sentDatagrams : this.received.highestCounter;
  }

  result(): StreamResult {
    return {
      id: this.id,
      bytes: this.bytes,
      retransmits: -1,
      jitterS: this.isSender ? 0 : this.received.jitterS,
      errors: this.isSender ? 0 : this.received.lost,
      packets: this.packets,
      startTimeS: 0,
      endTimeS: Math.max(0, this.endMs - this.startMs) / 1000,
    };
  }
}

/**
 * The running part of a test: counting starts for every stream at TEST_RUNNING, a pacing deadline (every
 * --pacing-timer, at least 1 ms) keeps paced and UDP senders going, the omit deadline restarts the totals,
 * and counting stops at TEST_END.
 */
export class TestRun {
  private readonly pacer: Deadline;
  private readonly omitDeadline: Deadline;
  private pacingMs = 1;
  private running = false;
  startMs = 0;
  endMs = 0;

  constructor(
    private readonly scheduler: Scheduler,
    readonly streams: readonly DataStream[],
    label: string,
  ) {
    this.pacer = new Deadline((now) => this.tick(now), `${label} pacing`);
    this.omitDeadline = new Deadline(() => {
      for (const s of this.streams) s.markOmitEnd();
    }, `${label} omit`);
  }

  /**
   * @param needsPacing whether a sender here is paced or UDP (TCP at full speed runs on `writable` alone)
   * @param omitS seconds whose totals are left out
   */
  begin(nowMs: number, needsPacing: boolean, pacingTimerUs: number, omitS: number): void {
    this.running = true;
    this.startMs = nowMs;
    this.pacingMs = Math.max(1, pacingTimerUs / 1000);
    for (const s of this.streams) s.begin(nowMs);
    if (needsPacing) this.scheduler.set(this.pacer, nowMs + this.pacingMs);
    if (omitS > 0) this.scheduler.set(this.omitDeadline, nowMs + omitS * 1000);
  }

  private tick(nowMs: number): void {
    if (!this.running) return;
    for (const s of this.streams) s.pump(nowMs);
    this.scheduler.set(this.pacer, nowMs + this.pacingMs);
  }

  end(nowMs: number): void {
    if (!this.running) return;
    this.running = false;
    this.endMs = nowMs;
    this.scheduler.cancel(this.pacer);
    this.scheduler.cancel(this.omitDeadline);
    for (const s of this.streams) s.end(nowMs);
  }

  /** Ends counting if still running and releases every stream's PCB. */
  close(): void {
    this.end(this.scheduler.now());
    for (const s of this.streams) s.close();
  }
}
