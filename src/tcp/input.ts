// TCP input: the RFC 9293 §3.10.7 "SEGMENT ARRIVES" state machine, one branch per state, with RFC 5961's
// protections (challenge ACKs, ACK acceptability), RFC 7323 PAWS and timestamps, RFC 2018 SACK
// scoreboard updates, RFC 5681/6582/6675 loss detection, and the retransmission timeout (RFC 6298).
// Called by tcp/tcp for each segment; records what happened on the PCB, and tcp/tcp runs output after.

import { Err } from "../core/errors.js";
import type { IpRx } from "../ip/ip.js";
import { TcpFlag, type TcpOptions, type TcpView } from "./header.js";
import { PcbEvent, type TcpListener, type TcpPcb } from "./pcb.js";
import { seqAdd, seqDiff, seqGeq, seqGt, seqInWindow, seqLeq, seqLt, toSeq, type Seq } from "./seq.js";
import { TcpState, canReceiveData } from "./state.js";
import type { TcpContext } from "./context.js";
import { tsNow } from "./output.js";

/** RFC 9293 §3.7.1: the MSS assumed when a SYN carries none. */
const DEFAULT_MSS = 536;
/** RFC 5681 §3.2: duplicate ACKs that trigger fast retransmit. */
const DUP_THRESH = 3;
const TS_OPTION_BYTES = 12;
/**
 * After a listener last sent a SYN cookie, how long an ACK that decodes no cookie is dropped rather than
 * reset: long enough for a client's retransmission timeouts (Linux: 200 ms, doubling) to resend its first
 * segment a few times.
 */
export const COOKIE_GRACE_MS = 10_000;

/** The segment being processed: one object, refilled per segment (nothing allocated on input). */
export class TcpSegment {
  srcPort = 0;
  dstPort = 0;
  seq: Seq = toSeq(0);
  ack: Seq = toSeq(0);
  flags = 0;
  /** Raw (unscaled) window field. */
  window = 0;
  bytes: Uint8Array = new Uint8Array(0);
  dataOffset = 0;
  dataLength = 0;
  src = 0;
  dst = 0;
  /** For a super-frame (GRO/GSO input): payload bytes per segment it stands for; 0 for one segment. */
  gsoSize = 0;
  nowMs = 0;
  options!: TcpOptions;

  fill(view: TcpView, options: TcpOptions, rx: IpRx): void {
    this.srcPort = view.srcPort;
    this.dstPort = view.dstPort;
    this.seq = view.seq;
    this.ack = view.ack;
    this.flags = view.flags;
    this.window = view.window;
    this.bytes = view.bytes;
    this.dataOffset = view.payloadOffset;
    this.dataLength = view.payloadLength;
    this.src = rx.src;
    this.dst = rx.dst;
    this.gsoSize = rx.gsoSize;
    this.nowMs = rx.nowMs;
    this.options = options;
  }

  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** How many segments `bytes` of this segment's data stand for: more than one only in a super-frame. */
  segmentsIn(bytes: number): number {
    return this.gsoSize > 0 && bytes > this.gsoSize ? Math.ceil(bytes / this.gsoSize) : 1;
  }

  /** Sequence space the segment occupies: data plus SYN and FIN (RFC 9293 §3.4 SEG.LEN). */
  get seqLength(): number {
    return this.dataLength + (this.flags & TcpFlag.SYN ? 1 : 0) + (this.flags & TcpFlag.FIN ? 1 : 0);
  }
}

