// TCP output: cuts segments from a PCB's send ring straight into the IP layer's frame buffer (header and
// options at fixed offsets, payload copied once, checksum last) and runs the output pass that decides what
// a PCB sends now — SYN/SYN-ACK, data under the send and congestion windows (Nagle, sender SWS avoidance),
// what the connection's loss recovery (recovery/) picks while in recovery, FIN, and ACKs/window updates.
// Called by tcp/tcp after each batch and timer.
// When the device offloads (link/offload), the checksum is left to it, and new data goes out in
// super-segments of up to 64 KiB that the device cuts into MSS-sized segments (TSO).

import { Err, type ErrCode } from "../core/errors.js";
import type { Scheduler } from "../core/scheduler.js";
import { DEFAULT_TTL, PAYLOAD_OFFSET, type IpLayer, type IpSendOptions } from "../ip/ip.js";
import { IPV4, IpProto } from "../ip/ipv4.js";
import { FrameOffload, VnetFlag, VnetGso } from "../link/offload.js";
import {
  finishTcpChecksum,
  TCP,
  TCP_MAX_HEADER_LENGTH,
  TcpFlag,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpPartialChecksum,
  type TcpOptionsOut,
  type TcpSegmentFields,
} from "./header.js";
import { seqAdd, seqDiff, seqGt, seqLt, seqMax, toSeq, type Seq } from "./seq.js";
import { TcpState } from "./state.js";
import type { TcpPcb } from "./pcb.js";
import { lossRecovery, rackOnSend, type RecoveryTx } from "./recovery/index.js";

/** Counters kept by output; shared with the layer's stats object. */
export interface TcpOutputStats {
  txSegments: number;
  /** Super-segments handed to the device for segmentation (each counted once in txSegments too). */
  txTsoSegments: number;
  txRetransmits: number;
  txResets: number;
  txAcks: number;
  txDropLink: number;
}

/** Most payload in one super-segment: the IPv4 datagram stays within 65 535 bytes with the largest TCP header. */
/**
 * Every TCP segment goes with DF set, as Linux does (ip_no_pmtu_disc 0): path MTU discovery (RFC 1191 §3)
 * needs routers to refuse and report, not fragment, what is too big for the next link (tcp/pmtu). Segments
 * never exceed our own link's MTU, so DF never stops one here.
 */
const TCP_SEND_OPTIONS: IpSendOptions = { ttl: DEFAULT_TTL, tos: 0, dontFragment: true };
const MAX_SUPER_PAYLOAD = IPV4.maxTotalLength - IPV4.minHeaderLength - TCP_MAX_HEADER_LENGTH;

/** Our timestamp clock (RFC 7323 §5.4: 1 ms ticks are within the recommended 1 ms–1 s). */
export function tsNow(pcb: TcpPcb, nowMs: number): number {
  return (Math.floor(nowMs) + pcb.tsOffset) >>> 0;
}

export class TcpOutput implements RecoveryTx {
  private readonly fields: TcpSegmentFields = { srcPort: 0, dstPort: 0, seq: toSeq(0), ack: toSeq(0), flags: 0, window: 0, urgent: 0 };
  private readonly opts: TcpOptionsOut = {
    mss: 0,
    windowScale: -1,
    sackPermitted: false,
    timestamps: false,
    tsVal: 0,
    tsEcr: 0,
    sackBlocks: new Uint32Array(8),
    sackCount: 0,
  };
  private readonly ranges: number[] = [];
  /** What each segment asks of an offloading device, refilled per segment. */
  private readonly offload = new FrameOffload();

  constructor(
    private readonly ip: IpLayer,
    private readonly scheduler: Scheduler,
    private readonly stats: TcpOutputStats,
    /** Our MSS to announce on SYNs: interface MTU − 40 (RFC 9293 §3.7.1, RFC 6691). */
    private readonly announceMss: () => number,
  ) {}

