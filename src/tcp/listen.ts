// LISTEN (RFC 9293 §3.10.7.2): a SYN to a listener becomes a SYN-RECEIVED PCB in its SYN queue, or, with
// the SYN queue full, a stateless SYN cookie (RFC 4987 §3.6) whose returning ACK builds the connection; and
// SYN-RECEIVED's admission: the ACK that completes a handshake moves the PCB to its listener's accept queue.
// Call order: TcpLayer.input (tcp/tcp: no PCB, a listener on the port) → listenInput → tcp/output (via the
// touched PCB, or the cookie SYN-ACK at once); tcp/input → synReceivedAck. TIME-WAIT reuse enters here too.

import { TcpFlag } from "./header.js";
import { ackOfSyn } from "./ack.js";
import type { TcpContext } from "./context.js";
import { DEFAULT_MSS, negotiate } from "./negotiate.js";
import { PcbEvent, type TcpListener, type TcpPcb } from "./pcb.js";
import { processData } from "./receive.js";
import type { TcpSegment } from "./segment.js";
import { seqAdd, seqGt, seqLeq, toSeq } from "./seq.js";
import { TcpState } from "./state.js";
import { startKeepAlive } from "./timers.js";

/**
 * After a listener last sent a SYN cookie, how long an ACK that decodes no cookie is dropped rather than
 * reset: long enough for a client's retransmission timeouts (Linux: 200 ms, doubling) to resend its first
 * segment a few times.
 */
export const COOKIE_GRACE_MS = 10_000;

/** A segment for a listener: SYN, cookie ACK, or something to reset or ignore. */
export function listenInput(tcp: TcpContext, l: TcpListener, seg: TcpSegment): void {
  if (seg.has(TcpFlag.RST)) return;
  if (seg.has(TcpFlag.ACK)) {
    // Possibly the final ACK of a handshake answered with a SYN cookie (RFC 4987 §3.6).
    if (!seg.has(TcpFlag.SYN) && acceptCookie(tcp, l, seg)) return;
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
  // Every SYN a listener handles, whatever becomes of it (SYN-RECEIVED, cookie, or dropped): the flood rate.
  tcp.stats.synsReceived++;
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
    sendCookie(tcp, l, seg);
    return;
  }
  // At the PCB limit no SYN-ACK goes out either: the SYN is dropped and counted (makeRoom: pcbLimit).
  if (!tcp.makeRoom()) return;
  const pcb = pcbFor(tcp, l, seg);
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
  negotiate(tcp, pcb, seg, true);
  pcb.sndWnd = seg.window; // RFC 7323 §2.2: the window in a SYN is never scaled.
  pcb.maxSndWnd = pcb.sndWnd;
  pcb.sndWl1 = seg.seq;
  pcb.state = TcpState.SYN_RECEIVED;
  tcp.insert(pcb);
  tcp.stats.passiveOpens++;
  tcp.touch(pcb);
}

/** A new PCB with the listener's options, addressed as the reply to `seg` (not yet inserted). */
function pcbFor(tcp: TcpContext, l: TcpListener, seg: TcpSegment): TcpPcb {
  const pcb = tcp.newPcb(l.options);
  pcb.localIp = seg.dst;
  pcb.localPort = seg.dstPort;
  pcb.remoteIp = seg.src;
  pcb.remotePort = seg.srcPort;
  return pcb;
}

/**
 * The window a cookie SYN-ACK offers: the listener's receive buffer, at most what the unscaled field can say
 * (RFC 7323 §2.2: no scaling applies to a SYN-ACK's window, and cookie connections run without it). The
 * returning ACK's PCB starts from the same edge (acceptCookie), so it never shrinks this offer (RFC 9293
 * §3.8.6: the right edge must not move left).
 */
export function cookieWindow(l: TcpListener): number {
  return Math.min(l.options.recvBufferBytes, 0xffff);
}

/** A SYN beyond the SYN queue: a stateless SYN-ACK whose ISS is the cookie (RFC 4987 §3.6); nothing is kept. */
function sendCookie(tcp: TcpContext, l: TcpListener, seg: TcpSegment): void {
  const mss = seg.options.mss > 0 ? seg.options.mss : DEFAULT_MSS;
  const cookie = tcp.cookies.encode(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.seq, mss, seg.nowMs);
  tcp.output.sendStatelessSynAck(seg.dst, seg.dstPort, seg.src, seg.srcPort, cookie, seg.seq, cookieWindow(l));
  l.lastCookieMs = seg.nowMs;
  tcp.stats.synCookiesSent++;
}

