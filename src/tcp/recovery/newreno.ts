// NewReno loss recovery (RFC 6582 on RFC 5681 §3.2), for connections without SACK: three duplicate ACKs mean
// loss; during recovery each further one inflates the window by a segment, so output's ordinary send loop
// clocks out new data, and each partial ACK retransmits the next hole and deflates the window. Call order:
// tcp/ack → these hooks; tcp/output → output() (the ordinary loop, under cwnd + inflationBytes).

import { DUP_THRESH } from "../sack.js";
import type { TcpPcb } from "../pcb.js";
import type { Seq } from "../seq.js";
import type { LossRecovery, RecoveryTx } from "./recovery.js";

export const NEWRENO_RECOVERY: LossRecovery = {
  name: "newreno",

  updateSack(_pcb: TcpPcb, _cumAck: Seq, _blocks: Uint32Array, _count: number): boolean {
    return false; // SACK was not agreed: blocks a peer sends anyway are ignored
  },

  isLost(pcb: TcpPcb): boolean {
    return pcb.dupAcks >= DUP_THRESH;
  },

  onEnter(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void {
    pcb.inflationBytes = DUP_THRESH * pcb.mssBytes; // RFC 5681 §3.2 step 3
    tx.restartRetransmitTimer(pcb, nowMs);
  },

  onDupAck(pcb: TcpPcb): void {
    pcb.inflationBytes += pcb.mssBytes; // RFC 5681 §3.2 step 4
  },

  onPartialAck(tx: RecoveryTx, pcb: TcpPcb, ackedBytes: number, nowMs: number): void {
    // RFC 6582 §3.2 step 4: a partial ACK retransmits the next hole and deflates the window.
    const mss = pcb.mssBytes;
    tx.retransmit(pcb, pcb.sndUna, nowMs);
    pcb.inflationBytes = Math.max(0, pcb.inflationBytes - ackedBytes) + (ackedBytes >= mss ? mss : 0);
    tx.restartRetransmitTimer(pcb, nowMs);
  },

  onExit(pcb: TcpPcb): void {
    pcb.inflationBytes = 0;
  },

  output(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean {
    return tx.sendNewData(pcb, nowMs);
  },
};