  /**
   * Sends one segment: `flags` at `seq`, carrying `dataLength` bytes of the send ring starting at `seq`.
   * ACK-bearing segments report rcvNxt and our window and count as the ACK for everything received. With
   * `gsoSize` > 0 (and a TSO device) it is a super-segment the device cuts into `gsoSize`-byte segments,
   * each with these options.
   */
  sendSegment(pcb: TcpPcb, seq: Seq, flags: number, dataLength: number, nowMs: number, gsoSize = 0): ErrCode {
    const frame = this.ip.txFrame;
    const view = this.ip.txView;
    const f = this.fields;
    const o = this.opts;
    const isSyn = (flags & TcpFlag.SYN) !== 0;
    o.mss = 0;
    o.windowScale = -1;
    o.sackPermitted = false;
    o.sackCount = 0;
    o.timestamps = pcb.timestampsOn;
    if (isSyn) {
      o.mss = this.announceMss();
      o.windowScale = pcb.windowScaleOn ? pcb.rcvWndShift : -1;
      o.sackPermitted = pcb.sackOn;
    } else if (pcb.sackOn && !pcb.assembler.isEmpty) {
      o.sackCount = this.sackBlocks(pcb, o.sackBlocks as Uint32Array);
    }
    // A full-sized data segment has room only for the options its MSS allowed for (timestamps): SACK blocks
    // are dropped rather than making the datagram exceed the MTU (Linux shrinks the MSS instead). Each
    // segment of a super-segment carries the same options, so it is the segment size that counts.
    const optionRoom = this.announceMss() - (gsoSize > 0 ? gsoSize : dataLength);
    while (o.sackCount > 0 && tcpOptionsLength(o) > optionRoom) o.sackCount--;
    if (o.timestamps) {
      o.tsVal = tsNow(pcb, nowMs);
      o.tsEcr = (flags & TcpFlag.ACK) !== 0 ? pcb.tsRecent : 0;
    }
    f.srcPort = pcb.localPort;
    f.dstPort = pcb.remotePort;
    f.seq = seq;
    f.ack = (flags & TcpFlag.ACK) !== 0 ? pcb.rcvNxt : toSeq(0);
    f.flags = flags;
    f.window = isSyn ? Math.min(this.receiveWindow(pcb), 0xffff) : this.advertise(pcb);
    const headerLength = writeTcpHeader(frame, view, PAYLOAD_OFFSET, f, o);
    if (dataLength > 0) {
      pcb.sendRing.peek(seqDiff(seq, pcb.sndBufSeq), frame, PAYLOAD_OFFSET + headerLength, dataLength);
    }
    const tcpLength = headerLength + dataLength;
    const src = pcb.localIp;
    const offloads = this.ip.offloadsFor(pcb.remoteIp);
    let offload: FrameOffload | null = null;
    if (offloads.csum) {
      // The device sums the segment (NEEDS_CSUM, csum_start at the TCP header) and, for a super-segment,
      // cuts it into gso_size pieces with their own checksums (gso_type TCPV4).
      writeTcpPartialChecksum(view, PAYLOAD_OFFSET, tcpLength, src, pcb.remoteIp);
      offload = this.offload;
      const isSuper = offloads.tso && gsoSize > 0 && dataLength > gsoSize;
      offload.flags = VnetFlag.NEEDS_CSUM;
      offload.csumStart = PAYLOAD_OFFSET;
      offload.csumOffset = TCP.checksum;
      offload.gsoType = isSuper ? VnetGso.TCPV4 : VnetGso.NONE;
      offload.gsoSize = isSuper ? gsoSize : 0;
      offload.hdrLen = isSuper ? PAYLOAD_OFFSET + headerLength : 0;
      if (isSuper) this.stats.txTsoSegments++;
    } else {
      finishTcpChecksum(frame, view, PAYLOAD_OFFSET, tcpLength, src, pcb.remoteIp);
    }
    const err = this.ip.send(IpProto.TCP, src, pcb.remoteIp, tcpLength, TCP_SEND_OPTIONS, offload);
    // RACK-TLP's send log (RFC 8985 §5.2): every segment with data or a FIN, with its time.
    if (pcb.rack !== null && !isSyn && (dataLength > 0 || (flags & TcpFlag.FIN) !== 0)) {
      rackOnSend(pcb, seq, seqAdd(seq, dataLength + ((flags & TcpFlag.FIN) !== 0 ? 1 : 0)), gsoSize, nowMs);
    }
    this.stats.txSegments++;
    pcb.segmentsOut++;
    if (err !== Err.OK) this.stats.txDropLink++;
    if ((flags & TcpFlag.ACK) !== 0) this.ackSent(pcb, isSyn);
    return err;
  }

