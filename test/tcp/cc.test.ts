// Congestion control: NewReno (RFC 5681, RFC 3465, RFC 6582, RFC 6928) and CUBIC (RFC 9438) driven by
// simulated ACK streams with explicit time. A "round" is one RTT of a sender that keeps its window full:
// the segments of one window are acknowledged in order, `segmentsPerAck` at a time, and the flight before
// each ACK is the current cwnd (the sender refills after every ACK).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONGESTION_CONTROLS, createCongestionControl, Cubic, NewReno, type CongestionControlName } from "../../src/tcp/cc/index.js";
import { SSTHRESH_INFINITE_BYTES, initialWindowBytes, type CongestionControl } from "../../src/tcp/cc/cc.js";

const MSS = 1460;
const RTT_MS = 100;

/** One round trip starting at nowMs; returns the time at its end. */
function ackRound(cc: CongestionControl, mssBytes: number, nowMs: number, segmentsPerAck = 1, rttMs = RTT_MS): number {
  const segments = Math.floor(cc.cwndBytes / mssBytes);
  for (let s = 0; s < segments; s += segmentsPerAck) {
    const n = Math.min(segmentsPerAck, segments - s);
    cc.onAck(n * mssBytes, mssBytes, cc.cwndBytes, rttMs, nowMs + (s / segments) * rttMs);
  }
  return nowMs + rttMs;
}

function segmentsOf(cc: CongestionControl, mssBytes = MSS): number {
  return cc.cwndBytes / mssBytes;
}

/** Slow start from the initial window, one segment per ACK, until cwnd is exactly `segments`. */
function growTo(cc: CongestionControl, segments: number, mssBytes = MSS): void {
  while (cc.cwndBytes < segments * mssBytes) cc.onAck(mssBytes, mssBytes, cc.cwndBytes, RTT_MS, 0);
  expect(cc.cwndBytes).toBe(segments * mssBytes);
}

