// Scenarios: TCP options on established connections — PAWS and the TS.Recent rules (RFC 7323 §4.3, §5),
// option parsing robustness (RFC 9293 §3.2, RFC 1122 §4.2.2.5), the window-scale limit (RFC 7323 §2.3) —
// and the urgent pointer (RFC 6093). Both ISN pairs.

import { describe, expect, it } from "vitest";
import { ISN_PAIRS, pattern, scriptFixture } from "../../helpers/tcpScript.js";

const script = scriptFixture();
const TS_PEER = { mss: 1460, ts: true } as const;

describe.each(ISN_PAIRS)("options ($name)", (isns) => {
  it("RFC 7323 §5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is dropped and answered with an ACK", () => {
    const s = script({ isns });
    s.established({ peer: TS_PEER });
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: pattern(100), options: { ts: [500, 100] } });
    s.expectSent(240, { flags: ".", ack: 101, options: { ts: [240, 500] } });
    // An old duplicate from a previous incarnation, with an in-window sequence number but TSval 400.
    s.inject(300, { flags: "P.", seq: 101, ack: 1, data: 100, options: { ts: [400, 100] } });
    s.expectSent(300, { flags: ".", ack: 101, options: { ts: [300, 500] } });
    expect(s.read().length).toBe(100);
    expect(s.stack.tcp.stats.dropPaws).toBe(1);
    // The same data with a current TSval is taken.
    s.inject(310, { flags: "P.", seq: 101, ack: 1, data: 100, options: { ts: [510, 300] } });
    s.expectSent(350, { flags: ".", ack: 201, options: { ts: [350, 510] } });
  });

  it("RFC 7323 §5.3: PAWS compares timestamps modulo 2^32 (a TSval that wrapped is newer)", () => {
    const s = script({ isns });
    s.established({ peer: TS_PEER });
    // The peer's clock is just below 2^32 relative to its base… and then wraps past it.
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 10, options: { ts: [0x7ffffff0, 100] } });
    s.inject(210, { flags: "P.", seq: 11, ack: 1, data: 10, options: { ts: [0x80000010 | 0, 100] } });
    s.expectSent(210, { flags: ".", ack: 21 });
    expect(s.stack.tcp.stats.dropPaws).toBe(0);
  });

  it("RFC 7323 §4.3: TS.Recent follows only segments at or below Last.ACK.sent — an out-of-order TSval is not echoed", () => {
    const s = script({ isns });
    s.established({ peer: TS_PEER });
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 100, options: { ts: [500, 100] } });
    s.expectSent(240, { flags: ".", ack: 101, options: { ts: [240, 500] } });
    // Out of order (a hole at 101): its TSval 600 must not become TS.Recent.
    s.inject(250, { flags: "P.", seq: 201, ack: 1, data: 100, options: { ts: [600, 240] } });
    s.expectSent(250, { flags: ".", ack: 101, options: { ts: [250, 500] } });
    // The segment filling the hole starts at Last.ACK.sent: its TSval (the older 550) is echoed, so the
    // peer measures the RTT of the delay the hole caused.
    s.inject(260, { flags: "P.", seq: 101, ack: 1, data: 100, options: { ts: [550, 240] } });
    s.expectSent(260, { flags: ".", ack: 301, options: { ts: [260, 550] } });
  });

  it("RFC 9293 §3.2, RFC 1122 §4.2.2.5: an unknown option kind is skipped by its length", () => {
    const s = script({ isns });
    s.listening();
    s.inject(0, { flags: "S", seq: 0, options: { raw: [99, 6, 1, 2, 3, 4], mss: 1000 } });
    s.expectSent(0, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } });
    s.inject(10, { flags: ".", seq: 1, ack: 1, options: { raw: [253, 4, 0, 0] } });
    const pcb = s.accept();
    expect(pcb?.mssBytes).toBe(1000);
  });

  it("RFC 9293 §3.2: a malformed option list (length 0) makes the segment unusable: dropped and counted", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "P.", seq: 1, ack: 1, data: 10, options: { raw: [8, 0, 0, 0] } });
    s.expectNothing(1000);
    expect(s.stack.tcp.stats.dropBadOptions).toBe(1);
    expect(s.read().length).toBe(0);
  });

  it("RFC 7323 §2.3: a window shift above 14 is taken as 14", () => {
    const s = script({ isns });
    const pcb = s.connect();
    s.expectSent(0, { flags: "S", seq: 0 });
    s.inject(10, { flags: "S.", seq: 0, ack: 1, options: { mss: 1460, wscale: 15 } });
    s.expectSent(10, { flags: ".", seq: 1, ack: 1 });
    s.inject(20, { flags: ".", seq: 1, ack: 1, win: 3 });
    expect(pcb.sndWnd).toBe(3 << 14);
  });

  it("RFC 6093 §6, RFC 9293 §3.8.5: the urgent pointer is ignored; URG data is ordinary inline data", () => {
    const s = script({ isns });
    s.established();
    s.inject(200, { flags: "UP.", seq: 1, ack: 1, data: pattern(20), urg: 5 });
    s.expectSent(240, { flags: ".", ack: 21 });
    expect(Array.from(s.read())).toEqual(Array.from(pattern(20)));
  });

  it("RFC 7323 §3.2: timestamps are not sent when the SYN-ACK did not carry them", () => {
    const s = script({ isns });
    s.established({ peer: { mss: 1460 } });
    s.write(10);
    s.expectSent(100, { flags: "P.", len: 10, options: null });
  });
});