  /** A reset for a segment that has no PCB (RFC 9293 §3.10.7.1), or to abort a connection. */
  sendReset(localIp: number, localPort: number, remoteIp: number, remotePort: number, seq: Seq, ack: Seq, withAck: boolean): void {
    this.sendBare(localIp, localPort, remoteIp, remotePort, seq, withAck ? ack : toSeq(0), TcpFlag.RST | (withAck ? TcpFlag.ACK : 0), 0, null);
    this.stats.txResets++;
  }

  /** A segment with no PCB behind it and no data (a reset, a cookie SYN-ACK): header, checksum, IP → IP's result. */
  private sendBare(localIp: number, localPort: number, remoteIp: number, remotePort: number, seq: Seq, ack: Seq, flags: number, window: number, opts: TcpOptionsOut | null): ErrCode {
    const frame = this.ip.txFrame;
    const view = this.ip.txView;
    const f = this.fields;
    f.srcPort = localPort;
    f.dstPort = remotePort;
    f.seq = seq;
    f.ack = ack;
    f.flags = flags;
    f.window = window;
    const headerLength = writeTcpHeader(frame, view, PAYLOAD_OFFSET, f, opts);
    finishTcpChecksum(frame, view, PAYLOAD_OFFSET, headerLength, localIp, remoteIp);
    const err = this.ip.send(IpProto.TCP, localIp, remoteIp, headerLength, TCP_SEND_OPTIONS);
    this.stats.txSegments++;
    return err;
  }

  /**
   * A SYN-ACK answering `seq` (the client's ISN) with a SYN cookie as our ISS (RFC 4987 §3.6), built straight
   * from the SYN's fields: no PCB, ring or closure exists for it, so a flood of them allocates nothing. It
   * carries only what a cookie can bring back: our MSS; no window scale, SACK-permitted or timestamps (the
   * cookie keeps none of them, so offering them would promise what the returning ACK cannot rebuild).
   * `window` is the unscaled window field (RFC 7323 §2.2: a SYN's window is never scaled).
   */
  sendStatelessSynAck(localIp: number, localPort: number, remoteIp: number, remotePort: number, iss: Seq, clientIsn: Seq, window: number): void {
    const o = this.opts;
    o.mss = this.announceMss();
    o.windowScale = -1;
    o.sackPermitted = false;
    o.timestamps = false;
    o.sackCount = 0;
    const flags = TcpFlag.SYN | TcpFlag.ACK;
    const err = this.sendBare(localIp, localPort, remoteIp, remotePort, iss, seqAdd(clientIsn, 1), flags, Math.min(window, 0xffff), o);
    if (err !== Err.OK) this.stats.txDropLink++;
  }

  /**
   * The output pass for one PCB: sends what its state, windows and flags allow. Never throws; a link error
   * is counted and left to retransmission.
   */
  output(pcb: TcpPcb, nowMs: number): void {
    switch (pcb.state) {
      case TcpState.CLOSED:
      case TcpState.LISTEN:
      case TcpState.TIME_WAIT:
        if (pcb.state === TcpState.TIME_WAIT && pcb.ackNow) this.sendAck(pcb, nowMs);
        return;
      case TcpState.SYN_SENT:
        if (pcb.synCount === 0) this.sendSyn(pcb, nowMs);
        return;
      case TcpState.SYN_RECEIVED:
        if (pcb.synCount === 0 || pcb.ackNow) this.sendSyn(pcb, nowMs);
        return;
      default:
        break;
    }
    const sent = pcb.inRecovery ? lossRecovery(pcb).output(this, pcb, nowMs) : this.sendNewData(pcb, nowMs);
    if (!sent && (pcb.ackNow || pcb.windowUpdatePending)) this.sendAck(pcb, nowMs);
    this.armTimers(pcb, nowMs);
    lossRecovery(pcb).afterOutput?.(this, pcb, nowMs);
  }

