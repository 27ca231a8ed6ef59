// SYN cookies (src/tcp/syncookie.ts, RFC 4987 §3.6): round trips, wrong tuple/ISN/time, MSS table rounding.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SYNCOOKIE_MSS_TABLE, SynCookies } from "../../src/tcp/syncookie.js";
import { seqAdd, toSeq } from "../../src/tcp/seq.js";

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 ^ i);
const LOCAL = 0xc0a83242; // 192.168.50.66
const REMOTE = 0xc0a83201; // 192.168.50.1
const ISN = toSeq(0x12345678);
const PERIOD_MS = 64_000;
const T0 = 1_000 * PERIOD_MS + 1234; // an arbitrary stack time, mid-period

describe("SynCookies", () => {
  const cookies = new SynCookies(SECRET);

  it("round trips the MSS for the same connection", () => {
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 1460, T0);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, T0)).toBe(1460);
  });

  it("puts t mod 32 in the top 5 bits and the MSS index in the next 3 (RFC 4987 §3.6)", () => {
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 1460, T0);
    expect(c >>> 27).toBe(1000 % 32);
    expect((c >>> 24) & 7).toBe(SYNCOOKIE_MSS_TABLE.indexOf(1460));
  });

  it("rejects the cookie for any other tuple or client ISN", () => {
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 1460, T0);
    expect(cookies.decode(LOCAL + 1, 80, REMOTE, 49152, ISN, c, T0)).toBe(0);
    expect(cookies.decode(LOCAL, 81, REMOTE, 49152, ISN, c, T0)).toBe(0);
    expect(cookies.decode(LOCAL, 80, REMOTE + 1, 49152, ISN, c, T0)).toBe(0);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49153, ISN, c, T0)).toBe(0);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, seqAdd(ISN, 1), c, T0)).toBe(0);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, seqAdd(c, 1), T0)).toBe(0);
    expect(new SynCookies(Uint8Array.from(SECRET, (b) => b ^ 1)).decode(LOCAL, 80, REMOTE, 49152, ISN, c, T0)).toBe(0);
  });

  it("rejects a cookie whose MSS bits were edited", () => {
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 536, T0);
    const raised = toSeq(c | (7 << 24));
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, raised, T0)).toBe(0);
  });

  it("accepts the current and the 2 previous counter periods, and nothing older", () => {
    const start = 1_000 * PERIOD_MS; // the first millisecond of counter 1000
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 1460, start);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start + PERIOD_MS - 1)).toBe(1460);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start + 2 * PERIOD_MS)).toBe(1460);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start + 3 * PERIOD_MS - 1)).toBe(1460);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start + 3 * PERIOD_MS)).toBe(0);
    // 32 periods later the 5 bits match again, but the MAC covers the whole counter.
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start + 32 * PERIOD_MS)).toBe(0);
    // A cookie from the future (clock went back, or forged t) is not accepted either.
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, start - 1)).toBe(0);
  });

  it("works in the first periods after the stack's time origin", () => {
    const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, 1460, 0);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, 0)).toBe(1460);
    expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, 2 * PERIOD_MS)).toBe(1460);
  });

  it("round trips each MSS table value to itself", () => {
    for (const mss of SYNCOOKIE_MSS_TABLE) {
      const c = cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, mss, T0);
      expect(cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, c, T0)).toBe(mss);
    }
  });

  it("rounds an in-between MSS down to a table value, and anything below 536 up to 536", () => {
    const roundTrip = (mss: number): number =>
      cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, cookies.encode(LOCAL, 80, REMOTE, 49152, ISN, mss, T0), T0);
    expect(roundTrip(1459)).toBe(1452);
    expect(roundTrip(1000)).toBe(536);
    expect(roundTrip(65495)).toBe(8960);
    expect(roundTrip(100)).toBe(536);
    expect(roundTrip(0)).toBe(536);
  });

  it("round trips any tuple, client ISN (including near the wrap) and MSS", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const port = fc.integer({ min: 0, max: 0xffff });
    const isn = fc.oneof(u32, fc.integer({ min: 0xfffffff0, max: 0xffffffff }));
    fc.assert(
      fc.property(u32, port, u32, port, isn, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 1e12 }), (l, lp, r, rp, i, mss, now) => {
        const c = cookies.encode(l, lp, r, rp, toSeq(i), mss, now);
        const got = cookies.decode(l, lp, r, rp, toSeq(i), c, now + 100_000);
        const want = [...SYNCOOKIE_MSS_TABLE].reverse().find((m) => m <= mss) ?? 536;
        expect(got).toBe(want);
      }),
      { seed: 0x4987, numRuns: 300 },
    );
  });

  it("rejects random cookies", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => {
        if (cookies.decode(LOCAL, 80, REMOTE, 49152, ISN, toSeq(c), T0) !== 0) accepted++;
      }),
      { seed: 0x4987, numRuns: 1000 },
    );
    expect(accepted).toBe(0);
  });
});
