// The loss-recovery interface, as congestion control's is in cc/cc.ts: fast retransmit and recovery (RFC 5681
// §3.2) with NewReno's partial ACKs (RFC 6582) or SACK's scoreboard (RFC 6675). What they share — counting
// duplicate ACKs, the recovery point (RFC 6582 §3.2 step 2), leaving on a full ACK or a timeout — stays in
// tcp/ack and tcp/timers. Call order: tcp/ack → updateSack / isLost / onEnter / onDupAck / onPartialAck /
// onExit; tcp/output → output() while in recovery. Chosen per connection in ./index.ts. RACK-TLP (RFC 8985)
// detects loss by time rather than by counting, so it also takes the optional hooks: every ACK (onAck), its
// own deadline (onTimer), the retransmission timer (preemptRto, onRto) and the end of each output pass.

import type { TcpPcb } from "../pcb.js";
import type { Seq } from "../seq.js";

/** What recovery may send, and the timer it restarts. tcp/output implements it. */
export interface RecoveryTx {
  /** One segment at `seq` (fast retransmit, a partial ACK's hole); returns its payload bytes. */
  retransmit(pcb: TcpPcb, seq: Seq, nowMs: number): number;
  /** At most `length` bytes at `seq`, in one segment; returns payload bytes sent. */
  retransmitRange(pcb: TcpPcb, seq: Seq, length: number, nowMs: number): number;
  /** The ordinary send loop (new, or rewound, data and the FIN) under cwnd + inflation; whether anything went. */
  sendNewData(pcb: TcpPcb, nowMs: number): boolean;
  /** One segment of new data at SND.MAX within the peer's window; its payload bytes, 0 when none may go. */
  sendNewSegment(pcb: TcpPcb, nowMs: number): number;
  /** Restarts the retransmission timer at now + RTO (RFC 6298 §5.3). */
  restartRetransmitTimer(pcb: TcpPcb, nowMs: number): void;
  /** Arms (or moves) the PCB's recovery deadline (RACK's reorder and probe timers); it calls onTimer. */
  setRecoveryTimer(pcb: TcpPcb, atMs: number): void;
  cancelRecoveryTimer(pcb: TcpPcb): void;
}

export type LossRecoveryName = "newreno" | "sack" | "rack";

/** One ACK as the optional onAck hook sees it; refilled per ACK by tcp/ack. */
export interface AckSummary {
  /** SND.UNA before this ACK, and the cumulative point after it. */
  unaBefore: Seq;
  ack: Seq;
  /** The ACK's SACK blocks ([left, right) pairs in blocks[0..2*count)). */
  blocks: Uint32Array;
  count: number;
  /** Its first block was a D-SACK (RFC 2883). */
  dsack: boolean;
  /** Its timestamp echo (RFC 7323), 0 when it carried none. */
  tsEcr: number;
  /** It carried data or a FIN. */
  carriesData: boolean;
}

/**
 * One algorithm, shared by every connection that uses it: the state lives in the PCB's fields (dupAcks,
 * inRecovery, recoverSeq, highRxt, inflationBytes, scoreboard), each with its invariant there.
 */
export interface LossRecovery {
  readonly name: LossRecoveryName;
  /**
   * An ACK carried SACK blocks (RFC 2018 §3); `cumAck` is its cumulative point (blocks at or below it carry
   * nothing new). Returns whether they report data not SACKed before (RFC 6675 §2: then it is a duplicate ACK).
   */
  updateSack(pcb: TcpPcb, cumAck: Seq, blocks: Uint32Array, count: number): boolean;
  /** After a duplicate ACK outside recovery: is the segment at SND.UNA presumed lost? */
  isLost(pcb: TcpPcb): boolean;
  /** Recovery has begun and the first segment presumed lost has been retransmitted (RFC 5681 §3.2 step 2). */
  onEnter(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void;
  /** A further duplicate ACK during recovery (dupAcks already counts it). */
  onDupAck(pcb: TcpPcb): void;
  /** An ACK that advanced SND.UNA by `ackedBytes` but not to the recovery point (RFC 6582 §3.2 step 4). */
  onPartialAck(tx: RecoveryTx, pcb: TcpPcb, ackedBytes: number, nowMs: number): void;
  /** Recovery is over: the recovery point was acknowledged, or the retransmission timer fired. */
  onExit(pcb: TcpPcb): void;
  /** The output pass while in recovery: sends what this algorithm sends next; whether anything went out. */
  output(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean;
  /**
   * After an ACK's cumulative and duplicate-ACK processing. True when segments are now deemed lost: outside
   * recovery the caller then begins it (and calls onEnter).
   */
  onAck?(tx: RecoveryTx, pcb: TcpPcb, ack: AckSummary, nowMs: number): boolean;
  /** The recovery deadline fired; true as for onAck. */
  onTimer?(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean;
  /** The retransmission timer fired: true when this algorithm handled it instead (no RTO). */
  preemptRto?(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): boolean;
  /** A retransmission timeout happened (after the shared RTO handling). */
  onRto?(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void;
  /** The end of every output pass of a synchronized connection. */
  afterOutput?(tx: RecoveryTx, pcb: TcpPcb, nowMs: number): void;
}
