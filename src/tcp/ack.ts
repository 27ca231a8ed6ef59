// ACK processing for a synchronized connection (RFC 9293 §3.10.7.4 fifth step): RFC 5961 §5.2 ACK
// acceptability, freeing acknowledged send-ring bytes, RTT samples (RFC 7323 §4, RFC 6298 with Karn), the
// congestion-control upcalls, duplicate ACKs and the recovery point (RFC 5681 §3.2, RFC 6582 §3.2) with the
// connection's loss recovery (recovery/: NewReno, RFC 6675 SACK or RACK-TLP), window updates, and the
// FIN-acknowledged state moves. Call order: tcp/input → processAck / ackOfSyn → cc, recovery → (touched PCB) tcp/output.

import { TcpFlag } from "./header.js";
import type { TcpContext } from "./context.js";
import { tsNow } from "./output.js";
import { PcbEvent, type TcpPcb } from "./pcb.js";
import { lossRecovery, type AckSummary } from "./recovery/index.js";
import type { TcpSegment } from "./segment.js";
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt, toSeq, type Seq } from "./seq.js";
import { TcpState } from "./state.js";

/** What the recovery's onAck hook hears of one ACK; refilled per ACK (nothing allocated). */
const summary: AckSummary = {
  unaBefore: toSeq(0),
  ack: toSeq(0),
  blocks: new Uint32Array(0),
  count: 0,
  dsack: false,
  tsEcr: 0,
  carriesData: false,
};

/** The peer acknowledged our SYN: RTT sample, congestion window, send space. */
export function ackOfSyn(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
  pcb.sndUna = seg.ack;
  if (seqLt(pcb.sndNxt, pcb.sndUna)) pcb.sndNxt = pcb.sndUna;
  const rttMs = takeRttSample(pcb, seg);
  pcb.rttStartMs = -1; // the SYN's timing is done, whichever way the sample was taken
  if (rttMs === null && pcb.rtt.backoffCount > 0 && !pcb.rtt.hasSample) {
    // RFC 6298 §5.7: the SYN (or SYN-ACK) timed out and no RTT was measured (Karn): data transmission
    // starts with RTO = 3 s, not with the SYN's backed-off value.
    pcb.rtt.backoffCount = 0;
    pcb.rtt.rtoMs = Math.max(pcb.rtt.rtoMs, 3000);
  }
  pcb.rtxCount = 0;
  tcp.scheduler.cancel(pcb.rtxDeadline);
  pcb.cc.init(pcb.mssBytes, seg.nowMs);
}

