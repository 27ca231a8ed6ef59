// Scenarios: when and what we acknowledge — delayed ACKs (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2), immediate
// ACKs for out-of-order data and gap fills (RFC 5681 §4.2), SACK blocks we send (RFC 2018 §3–4), and ACKs
// riding on data. Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("ack ($name)", (isns) => {
  it("RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2: a lone segment is ACKed after the delayed-ACK timeout (40 ms ≤ 200 ms)", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 100 });
    s.expectNothing(239);
    s.expectSent(240, { flags: ".", seq: 1, ack: 101 });
    s.expectNothing(2000);
  });

  it("RFC 9293 §3.8.6.3, RFC 5681 §4.2: every second full-sized segment is ACKed at once", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: ".", seq: 1, ack: 1, data: 1460 });
    s.inject(201, { flags: ".", seq: 1461, ack: 1, data: 1460 });
    s.expectSent(201, { flags: ".", ack: 2921 });
    s.inject(202, { flags: ".", seq: 2921, ack: 1, data: 1460 });
    s.inject(203, { flags: ".", seq: 4381, ack: 1, data: 1460 });
    s.expectSent(203, { flags: ".", ack: 5841 });
    s.inject(204, { flags: ".", seq: 5841, ack: 1, data: 1460 });
    s.expectNothing(243);
    s.expectSent(244, { flags: ".", ack: 7301 });
  });

  it("RFC 5681 §4.2: an out-of-order segment is answered at once with a duplicate ACK", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1001, ack: 1, data: 500 });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 });
    s.inject(210, { flags: "P.", seq: 2001, ack: 1, data: 500 });
    s.expectSent(210, { flags: ".", seq: 1, ack: 1 });
    expect(s.read().length).toBe(0);
  });

  it("RFC 5681 §4.2: a segment that fills a gap is ACKed at once, acknowledging everything now in order", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 501, ack: 1, data: pattern(500, 500) });
    s.expectSent(200, { flags: ".", ack: 1 });
    s.inject(210, { flags: "P.", seq: 1, ack: 1, data: pattern(500) });
    s.expectSent(210, { flags: ".", ack: 1001 });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(1000)));
  });

  it("RFC 2018 §4: SACK blocks report out-of-order data, the most recently received block first", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460, sackOk: true } });
    s.inject(200, { flags: "P.", seq: 1001, ack: 1, data: 1000 });
    s.expectSent(200, { flags: ".", ack: 1, options: { sack: [[1001, 2001]] } });
    s.inject(210, { flags: "P.", seq: 3001, ack: 1, data: 1000 });
    s.expectSent(210, { flags: ".", ack: 1, options: { sack: [[3001, 4001], [1001, 2001]] } });
    s.inject(220, { flags: "P.", seq: 5001, ack: 1, data: 1000 });
    s.expectSent(220, { flags: ".", ack: 1, options: { sack: [[5001, 6001], [3001, 4001], [1001, 2001]] } });
    // Filling the hole between two blocks merges them; the merged block is the most recent.
    s.inject(230, { flags: "P.", seq: 2001, ack: 1, data: 1000 });
    s.expectSent(230, { flags: ".", ack: 1, options: { sack: [[1001, 4001], [5001, 6001]] } });
    // The first hole: the cumulative ACK moves and the block below it disappears.
    s.inject(240, { flags: "P.", seq: 1, ack: 1, data: 1000 });
    s.expectSent(240, { flags: ".", ack: 4001, options: { sack: [[5001, 6001]] } });
    s.inject(250, { flags: "P.", seq: 4001, ack: 1, data: 1000 });
    s.expectSent(250, { flags: ".", ack: 6001, options: { sack: null } });
    expect(s.read().length).toBe(6000);
  });

  it("RFC 2018 §3: at most 4 SACK blocks fit, 3 next to timestamps; the most recent are kept", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460, sackOk: true, ts: true } });
    for (let i = 0; i < 5; i++) {
      s.inject(200 + i, { flags: "P.", seq: 1001 + 2000 * i, ack: 1, data: 1000 });
      s.drain();
    }
    s.inject(210, { flags: "P.", seq: 11_001, ack: 1, data: 1000 });
    // TS.Recent stays the handshake's (100): out-of-order segments do not update it (RFC 7323 §4.3).
    s.expectSent(210, { flags: ".", ack: 1, options: { ts: [210, 100], sack: [[11_001, 12_001], [9001, 10_001], [7001, 8001]] } });
    const s2 = script({ isns });
    s2.established({ peer: { mss: 1460, sackOk: true } });
    for (let i = 0; i < 5; i++) {
      s2.inject(200 + i, { flags: "P.", seq: 1001 + 2000 * i, ack: 1, data: 1000 });
      s2.drain();
    }
    s2.inject(210, { flags: "P.", seq: 11_001, ack: 1, data: 1000 });
    s2.expectSent(210, { flags: ".", ack: 1, options: { sack: [[11_001, 12_001], [9001, 10_001], [7001, 8001], [5001, 6001]] } });
  });

  it("RFC 2018 §2: no SACK blocks when the peer did not offer SACK-permitted", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460 } });
    s.inject(200, { flags: "P.", seq: 1001, ack: 1, data: 1000 });
    s.expectSent(200, { flags: ".", ack: 1, options: null });
  });

  it("RFC 9293 §3.8.6.3: a pending ACK rides on outgoing data instead of going alone", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 100 });
    s.at(220);
    s.write(50);
    s.expectSent(220, { flags: "P.", seq: 1, ack: 101, len: 50 });
    // The delayed-ACK timer is cancelled: nothing at 240.
    s.expectNothing(300);
  });
});
