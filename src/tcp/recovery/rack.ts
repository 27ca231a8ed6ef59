// RACK-TLP loss recovery (RFC 8985) for connections with SACK: a segment is lost when one sent after it has
// been delivered and a reordering window has passed (RACK, §6), so lost retransmissions are found like any
// other loss; a probe one PTO after the last send (TLP, §7) draws the ACK that lets RACK see a tail loss
// instead of waiting for the RTO. Recovery itself sends as RFC 6675 does, while cwnd − pipe ≥ 1 SMSS, the
// segments RACK marked lost first, then new data. State: pcb.rack (./rackState.ts), whose send log
// tcp/output feeds (rackOnSend). Call order: tcp/ack → updateSack, onAck (delivery, loss detection, timers);
// tcp/timers → onTimer (reorder timer, probe), preemptRto, onRto; tcp/output → output(), afterOutput (arms
// the probe).

import type { TcpPcb } from "../pcb.js";
import { DUP_THRESH } from "../sack.js";
import { seqDiff, seqGeq, seqGt, seqLeq, seqLt, toSeq, type Seq } from "../seq.js";
import { TxFlag } from "../txlog.js";
import { RackTimer, REO_WND_PERSIST, type RackState } from "./rackState.js";
import type { AckSummary, LossRecovery, RecoveryTx } from "./recovery.js";

/** RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK time added to a one-segment flight's PTO. */
export const WC_DEL_ACK_MS = 200;
/** RFC 8985 §7.2: the PTO before any RTT sample. */
const PTO_WITHOUT_SRTT_MS = 1000;
/**
 * Floor on 2·SRTT, as Linux's tcp_schedule_loss_probe (10 ms): on a TAP or LAN hop SRTT is tens of µs, and
 * a PTO that short fires on host scheduling jitter, each spurious probe costing a retransmission and, with
 * no D-SACK to clear it, a window reduction (§7.4).
 */
export const PTO_MIN_MS = 10;

/** RFC 8985 §6.2 RACK_sent_after(): t1/s1 was sent after t2/s2. */
function sentAfter(t1: number, s1: Seq, t2: number, s2: Seq): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(s1, s2));
}

/** The TSval a segment sent at `ms` carried (tcp/output's clock: RFC 7323 §5.4 1 ms ticks plus the offset). */
function tsValAt(pcb: TcpPcb, ms: number): number {
  return (Math.floor(ms) + pcb.tsOffset) >>> 0;
}

/** RFC 8985 §6.2 steps 1–2 for record i, newly delivered (cumulatively or selectively). */
function delivered(r: RackState, pcb: TcpPcb, i: number, tsEcr: number, hadFack: boolean, fackBefore: Seq, nowMs: number): void {
  const log = r.log;
  const flags = log.flags(i);
  const xmitMs = log.time(i);
  const end = log.end(i);
  const retransmitted = (flags & TxFlag.RETRANS) !== 0;
  // Step 2: a never-retransmitted segment delivered below what was already delivered arrived out of order.
  if (hadFack && seqLt(end, fackBefore) && !retransmitted) r.reorderingSeen = true;
  if (!r.hasFack || seqGt(end, r.fack)) {
    r.fack = end;
    r.hasFack = true;
  }
  // Step 1 (RACK_update): an ACK for a retransmitted segment may answer the original transmission.
  const rttMs = nowMs - xmitMs;
  if (retransmitted) {
    if (pcb.timestampsOn && tsEcr !== 0 && ((tsEcr - tsValAt(pcb, xmitMs)) | 0) < 0) return;
    if (rttMs < r.minRttMs) return;
  }
  if (rttMs < r.minRttMs) r.minRttMs = rttMs;
  if (r.xmitMs < 0 || sentAfter(xmitMs, end, r.xmitMs, r.endSeq)) {
    r.xmitMs = xmitMs;
    r.endSeq = end;
    r.rttMs = rttMs;
  }
}

/** Marks the records inside the SACK block [left, right) delivered, splitting one the block cuts. */
function markSacked(r: RackState, pcb: TcpPcb, left: Seq, right: Seq, tsEcr: number, hadFack: boolean, fackBefore: Seq, nowMs: number): void {
  const log = r.log;
  let i = log.indexOf(left);
  if (i < 0) return;
  if (seqLt(log.start(i), left)) {
    log.split(i, left);
    i++; // the part below the block, or (log full) the record the block only cuts: neither is SACKed
  }
  for (; i < log.length && seqLt(log.start(i), right); i++) {
    if (seqLt(right, log.end(i)) && !log.split(i, right)) break;
    const flags = log.flags(i);
    if ((flags & TxFlag.SACKED) !== 0) continue;
    delivered(r, pcb, i, tsEcr, hadFack, fackBefore, nowMs);
    log.setFlags(i, (flags | TxFlag.SACKED) & ~TxFlag.LOST);
  }
}

