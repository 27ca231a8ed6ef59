// One connection's RACK-TLP state (RFC 8985 §5.2, §7.1): the send log with per-segment transmit times, the
// most recently delivered segment (RACK.xmit_ts / end_seq / rtt), min_RTT, the reordering window's inputs
// and the tail loss probe in flight. Created when SACK is agreed and RACK is configured (tcp/negotiate);
// the algorithm that reads and writes it is ./rack.ts. Plain fields, no per-ACK allocation.

import { toSeq, type Seq } from "../seq.js";
import { TxLog } from "../txlog.js";

/** The counters RACK keeps in the layer's stats (tcp/stats names them). */
export interface RackCounters {
  rackLost: number;
  rackReorderTimeouts: number;
  tlpProbes: number;
  tlpRepairs: number;
}

/** What the recovery deadline (pcb.recoveryDeadline) is armed for. */
export const RackTimer = { NONE: 0, REORDER: 1, PROBE: 2 } as const;
export type RackTimerCode = (typeof RackTimer)[keyof typeof RackTimer];

/** RFC 8985 §6.2: the reordering window multiplier resets after this many recoveries without a DSACK. */
export const REO_WND_PERSIST = 16;

export class RackState {
  readonly log = new TxLog();
  /** RACK.xmit_ts: transmit time of the most recently sent segment delivered so far; -1 before any. */
  xmitMs = -1;
  /** RACK.end_seq: that segment's end. */
  endSeq: Seq = toSeq(0);
  /** RACK.rtt: the RTT of that segment (ms). */
  rttMs = 0;
  /** RACK.min_RTT: the smallest RTT RACK measured (ms); Infinity before any. */
  minRttMs = Number.POSITIVE_INFINITY;
  /** RACK.fack: the highest end of a delivered segment; valid when hasFack. */
  fack: Seq = toSeq(0);
  hasFack = false;
  /** RACK.reordering_seen: a segment below fack was delivered without having been retransmitted. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round (RFC 8985 §6.2 step 4). */
  reoWndMult = 1;
  reoWndPersist = REO_WND_PERSIST;
  dsackRound: Seq = toSeq(0);
  dsackRoundOn = false;
  /** After an RTO until SND.UNA passes rtoRecoverySeq ("RTO recovery" in RFC 8985 §6.2). */
  inRtoRecovery = false;
  rtoRecoverySeq: Seq = toSeq(0);
  /** TLP.end_seq (valid while tlpOn) and TLP.is_retrans (RFC 8985 §7.1): at most one probe per flight. */
  tlpOn = false;
  tlpEndSeq: Seq = toSeq(0);
  tlpIsRetrans = false;
  timer: RackTimerCode = RackTimer.NONE;
  /** New data went out or SND.UNA advanced since the probe timer was last (re)armed (RFC 8985 §7.2). */
  rearmProbe = false;

  constructor(readonly counters: RackCounters) {}
}
