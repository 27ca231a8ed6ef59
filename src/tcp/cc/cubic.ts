// CUBIC congestion control (RFC 9438): window W(t) = C*(t-K)^3 + W_max after a loss, with the Reno-friendly
// estimate as a floor and fast convergence; slow start as NewReno (RFC 5681 + RFC 3465, no HyStart++).
// Call order: tcp/input → tcp/ack → cc (onAck / onEnterRecovery / onExitRecovery / onRto) → tcp/output.
// The window is kept in segments (the RFC's unit) and read out in bytes; t comes from the caller's nowMs.

import {
  ABC_LIMIT_SEGMENTS,
  SSTHRESH_INFINITE_BYTES,
  describeSsthresh,
  initialWindowBytes,
  isCwndLimited,
  type CongestionControl,
} from "./cc.js";

/** RFC 9438 §5.1: C = 0.4 (segments / s^3). */
const C = 0.4;
/** RFC 9438 §4.6 / §5.1: multiplicative decrease factor. */
const BETA_CUBIC = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), Reno-friendly additive increase. */
const ALPHA_CUBIC = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);
/** RFC 9438 §4.2: the target never exceeds 1.5 * cwnd within one RTT. */
const MAX_TARGET_RATIO = 1.5;
/** RFC 9438 §4.6: after a loss neither cwnd nor ssthresh go below 2 segments. */
const MIN_SSTHRESH_SEGMENTS = 2;
/** RFC 9293 §3.7.1: the send MSS to assume until init() is told the real one. */
const DEFAULT_MSS_BYTES = 536;
/** Rounding slack when segments * MSS lands a hair under an integer (70 segments from 100 * 0.7). */
const BYTES_EPSILON = 1e-6;

export interface CubicOptions {
  /** RFC 9438 §4.7: on by default; SHOULD be off where a single CUBIC flow has the path to itself. */
  fastConvergence: boolean;
}

export class Cubic implements CongestionControl {
  readonly name = "cubic";
  private readonly fastConvergence: boolean;
  /** MSS of the latest call, bytes: converts segments to bytes for cwndBytes/ssthreshBytes. */
  private mssBytes = DEFAULT_MSS_BYTES;
  /** cwnd in segments (fractional); ≥ 1 (RFC 5681 loss window). */
  private cwndSegments = 0;
  /** ssthresh in segments; Infinity until the first loss, then ≥ 2. */
  private ssthreshSegments = Number.POSITIVE_INFINITY;
  /** W_max (§4.1.2): window before the last reduction, after fast convergence; 0 = undefined (after RTO). */
  private wMaxSegments = 0;
  /** cwnd_prior (§4.1.2): cwnd just before the last reduction; decides when alpha becomes 1 (§4.3). */
  private cwndPriorSegments = 0;
  /** K (§4.2), seconds: time for W(t) to climb from cwnd_epoch back to W_max. */
  private kSeconds = 0;
  /** W_est (§4.3): the window Reno would have, from cwnd_epoch at the epoch start. */
  private wEstSegments = 0;
  /** cwnd_epoch (§4.2): cwnd at the start of this congestion-avoidance stage. */
  private cwndEpochSegments = 0;
  /** Whether a congestion-avoidance epoch is running; it starts on the first CA ACK after a change. */
  private hasEpoch = false;
  /** t_epoch (§4.2), ms on the caller's clock; slid forward over application-limited stretches (§5.8). */
  private epochStartMs = 0;
  /** Time of the previous onAck, ms: measures application-limited stretches. */
  private lastAckMs = 0;
  /** Smoothed RTT of the samples onAck was given (§4.2 uses the smoothed RTT); 0 before any. */
  private srttMs = 0;
  private hasRtt = false;
  /** An RTO reduced ssthresh and no new data has been acknowledged since (RFC 5681 §3.1). */
  private isInRtoBackoff = false;

  constructor(options?: Partial<CubicOptions>) {
    this.fastConvergence = options?.fastConvergence ?? true;
    this.init(DEFAULT_MSS_BYTES, 0);
  }

  get cwndBytes(): number {
    return Math.floor(this.cwndSegments * this.mssBytes + BYTES_EPSILON);
  }

  get ssthreshBytes(): number {
    if (this.ssthreshSegments === Number.POSITIVE_INFINITY) return SSTHRESH_INFINITE_BYTES;
    return Math.floor(this.ssthreshSegments * this.mssBytes + BYTES_EPSILON);
  }