/** RFC 8985 §6.2 step 4, RACK_update_reo_wnd(): the reordering window in ms. */
function reoWndMs(r: RackState, pcb: TcpPcb, dsack: boolean): number {
  if (r.dsackRoundOn && seqGeq(pcb.sndUna, r.dsackRound)) r.dsackRoundOn = false;
  if (!r.dsackRoundOn && dsack) {
    // A D-SACK says a retransmission was spurious: widen the window, once per round trip.
    r.dsackRoundOn = true;
    r.dsackRound = pcb.sndMax;
    r.reoWndMult++;
    r.reoWndPersist = REO_WND_PERSIST;
  }
  if (!r.reorderingSeen) {
    // No reordering seen: in recovery, or with DupThresh segments SACKed, a hole is lost at once (§6.2).
    if (pcb.inRecovery || r.inRtoRecovery) return 0;
    if (r.log.sackedCount >= DUP_THRESH) return 0;
  }
  const srttMs = pcb.rtt.hasSample ? pcb.rtt.srttMs : r.rttMs;
  const minRttMs = Number.isFinite(r.minRttMs) ? r.minRttMs : srttMs;
  return Math.min((r.reoWndMult * minRttMs) / 4, srttMs);
}

/**
 * RFC 8985 §6.2 step 5 and §6.3, RACK_detect_loss_and_arm_timer(): marks lost every segment sent before the
 * most recently delivered one whose time plus RACK.rtt plus the reordering window has passed, and arms the
 * reorder timer for the earliest of the others. Returns whether a lost segment awaits retransmission (one
 * newly marked; or, outside RTO recovery, any — left over from an earlier recovery).
 */
function detectLoss(tx: RecoveryTx, pcb: TcpPcb, r: RackState, dsack: boolean, nowMs: number): boolean {
  const log = r.log;
  let timeoutMs = 0;
  let newlyLost = false;
  let anyLost = false;
  if (r.xmitMs >= 0) {
    const reoMs = reoWndMs(r, pcb, dsack);
    for (let i = 0; i < log.length; i++) {
      const flags = log.flags(i);
      if ((flags & TxFlag.SACKED) !== 0) continue;
      if ((flags & TxFlag.LOST) !== 0) {
        anyLost = true;
        continue;
      }
      // The log is in sequence order, not transmission order: a later record may be an older transmission
      // only if something was retransmitted (TxLog.retransCount); otherwise the rest were sent later too.
      if (!sentAfter(r.xmitMs, r.endSeq, log.time(i), log.end(i))) {
        if (log.retransCount === 0) break;
        continue;
      }
      const remainingMs = log.time(i) + r.rttMs + reoMs - nowMs;
      if (remainingMs <= 0) {
        log.setFlags(i, (flags | TxFlag.LOST) & ~TxFlag.RETRANS);
        r.counters.rackLost++;
        newlyLost = true;
      } else if (remainingMs > timeoutMs) {
        timeoutMs = remainingMs;
      }
    }
  }
  if (timeoutMs > 0) {
    r.timer = RackTimer.REORDER;
    tx.setRecoveryTimer(pcb, nowMs + timeoutMs);
  } else if (r.timer === RackTimer.REORDER) {
    r.timer = RackTimer.NONE;
    tx.cancelRecoveryTimer(pcb);
    r.rearmProbe = true;
  }
  return newlyLost || (anyLost && !r.inRtoRecovery);
}

/**
 * RFC 8985 §7.4, TLP_process_ack(): was the probe's retransmission the repair of a loss? Then congestion
 * control reacts as to a loss (as Linux: ack beyond the probe without a D-SACK for it). A pure duplicate
 * ACK at the probe's end means the original and the probe both arrived.
 */
function tlpProcessAck(r: RackState, pcb: TcpPcb, a: AckSummary, nowMs: number): void {
  if (!r.tlpOn || seqLt(a.ack, r.tlpEndSeq)) return;
  if (!r.tlpIsRetrans || a.dsack) {
    r.tlpOn = false;
    return;
  }
  if (seqGt(a.ack, r.tlpEndSeq)) {
    r.tlpOn = false;
    r.counters.tlpRepairs++;
    if (!pcb.inRecovery) pcb.cc.onEnterRecovery(pcb.flightBytes, pcb.mssBytes, nowMs);
    return;
  }
  // A bare ACK that moves nothing (a duplicate even when nothing else is outstanding): the probe's echo.
  if (a.ack === a.unaBefore && a.count === 0 && !a.carriesData) r.tlpOn = false;
}

/** Index of the first record at or after `from` that is LOST, or -1. */
function nextLost(r: RackState, from: number): number {
  const log = r.log;
  for (let i = from; i < log.length; i++) if ((log.flags(i) & TxFlag.LOST) !== 0) return i;
  return -1;
}