/** The MSS the cookie that `seg` acknowledges carries (its ACK is our ISS + 1, its SEQ the client's ISN + 1); 0: no valid cookie. */
function cookieMss(tcp: TcpContext, seg: TcpSegment): number {
  return tcp.cookies.decode(seg.dst, seg.dstPort, seg.src, seg.srcPort, seqAdd(seg.seq, -1), seqAdd(seg.ack, -1), seg.nowMs);
}

/** Whether `seg` (for a SYN-RECEIVED `pcb`, from the same client SYN) acknowledges a valid cookie instead. */
function isCookieAckFor(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): boolean {
  if (seqAdd(seg.seq, -1) !== pcb.irs || seg.has(TcpFlag.SYN) || seg.has(TcpFlag.RST)) return false;
  return cookieMss(tcp, seg) !== 0;
}

function acceptCookie(tcp: TcpContext, l: TcpListener, seg: TcpSegment): boolean {
  const clientIsn = seqAdd(seg.seq, -1);
  const cookie = seqAdd(seg.ack, -1);
  const mss = cookieMss(tcp, seg);
  if (mss === 0) {
    tcp.stats.synCookiesRejected++;
    return false;
  }
  const isQueueFull = l.acceptQueue.length >= l.backlog;
  if (!tcp.makeRoom()) return true;
  // Cookie mode keeps only the MSS (RFC 4987 §3.6): no window scaling, SACK or timestamps.
  const pcb = pcbFor(tcp, l, seg);
  pcb.iss = cookie;
  tcp.initSendSpace(pcb);
  pcb.irs = clientIsn;
  pcb.rcvNxt = seg.seq;
  // The right edge our cookie SYN-ACK offered (cookieWindow), not the peer's window: the ring is at least
  // that large, so the PCB keeps the offer and opens further only as output's window rules allow.
  pcb.rcvAdv = seqAdd(seg.seq, cookieWindow(l));
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
    // segment completes it, as for every other dropped final ACK.
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
  processData(tcp, pcb, seg);
  tcp.touch(pcb);
  return true;
}

/**
 * The ACK field in SYN-RECEIVED (RFC 9293 §3.10.7.4, fifth step): an ACK of our SYN completes the handshake.
 * A passive open then joins its listener's accept queue; a simultaneous open tells its owner it is connected.
 * `windowUnscaled`: the segment was a SYN-ACK, whose window field is never scaled (RFC 7323 §2.2). Returns
 * false when the segment must be dropped.
 */
export function synReceivedAck(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment, windowUnscaled: boolean): boolean {
  if (seqLeq(seg.ack, pcb.sndUna) || seqGt(seg.ack, pcb.sndMax)) {
    const l = pcb.listener;
    if (l !== null && !l.closed && isCookieAckFor(tcp, pcb, seg)) {
      // The client took an earlier SYN-ACK of ours, a cookie sent while the SYN queue was full, and this
      // PCB answered its retransmitted SYN once there was room: the client is synchronized on the cookie's
      // numbers, so the cookie wins. A reset here would kill a connection the client believes in.
      tcp.stats.synCookiesOverSynReceived++;
      tcp.free(pcb);
      listenInput(tcp, l, seg);
      return false;
    }
    tcp.output.sendReset(pcb.localIp, pcb.localPort, pcb.remoteIp, pcb.remotePort, seg.ack, toSeq(0), false);
    return false;
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
    return false;
  }
  ackOfSyn(tcp, pcb, seg);
  pcb.sndWnd = windowUnscaled ? seg.window : seg.window << pcb.sndWndShift;
  pcb.maxSndWnd = Math.max(pcb.maxSndWnd, pcb.sndWnd);
  pcb.sndWl1 = seg.seq;
  pcb.sndWl2 = seg.ack;
  tcp.setState(pcb, TcpState.ESTABLISHED);
  tcp.stats.established++;
  // RFC 9293 §3.10.4: a CLOSE in SYN-RECEIVED was queued "for processing after entering ESTABLISHED".
  if (pcb.finQueued) tcp.setState(pcb, TcpState.FIN_WAIT_1);
  startKeepAlive(tcp, pcb, seg.nowMs);
  const l = pcb.listener;
  if (l !== null) {
    if (pcb.inSynQueue) l.synQueueLength--;
    pcb.inSynQueue = false;
    // closeListener aborts its SYN-RECEIVED PCBs, so this is a guard, never the overflow path (above).
    if (l.closed) {
      pcb.listener = null;
      tcp.abort(pcb);
      return false;
    }
    l.acceptQueue.push(pcb);
    tcp.touchListener(l);
  } else {
    pcb.pendingEvents |= PcbEvent.CONNECTED | PcbEvent.WRITABLE;
  }
  return true;
}