  /** Retransmits one segment at `seq` (fast retransmit, RTO, NewReno partial ACK). */
  retransmit(pcb: TcpPcb, seq: Seq, nowMs: number): number {
    const dataEnd = pcb.sndDataEnd;
    const available = Math.max(0, seqDiff(dataEnd, seq));
    const length = Math.min(this.segmentRoom(pcb), available);
    let flags = TcpFlag.ACK;
    // The FIN rides on the retransmission when it directly follows the data (or is all that is left).
    if (pcb.finQueued && seqDiff(dataEnd, seq) === length && seqGt(pcb.sndMax, dataEnd)) flags |= TcpFlag.FIN;
    if (length === 0 && (flags & TcpFlag.FIN) === 0) return 0;
    this.sendSegment(pcb, seq, flags | (length > 0 ? TcpFlag.PSH : 0), length, nowMs);
    this.stats.txRetransmits++;
    pcb.retransmits++;
    const end = seqAdd(seq, length + ((flags & TcpFlag.FIN) !== 0 ? 1 : 0));
    if (seqGt(end, pcb.highRxt)) pcb.highRxt = end;
    // Karn's algorithm (RFC 6298 §3): a retransmitted segment's ACK gives no RTT sample.
    if (!pcb.timestampsOn && pcb.rttStartMs >= 0 && seqLt(seq, pcb.rttSeq)) pcb.rttStartMs = -1;
    return length;
  }

  restartRetransmitTimer(pcb: TcpPcb, nowMs: number): void {
    this.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
  }

  setRecoveryTimer(pcb: TcpPcb, atMs: number): void {
    this.scheduler.set(pcb.recoveryDeadline, atMs);
  }

  cancelRecoveryTimer(pcb: TcpPcb): void {
    this.scheduler.cancel(pcb.recoveryDeadline);
  }

  sendAck(pcb: TcpPcb, nowMs: number): void {
    this.sendSegment(pcb, this.acceptableSeq(pcb), TcpFlag.ACK, 0, nowMs);
    this.stats.txAcks++;
  }

  /**
   * RFC 9293 §3.8.6.2.1 (4), the SWS override timeout: sends what a small but open window allows even though
   * sender SWS avoidance held it (Linux's tcp_write_wakeup does the same from its persist timer).
   */
  sendWindowLimited(pcb: TcpPcb, nowMs: number): void {
    const unsent = seqDiff(pcb.sndDataEnd, pcb.sndNxt);
    const usable = pcb.sndWnd - seqDiff(pcb.sndNxt, pcb.sndUna);
    const length = Math.min(this.segmentRoom(pcb), unsent, usable);
    if (length <= 0) return;
    const fin = pcb.finQueued && length === unsent;
    const flags = TcpFlag.ACK | (length === unsent ? TcpFlag.PSH : 0) | (fin ? TcpFlag.FIN : 0);
    this.sendSegment(pcb, pcb.sndNxt, flags, length, nowMs);
    this.advanceSndNxt(pcb, length + (fin ? 1 : 0), nowMs);
  }

  /**
   * The sequence number for a pure ACK: SND.MAX, not a rewound SND.NXT (the peer's RCV.NXT may be past
   * SND.NXT after a timeout), but never beyond the right edge of the peer's window, where a zero-window
   * receiver would find it unacceptable and drop it with its ACK (Linux's tcp_acceptable_seq does the same).
   */
  private acceptableSeq(pcb: TcpPcb): Seq {
    const windowEnd = seqAdd(pcb.sndUna, pcb.sndWnd);
    return seqLt(windowEnd, pcb.sndMax) ? seqMax(windowEnd, pcb.sndNxt) : pcb.sndMax;
  }

  /** A zero-window or keep-alive probe: an ACK one below SND.UNA that the peer must answer (as Linux does). */
  sendProbe(pcb: TcpPcb, nowMs: number): void {
    this.sendSegment(pcb, seqAdd(pcb.sndUna, -1), TcpFlag.ACK, 0, nowMs);
  }

