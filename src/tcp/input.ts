// TCP input: the RFC 9293 §3.10.7 "SEGMENT ARRIVES" state machine for a segment that found a PCB, one
// branch per state, with RFC 5961's protections (challenge ACKs, RST and SYN checks) and RFC 7323 PAWS and
// timestamps; answering segments with no connection (CLOSED). ACK processing is tcp/ack's, data and FIN
// tcp/receive's, LISTEN tcp/listen's. Call order: TcpLayer.input (tcp/tcp) → pcbInput → ack / receive →
// events and output after the batch.

import { Err } from "../core/errors.js";
import { TcpFlag } from "./header.js";
import { ackOfSyn, processAck } from "./ack.js";
import type { TcpContext } from "./context.js";
import { listenInput, synReceivedAck } from "./listen.js";
import { negotiate } from "./negotiate.js";
import { PcbEvent, type TcpPcb } from "./pcb.js";
import { isAcceptable, processData, trimToWindow } from "./receive.js";
import type { TcpSegment } from "./segment.js";
import { seqAdd, seqDiff, seqGt, seqLeq, toSeq, tsLt } from "./seq.js";
import { TcpState, canReceiveData } from "./state.js";
import { startKeepAlive } from "./timers.js";

/** CLOSED (RFC 9293 §3.10.7.1): no connection, so answer with a reset unless the segment is one. */
export function resetForClosed(tcp: TcpContext, seg: TcpSegment): void {
  if (seg.has(TcpFlag.RST)) return;
  const out = tcp.output;
  if (seg.has(TcpFlag.ACK)) out.sendReset(seg.dst, seg.dstPort, seg.src, seg.srcPort, seg.ack, toSeq(0), false);
  else out.sendReset(seg.dst, seg.dstPort, seg.src, seg.srcPort, toSeq(0), seqAdd(seg.seq, seg.seqLength), true);
}

/** A segment for an existing PCB, in any state but LISTEN. */
export function pcbInput(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
  pcb.segmentsIn++;
  pcb.lastRecvMs = seg.nowMs;
  pcb.keepAliveProbes = 0;
  pcb.unansweredProbes = 0;
  switch (pcb.state) {
    case TcpState.SYN_SENT:
      synSentInput(tcp, pcb, seg);
      return;
    case TcpState.TIME_WAIT:
      timeWaitInput(tcp, pcb, seg);
      return;
    case TcpState.CLOSED:
      return;
    default:
      synchronizedInput(tcp, pcb, seg);
  }
}

/** RFC 9293 §3.10.7.3. */
function synSentInput(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
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
  negotiate(tcp, pcb, seg, false);
  pcb.sndWnd = seg.window;
  pcb.maxSndWnd = pcb.sndWnd;
  pcb.sndWl1 = seg.seq;
  pcb.sndWl2 = seg.ack;
  if (ackAcceptable) {
    ackOfSyn(tcp, pcb, seg);
    tcp.setState(pcb, TcpState.ESTABLISHED);
    tcp.stats.established++;
    pcb.pendingEvents |= PcbEvent.CONNECTED | PcbEvent.WRITABLE;
    pcb.ackNow = true;
    // RFC 9293 §3.10.7.3: the SYN occupies SEG.SEQ, so data on the SYN-ACK starts at SEG.SEQ+1 = RCV.NXT
    // (processData would otherwise place it one byte before RCV.NXT and the ring throws).
    seg.flags &= ~TcpFlag.SYN;
    seg.seq = seqAdd(seg.seq, 1);
    processData(tcp, pcb, seg);
    startKeepAlive(tcp, pcb, seg.nowMs);
  } else {
    // Simultaneous open (RFC 9293 §3.5 figure 7): answer with SYN-ACK from SYN-RECEIVED.
    tcp.setState(pcb, TcpState.SYN_RECEIVED);
    pcb.ackNow = true;
  }
}

/** RFC 9293 §3.10.7.4 for SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK. */
function synchronizedInput(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
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
  if (!isAcceptable(pcb, seg)) {
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
      processAck(tcp, pcb, seg);
    }
    return;
  }
  // RFC 7323 §4.3: remember the peer's timestamp if the segment covers Last.ACK.sent.
  if (pcb.timestampsOn && o.hasTimestamps && seqLeq(seg.seq, pcb.lastAckSent) && !tsLt(o.tsVal, pcb.tsRecent)) {
    pcb.tsRecent = o.tsVal;
  }
  trimToWindow(pcb, seg);
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
    if (!synReceivedAck(tcp, pcb, seg, windowUnscaled)) return;
  } else if (!processAck(tcp, pcb, seg)) {
    return;
  }
  // Sixth is URG: the urgent pointer is ignored; its data is ordinary inline data (RFC 6093 §6).
  // Seventh: segment text. RFC 1122 §4.2.2.13: new data for a connection the application has closed
  // (not merely shut down for writing) has no reader; reset so the peer learns it was lost (as Linux does).
  if (pcb.orphaned && seg.dataLength > 0 && canReceiveData(pcb.state)) {
    tcp.abort(pcb);
    return;
  }
  processData(tcp, pcb, seg);
}

/** TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191 for reuse, RFC 1337 against assassination). */
function timeWaitInput(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
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
      listenInput(tcp, l, seg);
      return;
    }
  }
  // A retransmitted FIN (our ACK was lost): ACK again and restart the 2·MSL timer.
  if (seg.has(TcpFlag.FIN)) tcp.scheduler.after(pcb.closeDeadline, 2 * tcp.config.mslMs);
  pcb.ackNow = true;
}