/** Retransmits LOST record i; whether it went (it is no longer LOST). */
function retransmitRecord(tx: RecoveryTx, pcb: TcpPcb, r: RackState, i: number, nowMs: number): boolean {
  const log = r.log;
  tx.retransmitRange(pcb, log.start(i), seqDiff(log.end(i), log.start(i)), nowMs);
  return (log.flags(i) & TxFlag.LOST) === 0;
}

/** RFC 6675 §4 pipe with RACK's marks: outstanding bytes neither SACKed nor deemed lost. */
function pipeBytes(r: RackState): number {
  const log = r.log;
  let pipe = 0;
  for (let i = 0; i < log.length; i++) {
    if ((log.flags(i) & (TxFlag.SACKED | TxFlag.LOST)) === 0) pipe += seqDiff(log.end(i), log.start(i));
  }
  return pipe;
}

/** RFC 8985 §7.3 TLP_send_probe(): new data if the window allows, else the last segment again. */
function sendProbe(tx: RecoveryTx, pcb: TcpPcb, r: RackState, nowMs: number): boolean {
  // Not while SND.NXT is rewound (a lowered path MTU resends from SND.UNA): new data would skip the rest.
  if (pcb.inRecovery || r.inRtoRecovery || r.tlpOn || pcb.sndMax === pcb.sndUna || seqLt(pcb.sndNxt, pcb.sndMax)) return false;
  if (tx.sendNewSegment(pcb, nowMs) > 0) {
    r.tlpIsRetrans = false;
  } else {
    const last = r.log.length - 1;
    if (last < 0) return false;
    tx.retransmitRange(pcb, r.log.start(last), seqDiff(r.log.end(last), r.log.start(last)), nowMs);
    r.tlpIsRetrans = true;
  }
  r.tlpOn = true;
  r.tlpEndSeq = pcb.sndMax;
  r.counters.tlpProbes++;
  // §7.3: after a probe the RTO timer, not another PTO, guards the flight (cwnd is left as it is).
  tx.restartRetransmitTimer(pcb, nowMs);
  return true;
}

/** tcp/output, for every segment carrying data or a FIN: the send log records it (RFC 8985 §5.2). */
export function rackOnSend(pcb: TcpPcb, seq: Seq, end: Seq, pieceBytes: number, nowMs: number): void {
  const r = pcb.rack;
  if (r === null) return;
  // New data (re)starts the probe timer (§7.2); SND.MAX has not moved for this segment yet.
  if (seqGt(end, pcb.sndMax)) r.rearmProbe = true;
  r.log.onSend(seq, end, pieceBytes, nowMs);
}

