// TCP's per-PCB timers: five deadlines made with the PCB — retransmission and persist (RFC 6298 §5.4–5.7,
// RFC 9293 §3.8.6.1), delayed ACK (RFC 9293 §3.8.6.3), keep-alive (RFC 1122 §4.2.3.6), and close (TIME-WAIT's
// 2·MSL, an orphaned FIN-WAIT-2's timeout), and the loss recovery's own (RACK-TLP's reorder timer and tail
// loss probe, RFC 8985) — what each does when it fires, and arming them for the states
// that need them. Call order: scheduler → a PCB's deadline → timers → the PCB's output pass (TcpContext.kick).

import { Err } from "../core/errors.js";
import { Deadline, type Scheduler } from "../core/scheduler.js";
import type { TcpContext } from "./context.js";
import type { TcpPcb } from "./pcb.js";
import { beginRecovery } from "./ack.js";
import { lossRecovery } from "./recovery/index.js";
import { TcpState } from "./state.js";

/** Makes a fresh PCB's deadlines, once: arming one later is a field write (scheduler.set). */
export function makeDeadlines(tcp: TcpContext, pcb: TcpPcb): void {
  pcb.rtxDeadline = new Deadline((now) => onRtxDeadline(tcp, pcb, now), "tcp rtx");
  pcb.ackDeadline = new Deadline(() => onDelayedAck(tcp, pcb), "tcp delack");
  pcb.keepAliveDeadline = new Deadline((now) => onKeepAlive(tcp, pcb, now), "tcp keepalive");
  pcb.closeDeadline = new Deadline(() => onCloseTimeout(tcp, pcb), "tcp close");
  pcb.recoveryDeadline = new Deadline((now) => onRecoveryDeadline(tcp, pcb, now), "tcp recovery");
}

/** Disarms every deadline of a PCB leaving the layer. */
export function cancelDeadlines(scheduler: Scheduler, pcb: TcpPcb): void {
  scheduler.cancel(pcb.rtxDeadline);
  scheduler.cancel(pcb.ackDeadline);
  scheduler.cancel(pcb.keepAliveDeadline);
  scheduler.cancel(pcb.closeDeadline);
  scheduler.cancel(pcb.recoveryDeadline);
}

/** Entering TIME-WAIT: nothing is left to retransmit, acknowledge late or keep alive; 2·MSL (RFC 9293 §3.4.2). */
export function startTimeWait(tcp: TcpContext, pcb: TcpPcb): void {
  const s = tcp.scheduler;
  s.cancel(pcb.rtxDeadline);
  s.cancel(pcb.ackDeadline);
  s.cancel(pcb.keepAliveDeadline);
  s.cancel(pcb.recoveryDeadline);
  s.after(pcb.closeDeadline, 2 * tcp.config.mslMs);
}

/** An orphaned FIN-WAIT-2 waits this long for the peer's FIN (Linux's tcp_fin_timeout), then is freed. */
export function startFinWait2Timeout(tcp: TcpContext, pcb: TcpPcb): void {
  tcp.scheduler.after(pcb.closeDeadline, tcp.config.finWait2TimeoutMs);
}

/** Arms the keep-alive deadline once a connection is established (RFC 1122 §4.2.3.6: only if asked for). */
export function startKeepAlive(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
  if (pcb.keepAliveIdleMs > 0) tcp.scheduler.set(pcb.keepAliveDeadline, nowMs + pcb.keepAliveIdleMs);
}

function onRtxDeadline(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
  onRetransmitTimeout(tcp, pcb, nowMs);
  if (!pcb.freed) tcp.kick(pcb);
}

/** The loss recovery's deadline (RFC 8985 §6.3 reorder timer, §7.3 probe); lost segments begin recovery. */
function onRecoveryDeadline(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
  if (!pcb.isSynchronized || pcb.state === TcpState.TIME_WAIT) return;
  if (lossRecovery(pcb).onTimer?.(tcp.output, pcb, nowMs) === true && !pcb.inRecovery) beginRecovery(tcp, pcb, nowMs);
  if (!pcb.freed) tcp.kick(pcb);
}

/** RFC 9293 §3.8.6.3: the delayed ACK is due. */
function onDelayedAck(tcp: TcpContext, pcb: TcpPcb): void {
  pcb.ackNow = true;
  tcp.kick(pcb);
}

/** RFC 1122 §4.2.3.6: after keepAliveIdleMs without a segment, probe; keepAliveProbes unanswered end it. */
function onKeepAlive(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
  if (pcb.keepAliveIdleMs <= 0 || !pcb.isSynchronized || pcb.state === TcpState.TIME_WAIT) return;
  const idle = nowMs - pcb.lastRecvMs;
  if (idle < pcb.keepAliveIdleMs && pcb.keepAliveProbes === 0) {
    tcp.scheduler.set(pcb.keepAliveDeadline, pcb.lastRecvMs + pcb.keepAliveIdleMs);
    return;
  }
  if (pcb.keepAliveProbes >= tcp.config.keepAliveProbes) {
    tcp.stats.timeouts++;
    tcp.fail(pcb, Err.TIMEOUT);
    return;
  }
  pcb.keepAliveProbes++;
  tcp.output.sendProbe(pcb, nowMs);
  tcp.scheduler.after(pcb.keepAliveDeadline, tcp.config.keepAliveIntervalMs);
}

function onCloseTimeout(tcp: TcpContext, pcb: TcpPcb): void {
  // End of TIME-WAIT, or an orphaned FIN-WAIT-2 that waited too long for the peer's FIN.
  tcp.free(pcb);
}

/** The retransmission (or persist) deadline fired (RFC 6298 §5.4–5.7, RFC 9293 §3.8.6.1). */
function onRetransmitTimeout(tcp: TcpContext, pcb: TcpPcb, nowMs: number): void {
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
  // RFC 8985 §7.2: a tail loss probe due now takes the timeout's place.
  if (lossRecovery(pcb).preemptRto?.(tcp.output, pcb, nowMs) === true) return;
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
  lossRecovery(pcb).onExit(pcb);
  pcb.dupAcks = 0;
  pcb.recoverSeq = pcb.sndMax; // RFC 6582 §4: no fast retransmit for data sent before the timeout
  pcb.scoreboard.clear();
  pcb.rttStartMs = -1;
  pcb.sndNxt = pcb.sndUna;
  pcb.highRxt = pcb.sndUna;
  tcp.scheduler.set(pcb.rtxDeadline, nowMs + pcb.rtt.currentRtoMs);
  lossRecovery(pcb).onRto?.(tcp.output, pcb, nowMs);
  if (isWindowClosed) tcp.output.sendProbe(pcb, nowMs);
}