describe.each(CONGESTION_CONTROLS)("%s, common rules", (name) => {
  const make = (): CongestionControl => {
    const cc = createCongestionControl(name);
    cc.init(MSS, 0);
    return cc;
  };

  it("opens with the RFC 6928 initial window and an unset ssthresh", () => {
    const cc = createCongestionControl(name);
    expect(cc.name).toBe(name);
    cc.init(1460, 0);
    expect(cc.cwndBytes).toBe(14600); // min(14600, max(2920, 14600))
    expect(cc.ssthreshBytes).toBe(SSTHRESH_INFINITE_BYTES);
    expect(cc.describe()["ssthreshBytes"]).toBe(Number.POSITIVE_INFINITY);
    cc.init(536, 0);
    expect(cc.cwndBytes).toBe(5360); // min(5360, max(1072, 14600))
    cc.init(9000, 0);
    expect(cc.cwndBytes).toBe(18000); // min(90000, max(18000, 14600))
  });

  it("doubles cwnd per RTT in slow start, one ACK per segment (RFC 5681 §3.1)", () => {
    const cc = make();
    let now = 0;
    const seen: number[] = [];
    for (let r = 0; r < 4; r++) {
      now = ackRound(cc, MSS, now);
      seen.push(segmentsOf(cc));
    }
    expect(seen).toEqual([20, 40, 80, 160]);
  });

  it("still doubles per RTT with delayed ACKs: byte counting with L = 2*SMSS (RFC 3465 §2.2)", () => {
    const cc = make();
    let now = 0;
    const seen: number[] = [];
    for (let r = 0; r < 3; r++) {
      now = ackRound(cc, MSS, now, 2);
      seen.push(segmentsOf(cc));
    }
    expect(seen).toEqual([20, 40, 80]);
  });

  it("counts at most 2*SMSS of a stretch ACK in slow start (RFC 3465 §2.2)", () => {
    const cc = make();
    cc.onAck(8 * MSS, MSS, cc.cwndBytes, RTT_MS, 0);
    expect(cc.cwndBytes).toBe(12 * MSS);
  });

  it("does not grow while application-limited (RFC 7661, RFC 9438 §5.8)", () => {
    const cc = make();
    cc.onAck(MSS, MSS, 2 * MSS, RTT_MS, 0); // flight 2 of 10 segments
    expect(cc.cwndBytes).toBe(10 * MSS);
    cc.onEnterRecovery(40 * MSS, MSS, 10);
    const before = cc.cwndBytes;
    for (let i = 0; i < 100; i++) cc.onAck(MSS, MSS, before - 3 * MSS, RTT_MS, 20 + i * 10);
    expect(cc.cwndBytes).toBe(before);
  });

  it("sets cwnd to one MSS on RTO and holds ssthresh over repeated timeouts (RFC 5681 §3.1)", () => {
    const cc = make();
    growTo(cc, 40);
    cc.onRto(40 * MSS, MSS, 1000);
    expect(cc.cwndBytes).toBe(MSS);
    const ssthresh = cc.ssthreshBytes;
    expect(ssthresh).toBeGreaterThanOrEqual(2 * MSS);
    // The retransmission times out again; SND.NXT was rewound, so only one segment is outstanding.
    cc.onRto(MSS, MSS, 2000);
    expect(cc.cwndBytes).toBe(MSS);
    expect(cc.ssthreshBytes).toBe(ssthresh);
    // Slow start back up to ssthresh: 1, 2, 4, ... segments per round.
    let now = 3000;
    now = ackRound(cc, MSS, now);
    expect(cc.cwndBytes).toBe(2 * MSS);
    now = ackRound(cc, MSS, now);
    expect(cc.cwndBytes).toBe(4 * MSS);
    // New data was acknowledged: the next timeout is a new loss event and lowers ssthresh again.
    cc.onRto(4 * MSS, MSS, now);
    expect(cc.ssthreshBytes).toBeLessThan(ssthresh);
  });

  it("restarts from min(cwnd, IW) after idle (RFC 5681 §4.1)", () => {
    const cc = make();
    growTo(cc, 40);
    cc.onIdleRestart(MSS, 5000);
    expect(cc.cwndBytes).toBe(10 * MSS);
    cc.onRto(10 * MSS, MSS, 6000);
    cc.onIdleRestart(MSS, 7000);
    expect(cc.cwndBytes).toBe(MSS);
  });

  it("leaves recovery with min(ssthresh, max(flight, mss) + mss) (RFC 6582 §3.2 step 3, option 1)", () => {
    const cc = make();
    growTo(cc, 40);
    cc.onEnterRecovery(40 * MSS, MSS, 1000);
    const ssthresh = cc.ssthreshBytes;
    cc.onExitRecovery(3 * MSS, MSS, 1100);
    expect(cc.cwndBytes).toBe(4 * MSS);
    cc.onEnterRecovery(40 * MSS, MSS, 2000);
    cc.onExitRecovery(100 * MSS, MSS, 2100);
    expect(cc.cwndBytes).toBe(cc.ssthreshBytes);
    cc.onExitRecovery(0, MSS, 2200);
    expect(cc.cwndBytes).toBe(2 * MSS);
    expect(ssthresh).toBeGreaterThan(0);
  });

  it("keeps cwnd ≥ 1 MSS and ssthresh ≥ 2 MSS whatever happens (property)", () => {
    const event = fc.oneof(
      fc.record({
        kind: fc.constant("ack" as const),
        segments: fc.integer({ min: 1, max: 64 }),
        flightSegments: fc.integer({ min: 0, max: 400 }),
        rttMs: fc.option(fc.integer({ min: 0, max: 2000 })),
        dtMs: fc.integer({ min: 0, max: 500 }),
      }),
      fc.record({ kind: fc.constantFrom("enter" as const, "exit" as const, "rto" as const), flightSegments: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant("idle" as const) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(536, 1460, 9000), fc.array(event, { maxLength: 300 }), (mss, events) => {
        const cc = createCongestionControl(name);
        let now = 0;
        cc.init(mss, now);
        for (const e of events) {
          switch (e.kind) {
            case "ack":
              now += e.dtMs;
              cc.onAck(e.segments * mss, mss, e.flightSegments * mss, e.rttMs, now);
              break;
            case "enter":
              cc.onEnterRecovery(e.flightSegments * mss, mss, now);
              break;
            case "exit":
              cc.onExitRecovery(e.flightSegments * mss, mss, now);
              break;
            case "rto":
              cc.onRto(e.flightSegments * mss, mss, now);
              break;
            case "idle":
              cc.onIdleRestart(mss, now);
              break;
          }
          expect(Number.isInteger(cc.cwndBytes)).toBe(true);
          expect(cc.cwndBytes).toBeGreaterThanOrEqual(mss);
          expect(cc.ssthreshBytes).toBeGreaterThanOrEqual(2 * mss);
          for (const v of Object.values(cc.describe())) expect(typeof v).toBe("number");
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("NewReno", () => {
  it("halves on fast retransmit: ssthresh = cwnd = max(flight/2, 2*SMSS) (RFC 5681 §3.2 eq. 4)", () => {
    const cc = new NewReno();
    cc.init(MSS, 0);
    growTo(cc, 40);
    cc.onEnterRecovery(40 * MSS, MSS, 1000);
    expect(cc.ssthreshBytes).toBe(20 * MSS);
    expect(cc.cwndBytes).toBe(20 * MSS);
    // FlightSize, not cwnd (RFC 5681 §3.2 implementation note): a sender with 9 segments out gets 4.5.
    cc.onEnterRecovery(9 * MSS, MSS, 2000);
    expect(cc.ssthreshBytes).toBe(Math.floor(4.5 * MSS));
    cc.onEnterRecovery(MSS, MSS, 3000);
    expect(cc.ssthreshBytes).toBe(2 * MSS);
    expect(cc.cwndBytes).toBe(2 * MSS);
  });

  it("grows by 1 MSS per RTT in congestion avoidance, with or without delayed ACKs (RFC 5681 §3.1)", () => {
    for (const segmentsPerAck of [1, 2]) {
      const cc = new NewReno();
      cc.init(MSS, 0);
      growTo(cc, 40);
      cc.onEnterRecovery(40 * MSS, MSS, 0);
      cc.onExitRecovery(40 * MSS, MSS, 0);
      expect(cc.cwndBytes).toBe(20 * MSS);
      let now = 0;
      const seen: number[] = [];
      for (let r = 0; r < 10; r++) {
        now = ackRound(cc, MSS, now, segmentsPerAck);
        seen.push(segmentsOf(cc));
      }
      expect(seen).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    }
  });

  it("stops slow start at ssthresh and counts the rest as congestion avoidance", () => {
    const cc = new NewReno();
    cc.init(MSS, 0);
    growTo(cc, 40);
    cc.onRto(24 * MSS, MSS, 0); // ssthresh 12 segments
    growTo(cc, 11);
    cc.onAck(2 * MSS, MSS, cc.cwndBytes, RTT_MS, 0);
    expect(cc.cwndBytes).toBe(12 * MSS);
    expect(cc.describe()["bytesAckedCa"]).toBe(MSS);
  });

  it("describes its state as numbers", () => {
    const cc = new NewReno();
    cc.init(MSS, 0);
    expect(cc.describe()).toEqual({ cwndBytes: 10 * MSS, ssthreshBytes: Number.POSITIVE_INFINITY, bytesAckedCa: 0, isInRtoBackoff: 0 });
  });
});

describe("CUBIC", () => {
  const C = 0.4;
  const BETA = 0.7;

  /** A CUBIC sender that lost at 100 segments and left recovery at 70; returns the time recovery ended. */
  function afterLossAt100(cc: Cubic): number {
    cc.init(MSS, 0);
    growTo(cc, 100);
    cc.onEnterRecovery(100 * MSS, MSS, 1000);
    cc.onExitRecovery(70 * MSS, MSS, 1100);
    return 1200;
  }

  it("reduces by beta = 0.7 on fast retransmit and remembers W_max (RFC 9438 §4.6)", () => {
    const cc = new Cubic();
    afterLossAt100(cc);
    expect(cc.cwndBytes).toBe(70 * MSS);
    expect(cc.ssthreshBytes).toBe(70 * MSS);
    expect(cc.describe()["wMaxSegments"]).toBe(100);
    expect(cc.describe()["cwndPriorSegments"]).toBe(100);
  });

  it("follows W(t) = C(t-K)^3 + W_max after a loss, never below the Reno-friendly estimate (§4.2–§4.5)", () => {
    const cc = new Cubic();
    let now = afterLossAt100(cc);
    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(30 / 0.4) = cbrt(75) ≈ 4.217 s.
    const k = Math.cbrt((100 - 70) / C);
    let epochStartMs = Number.NaN;
    let concaveChecks = 0;
    let convexChecks = 0;
    for (let round = 0; round < 95; round++) {
      now = ackRound(cc, MSS, now);
      const d = cc.describe();
      if (Number.isNaN(epochStartMs)) {
        epochStartMs = d["epochStartMs"] ?? Number.NaN;
        expect(d["kSeconds"]).toBeCloseTo(k, 9);
      }
      const t = (now - epochStartMs) / 1000;
      const w = C * (t - k) ** 3 + 100;
      const cwnd = segmentsOf(cc);
      const wEst = d["wEstSegments"] ?? 0;
      // The window never falls below the Reno-friendly estimate (§4.3) ...
      expect(cwnd).toBeGreaterThanOrEqual(Math.floor(wEst * MSS) / MSS);
      // ... and tracks the cubic curve to within half a segment wherever the curve is ahead of Reno.
      if (w > wEst + 1) {
        expect(Math.abs(cwnd - w)).toBeLessThan(0.5);
        if (t < k) concaveChecks++;
        else convexChecks++;
      }
    }
    // Both regions were exercised: concave up to W_max at t = K, convex beyond (t reaches ~9.5 s).
    expect(concaveChecks).toBeGreaterThan(30);
    expect(convexChecks).toBeGreaterThan(5);
    expect(segmentsOf(cc)).toBeGreaterThan(140);
  });

  it("grows like Reno with alpha_cubic = 3(1-beta)/(1+beta) on a short-RTT path (Reno-friendly region, §4.3)", () => {
    const cc = new Cubic();
    let now = afterLossAt100(cc);
    const alpha = (3 * (1 - BETA)) / (1 + BETA); // ≈ 0.529 segments per RTT
    // With a 1 ms RTT the cubic curve barely moves in 40 rounds: W(0.04) ≈ 70.4 segments.
    for (let round = 0; round < 40; round++) now = ackRound(cc, MSS, now, 1, 1);
    const d = cc.describe();
    expect(segmentsOf(cc)).toBeCloseTo(d["wEstSegments"] ?? 0, 2);
    // Per round W_est grows alpha * (segments acked) / cwnd ≈ alpha; cwnd is floored to whole segments.
    expect(segmentsOf(cc)).toBeGreaterThan(70 + 40 * alpha - 2);
    expect(segmentsOf(cc)).toBeLessThan(70 + 40 * alpha + 1);
    expect(C * ((now - (d["epochStartMs"] ?? 0)) / 1000 - (d["kSeconds"] ?? 0)) ** 3 + 100).toBeLessThan(71);
  });

  it("switches alpha to 1 once W_est reaches cwnd_prior (§4.3)", () => {
    const cc = new Cubic();
    let now = afterLossAt100(cc);
    for (let round = 0; round < 100; round++) now = ackRound(cc, MSS, now, 1, 1);
    // ~57 rounds at 0.529 reach 100 segments, the remaining ~43 add ~1 each.
    const cwnd = segmentsOf(cc);
    expect(cwnd).toBeGreaterThan(135);
    expect(cwnd).toBeLessThan(150);
  });

  it("lowers W_max by fast convergence when a loss comes below the previous W_max (§4.7)", () => {
    const cc = new Cubic();
    let now = afterLossAt100(cc);
    while (cc.cwndBytes < 80 * MSS) now = ackRound(cc, MSS, now);
    const cwnd = cc.describe()["cwndSegments"] ?? 0;
    expect(cwnd).toBeLessThan(100);
    cc.onEnterRecovery(cc.cwndBytes, MSS, now);
    expect(cc.describe()["wMaxSegments"]).toBeCloseTo((cwnd * (1 + BETA)) / 2, 9);
    expect(cc.describe()["cwndSegments"]).toBeCloseTo(cwnd * BETA, 9);

    const plain = new Cubic({ fastConvergence: false });
    now = afterLossAt100(plain);
    while (plain.cwndBytes < 80 * MSS) now = ackRound(plain, MSS, now);
    const plainCwnd = plain.describe()["cwndSegments"] ?? 0;
    plain.onEnterRecovery(plain.cwndBytes, MSS, now);
    expect(plain.describe()["wMaxSegments"]).toBe(plainCwnd);
  });

  it("on RTO: ssthresh = cwnd * beta, cwnd = 1 MSS, then a fresh curve with K = 0 (§4.8)", () => {
    const cc = new Cubic();
    cc.init(MSS, 0);
    growTo(cc, 100);
    cc.onRto(100 * MSS, MSS, 1000);
    expect(cc.cwndBytes).toBe(MSS);
    expect(cc.ssthreshBytes).toBe(70 * MSS);
    let now = 2000;
    // Slow start 1 → 2 → 4 → ... → 64, then six more ACKs stop it at ssthresh = 70.
    for (let r = 0; r < 6; r++) now = ackRound(cc, MSS, now);
    expect(cc.cwndBytes).toBe(64 * MSS);
    for (let i = 0; i < 6; i++) cc.onAck(MSS, MSS, cc.cwndBytes, RTT_MS, now);
    expect(cc.cwndBytes).toBe(70 * MSS);
    expect(cc.describe()["epochStartMs"]).toBeNaN();
    // The first ACK in congestion avoidance starts the epoch: W_max = cwnd_epoch = 70, K = 0, W_est = 70.
    cc.onAck(MSS, MSS, cc.cwndBytes, RTT_MS, now);
    const d = cc.describe();
    expect(d["epochStartMs"]).toBe(now);
    expect(d["kSeconds"]).toBe(0);
    expect(d["wMaxSegments"]).toBe(70);
    expect(d["wEstSegments"]).toBeCloseTo(70 + (3 * 0.3) / 1.7 / 70, 9);
    expect(d["cwndPriorSegments"]).toBe(100);
    // Convex from the start, but slowly: W(2 s) = 0.4 * 2^3 + 70 = 73.2 segments. Reno would be further
    // ahead, 70 + 20 * alpha_cubic ≈ 80.6 (alpha stays 0.529 below cwnd_prior = 100), and wins (§4.3).
    for (let r = 0; r < 20; r++) now = ackRound(cc, MSS, now);
    expect(segmentsOf(cc)).toBeGreaterThan(79.5);
    expect(segmentsOf(cc)).toBeLessThan(81.5);
  });

  it("does not count application-limited time towards t (§5.8)", () => {
    const busy = new Cubic();
    const idle = new Cubic();
    let now = afterLossAt100(busy);
    afterLossAt100(idle);
    now = ackRound(busy, MSS, now);
    ackRound(idle, MSS, 1200);
    // `idle` then spends 3 s with little outstanding: its ACKs must neither grow cwnd nor age the curve.
    const frozen = idle.cwndBytes;
    for (let i = 1; i <= 30; i++) idle.onAck(MSS, MSS, 5 * MSS, RTT_MS, now + i * 100);
    expect(idle.cwndBytes).toBe(frozen);
    const shiftedNow = now + 3000;
    for (let r = 0; r < 10; r++) {
      now = ackRound(busy, MSS, now);
    }
    let idleNow = shiftedNow;
    for (let r = 0; r < 10; r++) idleNow = ackRound(idle, MSS, idleNow);
    expect(Math.abs(idle.cwndBytes - busy.cwndBytes)).toBeLessThanOrEqual(MSS);
  });
});

describe("createCongestionControl", () => {
  it("builds each algorithm by name", () => {
    expect(createCongestionControl("newreno")).toBeInstanceOf(NewReno);
    expect(createCongestionControl("cubic")).toBeInstanceOf(Cubic);
    expect(CONGESTION_CONTROLS).toEqual(["newreno", "cubic"]);
  });

  it("rejects other names and lists the valid ones", () => {
    expect(() => createCongestionControl("bbr" as CongestionControlName)).toThrow(new Error("unknown congestion control 'bbr' (newreno, cubic)"));
  });

  it("gives each call a fresh instance", () => {
    const a = createCongestionControl("cubic");
    const b = createCongestionControl("cubic");
    a.init(MSS, 0);
    b.init(MSS, 0);
    a.onRto(10 * MSS, MSS, 0);
    expect(b.cwndBytes).toBe(initialWindowBytes(MSS));
  });
});