export const RACK_RECOVERY: LossRecovery = {
  name: "rack",

  updateSack(pcb: TcpPcb, cumAck: Seq, blocks: Uint32Array, count: number): boolean {
    // The scoreboard still counts the ACK as a duplicate (RFC 6675 §2) and serves the debugging view.
    return pcb.scoreboard.update(cumAck, pcb.sndMax, blocks, count);
  },

  isLost(_pcb: TcpPcb): boolean {
    return false; // RACK decides by time, in onAck
  },

  onEnter(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void {
    // As RFC 6675 §5 (4.3): the first lost segment goes now, whatever the pipe says.
    const r = pcb.rack;
    if (r === null) return;
    const i = nextLost(r, 0);
    if (i >= 0) retransmitRecord(tx, pcb, r, i, nowMs);
  },

  onDupAck(_pcb: TcpPcb): void {
    // SACK blocks and RACK's marks shrink the pipe: no window inflation.
  },

  onPartialAck(_tx: RecoveryTx, _pcb: TcpPcb, _ackedBytes: number, _nowMs: number): void {
    // onAck, which follows, detects what is lost; output() retransmits it.
  },

  onExit(pcb: TcpPcb): void {
    // RFC 8985 §6.2 step 4: after 16 recoveries without a D-SACK the reordering window is back to min_RTT/4.
    const r = pcb.rack;
    if (r === null) return;
    if (--r.reoWndPersist <= 0) {
      r.reoWndMult = 1;
      r.reoWndPersist = REO_WND_PERSIST;
    }
  },

  output(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean {
    const r = pcb.rack;
    if (r === null) return tx.sendNewData(pcb, nowMs);
    const mss = pcb.mssBytes;
    let pipe = pipeBytes(r);
    let sent = false;
    let i = 0;
    for (let guard = 0; guard < 10_000 && pcb.cc.cwndBytes - pipe >= mss; guard++) {
      i = nextLost(r, i);
      if (i >= 0) {
        if (!retransmitRecord(tx, pcb, r, i, nowMs)) break;
        pipe += seqDiff(r.log.end(i), r.log.start(i));
        sent = true;
        i++;
        continue;
      }
      const length = tx.sendNewSegment(pcb, nowMs);
      if (length <= 0) break;
      pipe += length;
      sent = true;
      i = r.log.length;
    }
    return sent;
  },

  onAck(tx: RecoveryTx, pcb: TcpPcb, a: AckSummary, nowMs: number): boolean {
    const r = pcb.rack;
    if (r === null) return false;
    const log = r.log;
    const hadFack = r.hasFack;
    const fackBefore = r.fack;
    if (seqGt(a.ack, a.unaBefore)) {
      for (let i = 0; i < log.length && seqLeq(log.end(i), a.ack); i++) {
        if ((log.flags(i) & TxFlag.SACKED) === 0) delivered(r, pcb, i, a.tsEcr, hadFack, fackBefore, nowMs);
      }
      log.dropBelow(a.ack);
      r.rearmProbe = true;
      if (r.inRtoRecovery && seqGeq(a.ack, r.rtoRecoverySeq)) r.inRtoRecovery = false;
    }
    const n = Math.min(a.count, a.blocks.length >>> 1);
    for (let b = a.dsack ? 1 : 0; b < n; b++) {
      let left = toSeq(a.blocks[2 * b] ?? 0);
      const right = toSeq(a.blocks[2 * b + 1] ?? 0);
      if (!seqLt(a.ack, right) || !seqLeq(right, pcb.sndMax)) continue;
      if (seqLt(left, a.ack)) left = a.ack;
      markSacked(r, pcb, left, right, a.tsEcr, hadFack, fackBefore, nowMs);
    }
    tlpProcessAck(r, pcb, a, nowMs);
    return detectLoss(tx, pcb, r, a.dsack, nowMs);
  },

  onTimer(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean {
    const r = pcb.rack;
    if (r === null) return false;
    const timer = r.timer;
    r.timer = RackTimer.NONE;
    if (timer === RackTimer.REORDER) {
      r.counters.rackReorderTimeouts++;
      r.rearmProbe = true;
      return detectLoss(tx, pcb, r, false, nowMs);
    }
    if (timer === RackTimer.PROBE) sendProbe(tx, pcb, r, nowMs);
    return false;
  },

  preemptRto(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean {
    // The probe and the RTO share one timer in RFC 8985 §7.2 (PTO ≤ the RTO's expiry): a probe due now
    // goes instead of the timeout.
    const r = pcb.rack;
    if (r === null || r.timer !== RackTimer.PROBE || pcb.recoveryDeadline.at > nowMs) return false;
    r.timer = RackTimer.NONE;
    tx.cancelRecoveryTimer(pcb);
    return sendProbe(tx, pcb, r, nowMs);
  },

  onRto(tx: RecoveryTx, pcb: TcpPcb, _nowMs: number): void {
    // RFC 8985 §6.3: after an RTO every segment not SACKed is lost; what goes again is output's business
    // (tcp/timers rewound SND.NXT). Probing waits until the RTO recovery is over.
    const r = pcb.rack;
    if (r === null) return;
    tx.cancelRecoveryTimer(pcb);
    r.timer = RackTimer.NONE;
    r.tlpOn = false;
    r.inRtoRecovery = true;
    r.rtoRecoverySeq = pcb.sndMax;
    const log = r.log;
    for (let i = 0; i < log.length; i++) {
      const flags = log.flags(i);
      if ((flags & TxFlag.SACKED) === 0) log.setFlags(i, (flags | TxFlag.LOST) & ~TxFlag.RETRANS);
    }
  },

  afterOutput(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void {
    // RFC 8985 §7.2: (re)arm the PTO after new data or an ACK that advanced SND.UNA, outside recovery, with
    // no probe in flight and the reorder timer not pending: PTO = 2·SRTT (at least PTO_MIN_MS; + WCDelAckT
    // for a one-segment flight), never later than the RTO would fire.
    const r = pcb.rack;
    if (r === null || r.timer === RackTimer.REORDER || !r.rearmProbe) return;
    r.rearmProbe = false;
    if (pcb.inRecovery || r.inRtoRecovery || r.tlpOn || pcb.sndMax === pcb.sndUna || pcb.persisting || !pcb.rtxDeadline.isArmed) {
      if (r.timer === RackTimer.PROBE) {
        r.timer = RackTimer.NONE;
        tx.cancelRecoveryTimer(pcb);
      }
      return;
    }
    let ptoMs = pcb.rtt.hasSample ? Math.max(2 * pcb.rtt.srttMs, PTO_MIN_MS) : PTO_WITHOUT_SRTT_MS;
    if (pcb.flightBytes <= pcb.mssBytes) ptoMs += WC_DEL_ACK_MS;
    r.timer = RackTimer.PROBE;
    tx.setRecoveryTimer(pcb, Math.min(nowMs + ptoMs, pcb.rtxDeadline.at));
  },
};