  /** The window we can offer now: free receive-ring space, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2). */
  receiveWindow(pcb: TcpPcb): number {
    const free = pcb.recvRing.free;
    const threshold = Math.min(pcb.recvRing.capacity / 2, pcb.mssBytes);
    const offered = seqDiff(pcb.rcvAdv, pcb.rcvNxt);
    // Never move the right edge left (RFC 9293 §3.8.6.2.1), and open it only in sizeable steps.
    if (free - Math.max(offered, 0) < threshold && offered >= 0) return Math.max(offered, 0);
    return free;
  }

  /** The scaled 16-bit window field for a non-SYN segment; records the advertised right edge. */
  private advertise(pcb: TcpPcb): number {
    const wnd = this.receiveWindow(pcb);
    const field = Math.min(wnd >>> pcb.rcvWndShift, 0xffff);
    const edge = seqAdd(pcb.rcvNxt, field << pcb.rcvWndShift);
    if (seqGt(edge, pcb.rcvAdv)) pcb.rcvAdv = edge;
    return field;
  }

  private ackSent(pcb: TcpPcb, isSyn: boolean): void {
    pcb.lastAckSent = pcb.rcvNxt;
    pcb.ackNow = false;
    pcb.unackedSegments = 0;
    pcb.windowUpdatePending = false;
    if (pcb.ackDeadline.isArmed) this.scheduler.cancel(pcb.ackDeadline);
    if (isSyn) pcb.rcvAdv = seqAdd(pcb.rcvNxt, Math.min(this.receiveWindow(pcb), 0xffff));
  }

  /** Sends (or, once synCount > 0, resends) our SYN or SYN-ACK and arms the retransmission timer. */
  sendSyn(pcb: TcpPcb, nowMs: number): void {
    const flags = pcb.state === TcpState.SYN_SENT ? TcpFlag.SYN : TcpFlag.SYN | TcpFlag.ACK;
    this.sendSegment(pcb, pcb.iss, flags, 0, nowMs);
    if (pcb.synCount > 0) {
      this.stats.txRetransmits++;
      pcb.retransmits++;
      pcb.rttStartMs = -1;
    } else {
      // Time the first SYN even when we offer timestamps: whether the peer echoes them is not known until
      // its SYN(-ACK) arrives, and without this an active open to a peer without timestamps gets no RTT
      // sample from the handshake (RFC 6298 §2 would leave RTO at 1 s until data is timed).
      pcb.rttSeq = seqAdd(pcb.iss, 1);
      pcb.rttStartMs = nowMs;
    }
    pcb.synCount++;
    pcb.sndNxt = seqAdd(pcb.iss, 1);
    pcb.sndMax = seqMax(pcb.sndMax, pcb.sndNxt);
    this.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
  }

