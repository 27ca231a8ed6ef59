// The congestion-control interface every algorithm implements, in bytes, plus the helpers they share.
// Call order: tcp/input → tcp/ack (decides: new data acked, entering/leaving loss recovery, RTO,
// idle restart) → cc (this interface) → tcp/output, which sends while flight < cwndBytes.
// Algorithms are chosen by name in ./index.ts; loss detection and recovery (dupacks, SACK) live in tcp/ack
// and tcp/recovery/.

export interface CongestionControl {
  readonly name: "newreno" | "cubic";
  /** Congestion window and slow-start threshold, bytes. */
  readonly cwndBytes: number;
  readonly ssthreshBytes: number;
  /** Connection established: initial window (RFC 6928: min(10*mss, max(2*mss, 14600))). */
  init(mssBytes: number, nowMs: number): void;
  /**
   * New data cumulatively acknowledged outside loss recovery. ackedBytes > 0; rttMs may be null.
   * flightBytes = bytes outstanding before this ACK. The window grows only while the sender is cwnd-limited
   * (see isCwndLimited), so flightBytes must be the real outstanding count, not cwnd.
   */
  onAck(ackedBytes: number, mssBytes: number, flightBytes: number, rttMs: number | null, nowMs: number): void;
  /**
   * Fast retransmit: entering loss recovery (RFC 5681 §3.2 step 2 / RFC 6675 §5). Sets ssthresh; cwnd
   * becomes ssthresh. No window inflation (RFC 5681 §3.2 step 4): a SACK sender clocks out by pipe, a
   * non-SACK NewReno sender inflates by dupacks itself.
   */
  onEnterRecovery(flightBytes: number, mssBytes: number, nowMs: number): void;
  /**
   * Leaving recovery when the recovery point is acknowledged (RFC 6582 §3.2 step 3 "full acknowledgment").
   * flightBytes = bytes outstanding after that ACK. Both algorithms take RFC 6582's option (1),
   * cwnd = min(ssthresh, max(flight, mss) + mss): we have no pacing, and option (2), cwnd = ssthresh, would
   * let a sender whose flight collapsed during recovery send a line-rate burst of up to ssthresh.
   */
  onExitRecovery(flightBytes: number, mssBytes: number, nowMs: number): void;
  /**
   * Retransmission timeout (RFC 5681 §3.1 eq. 4 / §3.2 note): ssthresh = max(flight/2, 2*mss), cwnd = 1 mss
   * (loss window). flightBytes = bytes outstanding when the timer fired. A second timeout with no new data
   * acknowledged in between keeps ssthresh (RFC 5681 §3.1: a segment retransmitted by the timer more than
   * once holds ssthresh constant).
   */
  onRto(flightBytes: number, mssBytes: number, nowMs: number): void;
  /** Idle restart (RFC 5681 §4.1): after an idle period longer than the RTO, cwnd = min(cwnd, restart window). */
  onIdleRestart(mssBytes: number, nowMs: number): void;
  /** For the debugging view: name-specific state as plain numbers. An unset ssthresh reads as Infinity. */
  describe(): Record<string, number>;
}

/** ssthresh before the first loss: RFC 5681 §3.1 "arbitrarily high". */
export const SSTHRESH_INFINITE_BYTES = Number.MAX_SAFE_INTEGER;

/** RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)). Also the restart window bound of RFC 5681 §4.1. */
export function initialWindowBytes(mssBytes: number): number {
  return Math.min(10 * mssBytes, Math.max(2 * mssBytes, 14600));
}

/**
 * Whether the window is the limit on sending, so that growing it is justified (RFC 7661 §3, RFC 9438 §5.8:
 * no growth while application-limited). In congestion avoidance: less than one full segment of room left.
 * In slow start Linux's rule (tcp_is_cwnd_limited): grow while flight is at least half of cwnd, because
 * the window doubles per round trip and the sender's flight legitimately trails it by up to that much.
 */
export function isCwndLimited(cwndBytes: number, ssthreshBytes: number, flightBytes: number, mssBytes: number): boolean {
  if (cwndBytes < ssthreshBytes) return 2 * flightBytes >= cwndBytes;
  return flightBytes + mssBytes > cwndBytes;
}

/** RFC 3465 §2.2: in slow start cwnd grows by at most L = 2*SMSS per ACK however much it covers. */
export const ABC_LIMIT_SEGMENTS = 2;

/** RFC 5681 §3.2 eq. 4: max(FlightSize / 2, 2*SMSS). */
export function halvedSsthreshBytes(flightBytes: number, mssBytes: number): number {
  return Math.max(Math.floor(flightBytes / 2), 2 * mssBytes);
}

/** RFC 6582 §3.2 step 3, option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS). */
export function exitRecoveryCwndBytes(ssthreshBytes: number, flightBytes: number, mssBytes: number): number {
  return Math.min(ssthreshBytes, Math.max(flightBytes, mssBytes) + mssBytes);
}

/** ssthresh for the debugging view: Infinity (printed "inf") while it is still the initial sentinel. */
export function describeSsthresh(ssthreshBytes: number): number {
  return ssthreshBytes >= SSTHRESH_INFINITE_BYTES ? Number.POSITIVE_INFINITY : ssthreshBytes;
}
