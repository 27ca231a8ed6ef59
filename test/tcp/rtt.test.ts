// RFC 6298 RTO computation: exact SRTT/RTTVAR/RTO for a hand-computed sample sequence, the §2.4/§2.5 clamps,
// §5.5 back-off and its cap, and reset on a fresh sample. Every expected value is a binary fraction, so the
// comparisons are exact.

import { describe, expect, it } from "vitest";
import { DEFAULT_RTO_OPTIONS, RttEstimator } from "../../src/tcp/rtt.js";

describe("RttEstimator", () => {
  it("starts at the initial RTO of RFC 6298 §2.1 with no sample", () => {
    const rtt = new RttEstimator();
    expect(rtt.hasSample).toBe(false);
    expect(rtt.rtoMs).toBe(1000);
    expect(rtt.currentRtoMs).toBe(1000);
    expect(DEFAULT_RTO_OPTIONS).toEqual({ initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 120_000, granularityMs: 1 });
  });

  it("follows §2.2 for the first sample and §2.3 afterwards (alpha 1/8, beta 1/4, K 4)", () => {
    const rtt = new RttEstimator();
    // §2.2, R = 100: SRTT = 100, RTTVAR = 100/2 = 50, RTO = 100 + max(1, 4*50) = 300.
    rtt.sample(100);
    expect([rtt.srttMs, rtt.rttvarMs, rtt.rtoMs]).toEqual([100, 50, 300]);
    // §2.3, R' = 200: RTTVAR = 3/4*50 + 1/4*|100 - 200| = 37.5 + 25 = 62.5 (old SRTT first),
    // SRTT = 7/8*100 + 1/8*200 = 87.5 + 25 = 112.5, RTO = 112.5 + 4*62.5 = 362.5.
    rtt.sample(200);
    expect([rtt.srttMs, rtt.rttvarMs, rtt.rtoMs]).toEqual([112.5, 62.5, 362.5]);
    // R' = 50: RTTVAR = 3/4*62.5 + 1/4*|112.5 - 50| = 46.875 + 15.625 = 62.5,
    // SRTT = 7/8*112.5 + 1/8*50 = 98.4375 + 6.25 = 104.6875, RTO = 104.6875 + 250 = 354.6875.
    rtt.sample(50);
    expect([rtt.srttMs, rtt.rttvarMs, rtt.rtoMs]).toEqual([104.6875, 62.5, 354.6875]);
    // R' = 104.6875 (= SRTT): RTTVAR = 3/4*62.5 = 46.875, SRTT unchanged, RTO = 104.6875 + 187.5 = 292.1875.
    rtt.sample(104.6875);
    expect([rtt.srttMs, rtt.rttvarMs, rtt.rtoMs]).toEqual([104.6875, 46.875, 292.1875]);
    expect(rtt.hasSample).toBe(true);
  });

  it("uses the clock granularity G when 4*RTTVAR is smaller (§2.2)", () => {
    const rtt = new RttEstimator({ granularityMs: 100, minRtoMs: 50 });
    // R = 8: RTTVAR = 4, 4*RTTVAR = 16 < G = 100, RTO = 8 + 100 = 108.
    rtt.sample(8);
    expect(rtt.rtoMs).toBe(108);
  });

  it("rounds a small RTO up to minRtoMs (§2.4, Linux's 200 ms)", () => {
    const rtt = new RttEstimator();
    // R = 10: RTO = 10 + 4*5 = 30 → 200.
    rtt.sample(10);
    expect(rtt.srttMs).toBe(10);
    expect(rtt.rtoMs).toBe(200);
    const strict = new RttEstimator({ minRtoMs: 1000 });
    strict.sample(10);
    expect(strict.rtoMs).toBe(1000);
  });

  it("caps the RTO at maxRtoMs (§2.5)", () => {
    const rtt = new RttEstimator();
    // R = 100000: RTO = 100000 + 4*50000 = 300000 → 120000.
    rtt.sample(100_000);
    expect(rtt.rtoMs).toBe(120_000);
  });

  it("doubles the RTO per back-off (§5.5) up to maxRtoMs", () => {
    const rtt = new RttEstimator();
    rtt.sample(100); // RTO 300
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      rtt.backoff();
      seen.push(rtt.currentRtoMs);
    }
    expect(seen).toEqual([600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, 120_000, 120_000, 120_000, 120_000]);
    expect(rtt.backoffCount).toBe(12);
    expect(rtt.rtoMs).toBe(300);
    // Far more back-offs than any connection survives still yields the cap, not Infinity or NaN.
    for (let i = 0; i < 2000; i++) rtt.backoff();
    expect(rtt.currentRtoMs).toBe(120_000);
  });

  it("backs off the initial RTO before any sample", () => {
    const rtt = new RttEstimator();
    rtt.backoff();
    rtt.backoff();
    expect(rtt.currentRtoMs).toBe(4000);
  });

  it("clears the back-off on a new sample", () => {
    const rtt = new RttEstimator();
    rtt.sample(100);
    rtt.backoff();
    rtt.backoff();
    expect(rtt.currentRtoMs).toBe(1200);
    rtt.sample(100);
    // RTTVAR = 3/4*50 = 37.5, SRTT = 100, RTO = 100 + 150 = 250.
    expect(rtt.backoffCount).toBe(0);
    expect(rtt.currentRtoMs).toBe(250);
  });

  it("ignores negative and non-finite samples", () => {
    const rtt = new RttEstimator();
    rtt.sample(-5);
    rtt.sample(Number.NaN);
    rtt.sample(Number.POSITIVE_INFINITY);
    expect(rtt.hasSample).toBe(false);
    expect(rtt.rtoMs).toBe(1000);
    rtt.sample(0); // loopback: a zero RTT is real. RTO = 0 + max(1, 0) = 1 → 200.
    expect(rtt.hasSample).toBe(true);
    expect(rtt.rtoMs).toBe(200);
  });

  it("reset() returns to the state of a new connection", () => {
    const rtt = new RttEstimator({ initialRtoMs: 3000 });
    rtt.sample(100);
    rtt.backoff();
    rtt.reset();
    expect([rtt.srttMs, rtt.rttvarMs, rtt.rtoMs, rtt.hasSample, rtt.backoffCount]).toEqual([0, 0, 3000, false, 0]);
    // The next sample is a first sample again (§2.2).
    rtt.sample(40);
    expect([rtt.srttMs, rtt.rttvarMs]).toEqual([40, 20]);
  });

  it("rejects bounds that are not a range", () => {
    expect(() => new RttEstimator({ minRtoMs: 5000, maxRtoMs: 1000 })).toThrow(/RTO bounds/);
  });
});