  /** Sends new (or, after an RTO, rewound) data and the FIN while the windows allow. Returns whether anything went out. */
  sendNewData(pcb: TcpPcb, nowMs: number): boolean {
    let sent = false;
    const dataEnd = pcb.sndDataEnd;
    // RFC 5681 §4.1: after an idle period longer than the RTO, restart from the restart window.
    if (pcb.sndUna === pcb.sndMax && nowMs - pcb.lastSendMs > pcb.rtt.currentRtoMs && pcb.lastSendMs > 0) {
      pcb.cc.onIdleRestart(pcb.mssBytes, nowMs);
    }
    for (let guard = 0; guard < 100_000; guard++) {
      const unsent = seqDiff(dataEnd, pcb.sndNxt);
      if (unsent > 0) {
        // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out beyond
        // cwnd, so a small window still produces the third duplicate ACK instead of waiting for the RTO.
        const limitedTransmit = !pcb.inRecovery && pcb.dupAcks > 0 && pcb.dupAcks < 3 ? pcb.dupAcks * pcb.mssBytes : 0;
        const window = Math.min(pcb.cc.cwndBytes + pcb.inflationBytes + limitedTransmit, pcb.sndWnd);
        const inFlight = seqDiff(pcb.sndNxt, pcb.sndUna);
        const usable = window - inFlight;
        const room = this.segmentRoom(pcb);
        let length = Math.min(this.superRoom(pcb, room), unsent, usable);
        if (length <= 0) break;
        // Nagle and SWS avoidance hold back small new data; data sent before (rewound by an RTO or a lowered
        // path MTU) goes again as it is, as Linux retransmits its queue without them.
        const isResend = seqLt(pcb.sndNxt, pcb.sndMax);
        if (length < room) {
          if (!isResend && !this.mayAddSmall(pcb, length, unsent, inFlight)) break;
        } else if (length % room !== 0 && !(length === unsent && (pcb.noDelay || pcb.finQueued))) {
          // A super-segment reaches the wire as full segments and a short last one, which Nagle (the tail,
          // with the full ones in flight) or sender SWS avoidance (window-limited) would hold back if sent
          // one by one: it waits for the next round, exactly as per-segment output would make it.
          length -= length % room;
        }
        const fin = pcb.finQueued && length === unsent;
        const flags = TcpFlag.ACK | (length === unsent ? TcpFlag.PSH : 0) | (fin ? TcpFlag.FIN : 0);
        const isNew = pcb.sndNxt === pcb.sndMax;
        if (isNew && !pcb.timestampsOn && pcb.rttStartMs < 0) {
          pcb.rttSeq = seqAdd(pcb.sndNxt, length);
          pcb.rttStartMs = nowMs;
        }
        if (!isNew) {
          this.stats.txRetransmits++;
          pcb.retransmits++;
        }
        this.sendSegment(pcb, pcb.sndNxt, flags, length, nowMs, length > room ? room : 0);
        this.advanceSndNxt(pcb, length + (fin ? 1 : 0), nowMs);
        sent = true;
        if (fin) break;
        continue;
      }
      // All data sent: the FIN goes out on its own if it has not yet (it needs no window: RFC 9293 §3.10.4).
      if (pcb.finQueued && pcb.sndNxt === dataEnd) {
        this.sendSegment(pcb, pcb.sndNxt, TcpFlag.ACK | TcpFlag.FIN, 0, nowMs);
        this.advanceSndNxt(pcb, 1, nowMs);
        sent = true;
      }
      break;
    }
    return sent;
  }

  /**
   * Whether a segment shorter than the MSS may go now: Nagle's algorithm (RFC 9293 §3.7.4, RFC 1122
   * §4.2.3.4) holds it while data is unacknowledged unless TCP_NODELAY; sender SWS avoidance holds a
   * window-limited fragment smaller than half the largest window the peer offered.
   */
  private mayAddSmall(pcb: TcpPcb, length: number, unsent: number, inFlight: number): boolean {
    const isTail = length === unsent;
    if (isTail) {
      if (inFlight === 0 || pcb.noDelay || pcb.finQueued) return true;
      return false;
    }
    // Window-limited, not the tail: send only a sizeable piece of the window.
    return length >= pcb.maxSndWnd / 2 && inFlight === 0;
  }

  private advanceSndNxt(pcb: TcpPcb, by: number, nowMs: number): void {
    pcb.sndNxt = seqAdd(pcb.sndNxt, by);
    if (seqGt(pcb.sndNxt, pcb.sndMax)) pcb.sndMax = pcb.sndNxt;
    pcb.lastSendMs = nowMs;
    if (!pcb.rtxDeadline.isArmed || pcb.persisting) {
      pcb.persisting = false;
      this.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
    }
  }

  /** One segment of new data at SND.MAX within the peer's window (RFC 6675 §5 rule 2); its bytes, or 0. */
  sendNewSegment(pcb: TcpPcb, nowMs: number): number {
    const unsent = seqDiff(pcb.sndDataEnd, pcb.sndMax);
    const room = pcb.sndWnd - seqDiff(pcb.sndMax, pcb.sndUna);
    const length = Math.min(this.segmentRoom(pcb), unsent, room);
    if (length <= 0) return 0;
    pcb.sndNxt = pcb.sndMax;
    const fin = pcb.finQueued && length === unsent;
    this.sendSegment(pcb, pcb.sndNxt, TcpFlag.ACK | TcpFlag.PSH | (fin ? TcpFlag.FIN : 0), length, nowMs);
    this.advanceSndNxt(pcb, length + (fin ? 1 : 0), nowMs);
    return length;
  }