  init(mssBytes: number, nowMs: number): void {
    this.mssBytes = mssBytes;
    // RFC 9438 §4.9 defers to RFC 5681 / RFC 6928 for the start.
    this.cwndSegments = initialWindowBytes(mssBytes) / mssBytes;
    this.ssthreshSegments = Number.POSITIVE_INFINITY;
    this.wMaxSegments = 0;
    this.cwndPriorSegments = 0;
    this.kSeconds = 0;
    this.wEstSegments = 0;
    this.cwndEpochSegments = 0;
    this.hasEpoch = false;
    this.epochStartMs = nowMs;
    this.lastAckMs = nowMs;
    this.srttMs = 0;
    this.hasRtt = false;
    this.isInRtoBackoff = false;
  }

  onAck(ackedBytes: number, mssBytes: number, flightBytes: number, rttMs: number | null, nowMs: number): void {
    if (ackedBytes <= 0) return;
    this.mssBytes = mssBytes;
    this.isInRtoBackoff = false;
    if (rttMs !== null && rttMs >= 0) {
      // RFC 6298-style smoothing (alpha 1/8) of whatever samples the caller hands us.
      this.srttMs = this.hasRtt ? this.srttMs + (rttMs - this.srttMs) / 8 : rttMs;
      this.hasRtt = true;
    }
    const sinceLastAckMs = nowMs - this.lastAckMs;
    this.lastAckMs = nowMs;
    if (!isCwndLimited(this.cwndBytes, this.ssthreshBytes, flightBytes, mssBytes)) {
      // RFC 9438 §5.8: no growth while application-limited, and t must not count that time: slide the epoch.
      if (this.hasEpoch && sinceLastAckMs > 0) this.epochStartMs += sinceLastAckMs;
      return;
    }
    let ackedSegments = ackedBytes / mssBytes;
    if (this.cwndSegments < this.ssthreshSegments) {
      // RFC 9438 §4.9: Reno slow start, byte-counted with L = 2*SMSS (RFC 3465 §2.2). HyStart++ (RFC 9406)
      // is not implemented; the first slow start ends with a loss.
      const increase = Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * mssBytes) / mssBytes;
      const room = this.ssthreshSegments - this.cwndSegments;
      if (increase <= room) {
        this.cwndSegments += increase;
        return;
      }
      this.cwndSegments = this.ssthreshSegments;
      ackedSegments -= room;
    }
    this.congestionAvoidance(ackedSegments, nowMs);
  }

  /** RFC 9438 §4.2–§4.5 for one ACK covering `ackedSegments` in congestion avoidance. */
  private congestionAvoidance(ackedSegments: number, nowMs: number): void {
    if (!this.hasEpoch) this.startEpoch(nowMs);
    const cwnd = this.cwndSegments;
    const tSeconds = (nowMs - this.epochStartMs) / 1000;
    // §4.3: W_est += alpha * segments_acked / cwnd; alpha becomes 1 once W_est reaches cwnd_prior.
    const alpha = this.wEstSegments >= this.cwndPriorSegments ? 1 : ALPHA_CUBIC;
    this.wEstSegments += (alpha * ackedSegments) / cwnd;
    const wCubicNow = this.wCubic(tSeconds);
    if (wCubicNow < this.wEstSegments) {
      // §4.3 Reno-friendly region: cwnd = W_est (never lowered: cwnd may already be ahead of both).
      if (this.wEstSegments > cwnd) this.cwndSegments = this.wEstSegments;
      return;
    }
    // §4.4 concave (cwnd < W_max) and §4.5 convex regions share one rule: aim at W_cubic(t + RTT), clamped
    // to [cwnd, 1.5*cwnd] (§4.2), and close (target - cwnd)/cwnd of the gap per segment acknowledged.
    // The RFC says "per ACK"; we count segments (RFC 3465, as Linux does) so delayed ACKs don't halve growth.
    let target = this.wCubic(tSeconds + this.srttMs / 1000);
    if (target < cwnd) target = cwnd;
    else if (target > MAX_TARGET_RATIO * cwnd) target = MAX_TARGET_RATIO * cwnd;
    this.cwndSegments = Math.min(target, cwnd + ((target - cwnd) / cwnd) * ackedSegments);
  }

  /** §4.2 Figure 2 at the start of a congestion-avoidance stage. */
  private startEpoch(nowMs: number): void {
    this.hasEpoch = true;
    this.epochStartMs = nowMs;
    this.lastAckMs = nowMs;
    this.cwndEpochSegments = this.cwndSegments;
    if (this.wMaxSegments < this.cwndSegments) {
      // §4.8 (first CA stage after a timeout) and §4.10: W_max undefined or already passed → W_max = cwnd at
      // the start of this stage, K = 0 (pure convex growth). With no reduction yet (§4.10) cwnd_prior = cwnd.
      this.wMaxSegments = this.cwndSegments;
      if (this.cwndPriorSegments < this.cwndSegments) this.cwndPriorSegments = this.cwndSegments;
    }
    this.kSeconds = Math.cbrt((this.wMaxSegments - this.cwndEpochSegments) / C);
    // §4.3: W_est starts at cwnd_epoch.
    this.wEstSegments = this.cwndEpochSegments;
  }

  /** §4.2 Figure 1: W_cubic(t) = C*(t - K)^3 + W_max, segments, t in seconds. */
  private wCubic(tSeconds: number): number {
    const d = tSeconds - this.kSeconds;
    return C * d * d * d + this.wMaxSegments;
  }

  onEnterRecovery(_flightBytes: number, mssBytes: number, _nowMs: number): void {
    this.mssBytes = mssBytes;
    this.reduce();
    // §4.6: cwnd = max(ssthresh, 2) on a loss; the interface has cwnd become ssthresh.
    this.cwndSegments = this.ssthreshSegments;
  }

  /**
   * §4.6 and §4.7, shared by fast retransmit and RTO. ssthresh = cwnd * beta rather than flight_size * beta:
   * §4.6 allows cwnd when cwnd cannot grow while application-limited, which isCwndLimited() guarantees, and
   * it is what Linux and Windows deploy (flight-based reductions collapse app-limited senders).
   */
  private reduce(): void {
    const cwnd = this.cwndSegments;
    this.cwndPriorSegments = cwnd;
    // §4.7 fast convergence: a loss below the previous W_max means a new flow is taking bandwidth; release
    // some by remembering a lower plateau, W_max = cwnd * (1 + beta) / 2.
    this.wMaxSegments = this.fastConvergence && cwnd < this.wMaxSegments ? (cwnd * (1 + BETA_CUBIC)) / 2 : cwnd;
    this.ssthreshSegments = Math.max(cwnd * BETA_CUBIC, MIN_SSTHRESH_SEGMENTS);
    this.hasEpoch = false;
  }

  onExitRecovery(flightBytes: number, mssBytes: number, _nowMs: number): void {
    this.mssBytes = mssBytes;
    // RFC 6582 §3.2 step 3 option (1), in segments: RFC 9438 leaves fast recovery to RFC 6582 / RFC 6675.
    const flightSegments = Math.max(flightBytes, mssBytes) / mssBytes;
    this.cwndSegments = Math.min(this.ssthreshSegments, flightSegments + 1);
    // The epoch starts on the first CA ACK, so time spent in recovery does not count towards t.
    this.hasEpoch = false;
    this.isInRtoBackoff = false;
  }

  onRto(_flightBytes: number, mssBytes: number, _nowMs: number): void {
    this.mssBytes = mssBytes;
    // §4.8: ssthresh with beta_cubic as in §4.6; RFC 5681 §3.1 holds it over repeated timeouts.
    if (!this.isInRtoBackoff) this.reduce();
    this.isInRtoBackoff = true;
    // §4.8: cwnd to the loss window like Reno, and the next CA stage starts a fresh curve: W_max = cwnd at
    // its start, K = 0, W_est = cwnd_epoch (see startEpoch). cwnd_prior stays the cwnd from when ssthresh
    // was set (§4.1.2), so the Reno-friendly alpha stays below 1 until W_est climbs back to it.
    this.cwndSegments = 1;
    this.wMaxSegments = 0;
    this.hasEpoch = false;
  }

  onIdleRestart(mssBytes: number, _nowMs: number): void {
    this.mssBytes = mssBytes;
    // RFC 5681 §4.1: RW = min(IW, cwnd). The idle time must not count towards t (§5.8): restart the epoch.
    this.cwndSegments = Math.min(this.cwndSegments, initialWindowBytes(mssBytes) / mssBytes);
    this.hasEpoch = false;
  }

  describe(): Record<string, number> {
    return {
      cwndBytes: this.cwndBytes,
      ssthreshBytes: describeSsthresh(this.ssthreshBytes),
      cwndSegments: this.cwndSegments,
      wMaxSegments: this.wMaxSegments,
      cwndPriorSegments: this.cwndPriorSegments,
      wEstSegments: this.wEstSegments,
      kSeconds: this.kSeconds,
      epochStartMs: this.hasEpoch ? this.epochStartMs : Number.NaN,
      srttMs: this.srttMs,
      isInRtoBackoff: this.isInRtoBackoff ? 1 : 0,
    };
  }
}
