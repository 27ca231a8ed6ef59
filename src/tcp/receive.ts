// The receiving side of a synchronized connection (RFC 9293 §3.10.7.4): the sequence-number acceptability
// test against the window we advertised, trimming a segment to that window, then the seventh and eighth
// steps — data into the receive ring (in order, or out of order through the assembler) and the peer's FIN.
// Call order: tcp/input (and tcp/listen for a cookie ACK's data) → receive → events → tcp/output's ACK.

import { TcpFlag } from "./header.js";
import type { TcpContext } from "./context.js";
import { PcbEvent, type TcpPcb } from "./pcb.js";
import type { TcpSegment } from "./segment.js";
import { seqAdd, seqDiff, seqGt, seqInWindow } from "./seq.js";
import { TcpState, canReceiveData } from "./state.js";

/** RFC 9293 §3.10.7.4's acceptability table, against the window we advertised (right edge: see below). */
export function isAcceptable(pcb: TcpPcb, seg: TcpSegment): boolean {
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
export function trimToWindow(pcb: TcpPcb, seg: TcpSegment): void {
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

/** Seventh and eighth steps: data into the receive ring (in order or via the assembler), then the FIN. */
export function processData(tcp: TcpContext, pcb: TcpPcb, seg: TcpSegment): void {
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
    if (seqAdd(seg.seq, seg.dataLength) === pcb.rcvNxt) finReceived(tcp, pcb);
    else if (seqGt(seg.seq, pcb.rcvNxt)) pcb.rcvFinSeq = seqAdd(seg.seq, seg.dataLength);
  } else if (pcb.rcvFinSeq !== null && pcb.rcvFinSeq === pcb.rcvNxt) {
    finReceived(tcp, pcb);
  }
}

/** Eighth step: the peer's FIN, in order (RFC 9293 §3.10.7.4). */
function finReceived(tcp: TcpContext, pcb: TcpPcb): void {
  if (pcb.finReceived) {
    pcb.ackNow = true;
    return;
  }
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