  /** At most `length` bytes at `seq` in one segment (a hole NextSeg() named); its payload bytes. */
  retransmitRange(pcb: TcpPcb, seq: Seq, length: number, nowMs: number): number {
    const available = Math.max(0, seqDiff(pcb.sndDataEnd, seq));
    const n = Math.min(length, available, this.segmentRoom(pcb));
    if (n <= 0) return this.retransmit(pcb, seq, nowMs);
    this.sendSegment(pcb, seq, TcpFlag.ACK, n, nowMs);
    this.stats.txRetransmits++;
    pcb.retransmits++;
    const end = seqAdd(seq, n);
    if (seqGt(end, pcb.highRxt)) pcb.highRxt = end;
    return n;
  }

  /**
   * Payload bytes a data segment may carry now: the MSS less the SACK blocks it will carry. Like Linux, the
   * segment shrinks so that every data segment still reports our out-of-order data (RFC 2018 §4: SACK
   * blocks SHOULD go in every ACK while holes remain) — in a two-way transfer almost every ACK rides on data.
   */
  private segmentRoom(pcb: TcpPcb): number {
    if (!pcb.sackOn || pcb.assembler.isEmpty) return pcb.mssBytes;
    const blocks = Math.min(pcb.assembler.rangeCount, pcb.timestampsOn ? 3 : 4);
    return pcb.mssBytes - (4 + 8 * blocks);
  }

  /**
   * Payload bytes one send of new data may carry: `room` (one segment), or with a TSO device as many whole
   * segments of `room` bytes as fit a 64 KiB datagram, so the device cuts them exactly where per-segment
   * output would have (RFC 9293 §3.7.3: each still within the MSS).
   */
  private superRoom(pcb: TcpPcb, room: number): number {
    const offloads = this.ip.offloadsFor(pcb.remoteIp);
    if (!offloads.tso || !offloads.csum || room <= 0) return room;
    return Math.max(room, Math.floor(MAX_SUPER_PAYLOAD / room) * room);
  }

  /** Arms the delayed-ACK, retransmission and persist timers as the PCB's state requires. */
  private armTimers(pcb: TcpPcb, nowMs: number): void {
    const outstanding = pcb.sndMax !== pcb.sndUna;
    const unsent = seqDiff(pcb.sndDataEnd, pcb.sndNxt) > 0;
    if (outstanding) {
      if (!pcb.rtxDeadline.isArmed || pcb.persisting) {
        pcb.persisting = false;
        this.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
      }
    } else if (unsent) {
      // Nothing in flight yet data is held: the peer's window is zero, or too small for sender SWS
      // avoidance. RFC 9293 §3.8.6.1: probe a zero window so a lost window update cannot deadlock us;
      // §3.8.6.2.1 (4): on the same timer, override SWS avoidance and send what a small window allows
      // (otherwise a peer that keeps offering a sub-MSS window below half its largest would stall us forever).
      if (!pcb.rtxDeadline.isArmed) {
        pcb.persisting = true;
        this.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
      }
    } else if (pcb.rtxDeadline.isArmed && !unsent) {
      this.scheduler.cancel(pcb.rtxDeadline);
      pcb.persisting = false;
    }
  }

  /** SACK blocks for our out-of-order data, converted to sequence numbers (RFC 2018 §4). */
  private sackBlocks(pcb: TcpPcb, out: Uint32Array): number {
    const max = pcb.timestampsOn ? 3 : 4;
    const count = pcb.assembler.sackRanges(this.ranges, max);
    for (let i = 0; i < count; i++) {
      out[2 * i] = seqAdd(pcb.rcvNxt, this.ranges[2 * i] as number);
      out[2 * i + 1] = seqAdd(pcb.rcvNxt, this.ranges[2 * i + 1] as number);
    }
    return count;
  }
}
