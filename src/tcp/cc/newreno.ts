// NewReno congestion control (RFC 5681 slow start / congestion avoidance with RFC 3465 byte counting,
// RFC 6582 recovery exit, RFC 6928 initial window), in bytes.
// Call order: tcp/input → tcp/ack → cc (onAck / onEnterRecovery / onExitRecovery / onRto) → tcp/output.
// No clock and no allocation: every method is a few field writes.

import {
  ABC_LIMIT_SEGMENTS,
  SSTHRESH_INFINITE_BYTES,
  describeSsthresh,
  exitRecoveryCwndBytes,
  halvedSsthreshBytes,
  initialWindowBytes,
  isCwndLimited,
  type CongestionControl,
} from "./cc.js";

/** RFC 9293 §3.7.1: the send MSS to assume until init() is told the real one. */
const DEFAULT_MSS_BYTES = 536;

export class NewReno implements CongestionControl {
  readonly name = "newreno";
  /** cwnd, bytes; always ≥ 1 MSS (RFC 5681 §3.1 loss window). */
  private cwnd = 0;
  /** ssthresh, bytes; SSTHRESH_INFINITE_BYTES until the first loss, afterwards ≥ 2 MSS. */
  private ssthresh = SSTHRESH_INFINITE_BYTES;
  /** RFC 3465 §2.1 bytes_acked: bytes acknowledged in congestion avoidance since cwnd last grew. */
  private bytesAckedCa = 0;
  /** An RTO reduced ssthresh and no new data has been acknowledged since (RFC 5681 §3.1). */
  private isInRtoBackoff = false;

  constructor() {
    this.init(DEFAULT_MSS_BYTES, 0);
  }

  get cwndBytes(): number {
    return this.cwnd;
  }

  get ssthreshBytes(): number {
    return this.ssthresh;
  }

  init(mssBytes: number, _nowMs: number): void {
    this.cwnd = initialWindowBytes(mssBytes);
    this.ssthresh = SSTHRESH_INFINITE_BYTES;
    this.bytesAckedCa = 0;
    this.isInRtoBackoff = false;
  }

  onAck(ackedBytes: number, mssBytes: number, flightBytes: number, _rttMs: number | null, _nowMs: number): void {
    if (ackedBytes <= 0) return;
    this.isInRtoBackoff = false;
    if (!isCwndLimited(this.cwnd, this.ssthresh, flightBytes, mssBytes)) return;
    let caBytes = ackedBytes;
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 §3.1 slow start with RFC 3465 §2.2 appropriate byte counting, L = 2*SMSS.
      const increase = Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * mssBytes);
      const room = this.ssthresh - this.cwnd;
      if (increase <= room) {
        this.cwnd += increase;
        return;
      }
      // Crossing ssthresh: stop there and count the rest as congestion avoidance (as Linux does).
      this.cwnd = this.ssthresh;
      caBytes = ackedBytes - room;
    }
    // RFC 5681 §3.1 congestion avoidance, byte-counted (RFC 3465 §2.1, the form RFC 5681 recommends over
    // eq. 3's per-ACK SMSS*SMSS/cwnd): +1 SMSS once a full cwnd of bytes has been acknowledged, so growth is
    // ~1 MSS per RTT whatever the ACK ratio. One step per ACK at most, so a stretch ACK cannot jump cwnd.
    this.bytesAckedCa += caBytes;
    if (this.bytesAckedCa >= this.cwnd) {
      this.bytesAckedCa -= this.cwnd;
      this.cwnd += mssBytes;
      // A stretch ACK may leave more than a window counted; keep at most one window's credit.
      if (this.bytesAckedCa > this.cwnd) this.bytesAckedCa = this.cwnd;
    }
  }

  onEnterRecovery(flightBytes: number, mssBytes: number, _nowMs: number): void {
    // RFC 5681 §3.2 step 2 (eq. 4) and RFC 6675 §5 step 4.2: ssthresh = cwnd = max(FlightSize/2, 2*SMSS).
    this.ssthresh = halvedSsthreshBytes(flightBytes, mssBytes);
    this.cwnd = this.ssthresh;
    this.bytesAckedCa = 0;
  }

  onExitRecovery(flightBytes: number, mssBytes: number, _nowMs: number): void {
    // RFC 6582 §3.2 step 3, option (1); see CongestionControl.onExitRecovery for why not option (2).
    this.cwnd = exitRecoveryCwndBytes(this.ssthresh, flightBytes, mssBytes);
    this.bytesAckedCa = 0;
    this.isInRtoBackoff = false;
  }

  onRto(flightBytes: number, mssBytes: number, _nowMs: number): void {
    // RFC 5681 §3.1: eq. 4 on the first timeout; held constant while the timer fires again for the same data.
    if (!this.isInRtoBackoff) this.ssthresh = halvedSsthreshBytes(flightBytes, mssBytes);
    this.isInRtoBackoff = true;
    // RFC 5681 §3.1: cwnd MUST be no more than the loss window, LW = 1 SMSS.
    this.cwnd = mssBytes;
    this.bytesAckedCa = 0;
  }

  onIdleRestart(mssBytes: number, _nowMs: number): void {
    // RFC 5681 §4.1: RW = min(IW, cwnd).
    this.cwnd = Math.min(this.cwnd, initialWindowBytes(mssBytes));
    this.bytesAckedCa = 0;
  }

  describe(): Record<string, number> {
    return {
      cwndBytes: this.cwnd,
      ssthreshBytes: describeSsthresh(this.ssthresh),
      bytesAckedCa: this.bytesAckedCa,
      isInRtoBackoff: this.isInRtoBackoff ? 1 : 0,
    };
  }
}
