// Scenarios: RFC 5961's defences against blind in-window attacks — challenge ACKs for SYNs (§4) and
// in-window RSTs (§3, also in reset.test.ts), ACK acceptability (§5), and the challenge-ACK rate limit
// (§7). Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();

describe.each(ISN_PAIRS)("protection ($name)", (isns) => {
  it("RFC 5961 §4.2: a SYN in ESTABLISHED (any sequence number) draws a challenge ACK; the connection is untouched", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(200, { flags: "S", seq: 500, options: { mss: 1460 } });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1, len: 0 });
    s.inject(210, { flags: "S", seq: 1_000_000, options: { mss: 1460 } });
    s.expectSent(210, { flags: ".", seq: 1, ack: 1, len: 0 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
    expect(s.errors).toEqual([]);
    // The connection still works.
    s.inject(220, { flags: "P.", seq: 1, ack: 1, data: pattern(10) });
    s.expectSent(260, { flags: ".", ack: 11 });
  });

  it("RFC 5961 §4.2: a SYN-ACK in ESTABLISHED is challenged too", () => {
    const s = script({ isns });
    const pcb = s.established({ passive: true });
    s.inject(200, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });

  it("RFC 5961 §5.2, RFC 9293 §3.10.7.4: an ACK of data we never sent is answered with an ACK and the segment dropped", () => {
    const s = script({ isns });
    s.established();
    s.write(100);
    s.expectSent(100, { flags: "P.", seq: 1, len: 100 });
    s.inject(150, { flags: "P.", seq: 1, ack: 5000, data: 50 });
    s.expectSent(150, { flags: ".", seq: 101, ack: 1 });
    // Its data was not taken, and SND.UNA did not move.
    expect(s.read().length).toBe(0);
    expect(s.mustPcb().sndUna).toBe((s.ourIsn + 1) >>> 0);
    s.expectSent(400, { flags: "P.", seq: 1, len: 100 });
  });

  it("RFC 5961 §5.2: an ACK below SND.UNA − MAX.SND.WND draws a challenge ACK and the segment is dropped", () => {
    const s = script({ isns });
    // The peer's largest window is 1000 bytes.
    s.established({ win: 1000 });
    s.write(1000);
    s.expectSent(100, { flags: "P.", seq: 1, len: 1000 });
    s.inject(150, { flags: ".", seq: 1, ack: 1001, win: 1000 });
    s.write(1000);
    s.expectSent(150, { flags: "P.", seq: 1001, len: 1000 });
    s.inject(160, { flags: ".", seq: 1, ack: 2001, win: 1000 });
    // SND.UNA = 2001: an ACK of 500 is below 2001 − 1000.
    s.inject(200, { flags: "P.", seq: 1, ack: 500, data: 20 });
    s.expectSent(200, { flags: ".", seq: 2001, ack: 1 });
    expect(s.read().length).toBe(0);
    expect(s.stack.tcp.stats.dropBadAck).toBe(1);
    // An old but acceptable ACK (within MAX.SND.WND) still delivers its data.
    s.inject(210, { flags: "P.", seq: 1, ack: 1500, data: 20 });
    s.expectSent(250, { flags: ".", seq: 2001, ack: 21 });
    expect(s.read().length).toBe(20);
  });

  it("RFC 5961 §7: challenge ACKs are rate-limited (here 2 per second)", () => {
    const s = script({ isns, tcp: { challengeAckPerSec: 2 } });
    s.established();
    for (const t of [200, 201, 202, 203]) s.inject(t, { flags: "R", seq: 100 });
    s.expectSent(200, { flags: ".", ack: 1 });
    s.expectSent(201, { flags: ".", ack: 1 });
    s.expectNothing(1200);
    expect(s.stack.tcp.stats.challengeAcksLimited).toBe(2);
    // A second later the budget is back.
    s.inject(1300, { flags: "S", seq: 77 });
    s.expectSent(1300, { flags: ".", ack: 1 });
  });

  it("RFC 5961 §3.2: a RST whose sequence number is one off RCV.NXT only draws a challenge ACK", () => {
    const s = script({ isns });
    const pcb = s.established();
    s.inject(200, { flags: "R", seq: 2 });
    s.expectSent(200, { flags: ".", seq: 1, ack: 1 });
    expect(s.state(pcb)).toBe("ESTABLISHED");
  });
});
