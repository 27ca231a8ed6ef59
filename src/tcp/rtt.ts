// Retransmission timeout computation (RFC 6298): SRTT/RTTVAR from RTT samples, RTO with clamps and
// exponential back-off. Call order: tcp/input → tcp/ack → rtt (sample on an ACK that times a segment,
// backoff on a timer expiry) / cc / sack → tcp/output, which arms `rtoAt = now + currentRtoMs`.
// Pure arithmetic on milliseconds handed in by the caller: no clock is read here.

import { assert } from "../core/assert.js";

export interface RtoOptions {
  /** RTO before the first RTT sample. */
  initialRtoMs: number;
  /** Lower clamp on any computed RTO. */
  minRtoMs: number;
  /** Upper clamp on any RTO, back-off included. */
  maxRtoMs: number;
  /** Clock granularity G of RFC 6298 §2: the smallest variance term the RTO may carry. */
  granularityMs: number;
}

export const DEFAULT_RTO_OPTIONS: RtoOptions = Object.freeze({
  // RFC 6298 §2.1: "the sender SHOULD set RTO <- 1 second" until a sample arrives.
  initialRtoMs: 1000,
  // RFC 6298 §2.4 says a computed RTO below 1 s SHOULD be rounded up to 1 s. We follow Linux (TCP_RTO_MIN,
  // HZ/5 = 200 ms) instead: the board's paths are a TAP device and LAN hops with sub-millisecond RTTs, where
  // a 1 s floor turns every tail loss into a second of dead air. §2.4 presents 1 s as a conservative choice
  // that later research may lower; the spurious timeouts a lower floor risks cost one needless retransmission
  // each and are bounded by Karn's rule and back-off.
  minRtoMs: 200,
  // RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds." Linux: 120 s.
  maxRtoMs: 120_000,
  // Our timestamps are milliseconds (floats from the core loop); 1 ms is the granularity we promise.
  granularityMs: 1,
});

/** RFC 6298 §2.3: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/**
 * One connection's RTT state. Karn's algorithm (RFC 6298 §3) is the caller's job: `sample()` must not be fed
 * from an ACK for a retransmitted segment, because the ACK cannot say which transmission it answers — unless
 * RFC 7323 timestamps disambiguate (RFC 7323 §4: the echoed TSecr times the transmission that was actually
 * acknowledged). RFC 6298 §5.7 (RTO back to 3 s after a lost SYN) is also the caller's.
 */
export class RttEstimator {
  private readonly options: RtoOptions;
  /** Smoothed RTT; 0 until `hasSample`. */
  srttMs = 0;
  /** RTT variation; 0 until `hasSample`. */
  rttvarMs = 0;
  /** RTO from the estimator, clamped to [minRtoMs, maxRtoMs]; back-off not applied (see currentRtoMs). */
  rtoMs: number;
  /** True once a sample has been taken since construction or reset(). */
  hasSample = false;
  /** Consecutive back-offs since the last sample (RFC 6298 §5.5); the caller may give up after N. */
  backoffCount = 0;

  constructor(options?: Partial<RtoOptions>) {
    const o: RtoOptions = { ...DEFAULT_RTO_OPTIONS, ...options };
    assert(o.minRtoMs >= 0 && o.minRtoMs <= o.maxRtoMs, `RTO bounds [${o.minRtoMs}, ${o.maxRtoMs}] are not a range`);
    assert(o.granularityMs >= 0, "clock granularity must not be negative");
    this.options = o;
    this.rtoMs = this.clamp(o.initialRtoMs);
  }

  /**
   * Takes one RTT measurement. Negative or non-finite values are ignored: with timestamps a peer controls
   * what gets echoed, so a bogus sample is the peer's doing, not our bug.
   */
  sample(rttMs: number): void {
    if (!(rttMs >= 0) || rttMs === Infinity) return;
    if (!this.hasSample) {
      // RFC 6298 §2.2: first measurement R.
      this.srttMs = rttMs;
      this.rttvarMs = rttMs / 2;
      this.hasSample = true;
    } else {
      // RFC 6298 §2.3: RTTVAR is updated first, with the SRTT from before this sample.
      this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - rttMs);
      this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * rttMs;
    }
    // RFC 6298 §2.2/§2.3: RTO = SRTT + max(G, K*RTTVAR); §2.4 min and §2.5 max in clamp().
    this.rtoMs = this.clamp(this.srttMs + Math.max(this.options.granularityMs, K * this.rttvarMs));
    // A fresh measurement replaces the backed-off value (RFC 6298 §5: back-off lasts until new samples).
    this.backoffCount = 0;
  }

  /** RFC 6298 §5.5: the retransmission timer expired, RTO <- RTO * 2 (bounded by maxRtoMs in currentRtoMs). */
  backoff(): void {
    this.backoffCount++;
  }

  /** The RTO to arm now: rtoMs doubled per back-off, at most maxRtoMs. */
  get currentRtoMs(): number {
    // 2 ** n becomes Infinity for huge n; min() then yields maxRtoMs, so the count may grow without a cap.
    return Math.min(this.options.maxRtoMs, this.rtoMs * 2 ** this.backoffCount);
  }

  /** Forgets all samples and back-off: the state of a new connection (RFC 6298 §2.1). */
  reset(): void {
    this.srttMs = 0;
    this.rttvarMs = 0;
    this.hasSample = false;
    this.backoffCount = 0;
    this.rtoMs = this.clamp(this.options.initialRtoMs);
  }

  private clamp(rtoMs: number): number {
    return Math.min(this.options.maxRtoMs, Math.max(this.options.minRtoMs, rtoMs));
  }
}