/** ACK processing in ESTABLISHED and the closing states. Returns false when the segment must be dropped. */
export function processAck(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): boolean {
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
  const recovery = lossRecovery(pcb);
  const dsacksBefore = pcb.scoreboard.dsacks;
  const unaBefore = pcb.sndUna;
  let sackedNew = false;
  if (seg.options.sackCount > 0) {
    // The blocks are read against this ACK's cumulative point: those at or below it carry nothing new.
    sackedNew = recovery.updateSack(pcb, seqGt(ack, pcb.sndUna) ? ack : pcb.sndUna, seg.options.sackBlocks, seg.options.sackCount);
  }
  let isDup = false;
  if (seqGt(ack, pcb.sndUna)) {
    newAck(tcp, pcb, seg, ack);
  } else if (ack === pcb.sndUna) {
    // RFC 5681 §2 duplicate ACK: data outstanding, no data or SYN/FIN, same window. RFC 6675 §2 also counts
    // an ACK that SACKs new data even if it carries data or a new window — in a bidirectional transfer
    // (echo) nearly every ACK does, and without this only the retransmission timer repairs a loss.
    isDup =
      pcb.sndMax !== pcb.sndUna &&
      (sackedNew || (seg.dataLength === 0 && !seg.has(TcpFlag.FIN) && window === pcb.sndWnd));
    if (isDup) dupAck(tcp, pcb, seg);
  }
  if (recovery.onAck !== undefined) {
    // RACK-TLP (RFC 8985 §6.2): every ACK, not only duplicates, may show a segment lost.
    const a = summary;
    a.unaBefore = unaBefore;
    a.ack = pcb.sndUna;
    a.blocks = seg.options.sackBlocks;
    a.count = seg.options.sackCount;
    a.dsack = pcb.scoreboard.dsacks > dsacksBefore;
    a.tsEcr = seg.options.hasTimestamps ? seg.options.tsEcr : 0;
    a.carriesData = seg.dataLength > 0 || seg.has(TcpFlag.FIN);
    if (recovery.onAck(tcp.output, pcb, a, seg.nowMs) && !pcb.inRecovery) beginRecovery(tcp, pcb, seg.nowMs);
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
function newAck(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment, ack: Seq): void {
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
  const rttMs = takeRttSample(pcb, seg);
  pcb.rtxCount = 0;
  const mss = pcb.mssBytes;
  if (pcb.inRecovery) {
    if (seqGeq(ack, pcb.recoverSeq)) {
      // RFC 6582 §3.2 step 3: full acknowledgment ends recovery.
      pcb.inRecovery = false;
      lossRecovery(pcb).onExit(pcb);
      pcb.dupAcks = 0;
      pcb.cc.onExitRecovery(pcb.flightBytes, mss, seg.nowMs);
    } else {
      lossRecovery(pcb).onPartialAck(tcp.output, pcb, acked, seg.nowMs);
    }
  } else {
    pcb.dupAcks = 0;
    pcb.cc.onAck(acked, mss, flightBefore, rttMs, seg.nowMs);
  }
  // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
  if (pcb.sndMax === pcb.sndUna) tcp.scheduler.cancel(pcb.rtxDeadline);
  else tcp.scheduler.set(pcb.rtxDeadline, seg.nowMs + pcb.rtt.currentRtoMs);
}

/** A duplicate ACK (RFC 5681 §2): counted, and the third (or a SACK loss) starts fast retransmit. */
function dupAck(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
  pcb.dupAcks++;
  const mss = pcb.mssBytes;
  const recovery = lossRecovery(pcb);
  if (pcb.inRecovery) {
    recovery.onDupAck(pcb);
    return;
  }
  const lost = recovery.isLost(pcb);
  // RFC 6582 §3.2 step 2: no new recovery for duplicate ACKs of data sent before the last one began.
  if (!lost || seqLeq(seg.ack, pcb.recoverSeq) && pcb.recoverSeq !== pcb.iss && seqGt(pcb.recoverSeq, pcb.sndUna)) return;
  enterRecovery(tcp, pcb, mss, seg.nowMs);
  // RFC 5681 §3.2 step 2; RFC 6675 §5 (4.3): the first segment presumed lost (HighACK+1) goes now, with
  // SACK too — output's RFC 6675 loop sends only while cwnd − pipe ≥ 1 SMSS, and with many segments still
  // counted in the pipe it would leave the loss for later duplicate ACKs, or the timer.
  tcp.output.retransmit(pcb, pcb.sndUna, seg.nowMs);
  recovery.onEnter(tcp.output, pcb, seg.nowMs);
}

/** Fast recovery begins (RFC 5681 §3.2 step 2, RFC 6582's recovery point); counted as a fast retransmit. */
function enterRecovery(tcp: TcpContext, pcb: TcpPcb, mss: number, nowMs: number): void {
  tcp.stats.fastRetransmits++;
  pcb.inRecovery = true;
  pcb.recoverSeq = pcb.sndMax;
  pcb.highRxt = pcb.sndUna;
  pcb.cc.onEnterRecovery(pcb.flightBytes, mss, nowMs);
  pcb.rttStartMs = -1;
}

/**
 * Recovery begins because the loss recovery's own detection (RACK-TLP, from an ACK or its reorder timer)
 * found lost segments; its onEnter sends the first of them.
 */
export function beginRecovery(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
  enterRecovery(tcp, pcb, pcb.mssBytes, nowMs);
  lossRecovery(pcb).onEnter(tcp.output, pcb, nowMs);
}

/** RTT from the timestamp echo (RFC 7323 §4) or the one timed segment (RFC 6298 with Karn). */
function takeRttSample(pcb: TcpPcb, seg: TcpSegment): number | null {
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
