// SACK-based loss recovery (RFC 6675) over the PCB's scoreboard (tcp/sack): loss is three duplicate ACKs or
// IsLost(SND.UNA); during recovery the output pass sends while cwnd − pipe ≥ 1 SMSS, retransmitting what
// NextSeg() picks (rules 1 and 3) or else new data (rule 2). Duplicate and partial ACKs need nothing more: the
// scoreboard and pipe account for them. Call order: tcp/ack → updateSack, isLost; tcp/output → output().

import { DUP_THRESH } from "../sack.js";
import type { TcpPcb } from "../pcb.js";
import { toSeq, type Seq } from "../seq.js";
import type { LossRecovery, RecoveryTx } from "./recovery.js";

/** NextSeg()'s answer, refilled per call. */
const next = { seq: toSeq(0), length: 0 };

export const SACK_RECOVERY: LossRecovery = {
  name: "sack",

  updateSack(pcb: TcpPcb, cumAck: Seq, blocks: Uint32Array, count: number): boolean {
    return pcb.scoreboard.update(cumAck, pcb.sndMax, blocks, count);
  },

  isLost(pcb: TcpPcb): boolean {
    return pcb.dupAcks >= DUP_THRESH || pcb.scoreboard.isLost(pcb.sndUna, pcb.mssBytes, DUP_THRESH);
  },

  onEnter(_tx: RecoveryTx, _pcb: TcpPcb, _nowMs: number): void {
    // The output pass's RFC 6675 loop retransmits what NextSeg() picks next.
  },

  onDupAck(_pcb: TcpPcb): void {
    // No window inflation (RFC 6675 §5): the SACK blocks the ACK carried shrank the pipe.
  },

  onPartialAck(_tx: RecoveryTx, _pcb: TcpPcb, _ackedBytes: number, _nowMs: number): void {
    // RFC 6675 §5 (C): the output pass goes on retransmitting from the scoreboard.
  },

  onExit(_pcb: TcpPcb): void {
    // Nothing beyond the shared flags: the scoreboard follows SND.UNA on its own.
  },

  /**
   * RFC 6675 §5 loss recovery: while cwnd − pipe ≥ 1 MSS, retransmit what NextSeg() picks (rules 1 and 3),
   * else send new data (rule 2).
   */
  output(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean {
    let sent = false;
    const mss = pcb.mssBytes;
    let pipe = pcb.scoreboard.pipe(pcb.sndUna, pcb.sndMax, pcb.highRxt, mss);
    for (let guard = 0; guard < 10_000 && pcb.cc.cwndBytes - pipe >= mss; guard++) {
      if (pcb.scoreboard.nextSeg(pcb.sndUna, pcb.sndMax, pcb.highRxt, mss, next)) {
        const length = tx.retransmitRange(pcb, next.seq, next.length, nowMs);
        if (length === 0) break;
        pipe += length;
        sent = true;
        continue;
      }
      const length = tx.sendNewSegment(pcb, nowMs);
      if (length <= 0) break;
      pipe += length;
      sent = true;
    }
    return sent;
  },
};