/** RFC 7323 §5.3: timestamp comparison modulo 2^32. */
function tsLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export class TcpInput {
  readonly segment = new TcpSegment();

  constructor(private readonly tcp: TcpContext) {}

  // ---------------- CLOSED (RFC 9293 §3.10.7.1) ----------------

  /** No connection: answer with a reset unless the segment is one. */
  resetForClosed(seg: TcpSegment): void {
    if (seg.has(TcpFlag.RST)) return;
    const out = this.tcp.output;
    if (seg.has(TcpFlag.ACK)) out.sendReset(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.ack, toSeq(0), false);
    else out.sendReset(seg.dst, seg.dstPort, seg.src, seg.srcPort, toSeq(0), seqAdd(seg.seq, seg.seqLength), true);
  }

  // ---------------- LISTEN (RFC 9293 §3.10.7.2) ----------------

  listenInput(l: TcpListener, seg: TcpSegment): void {
    const tcp = this.tcp;
    if (seg.has(TcpFlag.RST)) return;
    if (seg.has(TcpFlag.ACK)) {
      // Possibly the final ACK of a handshake answered with a SYN cookie (RFC 4987 §3.6).
      if (!seg.has(TcpFlag.SYN) && this.acceptCookie(l, seg)) return;
      // A cookie connection whose first ACK was lost (or dropped on the way in) goes on with segments whose
      // SEQ − 1 is no longer the client's ISN, so they cannot decode the cookie. Shortly after cookies went
      // out such an ACK is dropped silently: the client's retransmission of its first segment still decodes,
      // where a reset would kill a connection it already believes in. Otherwise RFC 9293 §3.10.7.2's reset.
      if (!seg.has(TcpFlag.SYN) && seg.nowMs - l.lastCookieMs < COOKIE_GRACE_MS) {
        tcp.stats.dropAckAfterCookies++;
        return;
      }
      tcp.output.sendReset(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.ack, toSeq(0), false);
      return;
    }
    if (!seg.has(TcpFlag.SYN)) return;
    if (l.acceptQueue.length >= l.backlog) {
      // Like Linux and lwIP: a full accept queue drops the SYN; the client retries.
      tcp.stats.listenOverflows++;
      return;
    }
    if (l.synQueueLength >= tcp.config.synBacklog) {
      // A cookie's ACK needs a PCB: with the table full (and no TIME-WAIT to recycle) that ACK would be
      // dropped, and the client would believe in a connection we never made. Drop the SYN; it retries.
      if (!tcp.hasRoom()) {
        tcp.stats.pcbLimit++;
        return;
      }
      this.sendCookie(l, seg);
      return;
    }
    // At the PCB limit no SYN-ACK goes out either: the SYN is dropped and counted (makeRoom: pcbLimit).
    if (!tcp.makeRoom()) return;
    const pcb = this.pcbFor(l, seg);
    pcb.listener = l;
    l.synQueueLength++;
    pcb.inSynQueue = true;
    pcb.iss = tcp.isn.next(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.nowMs);
    tcp.initSendSpace(pcb);
    pcb.irs = seg.seq;
    pcb.rcvNxt = seqAdd(seg.seq, 1);
    // Nothing offered yet; left at 0, rcvAdv would read as a huge window already offered whenever the
    // peer's ISN is above 2^31, and the SYN-ACK would announce 65535 whatever the ring holds.
    pcb.rcvAdv = pcb.rcvNxt;
    pcb.lastRecvMs = seg.nowMs;
    this.negotiate(pcb, seg, true);
    pcb.sndWnd = seg.window; // RFC 7323 §2.2: the window in a SYN is never scaled.
    pcb.maxSndWnd = pcb.sndWnd;
    pcb.sndWl1 = seg.seq;
    pcb.state = TcpState.SYN_RECEIVED;
    tcp.insert(pcb);
    tcp.stats.passiveOpens++;
    tcp.touch(pcb);
  }

  /** Applies the peer's SYN options (RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
  private negotiate(pcb: TcpPcb, seg: TcpSegment, passive: boolean): void {
    const o = seg.options;
    const cfg = this.tcp.config;
    pcb.peerMssBytes = o.mss > 0 ? o.mss : DEFAULT_MSS;
    // Window scaling needs both sides' option; a passive side offers it only when the peer did.
    const scale = o.windowScale >= 0 && cfg.windowScaling && (passive || pcb.windowScaleOn);
    pcb.windowScaleOn = scale;
    pcb.sndWndShift = scale ? o.windowScale : 0;
    if (!scale) pcb.rcvWndShift = 0;
    pcb.timestampsOn = o.hasTimestamps && cfg.timestamps && (passive || pcb.timestampsOn);
    if (pcb.timestampsOn) pcb.tsRecent = o.tsVal;
    pcb.sackOn = o.sackPermitted && cfg.sack && (passive || pcb.sackOn);
    const ourMss = this.tcp.interfaceMssBytes();
    pcb.mssBytes = Math.max(64, Math.min(pcb.peerMssBytes, ourMss) - (pcb.timestampsOn ? TS_OPTION_BYTES : 0));
  }

  /** A new PCB with the listener's options, addressed as the reply to `seg` (not yet inserted). */
  private pcbFor(l: TcpListener, seg: TcpSegment): TcpPcb {
    const pcb = this.tcp.newPcb(l.options);
    pcb.localIp = seg.dst;
    pcb.localPort = seg.dstPort;
    pcb.remoteIp = seg.src;
    pcb.remotePort = seg.srcPort;
    return pcb;
  }

  private sendCookie(l: TcpListener, seg: TcpSegment): void {
    const tcp = this.tcp;
    const mss = seg.options.mss > 0 ? seg.options.mss : DEFAULT_MSS;
    const cookie = tcp.cookies.encode(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.seq, mss, seg.nowMs);
    // A stateless SYN-ACK: a throwaway PCB carries the fields output needs, and is never inserted.
    const pcb = this.pcbFor(l, seg);
    pcb.iss = cookie;
    pcb.rcvNxt = seqAdd(seg.seq, 1);
    pcb.rcvAdv = pcb.rcvNxt; // nothing offered yet (see listenInput)
    pcb.rcvWndShift = 0;
    pcb.state = TcpState.SYN_RECEIVED;
    tcp.output.sendSegment(pcb, cookie, TcpFlag.SYN | TcpFlag.ACK, 0, seg.nowMs);
    tcp.releaseRings(pcb);
    l.lastCookieMs = seg.nowMs;
    tcp.stats.synCookiesSent++;
  }

  private acceptCookie(l: TcpListener, seg: TcpSegment): boolean {
    const tcp = this.tcp;
    const clientIsn = seqAdd(seg.seq, -1);
    const cookie = seqAdd(seg.ack, -1);
    const mss = tcp.cookies.decode(seg.dst, seg.dstPort, seg.src, seg.srcPort, clientIsn, cookie, seg.nowMs);
    if (mss === 0) {
      tcp.stats.synCookiesRejected++;
      return false;
    }
    const isQueueFull = l.acceptQueue.length >= l.backlog;
    if (!tcp.makeRoom()) return true;
    // Cookie mode keeps only the MSS (RFC 4987 §3.6): no window scaling, SACK or timestamps.
    const pcb = this.pcbFor(l, seg);
    pcb.iss = cookie;
    tcp.initSendSpace(pcb);
    pcb.irs = clientIsn;
    pcb.rcvNxt = seg.seq;
    // The right edge our cookie SYN-ACK offered (unscaled, at most 0xffff), not the peer's window.
    pcb.rcvAdv = seqAdd(seg.seq, Math.min(pcb.recvRing.free, 0xffff));
    pcb.rcvWndShift = 0;
    pcb.windowScaleOn = false;
    pcb.peerMssBytes = mss;
    pcb.mssBytes = Math.min(mss, tcp.interfaceMssBytes());
    pcb.lastRecvMs = seg.nowMs;
    pcb.listener = l;
    tcp.stats.synCookiesAccepted++;
    if (isQueueFull) {
      // Linux (tcp_abort_on_overflow = 0): with the accept queue full the ACK is dropped, not reset. But
      // a stateless connection could not be completed later: the client's next segment (more data, its FIN)
      // has another sequence number, which no longer decodes the cookie, and would draw a reset. The cookie
      // has proved the client, so keep it as what the ACK found: a SYN-RECEIVED PCB (outside the SYN queue,
      // bounded by the PCB limit) whose SYN-ACK was sent once; its retransmission or the client's next
      // segment completes it as any other dropped final ACK.
      tcp.stats.dropAcceptQueueFull++;
      pcb.sndNxt = seg.ack;
      pcb.sndMax = seg.ack;
      pcb.synCount = 1;
      pcb.state = TcpState.SYN_RECEIVED;
      tcp.insert(pcb);
      tcp.scheduler.set(pcb.rtxDeadline, seg.nowMs + pcb.rtt.currentRtoMs);
      return true;
    }
    pcb.sndUna = seg.ack;
    pcb.sndNxt = seg.ack;
    pcb.sndMax = seg.ack;
    pcb.sndWnd = seg.window;
    pcb.maxSndWnd = seg.window;
    pcb.sndWl1 = seg.seq;
    pcb.sndWl2 = seg.ack;
    pcb.state = TcpState.ESTABLISHED;
    pcb.cc.init(pcb.mssBytes, seg.nowMs);
    tcp.insert(pcb);
    l.acceptQueue.push(pcb);
    tcp.touchListener(l);
    tcp.stats.established++;
    this.processData(pcb, seg);
    tcp.touch(pcb);
    return true;
  }

  // ---------------- every other state ----------------

  pcbInput(pcb: TcpPcb, seg: TcpSegment): void {
    pcb.segmentsIn++;
    pcb.lastRecvMs = seg.nowMs;
    pcb.keepAliveProbes = 0;
    pcb.unansweredProbes = 0;
    switch (pcb.state) {
      case TcpState.SYN_SENT:
        this.synSentInput(pcb, seg);
        return;
      case TcpState.TIME_WAIT:
        this.timeWaitInput(pcb, seg);
        return;
      case TcpState.CLOSED:
        return;
      default:
        this.synchronizedInput(pcb, seg);
    }
  }

  /** RFC 9293 §3.10.7.3. */
  private synSentInput(pcb: TcpPcb, seg: TcpSegment): void {
    const tcp = this.tcp;
    let ackAcceptable = false;
    if (seg.has(TcpFlag.ACK)) {
      // First: an ACK outside (ISS, SND.NXT] is answered with a reset (unless it is one).
      if (seqLeq(seg.ack, pcb.iss) || seqGt(seg.ack, pcb.sndMax)) {
        if (!seg.has(TcpFlag.RST)) tcp.output.sendReset(pcb.localIp, pcb.localPort, pcb.remoteIp, pcb.remotePort, seg.ack, toSeq(0), false);
        return;
      }
      ackAcceptable = true;
    }
    if (seg.has(TcpFlag.RST)) {
      // Second: a reset is believed only if it acknowledges our SYN (RFC 5961 §3.2 keeps this rule).
      if (ackAcceptable) {
        tcp.stats.resetsReceived++;
        tcp.fail(pcb, Err.RST);
      }
      return;
    }
    if (!seg.has(TcpFlag.SYN)) return;
    // Fourth: the SYN.
    pcb.irs = seg.seq;
    pcb.rcvNxt = seqAdd(seg.seq, 1);
    // Our SYN offered its (never scaled, RFC 7323 §2.2) window from RCV.NXT on; without this the right edge
    // is whatever rcvAdv held (0), which for half of all peer ISNs reads as a huge window already offered.
    pcb.rcvAdv = seqAdd(pcb.rcvNxt, Math.min(pcb.recvRing.free, 0xffff));
    this.negotiate(pcb, seg, false);
    pcb.sndWnd = seg.window;
    pcb.maxSndWnd = pcb.sndWnd;
    pcb.sndWl1 = seg.seq;
    pcb.sndWl2 = seg.ack;
    if (ackAcceptable) {
      this.ackOfSyn(pcb, seg);
      tcp.setState(pcb, TcpState.ESTABLISHED);
      tcp.stats.established++;
      pcb.pendingEvents |= PcbEvent.CONNECTED | PcbEvent.WRITABLE;
      pcb.ackNow = true;
      // RFC 9293 §3.10.7.3: the SYN occupies SEG.SEQ, so data on the SYN-ACK starts at SEG.SEQ+1 = RCV.NXT
      // (processData would otherwise place it one byte before RCV.NXT and the ring throws).
      seg.flags &= ~TcpFlag.SYN;
      seg.seq = seqAdd(seg.seq, 1);
      this.processData(pcb, seg);
      this.startKeepAlive(pcb, seg.nowMs);
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 7): answer with SYN-ACK from SYN-RECEIVED.
      tcp.setState(pcb, TcpState.SYN_RECEIVED);
      pcb.ackNow = true;
    }
  }

  /** The peer acknowledged our SYN: RTT sample, congestion window, send space. */
  private ackOfSyn(pcb: TcpPcb, seg: TcpSegment): void {
    pcb.sndUna = seg.ack;
    if (seqLt(pcb.sndNxt, pcb.sndUna)) pcb.sndNxt = pcb.sndUna;
    const rttMs = this.takeRttSample(pcb, seg);
    pcb.rttStartMs = -1; // the SYN's timing is done, whichever way the sample was taken
    if (rttMs === null && pcb.rtt.backoffCount > 0 && !pcb.rtt.hasSample) {
      // RFC 6298 §5.7: the SYN (or SYN-ACK) timed out and no RTT was measured (Karn): data transmission
      // starts with RTO = 3 s, not with the SYN's backed-off value.
      pcb.rtt.backoffCount = 0;
      pcb.rtt.rtoMs = Math.max(pcb.rtt.rtoMs, 3000);
    }
    pcb.rtxCount = 0;
    this.tcp.scheduler.cancel(pcb.rtxDeadline);
    pcb.cc.init(pcb.mssBytes, seg.nowMs);
  }

  private startKeepAlive(pcb: TcpPcb, nowMs: number): void {
    if (pcb.keepAliveIdleMs > 0) this.tcp.scheduler.set(pcb.keepAliveDeadline, nowMs + pcb.keepAliveIdleMs);
  }

  /** RFC 9293 §3.10.7.4 for SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK. */
  private synchronizedInput(pcb: TcpPcb, seg: TcpSegment): void {
    const tcp = this.tcp;
    const o = seg.options;
    // RFC 9293 §3.5 figure 8, line 6: in a simultaneous open the peer's SYN-ACK reaches SYN-RECEIVED with
    // SEQ = IRS. Its only octet (the SYN) lies below RCV.NXT, so the acceptability test rejects it, and two
    // stacks would answer each other's SYN-ACKs forever. Like Linux (tcp_validate_incoming), take it as the
    // ACK of our SYN when it acknowledges exactly that: drop the old SYN and process the rest.
    let windowUnscaled = false;
    if (
      pcb.state === TcpState.SYN_RECEIVED &&
      pcb.listener === null &&
      seg.has(TcpFlag.SYN) &&
      seg.has(TcpFlag.ACK) &&
      seg.seq === pcb.irs &&
      seqGt(seg.ack, pcb.sndUna) &&
      seqLeq(seg.ack, pcb.sndMax)
    ) {
      seg.flags &= ~TcpFlag.SYN;
      seg.seq = seqAdd(seg.seq, 1);
      windowUnscaled = true; // RFC 7323 §2.2: a SYN's window field is never scaled
    }
    // RFC 7323 §5.3 R1: PAWS — an old timestamp means an old duplicate (resets are exempt).
    if (pcb.timestampsOn && o.hasTimestamps && !seg.has(TcpFlag.RST) && tsLt(o.tsVal, pcb.tsRecent)) {
      tcp.stats.dropPaws++;
      pcb.ackNow = true;
      return;
    }
    // First: sequence number acceptability (RFC 9293 §3.10.7.4, the four cases).
    if (!this.isAcceptable(pcb, seg)) {
      if (seg.has(TcpFlag.RST)) return;
      // A retransmitted SYN in SYN-RECEIVED gets our SYN-ACK again.
      if (pcb.state === TcpState.SYN_RECEIVED && seg.has(TcpFlag.SYN) && seg.seq === pcb.irs) {
        pcb.ackNow = true;
        return;
      }
      tcp.stats.dropOutOfWindow++;
      pcb.ackNow = true;
      // RFC 9293 §3.10.7.4: with a zero receive window "special allowance should be made to accept valid
      // ACKs" — otherwise a peer whose data we cannot take could never tell us what it received.
      if (seqDiff(pcb.rcvAdv, pcb.rcvNxt) <= 0 && seg.has(TcpFlag.ACK) && !seg.has(TcpFlag.SYN) && pcb.isSynchronized) {
        seg.dataLength = 0;
        seg.flags &= ~TcpFlag.FIN;
        this.processAck(pcb, seg);
      }
      return;
    }
    // RFC 7323 §4.3: remember the peer's timestamp if the segment covers Last.ACK.sent.
    if (pcb.timestampsOn && o.hasTimestamps && seqLeq(seg.seq, pcb.lastAckSent) && !tsLt(o.tsVal, pcb.tsRecent)) {
      pcb.tsRecent = o.tsVal;
    }
    this.trimToWindow(pcb, seg);
    // Second: RST (RFC 5961 §3.2: only an exact match resets; others in the window get a challenge ACK).
    if (seg.has(TcpFlag.RST)) {
      if (seg.seq !== pcb.rcvNxt) {
        if (tcp.takeChallengeToken(seg.nowMs)) pcb.ackNow = true;
        return;
      }
      tcp.stats.resetsReceived++;
      if (pcb.state === TcpState.SYN_RECEIVED && pcb.listener !== null) {
        // A passive open goes back to LISTEN: the listener never sees this connection.
        tcp.free(pcb);
        return;
      }
      const quiet = pcb.state === TcpState.CLOSING || pcb.state === TcpState.LAST_ACK || pcb.orphaned;
      if (quiet) tcp.free(pcb);
      else tcp.fail(pcb, Err.RST);
      return;
    }
    // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4.2).
    if (seg.has(TcpFlag.SYN)) {
      if (tcp.takeChallengeToken(seg.nowMs)) pcb.ackNow = true;
      return;
    }
    // Fifth: the ACK field.
    if (!seg.has(TcpFlag.ACK)) return;
    if (pcb.state === TcpState.SYN_RECEIVED) {
      if (seqLeq(seg.ack, pcb.sndUna) || seqGt(seg.ack, pcb.sndMax)) {
        tcp.output.sendReset(pcb.localIp, pcb.localPort, pcb.remoteIp, pcb.remotePort, seg.ack, toSeq(0), false);
        return;
      }
      const queuedFor = pcb.listener;
      if (queuedFor !== null && !queuedFor.closed && queuedFor.acceptQueue.length >= queuedFor.backlog) {
        // Linux (tcp_abort_on_overflow = 0, the default): an ACK that would complete the handshake while
        // the accept queue is full is dropped, data and all; the PCB stays in SYN-RECEIVED and its SYN-ACK
        // retransmission (or the client's next segment) completes the connection once the application has
        // accepted. A reset here would kill a connection the client already believes in.
        tcp.stats.dropAcceptQueueFull++;
        // The client proved its address with a valid ACK: this PCB is no longer half-open, so it leaves the
        // SYN queue (still bounded by the PCB limit). Left in, a slow acceptor would fill the SYN queue with
        // such PCBs and push new clients onto SYN cookies, whose connections cannot survive a dropped ACK
        // (a later segment's sequence number no longer decodes the cookie, and draws a reset).
        if (pcb.inSynQueue) {
          pcb.inSynQueue = false;
          queuedFor.synQueueLength--;
        }
        return;
      }
      this.ackOfSyn(pcb, seg);
      pcb.sndWnd = windowUnscaled ? seg.window : seg.window << pcb.sndWndShift;
      pcb.maxSndWnd = Math.max(pcb.maxSndWnd, pcb.sndWnd);
      pcb.sndWl1 = seg.seq;
      pcb.sndWl2 = seg.ack;
      tcp.setState(pcb, TcpState.ESTABLISHED);
      tcp.stats.established++;
      // RFC 9293 §3.10.4: a CLOSE in SYN-RECEIVED was queued "for processing after entering ESTABLISHED".
      if (pcb.finQueued) tcp.setState(pcb, TcpState.FIN_WAIT_1);
      this.startKeepAlive(pcb, seg.nowMs);
      const l = pcb.listener;
      if (l !== null) {
        if (pcb.inSynQueue) l.synQueueLength--;
        pcb.inSynQueue = false;
        // closeListener aborts its SYN-RECEIVED PCBs, so this is a guard, never the overflow path (above).
        if (l.closed) {
          pcb.listener = null;
          tcp.abort(pcb);
          return;
        }
        l.acceptQueue.push(pcb);
        tcp.touchListener(l);
      } else {
        pcb.pendingEvents |= PcbEvent.CONNECTED | PcbEvent.WRITABLE;
      }
    } else if (!this.processAck(pcb, seg)) {
      return;
    }
    // Sixth is URG: the urgent pointer is ignored; its data is ordinary inline data (RFC 6093 §6).
    // Seventh: segment text. RFC 1122 §4.2.2.13: new data for a connection the application has closed
    // (not merely shut down for writing) has no reader; reset so the peer learns it was lost (as Linux does).
    if (pcb.orphaned && seg.dataLength > 0 && canReceiveData(pcb.state)) {
      tcp.abort(pcb);
      return;
    }
    this.processData(pcb, seg);
  }

  /** RFC 9293 §3.10.7.4's acceptability table, against the window we advertised (right edge: see below). */
  private isAcceptable(pcb: TcpPcb, seg: TcpSegment): boolean {
    const wnd = Math.max(0, seqDiff(pcb.rcvAdv, pcb.rcvNxt));
    const len = seg.seqLength;
    // A zero-length segment may sit exactly at the right edge: Linux accepts RCV.NXT + RCV.WND (its
    // tcp_sequence) and its senders put pure ACKs there when their data overran the window
    // (tcp_acceptable_seq), so the RFC's strict "<" would drop every such ACK and deadlock the connection.
    if (len === 0) return seqInWindow(seg.seq, pcb.rcvNxt, wnd + 1);
    if (wnd === 0) return false;
    return seqInWindow(seg.seq, pcb.rcvNxt, wnd) || seqInWindow(seqAdd(seg.seq, len - 1), pcb.rcvNxt, wnd);
  }

  /** Cuts off what lies before RCV.NXT (already received) and beyond the window (RFC 9293 §3.10.7.4). */
  private trimToWindow(pcb: TcpPcb, seg: TcpSegment): void {
    let before = seqDiff(pcb.rcvNxt, seg.seq);
    if (before > 0) {
      if (seg.has(TcpFlag.SYN)) {
        seg.flags &= ~TcpFlag.SYN;
        before--;
        seg.seq = seqAdd(seg.seq, 1);
      }
      const cut = Math.min(before, seg.dataLength);
      seg.dataOffset += cut;
      seg.dataLength -= cut;
      seg.seq = seqAdd(seg.seq, cut);
      if (before > cut) seg.flags &= ~TcpFlag.FIN;
    }
    const wnd = Math.max(0, seqDiff(pcb.rcvAdv, pcb.rcvNxt));
    const room = wnd - seqDiff(seg.seq, pcb.rcvNxt);
    if (seg.dataLength > room) {
      seg.dataLength = Math.max(0, room);
      seg.flags &= ~TcpFlag.FIN;
    }
  }

  /** ACK processing in ESTABLISHED and the closing states. Returns false when the segment must be dropped. */
  private processAck(pcb: TcpPcb, seg: TcpSegment): boolean {
    const tcp = this.tcp;
    const ack = seg.ack;
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA − MAX.SND.WND, SND.NXT].
    if (seqGt(ack, pcb.sndMax)) {
      tcp.stats.dropBadAck++;
      pcb.ackNow = true;
      return false;
    }
    if (seqLt(ack, seqAdd(pcb.sndUna, -Math.max(pcb.maxSndWnd, 1)))) {
      tcp.stats.dropBadAck++;
      if (tcp.takeChallengeToken(seg.nowMs)) pcb.ackNow = true;
      return false;
    }
    const window = seg.window << pcb.sndWndShift;
    let sackedNew = false;
    if (pcb.sackOn && seg.options.sackCount > 0) {
      // The scoreboard wants this ACK's cumulative point: blocks at or below it carry nothing new.
      sackedNew = pcb.scoreboard.update(seqGt(ack, pcb.sndUna) ? ack : pcb.sndUna, pcb.sndMax, seg.options.sackBlocks, seg.options.sackCount);
    }
    if (seqGt(ack, pcb.sndUna)) {
      this.newAck(pcb, seg, ack);
    } else if (ack === pcb.sndUna) {
      // RFC 5681 §2 duplicate ACK: data outstanding, no data or SYN/FIN, same window. RFC 6675 §2 also counts
      // an ACK that SACKs new data even if it carries data or a new window — in a bidirectional transfer
      // (echo) nearly every ACK does, and without this only the retransmission timer repairs a loss.
      const isDup =
        pcb.sndMax !== pcb.sndUna &&
        (sackedNew || (seg.dataLength === 0 && !seg.has(TcpFlag.FIN) && window === pcb.sndWnd));
      if (isDup) this.dupAck(pcb, seg);
    }
    // Window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 guard against old segments).
    if (seqLt(pcb.sndWl1, seg.seq) || (pcb.sndWl1 === seg.seq && seqLeq(pcb.sndWl2, ack))) {
      const opened = window > pcb.sndWnd;
      pcb.sndWnd = window;
      pcb.maxSndWnd = Math.max(pcb.maxSndWnd, window);
      pcb.sndWl1 = seg.seq;
      pcb.sndWl2 = ack;
      if (opened && pcb.persisting) {
        pcb.persisting = false;
        tcp.scheduler.cancel(pcb.rtxDeadline);
      }
    }
    // Our FIN acknowledged?
    const finAcked = pcb.finQueued && seqGt(pcb.sndUna, pcb.sndDataEnd);
    switch (pcb.state) {
      case TcpState.FIN_WAIT_1:
        if (finAcked) tcp.setState(pcb, TcpState.FIN_WAIT_2);
        break;
      case TcpState.CLOSING:
        if (finAcked) tcp.setState(pcb, TcpState.TIME_WAIT);
        break;
      case TcpState.LAST_ACK:
        if (finAcked) {
          tcp.free(pcb);
          return false;
        }
        break;
      default:
        break;
    }
    return true;
  }

  /** SND.UNA advances: free acknowledged bytes, RTT, congestion control, timers (RFC 6298 §5.2–5.3). */
  private newAck(pcb: TcpPcb, seg: TcpSegment, ack: Seq): void {
    const tcp = this.tcp;
    const acked = seqDiff(ack, pcb.sndUna);
    const flightBefore = pcb.flightBytes;
    const ringAcked = Math.min(Math.max(0, seqDiff(ack, pcb.sndBufSeq)), pcb.sendRing.length);
    if (ringAcked > 0) {
      pcb.sendRing.discard(ringAcked);
      pcb.sndBufSeq = seqAdd(pcb.sndBufSeq, ringAcked);
      pcb.pendingEvents |= PcbEvent.WRITABLE;
    }
    pcb.sndUna = ack;
    if (seqLt(pcb.sndNxt, ack)) pcb.sndNxt = ack;
    if (seqLt(pcb.highRxt, ack)) pcb.highRxt = ack;
    pcb.scoreboard.advance(ack);
    const rttMs = this.takeRttSample(pcb, seg);
    pcb.rtxCount = 0;
    const mss = pcb.mssBytes;
    if (pcb.inRecovery) {
      if (seqGeq(ack, pcb.recoverSeq)) {
        // RFC 6582 §3.2 step 3: full acknowledgment ends recovery.
        pcb.inRecovery = false;
        pcb.inflationBytes = 0;
        pcb.dupAcks = 0;
        pcb.cc.onExitRecovery(pcb.flightBytes, mss, seg.nowMs);
      } else if (!pcb.sackOn) {
        // RFC 6582 §3.2 step 4: a partial ACK retransmits the next hole and deflates the window.
        tcp.output.retransmit(pcb, pcb.sndUna, seg.nowMs);
        pcb.inflationBytes = Math.max(0, pcb.inflationBytes - acked) + (acked >= mss ? mss : 0);
        tcp.scheduler.set(pcb.rtxDeadline, seg.nowMs + pcb.rtt.currentRtoMs);
      }
    } else {
      pcb.dupAcks = 0;
      pcb.cc.onAck(acked, mss, flightBefore, rttMs, seg.nowMs);
    }
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
    if (pcb.sndMax === pcb.sndUna) tcp.scheduler.cancel(pcb.rtxDeadline);
    else tcp.scheduler.set(pcb.rtxDeadline, seg.nowMs + pcb.rtt.currentRtoMs);
  }

  private dupAck(pcb: TcpPcb, seg: TcpSegment): void {
    const tcp = this.tcp;
    pcb.dupAcks++;
    const mss = pcb.mssBytes;
    if (pcb.inRecovery) {
      if (!pcb.sackOn) pcb.inflationBytes += mss; // RFC 5681 §3.2 step 4
      return;
    }
    const lost = pcb.dupAcks >= DUP_THRESH || (pcb.sackOn && pcb.scoreboard.isLost(pcb.sndUna, mss, DUP_THRESH));
    // RFC 6582 §3.2 step 2: no new recovery for duplicate ACKs of data sent before the last one began.
    if (!lost || seqLeq(seg.ack, pcb.recoverSeq) && pcb.recoverSeq !== pcb.iss && seqGt(pcb.recoverSeq, pcb.sndUna)) return;
    tcp.stats.fastRetransmits++;
    pcb.inRecovery = true;
    pcb.recoverSeq = pcb.sndMax;
    pcb.highRxt = pcb.sndUna;
    pcb.cc.onEnterRecovery(pcb.flightBytes, mss, seg.nowMs);
    pcb.rttStartMs = -1;
    // RFC 5681 §3.2 step 2; RFC 6675 §5 (4.3): the first segment presumed lost (HighACK+1) goes now, with
    // SACK too — output's RFC 6675 loop sends only while cwnd − pipe ≥ 1 SMSS, and with many segments still
    // counted in the pipe it would leave the loss for later duplicate ACKs, or the timer.
    tcp.output.retransmit(pcb, pcb.sndUna, seg.nowMs);
    if (pcb.sackOn) return; // output's RFC 6675 loop retransmits what NextSeg() picks next
    pcb.inflationBytes = DUP_THRESH * mss; // RFC 5681 §3.2 step 3
    tcp.scheduler.set(pcb.rtxDeadline, seg.nowMs + pcb.rtt.currentRtoMs);
  }

  /** RTT from the timestamp echo (RFC 7323 §4) or the one timed segment (RFC 6298 with Karn). */
  private takeRttSample(pcb: TcpPcb, seg: TcpSegment): number | null {
    let rtt: number | null = null;
    if (pcb.timestampsOn && seg.options.hasTimestamps && seg.options.tsEcr !== 0) {
      const d = (tsNow(pcb, seg.nowMs) - seg.options.tsEcr) | 0;
      if (d >= 0 && d < 600_000) rtt = d;
    } else if (pcb.rttStartMs >= 0 && seqGeq(seg.ack, pcb.rttSeq)) {
      rtt = seg.nowMs - pcb.rttStartMs;
      pcb.rttStartMs = -1;
    }
    if (rtt !== null) pcb.rtt.sample(rtt);
    return rtt;
  }

  /** Seventh and eighth steps: data into the receive ring (in order or via the assembler), then the FIN. */
  private processData(pcb: TcpPcb, seg: TcpSegment): void {
    const tcp = this.tcp;
    if (seg.dataLength > 0 && canReceiveData(pcb.state)) {
      const offset = seqDiff(seg.seq, pcb.rcvNxt);
      const fit = Math.min(seg.dataLength, pcb.recvRing.free - offset);
      if (fit <= 0) {
        tcp.stats.dropRecvFull++;
        pcb.ackNow = true;
      } else if (offset === 0) {
        const hadHoles = !pcb.assembler.isEmpty;
        pcb.recvRing.write(seg.bytes, seg.dataOffset, fit);
        const extra = pcb.assembler.advance(fit);
        if (extra > 0) pcb.recvRing.commit(extra);
        pcb.rcvNxt = seqAdd(pcb.rcvNxt, fit + extra);
        pcb.pendingEvents |= PcbEvent.READABLE;
        if (fit < seg.dataLength) seg.flags &= ~TcpFlag.FIN;
        // RFC 5681 §4.2: ACK at once when filling a gap; else at least every second full segment. A
        // super-frame counts as the segments it stands for, so it is ACKed at once as they would be.
        pcb.unackedSegments += seg.segmentsIn(fit);
        if (hadHoles || pcb.unackedSegments >= 2 || seg.has(TcpFlag.FIN)) pcb.ackNow = true;
        else if (!pcb.ackDeadline.isArmed) tcp.scheduler.set(pcb.ackDeadline, seg.nowMs + tcp.config.delayedAckMs);
      } else {
        // Out of order: keep it beyond the tail and ACK at once (a duplicate ACK with SACK, RFC 5681 §4.2).
        if (pcb.assembler.add(offset, offset + fit)) pcb.recvRing.writeAt(offset, seg.bytes, seg.dataOffset, fit);
        else {
          tcp.stats.dropOooFull++;
          pcb.oooDrops++;
        }
        if (seg.has(TcpFlag.FIN) && fit === seg.dataLength) pcb.rcvFinSeq = seqAdd(seg.seq, seg.dataLength);
        pcb.ackNow = true;
        return;
      }
    }
    if (seg.has(TcpFlag.FIN)) {
      if (seqAdd(seg.seq, seg.dataLength) === pcb.rcvNxt) this.finReceived(pcb);
      else if (seqGt(seg.seq, pcb.rcvNxt)) pcb.rcvFinSeq = seqAdd(seg.seq, seg.dataLength);
    } else if (pcb.rcvFinSeq !== null && pcb.rcvFinSeq === pcb.rcvNxt) {
      this.finReceived(pcb);
    }
  }

  /** Eighth step: the peer's FIN, in order (RFC 9293 §3.10.7.4). */
  private finReceived(pcb: TcpPcb): void {
    if (pcb.finReceived) {
      pcb.ackNow = true;
      return;
    }
    const tcp = this.tcp;
    pcb.finReceived = true;
    pcb.rcvFinSeq = null;
    pcb.rcvNxt = seqAdd(pcb.rcvNxt, 1);
    pcb.ackNow = true;
    pcb.pendingEvents |= PcbEvent.READABLE | PcbEvent.PEER_CLOSED;
    switch (pcb.state) {
      case TcpState.SYN_RECEIVED:
      case TcpState.ESTABLISHED:
        tcp.setState(pcb, TcpState.CLOSE_WAIT);
        break;
      case TcpState.FIN_WAIT_1:
        tcp.setState(pcb, pcb.finQueued && seqGt(pcb.sndUna, pcb.sndDataEnd) ? TcpState.TIME_WAIT : TcpState.CLOSING);
        break;
      case TcpState.FIN_WAIT_2:
        tcp.setState(pcb, TcpState.TIME_WAIT);
        break;
      default:
        break;
    }
  }

  /** TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191 for reuse, RFC 1337 against assassination). */
  private timeWaitInput(pcb: TcpPcb, seg: TcpSegment): void {
    const tcp = this.tcp;
    // RFC 1337: resets are ignored in TIME-WAIT.
    if (seg.has(TcpFlag.RST)) return;
    if (seg.has(TcpFlag.SYN) && !seg.has(TcpFlag.ACK)) {
      // RFC 6191 / RFC 9293 §3.10.7.4 note: a new SYN above the old sequence space (or with a newer
      // timestamp) may reopen the connection.
      const o = seg.options;
      const newer = pcb.timestampsOn && o.hasTimestamps ? tsLt(pcb.tsRecent, o.tsVal) : seqGt(seg.seq, pcb.rcvNxt);
      const l = tcp.listenerOn(pcb.localPort);
      if (newer && l !== null) {
        tcp.stats.timeWaitRecycled++;
        tcp.free(pcb);
        this.listenInput(l, seg);
        return;
      }
    }
    // A retransmitted FIN (our ACK was lost): ACK again and restart the 2·MSL timer.
    if (seg.has(TcpFlag.FIN)) tcp.scheduler.after(pcb.closeDeadline, 2 * tcp.config.mslMs);
    pcb.ackNow = true;
  }

  // ---------------- timers ----------------

  /** The retransmission (or persist) deadline fired (RFC 6298 §5.4–5.7, RFC 9293 §3.8.6.1). */
  onRetransmitTimeout(pcb: TcpPcb, nowMs: number): void {
    const tcp = this.tcp;
    const cfg = tcp.config;
    if (pcb.persisting) {
      if (pcb.sndWnd > 0) {
        // RFC 9293 §3.8.6.2.1 (4): an open window that sender SWS avoidance would not use; the override
        // timeout sends what fits (output arms the retransmission timer for it).
        pcb.persisting = false;
        tcp.output.sendWindowLimited(pcb, nowMs);
        return;
      }
      // RFC 1122 §4.2.2.17: probing goes on while the peer answers; a peer that answers none of
      // maxRetries probes is gone (Linux gives up the same way, after tcp_retries2).
      if (pcb.unansweredProbes >= tcp.config.maxRetries) {
        tcp.stats.timeouts++;
        tcp.fail(pcb, Err.TIMEOUT);
        return;
      }
      pcb.unansweredProbes++;
      tcp.output.sendProbe(pcb, nowMs);
      pcb.rtt.backoff();
      tcp.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
      return;
    }
    tcp.stats.rtoFired++;
    if (pcb.state === TcpState.SYN_SENT || pcb.state === TcpState.SYN_RECEIVED) {
      if (pcb.synCount > cfg.maxSynRetries) {
        tcp.stats.timeouts++;
        if (pcb.listener !== null || pcb.orphaned) tcp.free(pcb);
        else tcp.fail(pcb, Err.ABRT);
        return;
      }
      pcb.rtt.backoff();
      tcp.output.sendSyn(pcb, nowMs);
      return;
    }
    if (pcb.sndMax === pcb.sndUna) return;
    // RFC 1122 §4.2.2.17 (and §4.2.2.16 on shrinking): with the peer's window shrunk to zero over our data
    // in flight nothing can be retransmitted, so this expiry probes the window instead, and since a peer
    // that answers its probes may keep the window closed indefinitely it does not count towards maxRetries.
    const isWindowClosed = pcb.sndWnd === 0;
    // Fix (found by test/fuzz/tcp): a peer that shrank the window and then fell silent was probed for ever,
    // and a closed (orphaned) connection never went away. As in the persist branch above (RFC 1122
    // §4.2.2.17: probing goes on while the peer answers), probes count only until the peer sends anything
    // (pcbInput resets the count); maxRetries unanswered ones end the connection like a retransmission give-up.
    if (isWindowClosed) pcb.unansweredProbes++;
    else pcb.rtxCount++;
    if (pcb.rtxCount > cfg.maxRetries || pcb.unansweredProbes > cfg.maxRetries) {
      tcp.stats.timeouts++;
      if (pcb.orphaned) tcp.abort(pcb);
      else {
        // SND.MAX, not the rewound SND.NXT (see TcpLayer.abort).
        tcp.output.sendReset(pcb.localIp, pcb.localPort, pcb.remoteIp, pcb.remotePort, pcb.sndMax, pcb.rcvNxt, true);
        tcp.fail(pcb, Err.TIMEOUT);
      }
      return;
    }
    // RFC 6298 §5.5–5.6: back off, and retransmit from SND.UNA with a one-segment loss window (RFC 5681).
    pcb.rtt.backoff();
    pcb.cc.onRto(pcb.flightBytes, pcb.mssBytes, nowMs);
    pcb.inRecovery = false;
    pcb.inflationBytes = 0;
    pcb.dupAcks = 0;
    pcb.recoverSeq = pcb.sndMax; // RFC 6582 §4: no fast retransmit for data sent before the timeout
    pcb.scoreboard.clear();
    pcb.rttStartMs = -1;
    pcb.sndNxt = pcb.sndUna;
    pcb.highRxt = pcb.sndUna;
    tcp.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
    if (isWindowClosed) tcp.output.sendProbe(pcb, nowMs);
  }
}
